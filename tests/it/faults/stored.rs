//! The event store, read from its own tables, and the ledger's invariants checked on
//! them.

use super::*;

/// The event store's rows (each test has a database of its own, with one app).
pub struct Stored {
    pub entries: Vec<entry::Model>,
    pub postings: Vec<posting::Model>,
    pub accounts: Vec<account::Model>,
}

impl Stored {
    pub async fn read(url: &str) -> Stored {
        let db = Database::connect(url).await.expect("the event store");
        Stored {
            entries: entry::Entity::find().all(&db).await.expect("entries"),
            postings: posting::Entity::find()
                .order_by_asc(posting::Column::AccountId)
                .order_by_asc(posting::Column::Version)
                .all(&db)
                .await
                .expect("postings"),
            accounts: account::Entity::find().all(&db).await.expect("accounts"),
        }
    }

    /// Outbox rows not yet on the bus.
    pub async fn outbox(url: &str) -> u64 {
        let db = Database::connect(url).await.expect("the event store");
        outbox::Entity::find()
            .count(&db)
            .await
            .expect("outbox rows")
    }

    /// Async entries received and not finished.
    pub async fn pending(url: &str) -> u64 {
        let db = Database::connect(url).await.expect("the event store");
        pending_entry::Entity::find()
            .count(&db)
            .await
            .expect("pending entries")
    }

    /// The ledger's invariants, from the rows alone.
    pub fn assert_invariants(&self) {
        // Per account: versions 1..=v, balance_after the running sum, never below zero for
        // an owner (system accounts, `@…`, are the other side and go negative).
        let mut heads: HashMap<Uuid, (Decimal, i64)> = HashMap::new();
        for p in &self.postings {
            let (balance, version) = heads.entry(p.account_id).or_default();
            assert_eq!(
                p.version,
                *version + 1,
                "versions of {} follow 1, 2, 3, … without a gap",
                p.owner_id
            );
            *balance += Decimal::from_str(&p.amount).expect("a posting amount");
            let after = Decimal::from_str(&p.balance_after).expect("a balance_after");
            assert_eq!(
                after, *balance,
                "balance_after of {} v{} is the running sum",
                p.owner_id, p.version
            );
            assert!(
                p.owner_id.starts_with('@') || after >= Decimal::ZERO,
                "{} was overdrawn: balance {after} at version {} (entry {})",
                p.owner_id,
                p.version,
                p.entry_id
            );
            *version = p.version;
        }
        // Heads are the last postings; the books sum to zero.
        let mut books = Decimal::ZERO;
        for a in &self.accounts {
            let balance = Decimal::from_str(&a.balance).expect("a head balance");
            assert_eq!(
                heads.get(&a.id).copied().unwrap_or_default(),
                (balance, a.version),
                "the head of {} is its last posting",
                a.owner_id
            );
            books += balance;
        }
        assert_eq!(books, Decimal::ZERO, "the books sum to zero");
        // Each entry moved money with two postings of opposite sign, or none.
        let mut legs: HashMap<Uuid, (usize, Decimal)> = HashMap::new();
        for p in &self.postings {
            let (n, sum) = legs.entry(p.entry_id).or_default();
            *n += 1;
            *sum += Decimal::from_str(&p.amount).expect("a posting amount");
        }
        for (id, (n, sum)) in legs {
            assert_eq!((n, sum), (2, Decimal::ZERO), "the postings of entry {id}");
        }
    }

    /// The event store holds exactly the entries the clients were answered: one per nonce,
    /// under the answered id, with postings if and only if it completed; and each owner's
    /// head is the sum of its completed entries.
    pub fn assert_holds_exactly(&self, settled: &BTreeMap<String, Settled>) {
        let mut by_nonce: BTreeMap<&str, Vec<&entry::Model>> = BTreeMap::new();
        for e in &self.entries {
            by_nonce.entry(e.nonce.as_str()).or_default().push(e);
        }
        for (nonce, entries) in &by_nonce {
            assert_eq!(entries.len(), 1, "one entry for nonce {nonce}: {entries:?}");
        }
        let stored: BTreeSet<&str> = by_nonce.keys().copied().collect();
        let answered: BTreeSet<&str> = settled.keys().map(String::as_str).collect();
        let lost: Vec<_> = answered.difference(&stored).take(10).collect();
        let phantom: Vec<_> = stored.difference(&answered).take(10).collect();
        assert!(
            lost.is_empty(),
            "answered entries missing from the event store: {lost:?}"
        );
        assert!(
            phantom.is_empty(),
            "entries in the event store that no request was answered with: {phantom:?}"
        );
        let mut legs: HashMap<Uuid, usize> = HashMap::new();
        for p in &self.postings {
            *legs.entry(p.entry_id).or_default() += 1;
        }
        for (nonce, s) in settled {
            let e = by_nonce[nonce.as_str()][0];
            assert_eq!(
                e.id, s.id,
                "the stored entry of {nonce} is the one answered"
            );
            assert_eq!(
                legs.get(&e.id).copied().unwrap_or(0),
                if s.completed { 2 } else { 0 },
                "postings of {nonce} (completed: {})",
                s.completed
            );
        }
        let heads: BTreeMap<&str, Decimal> = self
            .accounts
            .iter()
            .filter(|a| !a.owner_id.starts_with('@'))
            .map(|a| {
                let balance = Decimal::from_str(&a.balance).expect("a head balance");
                (a.owner_id.as_str(), balance)
            })
            .collect();
        let expected = expected_balances(settled);
        let owners: BTreeSet<&str> = heads
            .keys()
            .copied()
            .chain(expected.keys().map(String::as_str))
            .collect();
        for owner in owners {
            assert_eq!(
                heads.get(owner).copied().unwrap_or_default(),
                expected.get(owner).copied().unwrap_or_default(),
                "the balance of {owner} is the sum of its completed entries"
            );
        }
    }
}
