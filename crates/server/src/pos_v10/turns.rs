//! A point of sale's turn: v10 allowed one active payment per point of sale, so a new payment
//! there is judged free and recorded while its turn is held, here and at every other instance on
//! the database. Two sent at once (a PoS retrying under a new key, two tills' software sharing a
//! point of sale) then cannot both find it free.

use std::sync::Arc;

use crate::keyed_locks::KeyedLocks;
use crate::store::{SharedLock, Store, StoreError};

/// A point of sale's turn, held until dropped.
#[must_use = "the turn ends when dropped"]
pub struct PosTurn {
    // Dropped in this order: the database's lock first, then the process's.
    _shared: SharedLock,
    _local: tokio::sync::OwnedMutexGuard<()>,
}

/// The points of sale's turns of this process.
#[derive(Clone)]
pub struct PosTurns {
    local: Arc<KeyedLocks>,
    store: Store,
}

impl PosTurns {
    /// Turns across the instances on `store`'s database.
    pub fn new(store: Store) -> Self {
        Self { local: Arc::new(KeyedLocks::default()), store }
    }

    /// Waits for the point of sale `pos_id`'s turn. The process's own lock is taken first, so
    /// requests meeting here queue in memory and hold at most one of the database's lock
    /// connections between them.
    pub async fn take(&self, pos_id: &str) -> Result<PosTurn, StoreError> {
        let local = self.local.lock(pos_id).await;
        let shared = self.store.lock(&format!("v10-pos:{pos_id}")).await?;
        Ok(PosTurn { _shared: shared, _local: local })
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;

    use super::*;

    #[tokio::test]
    async fn a_point_of_sale_has_one_turn_at_a_time_here_and_at_every_instance() {
        let here = PosTurns::new(Store::open("sqlite::memory:").await.unwrap());
        let held = here.take("pos-1").await.unwrap();
        assert!(here.take("pos-1").now_or_never().is_none(), "the next request waits");
        let _other = here.take("pos-2").now_or_never().expect("another point of sale is free").unwrap();
        drop(held);
        let _next = here.take("pos-1").await.unwrap();

        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        // Two instances: two processes' turns on one database.
        let a = PosTurns::new(Store::open(&url).await.unwrap());
        let b = PosTurns::new(Store::open(&url).await.unwrap());
        let held = a.take("pos-1").await.unwrap();
        let meanwhile = tokio::time::timeout(std::time::Duration::from_millis(300), b.take("pos-1")).await;
        assert!(meanwhile.is_err(), "the other instance waits while the turn is held");
        let _other = b.take("pos-2").await.unwrap();
        drop(held);
        let _then = b.take("pos-1").await.unwrap();
    }
}
