//! One lock per payment reference, so two requests never work on one payment at once: inside
//! this process an async mutex per reference, and across the instances sharing a PostgreSQL
//! database that database's lock as well ([`SharedLock`]).
//!
//! The process's own lock is taken first, so requests that meet here queue in memory and hold
//! at most one of the database's lock connections between them.

use crate::keyed_locks::KeyedLocks;
use crate::store::{SharedLock, Store, StoreError};

/// A payment's lock, here and at every other instance; released when dropped.
#[must_use = "the lock is released when dropped"]
pub(super) struct PaymentGuard {
    // Dropped in this order: the database's lock first, then the process's.
    _shared: SharedLock,
    _local: tokio::sync::OwnedMutexGuard<()>,
}

/// A payment's lock in this process only (see [`PaymentLocks::lock_here`]).
#[must_use = "the lock is released when dropped"]
pub(super) struct LocalGuard {
    guard: tokio::sync::OwnedMutexGuard<()>,
}

/// The payment locks of this process.
pub(super) struct PaymentLocks {
    local: KeyedLocks,
    store: Store,
}

impl PaymentLocks {
    pub(super) fn new(store: Store) -> Self {
        Self { local: KeyedLocks::default(), store }
    }

    /// Waits for `reference`'s lock.
    pub(super) async fn lock(&self, reference: &str) -> Result<PaymentGuard, StoreError> {
        let here = self.lock_here(reference).await;
        self.lock_everywhere(here, reference).await
    }

    /// Waits for `reference`'s lock in this process only: enough to wait out a request of this
    /// instance that is working on the payment, without a round trip to the database.
    pub(super) async fn lock_here(&self, reference: &str) -> LocalGuard {
        LocalGuard { guard: self.local.lock(reference).await }
    }

    /// Waits for the rest of `reference`'s lock, at every instance, once `here` is held.
    pub(super) async fn lock_everywhere(
        &self,
        here: LocalGuard,
        reference: &str,
    ) -> Result<PaymentGuard, StoreError> {
        let shared = self.store.lock(&format!("payment:{reference}")).await?;
        Ok(PaymentGuard { _shared: shared, _local: here.guard })
    }

    /// Takes `reference`'s lock if nobody, here or elsewhere, is working on the payment: what the
    /// reconciler does, so that two instances never work on one pending write at once, and
    /// neither waits for the other.
    pub(super) async fn try_lock(&self, reference: &str) -> Result<Option<PaymentGuard>, StoreError> {
        let Some(local) = self.local.try_lock(reference) else { return Ok(None) };
        let Some(shared) = self.store.try_lock(&format!("payment:{reference}")).await? else {
            return Ok(None);
        };
        Ok(Some(PaymentGuard { _shared: shared, _local: local }))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;

    use super::*;

    #[tokio::test]
    async fn a_payment_locked_through_one_store_is_locked_for_every_instance_on_the_database() {
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        // Two instances: two processes' locks on one database.
        let a = PaymentLocks::new(Store::open(&url).await.unwrap());
        let b = PaymentLocks::new(Store::open(&url).await.unwrap());
        let held = a.lock("till-1-aaaa").await.unwrap();
        assert!(b.try_lock("till-1-aaaa").await.unwrap().is_none(), "the other instance sees it taken");
        assert!(b.lock("till-1-aaaa").now_or_never().is_none(), "and waits for it");
        let _other = b.try_lock("till-1-bbbb").await.unwrap().expect("another payment is free");
        drop(held);
        // Released by a task of its own: the other instance gets it as soon as that has run.
        let _taken = b.lock("till-1-aaaa").await.unwrap();
        assert!(a.try_lock("till-1-aaaa").await.unwrap().is_none());
    }
}
