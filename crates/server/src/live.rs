//! Live events for tills: each is stored with an increasing id (so a reconnecting browser can
//! replay what it missed, from its `Last-Event-ID`) and then broadcast to the browsers listening.
//!
//! The hub's work is bounded: a channel (a till's, or a landing payment's) exists only while
//! someone listens and is dropped with its last listener, and listeners are capped per channel
//! and in all ([`Caps`]); each [`Place`] counts until its stream is dropped.
//!
//! It also tells open streams when their session was revoked. The operator may revoke from
//! another process (`kasse-server till revoke`), so the database is the truth: while anyone
//! listens, the hub reads the sessions revoked in the last minutes, every second and at once when
//! [`sessions_revoked`] says this process revoked one, and publishes their ids to
//! [`Live::revocations`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::{Notify, broadcast, watch};

use crate::store::{Store, StoreError};

/// How often the hub looks for sessions revoked by another process.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// How far back it looks: any revocation the watch can have missed, with room for clocks that
/// differ between the processes.
const REVOKED_WITHIN_MS: i64 = 5 * 60 * 1000;

/// Rung when this process revokes sessions: every hub looks at once instead of within a second.
static REVOKED_HERE: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Tells the hubs of this process that sessions were just revoked, so their streams end now.
pub fn sessions_revoked() {
    REVOKED_HERE.notify_waiters();
}

/// One stored event, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveEvent {
    /// Its id, increasing per server.
    pub id: i64,
    /// The JSON of a `TillEvent`.
    pub payload: Arc<str>,
}

/// How many may listen at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// To one channel.
    pub per_channel: usize,
    /// To all channels together.
    pub total: usize,
}

/// Why a listener was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Full {
    /// The channel has as many listeners as it may.
    #[error("this channel has as many listeners as it may")]
    Channel,
    /// The server has as many listeners as it may.
    #[error("the server has as many live streams open as it may")]
    Server,
}

/// A channel with listeners.
#[derive(Debug)]
struct Channel {
    sender: broadcast::Sender<LiveEvent>,
    listeners: usize,
}

/// Every channel with listeners, and the count of all listeners.
#[derive(Debug, Default)]
struct Channels {
    open: HashMap<String, Channel>,
    listeners: usize,
    /// Whether the task reading revocations runs (it stops when nobody listens).
    watching: bool,
}

/// The hub.
pub struct Live {
    store: Store,
    channels: Mutex<Channels>,
    // Storing and broadcasting happen under this lock, so browsers receive events in id order.
    publishing: tokio::sync::Mutex<()>,
    /// The ids of sessions revoked lately.
    revoked: watch::Sender<Arc<HashSet<String>>>,
}

impl Live {
    /// A hub storing into `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            channels: Mutex::new(Channels::default()),
            publishing: tokio::sync::Mutex::new(()),
            revoked: watch::Sender::new(Arc::new(HashSet::new())),
        }
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, Channels> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores and broadcasts an event on a channel (a till's id, or a landing payment's channel).
    pub async fn publish<E: serde::Serialize>(&self, till_id: &str, event: &E) -> Result<i64, StoreError> {
        let payload = serde_json::to_string(event).unwrap_or_default();
        let _in_order = self.publishing.lock().await;
        let id = self.store.insert_till_event(till_id, &payload, crate::now_ms()).await?;
        // Nobody listening is fine: the event is stored for whoever connects next, and no channel
        // is made for it.
        let sender = self.channels().open.get(till_id).map(|channel| channel.sender.clone());
        if let Some(sender) = sender {
            let _ = sender.send(LiveEvent { id, payload: payload.into() });
        }
        Ok(id)
    }

    /// Listens to a channel's new events, if `caps` leave room: the receiver, and the place it
    /// takes until dropped.
    pub fn listen(
        self: &Arc<Self>,
        channel: &str,
        caps: Caps,
    ) -> Result<(broadcast::Receiver<LiveEvent>, Place), Full> {
        let mut channels = self.channels();
        if channels.listeners >= caps.total {
            return Err(Full::Server);
        }
        if channels.open.get(channel).map_or(0, |open| open.listeners) >= caps.per_channel {
            return Err(Full::Channel);
        }
        let open = channels
            .open
            .entry(channel.to_owned())
            .or_insert_with(|| Channel { sender: broadcast::channel(64).0, listeners: 0 });
        open.listeners += 1;
        let receiver = open.sender.subscribe();
        channels.listeners += 1;
        if !channels.watching {
            channels.watching = true;
            tokio::spawn(watch_revocations(Arc::downgrade(self)));
        }
        drop(channels);
        Ok((receiver, Place { live: Arc::clone(self), channel: channel.to_owned() }))
    }

    /// A listener left `channel`: the channel goes with its last one.
    fn leave(&self, channel: &str) {
        let mut channels = self.channels();
        channels.listeners = channels.listeners.saturating_sub(1);
        if let Some(open) = channels.open.get_mut(channel) {
            open.listeners = open.listeners.saturating_sub(1);
            if open.listeners == 0 {
                channels.open.remove(channel);
            }
        }
    }

    /// How many channels have listeners now.
    #[cfg(test)]
    fn open_channels(&self) -> usize {
        self.channels().open.len()
    }

    /// The ids of sessions revoked lately, updated as more are.
    pub fn revocations(&self) -> watch::Receiver<Arc<HashSet<String>>> {
        self.revoked.subscribe()
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

    /// Whether anyone still listens; when not, the revocation watch is over (under the same lock
    /// as [`Live::listen`] starts it, so a listener arriving now starts a new one).
    fn still_watched(&self) -> bool {
        let mut channels = self.channels();
        if channels.listeners == 0 {
            channels.watching = false;
        }
        channels.watching
    }
}

/// A listener's place on a channel, given back when dropped.
pub struct Place {
    live: Arc<Live>,
    channel: String,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.live.leave(&self.channel);
    }
}

/// Reads the sessions revoked lately into the hub's `revoked`, every [`WATCH_EVERY`] and when
/// [`sessions_revoked`] rings, for as long as the hub exists and anyone listens.
async fn watch_revocations(live: Weak<Live>) {
    loop {
        // Listen for the bell before reading, so a revocation during the read is not missed.
        let rung = REVOKED_HERE.notified();
        tokio::pin!(rung);
        rung.as_mut().enable();
        {
            let Some(hub) = live.upgrade() else { return };
            if !hub.still_watched() {
                return;
            }
            match hub.store.sessions_revoked_since(crate::now_ms() - REVOKED_WITHIN_MS).await {
                Ok(ids) => {
                    let ids: HashSet<String> = ids.into_iter().collect();
                    hub.revoked.send_if_modified(|known| {
                        let changed = **known != ids;
                        if changed {
                            *known = Arc::new(ids);
                        }
                        changed
                    });
                }
                Err(e) => tracing::warn!(error = %e, "cannot read revoked sessions"),
            }
        }
        tokio::select! {
            () = &mut rung => {}
            () = tokio::time::sleep(WATCH_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOMY: Caps = Caps { per_channel: 10, total: 10 };

    #[tokio::test]
    async fn a_channel_exists_only_while_someone_listens() {
        let live = Arc::new(Live::new(Store::open("sqlite::memory:").await.unwrap()));
        live.publish("till-1", &"nobody listens").await.unwrap();
        assert_eq!(live.open_channels(), 0, "publishing makes no channel");
        let (mut first, first_place) = live.listen("till-1", ROOMY).unwrap();
        let (_second, second_place) = live.listen("till-1", ROOMY).unwrap();
        let id = live.publish("till-1", &"hello").await.unwrap();
        assert_eq!(first.recv().await.unwrap().id, id);
        assert_eq!(live.open_channels(), 1);
        drop(first_place);
        assert_eq!(live.open_channels(), 1, "one listener is left");
        drop(second_place);
        assert_eq!(live.open_channels(), 0, "dropped with its last listener");
        assert_eq!(live.channels().listeners, 0);
    }

    #[tokio::test]
    async fn listeners_are_capped_per_channel_and_in_all_and_a_place_given_back_is_free() {
        let live = Arc::new(Live::new(Store::open("sqlite::memory:").await.unwrap()));
        let caps = Caps { per_channel: 2, total: 3 };
        let a1 = live.listen("a", caps).unwrap();
        let _a2 = live.listen("a", caps).unwrap();
        assert_eq!(live.listen("a", caps).err(), Some(Full::Channel));
        let _b1 = live.listen("b", caps).unwrap();
        assert_eq!(live.listen("c", caps).err(), Some(Full::Server));
        assert_eq!(live.open_channels(), 2, "a refused listener leaves no channel behind");
        drop(a1);
        assert!(live.listen("c", caps).is_ok());
    }

    #[tokio::test]
    async fn a_revocation_reaches_the_listeners_of_the_hub() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        store.insert_session("hash-1", "till-1", "till", 0).await.unwrap();
        let live = Arc::new(Live::new(store.clone()));
        let _listening = live.listen("till-1", ROOMY).unwrap();
        let mut revoked = live.revocations();
        store.revoke_till_sessions("till-1", crate::now_ms()).await.unwrap();
        sessions_revoked();
        let seen =
            tokio::time::timeout(Duration::from_secs(20), revoked.wait_for(|ids| ids.contains("hash-1")))
                .await
                .expect("the revocation arrives");
        assert!(seen.is_ok());
    }
}
