//! The apps read lately, each reused for a while before it is read again.
//!
//! Past its time, the first request that wants an app reads it again, and the requests
//! that want it meanwhile keep the one read before: when every request of an app waited
//! on its own read, each expiry sent as many reads as requests arrived during one, and a
//! whole batch's callers were late.

use super::App;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Apps by id, each reused for `ttl` after it was read.
pub struct AppCache {
    ttl: Duration,
    apps: RwLock<HashMap<Uuid, Cached>>,
}

struct Cached {
    app: Arc<App>,
    read_at: Instant,
    /// When a request past `ttl` began to read the app again.
    reading_since: Option<Instant>,
}

impl AppCache {
    pub fn new(ttl: Duration) -> AppCache {
        AppCache {
            ttl,
            apps: RwLock::new(HashMap::new()),
        }
    }

    /// The app while it is younger than `ttl`. Past it, `None` for the first caller, which
    /// is to read it and [`put`](Self::put) it, and the cached app for every other caller
    /// until it has. A read that has taken `ttl` itself (it failed, or its request went
    /// away) is another caller's to make.
    pub fn get(&self, id: Uuid) -> Option<Arc<App>> {
        if let Ok(apps) = self.apps.read()
            && let Some(c) = apps.get(&id)
            && c.read_at.elapsed() < self.ttl
        {
            return Some(c.app.clone());
        }
        let mut apps = self.apps.write().ok()?;
        let c = apps.get_mut(&id)?;
        let reading = c.reading_since.is_some_and(|t| t.elapsed() < self.ttl);
        if c.read_at.elapsed() < self.ttl || reading {
            return Some(c.app.clone());
        }
        c.reading_since = Some(Instant::now());
        None
    }

    pub fn put(&self, app: Arc<App>) {
        if let Ok(mut apps) = self.apps.write() {
            let cached = Cached {
                app: app.clone(),
                read_at: Instant::now(),
                reading_since: None,
            };
            apps.insert(app.id, cached);
        }
    }

    /// Drops an app that is no longer there.
    pub fn forget(&self, id: Uuid) {
        if let Ok(mut apps) = self.apps.write() {
            apps.remove(&id);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut apps) = self.apps.write() {
            apps.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use operations::Catalog;

    fn app(id: Uuid, name: &str) -> Arc<App> {
        Arc::new(App {
            id,
            name: name.to_owned(),
            catalog: Catalog::base(),
            rate: None,
        })
    }

    /// Given an app cached, when its time is up, then the first caller reads it again and
    /// the others keep the cached one until that read is put, or has taken as long again.
    #[test]
    fn past_its_time_one_caller_reads_an_app_again_and_the_others_keep_it() {
        let ttl = Duration::from_millis(60);
        let cache = AppCache::new(ttl);
        let id = Uuid::now_v7();
        assert!(cache.get(id).is_none(), "nothing cached: read it");
        cache.put(app(id, "first"));
        assert_eq!(
            cache.get(id).map(|a| a.name.clone()).as_deref(),
            Some("first")
        );

        std::thread::sleep(ttl);
        assert!(
            cache.get(id).is_none(),
            "the first caller past its time reads it"
        );
        for _ in 0..3 {
            let kept = cache.get(id).map(|a| a.name.clone());
            assert_eq!(
                kept.as_deref(),
                Some("first"),
                "the others keep it meanwhile"
            );
        }
        cache.put(app(id, "second"));
        assert_eq!(
            cache.get(id).map(|a| a.name.clone()).as_deref(),
            Some("second")
        );

        std::thread::sleep(ttl);
        assert!(cache.get(id).is_none(), "a read begun…");
        std::thread::sleep(ttl);
        assert!(cache.get(id).is_none(), "…and never put is taken over");

        cache.forget(id);
        assert!(cache.get(id).is_none());
        cache.put(app(id, "third"));
        cache.clear();
        assert!(cache.get(id).is_none());
    }
}
