//! Where a page of an account's history starts. An owner's history is ordered by when its
//! entries were made, a system account's by its postings' versions, so each has a cursor of
//! its own, written so that neither can be read as the other: `{created_at}_{id}` and
//! `v{version}`.

use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Where a page of an owner's entries starts: after `(created_at, id)`, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub created_at: i64,
    pub id: Uuid,
}

impl fmt::Display for PageCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.created_at, self.id.simple())
    }
}

impl FromStr for PageCursor {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (at, id) = s.split_once('_').ok_or(())?;
        Ok(PageCursor {
            created_at: at.parse().map_err(|_| ())?,
            id: Uuid::try_parse(id).map_err(|_| ())?,
        })
    }
}

/// Where a page of a system account's entries starts: at its posting of `version`, going
/// down. A version is 1 or more, written without leading zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostingCursor {
    version: i64,
}

impl PostingCursor {
    /// Most digits of a version in a cursor: 18 stay inside an `i64` (and the OpenAPI
    /// document's pattern says the same).
    pub const MAX_DIGITS: usize = 18;

    /// At a posting the read model has: its version is one of the account's.
    pub(super) fn at(version: i64) -> PostingCursor {
        PostingCursor { version }
    }

    pub fn version(self) -> i64 {
        self.version
    }
}

impl fmt::Display for PostingCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.version)
    }
}

impl FromStr for PostingCursor {
    type Err = ();

    /// Exactly what `Display` writes, so that the cursor a client can send is the one
    /// pattern the OpenAPI document states (`i64::from_str` would also take `+1`, `007`).
    fn from_str(s: &str) -> Result<Self, ()> {
        let digits = s.strip_prefix('v').ok_or(())?;
        let canonical = (1..=Self::MAX_DIGITS).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        if !canonical {
            return Err(());
        }
        Ok(PostingCursor {
            version: digits.parse().map_err(|_| ())?,
        })
    }
}

/// A `next_cursor` as a client sends it back, of either kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryCursor {
    /// An owner's page.
    Owner(PageCursor),
    /// A system account's page.
    System(PostingCursor),
}

impl FromStr for HistoryCursor {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s.starts_with('v') {
            true => s.parse().map(HistoryCursor::System),
            false => s.parse().map(HistoryCursor::Owner),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cursor_reads_back_as_its_own_kind() {
        let owner = PageCursor {
            created_at: 1_790_000_000_000_000,
            id: Uuid::from_u128(7),
        };
        let system = PostingCursor::at(42);
        assert_eq!(
            owner.to_string().parse(),
            Ok(HistoryCursor::Owner(owner)),
            "{owner}"
        );
        assert_eq!(system.to_string(), "v42");
        assert_eq!("v42".parse(), Ok(HistoryCursor::System(system)));
        let hyphenated = format!("-5_{}", Uuid::from_u128(7).hyphenated());
        assert!(matches!(
            hyphenated.parse(),
            Ok(HistoryCursor::Owner(PageCursor { created_at: -5, .. }))
        ));
        let longest = format!("v{}", "9".repeat(PostingCursor::MAX_DIGITS));
        assert!(longest.parse::<HistoryCursor>().is_ok());
    }

    #[test]
    fn a_version_cursor_is_only_what_it_writes() {
        let too_long = format!("v1{}", "0".repeat(PostingCursor::MAX_DIGITS));
        for refused in [
            "", "v", "v0", "v007", "v+1", "v-1", "v1.5", "v 1", "V1", "1", "v1_2", &too_long,
        ] {
            assert_eq!(refused.parse::<HistoryCursor>(), Err(()), "{refused:?}");
        }
    }

    #[test]
    fn neither_kind_reads_as_the_other() {
        let owner = format!("5_{}", Uuid::from_u128(1).simple());
        assert_eq!(owner.parse::<PostingCursor>(), Err(()));
        assert_eq!("v5".parse::<PageCursor>(), Err(()));
    }
}
