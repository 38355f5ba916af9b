//! A system account's history: the entries that posted to the account, newest first, read
//! from its postings. A system account is never an entry's owner or counterparty, so the
//! entries' own owner indexes cannot find them; the postings' primary key
//! `(account_id, version)` can, in the account's order, without an index of their own
//! (DESIGN.md, "A system account's history").

use super::{EntryPage, PostingCursor, QueryError, ReadModel};
use entity::read::posting as rm_posting;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashSet;
use uuid::Uuid;

impl ReadModel {
    /// Up to `limit` entries that posted to `account`, newest first, from the posting at
    /// `from` down. An entry that posted to the account more than once is listed once, at
    /// its newest posting: the page that holds that posting lists it, and a later page
    /// leaves it out, since it also posted above where that page starts.
    pub(super) async fn account_entries(
        &self,
        account: Uuid,
        from: Option<PostingCursor>,
        limit: u64,
    ) -> Result<EntryPage<PostingCursor>, QueryError> {
        // The entries this page lists, and those it must not (listed already).
        let mut page = Vec::new();
        let mut seen = HashSet::new();
        let mut scan = from.map(PostingCursor::version);
        let next = loop {
            let rows = self.postings_down(account, scan, limit + 1).await?;
            if let Some(from) = from {
                let unseen: Vec<Uuid> = rows
                    .iter()
                    .map(|r| r.0)
                    .filter(|id| !seen.contains(id))
                    .collect();
                seen.extend(self.posted_above(account, from.version(), &unseen).await?);
            }
            if let Some(next) = take_unseen(&rows, &mut seen, &mut page, limit) {
                break Some(PostingCursor::at(next));
            }
            // A full chunk may have been all repeats: the page goes on below it.
            match rows.get(limit as usize) {
                Some(&(_, version)) => scan = Some(version - 1),
                None => break None,
            }
        };
        let entries = self.entries_in_order(&page).await?;
        Ok(EntryPage { entries, next })
    }

    /// `(entry, version)` of up to `n` of `account`'s postings, from `at_or_below` (the
    /// newest if none) down: a range of the primary key.
    async fn postings_down(
        &self,
        account: Uuid,
        at_or_below: Option<i64>,
        n: u64,
    ) -> Result<Vec<(Uuid, i64)>, QueryError> {
        let mut query = rm_posting::Entity::find()
            .select_only()
            .columns([rm_posting::Column::EntryId, rm_posting::Column::Version])
            .filter(rm_posting::Column::AccountId.eq(account));
        if let Some(version) = at_or_below {
            query = query.filter(rm_posting::Column::Version.lte(version));
        }
        Ok(query
            .order_by_desc(rm_posting::Column::Version)
            .limit(n)
            .into_tuple()
            .all(self.conn())
            .await?)
    }

    /// Which of `entries` posted to `account` above `version`.
    async fn posted_above(
        &self,
        account: Uuid,
        version: i64,
        entries: &[Uuid],
    ) -> Result<HashSet<Uuid>, QueryError> {
        if entries.is_empty() {
            return Ok(HashSet::new());
        }
        // By the entries' index alone: a filter on the account would let the planner range
        // over every posting of a hot account above `version` instead.
        let rows: Vec<(Uuid, Uuid, i64)> = rm_posting::Entity::find()
            .select_only()
            .columns([
                rm_posting::Column::EntryId,
                rm_posting::Column::AccountId,
                rm_posting::Column::Version,
            ])
            .filter(rm_posting::Column::EntryId.is_in(entries.to_vec()))
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(rows
            .into_iter()
            .filter(|&(_, a, v)| a == account && v > version)
            .map(|(entry, _, _)| entry)
            .collect())
    }
}

/// Appends to `page` the entries of `rows` not `seen` yet, until it holds `limit`; then the
/// version of the first posting left over, where the next page starts.
fn take_unseen(
    rows: &[(Uuid, i64)],
    seen: &mut HashSet<Uuid>,
    page: &mut Vec<Uuid>,
    limit: u64,
) -> Option<i64> {
    for &(entry, version) in rows {
        if seen.contains(&entry) {
            continue;
        }
        if page.len() as u64 >= limit {
            return Some(version);
        }
        seen.insert(entry);
        page.push(entry);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn an_entry_posting_twice_is_taken_once_at_its_newest_posting() {
        let rows = [(e(1), 9), (e(2), 8), (e(1), 7), (e(3), 6), (e(4), 5)];
        let (mut seen, mut page) = (HashSet::new(), Vec::new());
        assert_eq!(take_unseen(&rows, &mut seen, &mut page, 3), Some(5));
        assert_eq!(page, [e(1), e(2), e(3)]);
    }

    #[test]
    fn entries_seen_before_are_skipped_and_a_short_chunk_ends_the_page() {
        let rows = [(e(1), 4), (e(2), 3), (e(2), 2)];
        let mut seen = HashSet::from([e(1)]);
        let mut page = Vec::new();
        assert_eq!(take_unseen(&rows, &mut seen, &mut page, 5), None);
        assert_eq!(page, [e(2)]);
    }
}
