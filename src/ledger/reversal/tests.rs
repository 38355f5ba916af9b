use super::*;

fn reversal(drawn: &[(u128, i64)], uncovered: i64) -> Reversal {
    Reversal {
        original: Uuid::nil(),
        direction: Direction::Debit,
        amount: Decimal::from(drawn.iter().map(|d| d.1).sum::<i64>() + uncovered),
        requested: None,
        drawn: drawn
            .iter()
            .map(|&(lot, amount)| Allocation {
                lot_id: Uuid::from_u128(lot),
                amount: Decimal::from(amount),
            })
            .collect(),
        uncovered: Decimal::from(uncovered),
        opened: Vec::new(),
        overdraft: false,
    }
}

fn back(r: &Reversal, reversed: i64, amount: i64) -> (i64, Vec<(u128, i64)>) {
    let (uncovered, lots) = r.returns(Decimal::from(reversed), Decimal::from(amount));
    let lots = lots
        .iter()
        .map(|a| {
            (
                a.lot_id.as_u128(),
                i64::try_from(a.amount.mantissa()).unwrap_or(0),
            )
        })
        .collect();
    (i64::try_from(uncovered.mantissa()).unwrap_or(0), lots)
}

#[test]
fn value_goes_back_in_reverse_drawdown_order() {
    // Drawn 100 from A, then 50 from B: B gets its 50 back first.
    let r = reversal(&[(1, 100), (2, 50)], 0);
    assert_eq!(back(&r, 0, 150), (0, vec![(2, 50), (1, 100)]));
    assert_eq!(back(&r, 0, 60), (0, vec![(2, 50), (1, 10)]));
}

#[test]
fn later_reversals_go_on_where_earlier_ones_stopped() {
    let r = reversal(&[(1, 100), (2, 50)], 0);
    assert_eq!(back(&r, 50, 50), (0, vec![(1, 50)]));
    assert_eq!(back(&r, 100, 50), (0, vec![(1, 50)]));
    assert_eq!(back(&r, 150, 50), (0, vec![]));
}

#[test]
fn what_overdrew_goes_back_first() {
    let r = reversal(&[(1, 10)], 5);
    assert_eq!(back(&r, 0, 7), (5, vec![(1, 2)]));
    assert_eq!(back(&r, 7, 8), (0, vec![(1, 8)]));
}

#[test]
fn the_catalog_decides_whether_and_until_when_an_entry_is_reversible() {
    use crate::ledger::EntryRequest;
    use operations::Catalog;
    let mut catalog = Catalog::base();
    let extension = "[operations.CREDIT_SPEND]\nreversal_window_seconds = 60\n\n[operations.CREDIT_ADD]\nreversible = false\n";
    catalog
        .extend_from_toml("test.toml", extension)
        .expect("a valid extension");
    let record = |op: &str| {
        let cmd = EntryRequest {
            operation: op.into(),
            owner_id: "amy".into(),
            nonce: "n".into(),
            amount: Some("1".into()),
            ..EntryRequest::default()
        }
        .validate(Uuid::nil(), &catalog, 0, false)
        .expect("a request");
        let mut record = cmd.received_record();
        for (seq, state) in [
            "validating",
            "nonce_check",
            "balance_check",
            "processing",
            "completed",
        ]
        .into_iter()
        .enumerate()
        {
            let mut event = record.events[0].clone();
            (event.seq, event.state) = (seq as i32 + 1, state.into());
            record.events.push(event);
        }
        record
    };
    let nonce = || Nonce::parse("r".into()).expect("a nonce");
    let code = |op: &str, at: i64| {
        let record = record(op);
        command(&record, catalog.get(op), (nonce(), None, None), 2, at)
            .err()
            .map(|r| r.code)
    };
    assert_eq!(code("CREDIT_ADD", 1), Some(Code::NotReversible));
    assert_eq!(
        code("CREDIT_SPEND", 60_000_000),
        None,
        "the last instant of the window"
    );
    assert_eq!(code("CREDIT_SPEND", 60_000_001), Some(Code::NotReversible));
}
