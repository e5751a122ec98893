//! One async lock per payment reference inside this process, so two requests never work on one
//! payment at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// One async lock per key, created on demand and forgotten when unused.
#[derive(Default)]
pub(super) struct KeyedLocks {
    locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    pub(super) async fn lock(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            locks.retain(|_, weak| weak.strong_count() > 0);
            if let Some(existing) = locks.get(key).and_then(Weak::upgrade) {
                existing
            } else {
                let fresh = Arc::new(tokio::sync::Mutex::new(()));
                locks.insert(key.to_owned(), Arc::downgrade(&fresh));
                fresh
            }
        };
        lock.lock_owned().await
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
        drop(a);
        let _a = locks.lock("a").await;
    }
}
