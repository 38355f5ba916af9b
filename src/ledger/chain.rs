//! The postings of each account form a hash chain: posting v stores the hash of posting
//! v-1 (`prev_hash`) and its own `hash` = SHA-256 over `prev_hash` and its content. Editing,
//! removing or reordering a stored posting breaks the chain from there on, which
//! `ledgerflow verify` finds (`projection::verify`).

use entity::posting;
use sha2::{Digest, Sha256};

/// `prev_hash` of an account's first posting.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of `p` as chained after `p.prev_hash`. Every field is length-prefixed, so no
/// two different postings encode alike.
pub fn hash(p: &posting::Model) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(p.prev_hash.as_bytes());
    field(p.account_id.as_bytes());
    field(&p.version.to_be_bytes());
    field(p.entry_id.as_bytes());
    field(p.app_id.as_bytes());
    field(p.owner_id.as_bytes());
    field(p.asset.as_bytes());
    field(p.amount.as_bytes());
    field(p.balance_after.as_bytes());
    field(&p.recorded_at.to_be_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn posting() -> posting::Model {
        posting::Model {
            account_id: Uuid::from_u128(1),
            version: 1,
            entry_id: Uuid::from_u128(2),
            app_id: Uuid::from_u128(3),
            owner_id: "alice".to_owned(),
            asset: "CREDIT".to_owned(),
            amount: "10.00".to_owned(),
            balance_after: "10.00".to_owned(),
            recorded_at: 1_700_000_000_000_000,
            prev_hash: GENESIS.to_owned(),
            hash: String::new(),
        }
    }

    #[test]
    fn every_field_is_in_the_hash() {
        let base = hash(&posting());
        assert_eq!(base.len(), 64);
        assert_eq!(hash(&posting()), base, "deterministic");
        let changes: [fn(&mut posting::Model); 10] = [
            |p| p.account_id = Uuid::from_u128(8),
            |p| p.app_id = Uuid::from_u128(10),
            |p| p.version = 2,
            |p| p.owner_id = "bob".to_owned(),
            |p| p.amount = "10.0".to_owned(),
            |p| p.balance_after = "11.00".to_owned(),
            |p| p.recorded_at += 1,
            |p| p.prev_hash = "1".repeat(64),
            |p| p.entry_id = Uuid::from_u128(9),
            |p| p.asset = "GEM".to_owned(),
        ];
        for change in changes {
            let mut p = posting();
            change(&mut p);
            assert_ne!(hash(&p), base);
        }
        // The stored hash itself is not hashed.
        let mut p = posting();
        p.hash = "x".to_owned();
        assert_eq!(hash(&p), base);
    }

    #[test]
    fn fields_cannot_trade_bytes() {
        let mut a = posting();
        a.owner_id = "ab".to_owned();
        a.asset = "c".to_owned();
        let mut b = posting();
        b.owner_id = "a".to_owned();
        b.asset = "bc".to_owned();
        assert_ne!(hash(&a), hash(&b));
    }
}
