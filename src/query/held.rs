//! Reads that wait for the read model (`min_version`), counted per app: each waiting read
//! holds a request and polls the read model, so one app may hold only so many at once.

use super::QueryError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use uuid::Uuid;

#[derive(Clone)]
pub(super) struct Held {
    max: usize,
    by_app: Arc<Mutex<HashMap<Uuid, usize>>>,
}

/// One waiting read; it stops counting when dropped.
pub(super) struct Hold {
    held: Held,
    app_id: Uuid,
}

impl Held {
    pub(super) fn new(max: usize) -> Held {
        Held {
            max,
            by_app: Arc::default(),
        }
    }

    /// Counts one more waiting read of `app_id`, unless it has `max` already.
    pub(super) fn hold(&self, app_id: Uuid) -> Result<Hold, QueryError> {
        let mut by_app = self.by_app.lock().unwrap_or_else(PoisonError::into_inner);
        let count = by_app.entry(app_id).or_default();
        if *count >= self.max {
            return Err(QueryError::TooManyHeld(*count));
        }
        *count += 1;
        Ok(Hold {
            held: self.clone(),
            app_id,
        })
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut by_app = self
            .held
            .by_app
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = by_app.get_mut(&self.app_id) {
            *count -= 1;
            if *count == 0 {
                by_app.remove(&self.app_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_holds_at_most_max_reads_and_a_finished_one_frees_its_place() {
        let held = Held::new(2);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let first = held.hold(a).expect("one");
        let _second = held.hold(a).expect("two");
        assert!(matches!(held.hold(a), Err(QueryError::TooManyHeld(2))));
        assert!(held.hold(b).is_ok(), "another app has its own share");
        drop(first);
        assert!(held.hold(a).is_ok());
    }
}
