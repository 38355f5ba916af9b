use super::*;

const T: i64 = 1_000_000;

fn share(lot: u128, amount: i64, lot_expires_at: Option<i64>) -> Share {
    Share {
        lot_id: Uuid::from_u128(lot),
        amount: Decimal::from(amount),
        lot_expires_at,
    }
}

fn hold(amount: i64, expires_at: i64, shares: Vec<Share>) -> Hold {
    Hold {
        id: Uuid::from_u128(99),
        account_id: Uuid::nil(),
        amount: Decimal::from(amount),
        created_at: 0,
        expires_at,
        status: EntryState::Held,
        closed_at: None,
        shares,
    }
}

fn open_lot(id: u128, remaining: i64, expires_at: Option<i64>) -> lot::Model {
    lot::Model {
        id: Uuid::from_u128(id),
        account_id: Uuid::nil(),
        entry_id: None,
        category: "paid".into(),
        priority: 50,
        expires_at,
        created_at: 0,
        amount: remaining.to_string(),
        counter_account: "@system:x".into(),
        remaining: remaining.to_string(),
        status: "open".into(),
        closed_by: None,
        closed_at: None,
        closed_amount: None,
    }
}

#[test]
fn a_hold_holds_from_its_placement_until_not_at_its_instant_or_its_close() {
    let mut h = hold(5, 10 * T, vec![share(1, 5, None)]);
    assert!(h.holds_at(0) && h.holds_at(10 * T - 1) && !h.holds_at(10 * T));
    assert_eq!(
        held_at(std::slice::from_ref(&h), 10 * T - 1),
        Decimal::from(5)
    );
    assert_eq!(held_at(std::slice::from_ref(&h), 10 * T), Decimal::ZERO);
    h.status = EntryState::Captured;
    h.closed_at = Some(4 * T);
    assert!(h.holds_at(4 * T - 1) && !h.holds_at(4 * T));
}

#[test]
fn a_share_is_dead_only_when_its_lot_expired_before_the_hold_and_by_its_end() {
    let h = hold(
        30,
        10 * T,
        vec![
            share(1, 10, Some(5 * T)),
            share(2, 10, Some(10 * T)),
            share(3, 10, None),
        ],
    );
    assert_eq!(
        h.dead_at(4 * T),
        Decimal::ZERO,
        "a capture before the lot's expiry"
    );
    assert_eq!(h.dead_at(5 * T), Decimal::from(10));
    // The lot that expires at the hold's own instant takes its share back itself.
    assert_eq!(h.dead_at(10 * T), Decimal::from(10));
}

#[test]
fn what_is_gone_counts_each_expiry_once_whoever_records_it() {
    let h = hold(
        30,
        10 * T,
        vec![share(1, 10, Some(5 * T)), share(2, 20, Some(10 * T))],
    );
    let lots = [open_lot(1, 25, Some(5 * T)), open_lot(2, 20, Some(10 * T))];
    // At 6 s lot 1 expired: its 15 free go; the hold keeps its 10 for its capture.
    let gone = gone_at(6 * T, &lots[..1], std::slice::from_ref(&h)).expect("gone");
    assert_eq!(gone, Decimal::from(15));
    // At 10 s the hold ran out: its dead share of lot 1 goes too, and lot 2 (expiring at
    // the hold's instant) takes back all of its 20 with its own expiry.
    let gone = gone_at(10 * T, &lots, std::slice::from_ref(&h)).expect("gone");
    assert_eq!(gone, Decimal::from(15 + 10 + 20));
}
