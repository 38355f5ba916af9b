//! The lot rules: given lots, when a debit draws at a time, then these allocations. A
//! property test holds [`draw`] against a reference written rule by rule from the drawdown
//! order's statement, over random lots, debits and times.

use super::*;
use proptest::prelude::*;

fn lot(id: u128, priority: u8, expires_at: Option<i64>, category: Category) -> Lot {
    Lot {
        id: Uuid::from_u128(id),
        category,
        priority,
        expires_at,
        created_at: 0,
        amount: Decimal::TEN,
        remaining: Decimal::TEN,
        reserved: Decimal::ZERO,
    }
}

fn drawn_from(lots: &mut [Lot], amount: i64, at: i64) -> Vec<(u128, i64)> {
    draw(lots, Decimal::from(amount), at)
        .allocations
        .iter()
        .map(|a| {
            let amount = a.amount.try_into().expect("a whole amount");
            (a.lot_id.as_u128(), amount)
        })
        .collect()
}

use Category::{Paid, Promotional};

#[test]
fn each_rule_of_the_drawdown_order_decides_when_the_ones_before_it_tie() {
    // Priority beats everything after it.
    let mut lots = [lot(1, 50, Some(5), Promotional), lot(2, 10, None, Paid)];
    assert_eq!(drawn_from(&mut lots, 12, 0), [(2, 10), (1, 2)]);
    // Then the earliest expiry, and a lot that never expires comes last.
    let mut lots = [
        lot(1, 50, None, Promotional),
        lot(2, 50, Some(9), Paid),
        lot(3, 50, Some(7), Paid),
    ];
    assert_eq!(drawn_from(&mut lots, 25, 0), [(3, 10), (2, 10), (1, 5)]);
    // Then promotional before paid.
    let mut lots = [lot(1, 50, Some(9), Paid), lot(2, 50, Some(9), Promotional)];
    assert_eq!(drawn_from(&mut lots, 11, 0), [(2, 10), (1, 1)]);
    // Then the older lot, then the lower id.
    let mut lots = [
        lot(1, 50, None, Paid),
        lot(2, 50, None, Paid),
        lot(3, 50, None, Paid),
    ];
    lots[0].created_at = 2;
    assert_eq!(drawn_from(&mut lots, 25, 3), [(2, 10), (3, 10), (1, 5)]);
}

#[test]
fn a_lot_counts_until_its_expiry_instant_and_not_at_it() {
    let t = 1_000_000;
    let mut lots = [lot(1, 50, Some(t), Promotional), lot(2, 60, None, Paid)];
    assert!(lots[0].counts_at(t - 1) && !lots[0].counts_at(t));
    assert_eq!(available(&lots, t - 1), Decimal::from(20));
    assert_eq!(available(&lots, t), Decimal::TEN);
    assert_eq!(drawn_from(&mut lots.clone(), 5, t - 1), [(1, 5)]);
    assert_eq!(drawn_from(&mut lots, 5, t), [(2, 5)]);
}

#[test]
fn what_no_lot_covers_is_uncovered_and_a_later_credit_covers_it_first() {
    let mut lots = [lot(1, 50, None, Paid)];
    let d = draw(&mut lots, Decimal::from(14), 0);
    assert_eq!(d.uncovered, Decimal::from(4));
    assert_eq!(lots[0].remaining, Decimal::ZERO);
    assert_eq!(
        cover(d.uncovered, Decimal::from(10)),
        (Decimal::from(4), Decimal::from(6))
    );
    assert_eq!(
        cover(d.uncovered, Decimal::from(3)),
        (Decimal::from(3), Decimal::ZERO)
    );
    assert_eq!(
        cover(Decimal::ZERO, Decimal::from(3)),
        (Decimal::ZERO, Decimal::from(3))
    );
}

#[test]
fn categories_round_trip_through_their_names() {
    for c in [Promotional, Paid] {
        assert_eq!(c.as_str().parse::<Category>(), Ok(c));
    }
    assert!("free".parse::<Category>().is_err());
}

/// The drawdown order as the rules state it, one comparison after another.
fn drawn_before(a: &Lot, b: &Lot) -> bool {
    if a.priority != b.priority {
        return a.priority < b.priority;
    }
    match (a.expires_at, b.expires_at) {
        (Some(x), Some(y)) if x != y => return x < y,
        (Some(_), None) => return true,
        (None, Some(_)) => return false,
        _ => {}
    }
    if a.category != b.category {
        return a.category == Promotional;
    }
    if a.created_at != b.created_at {
        return a.created_at < b.created_at;
    }
    a.id < b.id
}

/// A draw as the rules state it: again and again, the first open lot gives what it can.
fn reference_draw(lots: &mut [Lot], amount: Decimal, at: i64) -> Draw {
    let mut result = Draw::default();
    let mut left = amount;
    while left > Decimal::ZERO {
        let open = |l: &Lot| l.remaining > Decimal::ZERO && l.expires_at.is_none_or(|e| at < e);
        let mut first: Option<usize> = None;
        for i in 0..lots.len() {
            if open(&lots[i]) && first.is_none_or(|f| drawn_before(&lots[i], &lots[f])) {
                first = Some(i);
            }
        }
        let Some(i) = first else { break };
        let take = left.min(lots[i].remaining);
        lots[i].remaining -= take;
        left -= take;
        result.allocations.push(Allocation {
            lot_id: lots[i].id,
            amount: take,
        });
    }
    result.uncovered = left;
    result
}

fn lots_strategy() -> impl Strategy<Value = Vec<Lot>> {
    let one = (
        prop::sample::select(vec![0u8, 10, 50, 100]),
        prop::option::of(0i64..10),
        any::<bool>(),
        0i64..4,
        1u32..20,
    );
    prop::collection::vec(one, 0..8).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(
                |(i, (priority, expires_at, paid, created_at, amount))| Lot {
                    // Ids in an order unrelated to the lots', so the last rule matters too.
                    id: Uuid::from_u128(((i as u128) * 7919) % 101),
                    category: if paid { Paid } else { Promotional },
                    priority,
                    expires_at,
                    created_at,
                    amount: amount.into(),
                    remaining: amount.into(),
                    reserved: Decimal::ZERO,
                },
            )
            .collect()
    })
}

proptest! {
    #[test]
    fn draws_follow_the_stated_order_and_never_take_what_does_not_count(
        lots in lots_strategy(),
        debits in prop::collection::vec((1u32..40, 0i64..12), 1..6),
    ) {
        let mut ours = lots.clone();
        let mut reference = lots;
        for (amount, at) in debits {
            let amount = Decimal::from(amount);
            let counted = available(&ours, at);
            let d = draw(&mut ours, amount, at);
            prop_assert_eq!(&d, &reference_draw(&mut reference, amount, at));
            let taken: Decimal = d.allocations.iter().map(|a| a.amount).sum();
            prop_assert_eq!(taken + d.uncovered, amount);
            prop_assert_eq!(d.uncovered, (amount - counted).max(Decimal::ZERO));
            for a in &d.allocations {
                let lot = ours.iter().find(|l| l.id == a.lot_id).expect("a drawn lot");
                prop_assert!(lot.counts_at(at) && a.amount > Decimal::ZERO);
            }
            prop_assert!(ours.iter().all(|l| l.remaining >= Decimal::ZERO));
        }
    }
}
