//! Live events for tills: each is stored with an increasing id (so a reconnecting browser can
//! replay what it missed, from its `Last-Event-ID`) and then broadcast to the browsers listening.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

use crate::store::{Store, StoreError};

/// One stored event, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveEvent {
    /// Its id, increasing per server.
    pub id: i64,
    /// The JSON of a `TillEvent`.
    pub payload: Arc<str>,
}

/// The hub.
pub struct Live {
    store: Store,
    channels: Mutex<HashMap<String, broadcast::Sender<LiveEvent>>>,
    // Storing and broadcasting happen under this lock, so browsers receive events in id order.
    publishing: tokio::sync::Mutex<()>,
}

impl Live {
    /// A hub storing into `store`.
    pub fn new(store: Store) -> Self {
        Self { store, channels: Mutex::new(HashMap::new()), publishing: tokio::sync::Mutex::new(()) }
    }

    fn sender(&self, till_id: &str) -> broadcast::Sender<LiveEvent> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        channels.entry(till_id.to_owned()).or_insert_with(|| broadcast::channel(64).0).clone()
    }

    /// Stores and broadcasts an event on a channel (a till's id, or a landing payment's channel).
    pub async fn publish<E: serde::Serialize>(&self, till_id: &str, event: &E) -> Result<i64, StoreError> {
        let payload = serde_json::to_string(event).unwrap_or_default();
        let _in_order = self.publishing.lock().await;
        let id = self.store.insert_till_event(till_id, &payload, crate::now_ms()).await?;
        // Nobody listening is fine: the event is stored for whoever connects next.
        let _ = self.sender(till_id).send(LiveEvent { id, payload: payload.into() });
        Ok(id)
    }

    /// Listens to a till's new events.
    pub fn subscribe(&self, till_id: &str) -> broadcast::Receiver<LiveEvent> {
        self.sender(till_id).subscribe()
    }

    /// Stored events after `after`, for replay.
    pub async fn since(&self, till_id: &str, after: i64) -> Result<Vec<LiveEvent>, StoreError> {
        Ok(self
            .store
            .till_events_after(till_id, after, 500)
            .await?
            .into_iter()
            .map(|(id, payload)| LiveEvent { id, payload: payload.into() })
            .collect())
    }
}
