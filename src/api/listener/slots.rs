//! How many connections may be open: in all, and from one client address. A connection
//! past either cap is closed as soon as it is accepted, so that one address (or a flood
//! from many) cannot hold every file descriptor of the process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Notify;

/// The caps, and the connections open now.
pub struct Slots {
    max_total: usize,
    max_per_address: usize,
    open: Mutex<Open>,
    emptied: Notify,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One open connection's place; dropping it frees the place.
pub struct Slot {
    slots: Arc<Slots>,
    address: IpAddr,
}

impl Slots {
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<Slots> {
        Arc::new(Slots {
            max_total,
            max_per_address,
            open: Mutex::default(),
            emptied: Notify::new(),
        })
    }

    /// A place for a connection from `address`, or `None` when a cap is reached.
    pub fn take(self: &Arc<Self>, address: IpAddr) -> Option<Slot> {
        let mut open = self.lock();
        let from_address = open.by_address.get(&address).copied().unwrap_or(0);
        if open.total >= self.max_total || from_address >= self.max_per_address {
            return None;
        }
        open.total += 1;
        open.by_address.insert(address, from_address + 1);
        Some(Slot {
            slots: self.clone(),
            address,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().total
    }

    /// Returns once no connection is open.
    pub async fn all_closed(&self) {
        loop {
            let emptied = self.emptied.notified();
            if self.open() == 0 {
                return;
            }
            emptied.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        // The counts stay whole whatever panicked while holding the lock: each change is one
        // statement.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.lock();
        open.total -= 1;
        if let Some(n) = open.by_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                open.by_address.remove(&self.address);
            }
        }
        if open.total == 0 {
            self.slots.emptied.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn an_address_at_its_cap_is_refused_while_another_is_served() {
        let slots = Slots::new(10, 2);
        let held: Vec<Slot> = (0..2).filter_map(|_| slots.take(ip(1))).collect();
        assert_eq!(held.len(), 2);
        assert!(slots.take(ip(1)).is_none());
        assert!(slots.take(ip(2)).is_some());
        drop(held);
        assert!(slots.take(ip(1)).is_some());
    }

    #[test]
    fn past_the_total_every_address_is_refused_until_one_closes() {
        let slots = Slots::new(3, 2);
        let a: Vec<Slot> = (0..2).filter_map(|_| slots.take(ip(1))).collect();
        let b = slots.take(ip(2));
        assert!(b.is_some());
        assert!(slots.take(ip(3)).is_none());
        drop(b);
        assert!(slots.take(ip(3)).is_some());
        assert_eq!(a.len(), 2);
    }

    #[tokio::test]
    async fn all_closed_returns_when_the_last_slot_is_dropped() {
        let slots = Slots::new(3, 3);
        let slot = slots.take(ip(1));
        let waiter = tokio::spawn({
            let slots = slots.clone();
            async move { slots.all_closed().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(slot);
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter)
            .await
            .expect("woken")
            .expect("no panic");
        assert_eq!(slots.open(), 0);
    }
}
