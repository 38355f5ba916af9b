//! The catalog's loading and validation, through files as an app writes them.

use super::*;
use crate::lot::DEFAULT_PRIORITY;
use crate::operation::Window;
use crate::system::{EXPIRY, LOT_VOID};

const DAY: u64 = 86_400;

fn load(text: &str) -> Result<Catalog, CatalogError> {
    let mut catalog = Catalog::base();
    catalog.extend_from_toml("test.toml", text)?;
    Ok(catalog)
}

fn field_error(text: &str) -> (Option<String>, Option<String>) {
    let e = load(text).expect_err("the file must be refused");
    assert_eq!(e.source_name, "test.toml");
    (e.operation, e.field)
}

#[test]
fn base_catalog_has_the_five_operations() {
    let base = Catalog::base();
    let names: Vec<_> = base.operations().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "CREDIT_ADD",
            "CREDIT_SPEND",
            "DAILY_REWARD",
            "SIGNUP_CREDIT",
            "TRANSFER"
        ]
    );
    let daily = base.get("DAILY_REWARD").unwrap();
    assert_eq!(daily.limits[0].window, Window::Day);
    assert_eq!(daily.limits[0].max_count, Some(1));
    assert_eq!(
        base.get("SIGNUP_CREDIT").unwrap().limits[0].window,
        Window::Lifetime
    );
    assert!(!base.get("CREDIT_SPEND").unwrap().overdraft);
    assert_eq!(base.get("TRANSFER").unwrap().counter_account, None);
    assert_eq!(base.asset("CREDIT"), Some(Asset { scale: 2 }));

    let promotional = |days| {
        Some(LotRule {
            category: Category::Promotional,
            expires_after_seconds: Some(days * DAY),
            ..LotRule::default()
        })
    };
    assert_eq!(base.get("SIGNUP_CREDIT").unwrap().lot, promotional(90));
    assert_eq!(daily.lot, promotional(30));
    assert_eq!(
        base.get("CREDIT_ADD").unwrap().lot,
        Some(LotRule {
            category: Category::Paid,
            priority: DEFAULT_PRIORITY,
            expires_after_seconds: None,
            request_expires_at: true,
            request_priority: true,
        })
    );
    assert_eq!(base.get("CREDIT_SPEND").unwrap().lot, None);
    assert_eq!(base.get("TRANSFER").unwrap().lot, None);
    assert!(base.operations().all(|o| !o.is_system()));
}

#[test]
fn the_example_extension_loads_and_overrides_one_field() {
    let text = include_str!("../../catalog/examples/content-app.toml");
    let catalog = load(text).unwrap();
    let creation = catalog.get("CONTENT_CREATION").unwrap();
    assert_eq!(creation.amount, AmountRule::Fixed(Decimal::new(5, 0)));
    let daily = catalog.get("DAILY_REWARD").unwrap();
    assert_eq!(daily.amount, AmountRule::Fixed(Decimal::new(20, 0)));
    // Not named by the extension, so kept from base.toml.
    assert_eq!(daily.counter_account.as_deref(), Some("@system:rewards"));
    assert_eq!(daily.limits.len(), 1);
    assert_eq!(daily.lot, Catalog::base().get("DAILY_REWARD").unwrap().lot);
    let bonus = catalog.get("CONTENT_BONUS").unwrap();
    assert_eq!(bonus.direction, Direction::Credit);
    assert_eq!(bonus.counter_account.as_deref(), Some("@system:content"));
    assert_eq!(bonus.amount, AmountRule::Fixed(Decimal::new(15, 0)));
    assert_eq!(
        bonus.lot,
        Some(LotRule {
            category: Category::Promotional,
            priority: 10,
            expires_after_seconds: Some(7 * DAY),
            request_expires_at: false,
            request_priority: false,
        })
    );
    assert_eq!(catalog.get("CONTENT_CREATION").unwrap().lot, None);
}

#[test]
fn a_credit_without_lot_rules_opens_default_lots() {
    let catalog = load(
        "[operations.QUIZ_PRIZE]\ndirection = \"credit\"\ncounter_account = \"@system:quiz\"\n\
         asset = \"CREDIT\"\namount = { fixed = \"5\" }\n",
    )
    .unwrap();
    assert_eq!(
        catalog.get("QUIZ_PRIZE").unwrap().lot,
        Some(LotRule::default())
    );
}

#[test]
fn an_extension_replaces_the_whole_lot_table() {
    let catalog = load("[operations.SIGNUP_CREDIT]\nlot = { priority = 5 }\n").unwrap();
    let signup = catalog.get("SIGNUP_CREDIT").unwrap();
    // Category and expiry are not named, so they fall back to the defaults, not to base.toml.
    assert_eq!(
        signup.lot,
        Some(LotRule {
            priority: 5,
            ..LotRule::default()
        })
    );
    assert_eq!(signup.limits.len(), 1);
}

#[test]
fn a_credit_turned_debit_drops_its_lot() {
    let catalog = load("[operations.DAILY_REWARD]\ndirection = \"debit\"\n").unwrap();
    assert_eq!(catalog.get("DAILY_REWARD").unwrap().lot, None);
    let catalog = load("[operations.CREDIT_SPEND]\ndirection = \"credit\"\n").unwrap();
    assert_eq!(
        catalog.get("CREDIT_SPEND").unwrap().lot,
        Some(LotRule::default())
    );
}

#[test]
fn operations_round_trip_through_the_file_format() {
    let mut catalog = load(include_str!("../../catalog/examples/content-app.toml")).unwrap();
    let mut odd = catalog.get("CONTENT_BONUS").unwrap().clone();
    odd.name = "ODD_BONUS".into();
    odd.lot = Some(LotRule {
        category: Category::Paid,
        priority: 0,
        expires_after_seconds: Some(DAY + 3_661),
        request_expires_at: true,
        request_priority: false,
    });
    catalog.insert(odd.clone()).unwrap();
    assert_eq!(catalog.get("ODD_BONUS"), Some(&odd));
    let ops: Vec<Operation> = catalog.operations().cloned().collect();
    for op in ops {
        let mut again = catalog.clone();
        again.insert(op.clone()).unwrap();
        assert_eq!(again.get(&op.name), Some(&op), "{}", op.name);
    }
}

#[test]
fn the_ledgers_own_operations_cannot_be_declared() {
    for name in [EXPIRY, LOT_VOID] {
        let text = format!(
            "[operations.{name}]\ndirection = \"debit\"\ncounter_account = \"@system:x\"\n\
             asset = \"CREDIT\"\namount = {{ fixed = \"1\" }}\n"
        );
        let e = load(&text).unwrap_err();
        assert_eq!(
            (e.operation.as_deref(), e.field.as_deref()),
            (Some(name), None)
        );
        assert_eq!(
            e.message,
            format!("{name} is recorded by the ledger itself; an app cannot declare it")
        );
        // Not even as an override of a field.
        assert!(load(&format!("[operations.{name}]\nenabled = false\n")).is_err());
    }
    let mut catalog = Catalog::base();
    for op in [
        Operation::expiry("CREDIT"),
        Operation::lot_void("CREDIT", "@system:x"),
    ] {
        let e = catalog.insert(op.clone()).unwrap_err();
        assert_eq!(e.source_name, "rust");
        assert_eq!(
            (e.operation.as_deref(), e.field.as_deref()),
            (Some(op.name.as_str()), None)
        );
        assert_eq!(
            e.to_string(),
            format!(
                "rust: operation {0}: {0} is recorded by the ledger itself; an app cannot \
                 declare it",
                op.name
            )
        );
    }
    assert_eq!(catalog, Catalog::base());
}

#[test]
fn an_extension_can_disable_an_operation() {
    let catalog = load("[operations.TRANSFER]\nenabled = false\n").unwrap();
    assert!(!catalog.get("TRANSFER").unwrap().enabled);
}

#[test]
fn unknown_fields_are_refused_with_their_name() {
    let e = load("[operations.X]\ndirection = \"credit\"\nfoo = 1\n").unwrap_err();
    assert!(e.to_string().contains("unknown field `foo`"), "{e}");
    assert!(e.to_string().starts_with("test.toml: "), "{e}");
    let e = load("[operations.SIGNUP_CREDIT]\nlot = { expires = \"P1D\" }\n").unwrap_err();
    assert!(e.to_string().contains("unknown field `expires`"), "{e}");
}

#[test]
fn every_validation_error_names_operation_and_field() {
    let op = |body: &str| format!("[operations.NEW_OP]\n{body}\n");
    let ok = "direction = \"credit\"\ncounter_account = \"@system:x\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }";
    assert!(load(&op(ok)).is_ok());
    let cases = [
        (
            "asset = \"CREDIT\"\namount = { fixed = \"1\" }",
            "direction",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\namount = { fixed = \"1\" }",
            "asset",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"GOLD\"\namount = { fixed = \"1\" }",
            "asset",
        ),
        (
            "direction = \"credit\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }",
            "counter_account",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"bob\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }",
            "counter_account",
        ),
        (
            "direction = \"transfer\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }",
            "counter_account",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"",
            "amount",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\", max = \"2\" }",
            "amount",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"0\" }",
            "amount.fixed",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1.001\" }",
            "amount.fixed",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"ten\" }",
            "amount.fixed",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { min = \"5\", max = \"1\" }",
            "amount.min",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { min = \"-5\" }",
            "amount.min",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }\nlimits = [{ window = \"day\" }]",
            "limits[0]",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }\nlimits = [{ window = \"day\", max_amount = \"x\" }]",
            "limits[0].max_amount",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }\ncooldown_seconds = 0",
            "cooldown_seconds",
        ),
        (
            "direction = \"debit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }\nlot = {}",
            "lot",
        ),
        (
            "direction = \"transfer\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }\nlot = { category = \"paid\" }",
            "lot",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }\nlot = { priority = 101 }",
            "lot.priority",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }\nlot = { priority = -1 }",
            "lot.priority",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }\nlot = { category = \"free\" }",
            "lot.category",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }\nlot = { category = \"Paid\" }",
            "lot.category",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }\nlot = { expires_after = \"30 days\" }",
            "lot.expires_after",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }\nlot = { expires_after = \"PT0S\" }",
            "lot.expires_after",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }\nlot = { expires_after = \"P1M\" }",
            "lot.expires_after",
        ),
        (
            "direction = \"credit\"\ncounter_account = \"@s\"\nasset = \"CREDIT\"\namount = { fixed = \"1\" }\nlot = { expires_after = \"P1Y\" }",
            "lot.expires_after",
        ),
    ];
    for (body, field) in cases {
        let (operation, got) = field_error(&op(body));
        assert_eq!(operation.as_deref(), Some("NEW_OP"), "{body}");
        assert_eq!(got.as_deref(), Some(field), "{body}");
    }
}

#[test]
fn bad_names_and_asset_scales_are_refused() {
    let (operation, field) = field_error("[operations.lower]\nenabled = true\n");
    assert_eq!((operation.as_deref(), field), (Some("lower"), None));
    let (_, field) = field_error("[assets.CREDIT]\nscale = 4\n");
    assert_eq!(field.as_deref(), Some("assets.CREDIT.scale"));
    let (_, field) = field_error("[assets.GOLD]\nscale = 19\n");
    assert_eq!(field.as_deref(), Some("assets.GOLD.scale"));
}

#[test]
fn a_failed_extension_changes_nothing() {
    let mut catalog = Catalog::base();
    let text = "[operations.TRANSFER]\nenabled = false\n[operations.BAD]\nasset = \"CREDIT\"\n";
    assert!(catalog.extend_from_toml("bad.toml", text).is_err());
    assert_eq!(catalog, Catalog::base());
}

#[test]
fn error_message_names_file_operation_and_field() {
    let e = load("[operations.NEW_OP]\ndirection = \"credit\"\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "test.toml: operation NEW_OP: field `asset`: missing"
    );
    let e = load("[operations.CREDIT_SPEND]\nlot = { category = \"paid\" }\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "test.toml: operation CREDIT_SPEND: field `lot`: only credit operations open lots; \
         a transfer's receiver gets lots like the ones it drew from"
    );
}

#[test]
fn debits_place_holds_for_a_day_unless_their_catalog_says_otherwise() {
    let base = Catalog::base();
    let spend = base.get("CREDIT_SPEND").unwrap();
    assert!(spend.holds);
    assert_eq!(spend.max_hold_seconds, 24 * 3600);
    assert!(
        !base.get("CREDIT_ADD").unwrap().holds,
        "a credit places no hold"
    );
    assert!(
        !base.get("TRANSFER").unwrap().holds,
        "a transfer places no hold"
    );
    let catalog =
        load("[operations.CREDIT_SPEND]\nholds = false\n\n[operations.RENDER]\ndirection = \"debit\"\ncounter_account = \"@system:render\"\nasset = \"CREDIT\"\namount = { max = \"50\" }\nmax_hold_seconds = 600\n").unwrap();
    assert!(!catalog.get("CREDIT_SPEND").unwrap().holds);
    let render = catalog.get("RENDER").unwrap();
    assert_eq!((render.holds, render.max_hold_seconds), (true, 600));
    let refused = load("[operations.CREDIT_ADD]\nholds = true\n").unwrap_err();
    assert_eq!(refused.field.as_deref(), Some("holds"));
    let refused = load("[operations.CREDIT_SPEND]\nmax_hold_seconds = 0\n").unwrap_err();
    assert_eq!(refused.field.as_deref(), Some("max_hold_seconds"));
}
