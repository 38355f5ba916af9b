//! Account ids: derived from what names an account, and remembered per thread.

use std::cell::RefCell;
use std::collections::HashMap;
use uuid::Uuid;

/// The id of account `(app, owner, asset)`: a UUIDv5, so every instance derives the same id
/// without a lookup and an account row can be created by whichever writer comes first.
///
/// Deriving one is a SHA-1 (in software), and a batch derives the same few ids again and
/// again (to read, to decide, to post), so each thread remembers the ids it derived, per
/// app up to [`REMEMBERED_ACCOUNT_IDS`], past which that app's are forgotten: a pure
/// function, remembered.
pub fn account_id(app_id: Uuid, owner_id: &str, asset: &str) -> Uuid {
    DERIVED.with_borrow_mut(|derived| {
        let DerivedIds { name, by_app } = derived;
        name.clear();
        name.push_str(asset);
        name.push('\u{0}');
        name.push_str(owner_id);
        let ids = by_app.entry(app_id).or_default();
        if let Some(id) = ids.get(name.as_str()) {
            return *id;
        }
        if ids.len() >= REMEMBERED_ACCOUNT_IDS {
            ids.clear();
        }
        let id = Uuid::new_v5(&app_id, name.as_bytes());
        ids.insert(name.clone(), id);
        id
    })
}

/// How many account ids a thread remembers per app (about 100 bytes each).
const REMEMBERED_ACCOUNT_IDS: usize = 16_384;

/// A thread's derived account ids, by app and `asset NUL owner`, and the buffer the name
/// is joined in (so that finding a remembered id allocates nothing).
#[derive(Default)]
struct DerivedIds {
    name: String,
    by_app: HashMap<Uuid, HashMap<String, Uuid>>,
}

thread_local! {
    static DERIVED: RefCell<DerivedIds> = RefCell::default();
}

/// The owner accounts an entry of `(app, owner, counterparty, asset)` may have credited:
/// where the lots it opened are.
pub fn owner_accounts(
    app_id: Uuid,
    owner_id: &str,
    counterparty_id: Option<&str>,
    asset: &str,
) -> Vec<Uuid> {
    [Some(owner_id), counterparty_id]
        .into_iter()
        .flatten()
        .map(|owner| account_id(app_id, owner, asset))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A remembered account id is the one derived: asked again, past the number a thread
    /// remembers, for another app or another asset.
    #[test]
    fn an_account_id_is_its_uuidv5_however_often_it_is_asked() {
        let apps = [Uuid::now_v7(), Uuid::now_v7()];
        let derived = |app: Uuid, owner: &str, asset: &str| {
            Uuid::new_v5(&app, format!("{asset}\u{0}{owner}").as_bytes())
        };
        let owners: Vec<String> = (0..REMEMBERED_ACCOUNT_IDS + 3)
            .map(|i| format!("owner-{i}"))
            .collect();
        for _ in 0..2 {
            for owner in owners.iter().take(5).chain(owners.iter().rev().take(5)) {
                for app in apps {
                    for asset in ["CREDIT", "GEMS"] {
                        assert_eq!(account_id(app, owner, asset), derived(app, owner, asset));
                    }
                }
            }
            for owner in &owners {
                assert_eq!(
                    account_id(apps[0], owner, "CREDIT"),
                    derived(apps[0], owner, "CREDIT")
                );
            }
        }
        assert_ne!(
            account_id(apps[0], "amy", "CREDIT"),
            account_id(apps[1], "amy", "CREDIT")
        );
    }
}
