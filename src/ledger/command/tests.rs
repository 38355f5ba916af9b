//! The checked types of a command: amounts, nonces and ids parse or are refused.

use super::*;

#[test]
fn amounts_parse_only_as_plain_decimal_strings() {
    assert_eq!(
        Amount::parse_text("12345678901234567.89")
            .expect("an amount")
            .to_string(),
        "12345678901234567.89"
    );
    for bad in [
        "",
        "1e5",
        "1.",
        ".5",
        "+1",
        "0x10",
        "1,5",
        " 1",
        "NaN",
        &"9".repeat(41),
    ] {
        assert_eq!(
            Amount::parse_text(bad).expect_err(bad).code,
            Code::InvalidAmount,
            "{bad:?}"
        );
    }
    // Parses; the operation's rule refuses it later as not positive.
    assert!(Amount::parse_text("-5").is_ok());
}

#[test]
fn ids_refuse_invisible_characters_and_forms_other_than_nfc() {
    for (bad, named) in [
        ("a\u{200B}b", "U+200B"),
        ("\u{202E}abc", "U+202E"),
        ("bob\u{FEFF}", "U+FEFF"),
        ("x\u{E0041}", "U+E0041"),
    ] {
        let refusal = OwnerId::parse("owner_id", bad.into()).expect_err(bad);
        assert_eq!(refusal.code, Code::InvalidId);
        assert!(refusal.detail.contains(named), "{}", refusal.detail);
        assert!(Nonce::parse(bad.into()).is_err());
    }
    // "é" as e and a combining accent is the decomposed form: refused; composed, taken.
    let decomposed = "cafe\u{301}";
    assert_eq!(
        OwnerId::parse("owner_id", decomposed.into())
            .expect_err("not NFC")
            .code,
        Code::InvalidId
    );
    assert!(OwnerId::parse("owner_id", "caf\u{E9}".into()).is_ok());
}

#[test]
fn ids_are_bounded_and_free_of_control_characters() {
    let owner = OwnerId::parse("owner_id", "ünïcødé ✓".into());
    assert!(owner.is_ok_and(|o| !o.is_system()));
    let system = OwnerId::parse("owner_id", "@system:rewards".into());
    assert!(system.is_ok_and(|o| o.is_system()));
    for bad in ["".to_owned(), "a\u{0}b".to_owned(), "x".repeat(129)] {
        assert_eq!(
            Nonce::parse(bad.clone()).expect_err("refused").code,
            Code::InvalidId
        );
        assert_eq!(
            OwnerId::parse("owner_id", bad).expect_err("refused").code,
            Code::InvalidId
        );
    }
}
