//! One async lock per key (a payment's reference, a live channel), created on demand and
//! forgotten when nobody holds or waits for it: work on one key goes one at a time, on others
//! side by side.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// One async lock per key, created on demand and forgotten when unused.
#[derive(Default)]
pub(crate) struct KeyedLocks {
    locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    fn entry(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        locks.retain(|_, weak| weak.strong_count() > 0);
        if let Some(existing) = locks.get(key).and_then(Weak::upgrade) {
            existing
        } else {
            let fresh = Arc::new(tokio::sync::Mutex::new(()));
            locks.insert(key.to_owned(), Arc::downgrade(&fresh));
            fresh
        }
    }

    /// Waits for `key`'s lock.
    pub(crate) async fn lock(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.entry(key).lock_owned().await
    }

    /// Takes `key`'s lock if it is free.
    pub(crate) fn try_lock(&self, key: &str) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        self.entry(key).try_lock_owned().ok()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;

    use super::*;

    #[tokio::test]
    async fn keyed_locks_serialise_the_same_key_only() {
        let locks = KeyedLocks::default();
        let a = locks.lock("a").await;
        // Another key is free while "a" is held.
        let _b = locks.lock("b").await;
        assert!(locks.lock("a").now_or_never().is_none(), "a second holder of the same key must wait");
        assert!(locks.try_lock("a").is_none(), "and one that will not wait is told it is taken");
        drop(a);
        let _a = locks.lock("a").await;
    }
}
