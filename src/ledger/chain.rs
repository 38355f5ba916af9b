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
    crate::hex::encode(&h.finalize())
}

/// How posting `p` fails to follow a posting whose hash is `previous`, if it does:
/// `ledgerflow verify` and the audit endpoint both judge a link by this.
pub fn broken_link(previous: &str, p: &posting::Model) -> Option<&'static str> {
    if p.prev_hash != previous {
        Some("does not link to the previous posting")
    } else if p.hash != hash(p) {
        Some("does not match its content")
    } else {
        None
    }
}

/// An account's chain walked in version order, posting by posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// Postings seen.
    pub postings: u64,
    /// The hash of the last posting seen ([`GENESIS`] before the first).
    pub head_hash: String,
    /// The first posting that does not follow the one before, and how.
    pub broken: Option<(i64, String)>,
    version: i64,
}

impl Default for Walk {
    fn default() -> Self {
        Walk {
            postings: 0,
            head_hash: GENESIS.to_owned(),
            broken: None,
            version: 0,
        }
    }
}

impl Walk {
    /// Takes the account's next posting. After the first break the walk only counts.
    pub fn step(&mut self, p: &posting::Model) {
        self.postings += 1;
        if self.broken.is_none() {
            let why = if p.version != self.version + 1 {
                Some(format!(
                    "comes after v{}: a version is missing",
                    self.version
                ))
            } else {
                broken_link(&self.head_hash, p).map(|why| format!("its hash {why}"))
            };
            self.broken = why.map(|why| (p.version, why));
        }
        self.version = p.version;
        self.head_hash = p.hash.clone();
    }
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

    /// `n` postings of one account, chained.
    fn chain(n: i64) -> Vec<posting::Model> {
        let mut previous = GENESIS.to_owned();
        (1..=n)
            .map(|version| {
                let mut p = posting();
                p.version = version;
                p.prev_hash = previous.clone();
                p.hash = hash(&p);
                previous = p.hash.clone();
                p
            })
            .collect()
    }

    fn walked(postings: &[posting::Model]) -> Walk {
        let mut walk = Walk::default();
        postings.iter().for_each(|p| walk.step(p));
        walk
    }

    #[test]
    fn an_intact_chain_walks_to_its_last_hash() {
        let postings = chain(3);
        let walk = walked(&postings);
        assert_eq!((walk.postings, walk.broken), (3, None));
        assert_eq!(walk.head_hash, postings[2].hash);
        assert_eq!(walked(&[]).head_hash, GENESIS);
    }

    #[test]
    fn the_first_break_is_named_with_its_version_and_how() {
        let mut edited = chain(4);
        edited[1].amount = "99.00".to_owned();
        let walk = walked(&edited);
        assert_eq!(walk.postings, 4);
        assert_eq!(
            walk.broken,
            Some((2, "its hash does not match its content".to_owned()))
        );
        let mut rehashed = chain(4);
        rehashed[1].amount = "99.00".to_owned();
        rehashed[1].hash = hash(&rehashed[1]);
        assert_eq!(
            walked(&rehashed).broken,
            Some((
                3,
                "its hash does not link to the previous posting".to_owned()
            ))
        );
        let mut gap = chain(4);
        gap.remove(2);
        assert_eq!(
            walked(&gap).broken,
            Some((4, "comes after v2: a version is missing".to_owned()))
        );
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
