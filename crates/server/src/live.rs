//! Live events for tills: each is stored with an increasing id (so a reconnecting browser can
//! replay what it missed, from its `Last-Event-ID`) and then broadcast to the browsers listening.
//! On PostgreSQL the browsers listening at every instance hear it: the database announces each
//! event as it commits, with its payload, and every instance's [`Live::fan_out`] passes on those
//! of its open channels, once each. While that announcement is heard, it is the only way an event
//! reaches browsers, this instance's own events too: the announcements come in the order the
//! events committed, which is a channel's id order, so a browser never gets an event after a
//! newer one of its channel, whichever instances wrote them. While it is not heard, an instance
//! reads its channel from the store up to its own event, which brings any older one along.
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
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::{Notify, broadcast, watch};

use crate::keyed_locks::KeyedLocks;
use crate::store::{NewTillEvent, Store, StoreError};

/// The first wait before listening again for other instances' events, doubling up to the most.
const FAN_OUT_RETRY_FIRST: Duration = Duration::from_millis(250);
const FAN_OUT_RETRY_MAX: Duration = Duration::from_secs(10);
/// How long making the listening connection may take.
const FAN_OUT_CONNECT_PATIENCE: Duration = Duration::from_secs(5);
/// After this long without an announcement the hub announces one of its own, and if that is not
/// heard within [`FAN_OUT_PING_PATIENCE`] the connection is taken for dead and made again: a
/// connection dropped silently (a NAT or a failover) would otherwise never say it was lost.
const FAN_OUT_QUIET: Duration = Duration::from_secs(15);
const FAN_OUT_PING_PATIENCE: Duration = Duration::from_secs(5);
/// The most events one read of the store returns; a channel that missed more is read again.
const READ_AT_MOST: i64 = 500;

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
    /// Its id, from the database: a channel's events have increasing ids.
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
    /// Browsers following it.
    listeners: usize,
    /// Requests waiting for a change on it (see [`Live::wait_on`]).
    waiting: usize,
    /// The id of the newest event sent on it, once one was: what came before it was sent or
    /// replayed already.
    last_id: Option<i64>,
    /// The lowest id up to which a listener replayed the store when it joined (see
    /// [`Live::replayed`]), until an event is sent: reading the store after it misses nothing
    /// of this channel, whose events commit in id order.
    replayed_to: Option<i64>,
    /// The newest id the hub had heard of when the channel opened: where to read from while no
    /// listener has said how far it replayed (a request waiting on the channel replays nothing).
    opened_after: i64,
}

/// Every channel with listeners, and the count of all listeners.
#[derive(Debug, Default)]
struct Channels {
    open: HashMap<String, Channel>,
    listeners: usize,
    /// Of the listeners, requests waiting for a change ([`Live::wait_on`]).
    waiting: usize,
    /// Whether the task reading revocations runs (it stops when nobody listens).
    watching: bool,
}

/// The hub.
pub struct Live {
    store: Store,
    channels: Mutex<Channels>,
    /// A channel's events are stored and sent one at a time, under its turn, so its browsers
    /// receive them in id order when this instance sends its own (on SQLite); on PostgreSQL it
    /// only spares the database's lock on the channel the waiting.
    turns: KeyedLocks,
    /// The newest event id this hub has sent or heard announced.
    heard: AtomicI64,
    /// Whether the hub hears the events every instance announces (always, on SQLite). On
    /// PostgreSQL, while it does, this instance's own events are delivered from those
    /// announcements, in commit order, and not as they are stored.
    hearing: watch::Sender<bool>,
    /// The ids of sessions revoked lately.
    revoked: watch::Sender<Arc<HashSet<String>>>,
}

impl Live {
    /// A hub storing into `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            channels: Mutex::new(Channels::default()),
            turns: KeyedLocks::default(),
            heard: AtomicI64::new(0),
            hearing: watch::Sender::new(false),
            revoked: watch::Sender::new(Arc::new(HashSet::new())),
        }
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, Channels> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores and broadcasts an event on a channel (a till's id, or a landing payment's channel).
    pub async fn publish<E: serde::Serialize>(&self, till_id: &str, event: &E) -> Result<i64, StoreError> {
        let announcement = self.announce(till_id, event).await;
        let id = self.store.insert_till_event(till_id, &announcement.payload, announcement.at).await?;
        announcement.stored(id).await;
        Ok(id)
    }

    /// Begins an event on `channel` that is stored together with the change it announces (see
    /// [`Announcement`]): waits for the channel's turn.
    pub async fn announce<E: serde::Serialize>(&self, channel: &str, event: &E) -> Announcement<'_> {
        let payload = serde_json::to_string(event).unwrap_or_default();
        let turn = self.turns.lock(channel).await;
        Announcement { live: self, channel: channel.to_owned(), payload, at: crate::now_ms(), _turn: turn }
    }

    /// Sends `event` to the channel's listeners, unless it was sent already (an event published
    /// here is also announced back by the database). Nobody listening is fine: the event is
    /// stored for whoever connects next, and no channel is made for it.
    fn deliver(&self, channel: &str, event: LiveEvent) {
        let mut channels = self.channels();
        let Some(open) = channels.open.get_mut(channel) else { return };
        if open.last_id.is_some_and(|last| event.id <= last) {
            return;
        }
        open.last_id = Some(event.id);
        self.heard.fetch_max(event.id, Ordering::Relaxed);
        let _ = open.sender.send(event);
    }

    /// Resolves once the hub hears the events other instances announce: serving before then
    /// could leave a till deaf to a webhook another instance received.
    pub async fn until_hearing_others(&self) {
        let _ = self.hearing.subscribe().wait_for(|hearing| *hearing).await;
    }

    /// Passes on the events every instance, this one too, announces through the database, for as
    /// long as the hub lives; nothing to do on SQLite, where this instance is the only one and
    /// sends its own. A lost connection is made again, and each open channel is then read from
    /// the store after the last event it was sent.
    pub async fn fan_out(hub: Weak<Self>) {
        let mut wait = FAN_OUT_RETRY_FIRST;
        loop {
            let Some(live) = hub.upgrade() else { return };
            // Bounded: a connection that never answers is given up and made again.
            let listening = tokio::time::timeout(FAN_OUT_CONNECT_PATIENCE, live.store.live_listener()).await;
            let listening =
                listening.unwrap_or_else(|_| Err(StoreError::TimedOut("listening for live events")));
            let mut listener = match listening {
                Ok(Some(listener)) => listener,
                Ok(None) => {
                    live.hearing.send_replace(true);
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot hear other instances' live events; trying again");
                    drop(live);
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(FAN_OUT_RETRY_MAX);
                    continue;
                }
            };
            wait = FAN_OUT_RETRY_FIRST;
            // A lost connection is made again here, under this loop's patience, and followed by a
            // catch-up: inside `try_recv` a reconnect could be cut short by the quiet timer, and
            // what was announced meanwhile never read.
            listener.eager_reconnect(false);
            tracing::info!("listening for other instances' live events");
            // From now on every event is announced to this listener; what committed before is
            // read below.
            live.hearing.send_replace(true);
            if !live.catch_up(None).await {
                // What was announced while no one listened is only in the table: listened to
                // anew and read again, after a while, until it is read. Delivering newer events
                // meanwhile would step over it for good.
                live.hearing.send_replace(false);
                drop(live);
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(FAN_OUT_RETRY_MAX);
                continue;
            }
            drop(live);
            let mut pinged = false;
            let lost = loop {
                let patience = if pinged { FAN_OUT_PING_PATIENCE } else { FAN_OUT_QUIET };
                let heard = tokio::time::timeout(patience, listener.try_recv()).await;
                let Some(live) = hub.upgrade() else { return };
                let heard = match heard {
                    Ok(heard) => heard,
                    Err(_) if pinged => {
                        tracing::warn!("the database's live events went silent; listening again");
                        break live;
                    }
                    Err(_) => {
                        pinged = true;
                        // Bounded: on the very connection loss this looks for, the ping can hang too.
                        let ping =
                            tokio::time::timeout(FAN_OUT_PING_PATIENCE, live.store.announce_ping()).await;
                        if let Ok(Err(e)) = ping {
                            tracing::warn!(error = %e, "cannot ask the database for a sign of life");
                        }
                        continue;
                    }
                };
                pinged = false;
                match heard {
                    Ok(Some(notification)) => {
                        let Some(announced) = Announced::parse(notification.payload()) else { continue };
                        live.heard.fetch_max(announced.id, Ordering::Relaxed);
                        match announced.payload {
                            Some(payload) => live.deliver(
                                announced.channel,
                                LiveEvent { id: announced.id, payload: payload.into() },
                            ),
                            // Too long to announce whole: read from the store, or else listened to
                            // anew and every channel read from where it stands.
                            None => {
                                if !live.catch_up(Some((announced.channel, announced.id))).await {
                                    break live;
                                }
                            }
                        }
                    }
                    Ok(None) => {
                        tracing::warn!("lost the database's live events; listening again");
                        break live;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the database's live events; listening again");
                        break live;
                    }
                }
            };
            // Until heard again, this instance's own events are read back as they are stored.
            lost.hearing.send_replace(false);
        }
    }

    /// Reads from the store and delivers what one open channel (`Some((channel, id))`: up to
    /// event `id`) or every open channel (`None`) has not been sent yet. False if a read failed:
    /// that channel's events are still to read.
    async fn catch_up(&self, announced: Option<(&str, i64)>) -> bool {
        let due: Vec<(String, i64)> = {
            let channels = self.channels();
            match announced {
                Some((name, id)) => channels
                    .open
                    .get(name)
                    .filter(|open| open.last_id.is_none_or(|last| last < id))
                    .map(|open| vec![(name.to_owned(), catch_up_after(open, id))])
                    .unwrap_or_default(),
                None => channels
                    .open
                    .iter()
                    .map(|(name, open)| {
                        (name.clone(), open.last_id.or(open.replayed_to).unwrap_or(open.opened_after))
                    })
                    .collect(),
            }
        };
        let mut whole = true;
        for (channel, after) in due {
            whole &= self.read_and_deliver(&channel, after).await;
        }
        whole
    }

    /// Delivers `channel`'s stored events after `after`, however many; false if they could not
    /// be read (the channel's place is where the last delivered left it).
    async fn read_and_deliver(&self, channel: &str, mut after: i64) -> bool {
        loop {
            match self.store.till_events_after(channel, after, READ_AT_MOST).await {
                Ok(events) => {
                    let whole = i64::try_from(events.len()).unwrap_or(i64::MAX) < READ_AT_MOST;
                    for (id, payload) in events {
                        after = id;
                        self.deliver(channel, LiveEvent { id, payload: payload.into() });
                    }
                    if whole {
                        return true;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, %channel, "cannot read live events to pass on");
                    return false;
                }
            }
        }
    }

    /// Listens to a channel's new events, if `caps` leave room: the receiver, and the place it
    /// takes until dropped.
    pub fn listen(
        self: &Arc<Self>,
        channel: &str,
        caps: Caps,
    ) -> Result<(broadcast::Receiver<LiveEvent>, Place), Full> {
        self.join(channel, caps, false)
    }

    /// Listens to a channel's new events for a while, to answer a request when something changes
    /// (a PoS waiting for a payment's outcome): only `total` counts, so waiting requests never
    /// take a till's browsers' places on its channel.
    pub fn wait_on(
        self: &Arc<Self>,
        channel: &str,
        total: usize,
    ) -> Result<(broadcast::Receiver<LiveEvent>, Place), Full> {
        self.join(channel, Caps { per_channel: usize::MAX, total }, true)
    }

    fn join(
        self: &Arc<Self>,
        channel: &str,
        caps: Caps,
        waiting: bool,
    ) -> Result<(broadcast::Receiver<LiveEvent>, Place), Full> {
        let mut channels = self.channels();
        if channels.listeners >= caps.total {
            return Err(Full::Server);
        }
        if !waiting && channels.open.get(channel).map_or(0, |open| open.listeners) >= caps.per_channel {
            return Err(Full::Channel);
        }
        let heard = self.heard();
        let open = channels.open.entry(channel.to_owned()).or_insert_with(|| Channel {
            // A browser that falls this far behind is dropped, and replays from the store.
            sender: broadcast::channel(16).0,
            listeners: 0,
            waiting: 0,
            last_id: None,
            replayed_to: None,
            opened_after: heard,
        });
        if waiting {
            open.waiting += 1;
        } else {
            open.listeners += 1;
        }
        let receiver = open.sender.subscribe();
        channels.listeners += 1;
        channels.waiting += usize::from(waiting);
        if !channels.watching {
            channels.watching = true;
            tokio::spawn(watch_revocations(Arc::downgrade(self)));
        }
        drop(channels);
        Ok((receiver, Place { live: Arc::clone(self), channel: channel.to_owned(), waiting }))
    }

    /// A listener of `channel` replayed the store up to event `upto` (its backlog's newest, or
    /// where it asked to start): what it may miss comes after that.
    pub fn replayed(&self, channel: &str, upto: i64) {
        if let Some(open) = self.channels().open.get_mut(channel) {
            open.replayed_to = Some(open.replayed_to.map_or(upto, |was| was.min(upto)));
        }
    }

    fn heard(&self) -> i64 {
        self.heard.load(Ordering::Relaxed)
    }

    /// A listener left `channel`: the channel goes with its last one.
    fn leave(&self, channel: &str, waiting: bool) {
        let mut channels = self.channels();
        channels.listeners = channels.listeners.saturating_sub(1);
        channels.waiting = channels.waiting.saturating_sub(usize::from(waiting));
        if let Some(open) = channels.open.get_mut(channel) {
            if waiting {
                open.waiting = open.waiting.saturating_sub(1);
            } else {
                open.listeners = open.listeners.saturating_sub(1);
            }
            if open.listeners == 0 && open.waiting == 0 {
                channels.open.remove(channel);
            }
        }
    }

    /// How many requests wait for a change now ([`Live::wait_on`]).
    pub fn waiting(&self) -> usize {
        self.channels().waiting
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
            .till_events_after(till_id, after, READ_AT_MOST)
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

/// Where to read `channel` from to reach event `id`: after the last event it was sent, or, when
/// nothing was sent on it yet, after what its listeners replayed when they joined, or, while none
/// has said, after the newest id heard when it opened. Reading a little more than a listener
/// missed is harmless: a stream sends each id once.
fn catch_up_after(channel: &Channel, id: i64) -> i64 {
    channel.last_id.or(channel.replayed_to).unwrap_or(channel.opened_after).min(id - 1)
}

/// An event being stored with the change it announces, holding its channel's turn: the store
/// writes [`Announcement::event`] in the change's transaction, then [`Announcement::stored`]
/// sees it sent with the id it got. Dropped unsent (the transaction failed), nothing is sent.
#[must_use = "the event is sent by `stored`"]
pub struct Announcement<'a> {
    live: &'a Live,
    channel: String,
    payload: String,
    at: i64,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl Announcement<'_> {
    /// The event, for the store.
    pub fn event(&self) -> NewTillEvent<'_> {
        NewTillEvent { channel: &self.channel, payload: &self.payload, at: self.at }
    }

    /// Sees the event, stored under `id`, sent to the channel's listeners here. On SQLite it is
    /// sent now; on PostgreSQL the database's announcement sends it, in commit order, and while
    /// that is not heard the channel is read from the store up to it: an event another instance
    /// committed just before is older, and must not be overtaken (its browsers would never get
    /// it, since a stream sends only ids newer than its last).
    pub async fn stored(self, id: i64) {
        if !self.live.store.postgres() {
            let payload: Arc<str> = self.payload.as_str().into();
            self.live.deliver(&self.channel, LiveEvent { id, payload });
        } else if !*self.live.hearing.borrow() {
            let after = self.live.channels().open.get(&self.channel).map(|open| catch_up_after(open, id));
            if let Some(after) = after {
                // Not read, it is read with the rest when this instance hears again.
                self.live.read_and_deliver(&self.channel, after).await;
            }
        }
    }
}

/// An announcement of an event as the database sends it: `"<id> <channel>"`, then a line break
/// and the event's JSON unless that was too long to announce (see `store::insert_event`).
#[derive(Debug, PartialEq, Eq)]
struct Announced<'a> {
    id: i64,
    channel: &'a str,
    payload: Option<&'a str>,
}

impl<'a> Announced<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let (head, payload) = match text.split_once('\n') {
            Some((head, payload)) => (head, Some(payload)),
            None => (text, None),
        };
        let (id, channel) = head.split_once(' ')?;
        Some(Self { id: id.parse().ok()?, channel, payload })
    }
}

/// A listener's place on a channel, given back when dropped.
pub struct Place {
    live: Arc<Live>,
    channel: String,
    waiting: bool,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.live.leave(&self.channel, self.waiting);
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

    /// Two hubs on one PostgreSQL database, each hearing the other's events.
    async fn two_instances(url: &str) -> (Arc<Live>, Arc<Live>) {
        let a = Arc::new(Live::new(Store::open(url).await.unwrap()));
        let b = Arc::new(Live::new(Store::open(url).await.unwrap()));
        tokio::spawn(Live::fan_out(Arc::downgrade(&a)));
        tokio::spawn(Live::fan_out(Arc::downgrade(&b)));
        a.until_hearing_others().await;
        b.until_hearing_others().await;
        (a, b)
    }

    /// Ends every listening connection to the database, as a failover or an operator would: how
    /// many.
    async fn end_listening(operator: &sqlx::PgPool) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE query LIKE 'LISTEN%' AND datname = current_database()) AS ended",
        )
        .fetch_one(operator)
        .await
        .unwrap()
    }

    /// The ids of the next two events `receiver` hears. A skipped event never comes: bounded, so
    /// that fails rather than hangs.
    async fn next_two(receiver: &mut broadcast::Receiver<LiveEvent>) -> [i64; 2] {
        let mut ids = [0; 2];
        for id in &mut ids {
            let heard = tokio::time::timeout(Duration::from_secs(20), receiver.recv()).await;
            *id = heard.expect("an event was skipped").unwrap().id;
        }
        ids
    }

    #[tokio::test]
    async fn requests_waiting_on_a_channel_hear_it_and_never_take_its_browsers_places() {
        let live = Arc::new(Live::new(Store::open("sqlite::memory:").await.unwrap()));
        let one_browser = Caps { per_channel: 1, total: 10 };
        let mut waiting = Vec::new();
        for _ in 0..3 {
            waiting.push(live.wait_on("till-1", 10).unwrap());
        }
        let (_browser, browser_place) =
            live.listen("till-1", one_browser).expect("the browser's place is free");
        assert_eq!(live.listen("till-1", one_browser).err(), Some(Full::Channel), "the till's cap holds");
        let id = live.publish("till-1", &"paid").await.unwrap();
        assert_eq!(waiting[0].0.recv().await.unwrap().id, id, "a waiting request hears the change");
        assert_eq!(live.wait_on("till-2", 4).err(), Some(Full::Server), "the server's total counts them");
        drop(browser_place);
        assert_eq!(live.open_channels(), 1, "kept open while requests wait");
        waiting.clear();
        assert_eq!(live.open_channels(), 0);
        assert_eq!(live.channels().listeners, 0);
    }

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

    #[tokio::test]
    async fn an_event_published_at_one_instance_reaches_listeners_at_another_once_and_in_order() {
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        let (a, b) = two_instances(&url).await;
        let (mut at_a, _place_a) = a.listen("till-1", ROOMY).unwrap();
        let (mut at_b, _place_b) = b.listen("till-1", ROOMY).unwrap();
        let (mut elsewhere, _place) = b.listen("till-2", ROOMY).unwrap();

        let first = a.publish("till-1", &"first").await.unwrap();
        let second = a.publish("till-1", &"second").await.unwrap();
        for receiver in [&mut at_a, &mut at_b] {
            assert_eq!(receiver.recv().await.unwrap().id, first);
            assert_eq!(receiver.recv().await.unwrap().id, second);
        }
        // And back: published at B, heard at A; each listener had each event once.
        let third = b.publish("till-1", &"third").await.unwrap();
        assert_eq!(at_a.recv().await.unwrap().id, third);
        assert_eq!(at_b.recv().await.unwrap().id, third);
        assert!(at_a.try_recv().is_err() && at_b.try_recv().is_err(), "nothing twice");
        assert!(elsewhere.try_recv().is_err(), "another till hears nothing of it");

        // Too long to announce whole: read from the store, at both.
        let long = "x".repeat(10_000);
        let fourth = b.publish("till-1", &long).await.unwrap();
        for receiver in [&mut at_a, &mut at_b] {
            let event = receiver.recv().await.unwrap();
            assert_eq!((event.id, event.payload.len()), (fourth, long.len() + 2), "the whole event");
        }
    }

    #[tokio::test]
    async fn events_two_instances_store_at_once_reach_every_listener_in_id_order() {
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        let (a, b) = two_instances(&url).await;
        let (mut at_a, _place_a) = a.listen("till-1", ROOMY).unwrap();
        let (mut at_b, _place_b) = b.listen("till-1", ROOMY).unwrap();
        // Each round both write to the one till at once, so one instance's event often commits
        // just before the other's: a browser must still get the older one first.
        for round in 0..20 {
            let (from_a, from_b) = tokio::join!(a.publish("till-1", &round), b.publish("till-1", &round));
            let mut stored = [from_a.unwrap(), from_b.unwrap()];
            stored.sort_unstable();
            for receiver in [&mut at_a, &mut at_b] {
                assert_eq!(next_two(receiver).await, stored, "round {round}: both events, oldest first");
            }
        }
        assert!(at_a.try_recv().is_err() && at_b.try_recv().is_err(), "nothing twice");
    }

    #[tokio::test]
    async fn after_the_database_drops_the_listening_connections_every_event_still_arrives_in_order() {
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        let operator = sqlx::PgPool::connect(&url).await.unwrap();
        let (a, b) = two_instances(&url).await;
        let (mut at_a, _place_a) = a.listen("till-1", ROOMY).unwrap();
        let (mut at_b, _place_b) = b.listen("till-1", ROOMY).unwrap();
        for round in 0..3 {
            // As a failover or an operator would: every listening connection is ended.
            assert_eq!(end_listening(&operator).await, 2, "round {round}: both instances listen");
            let (from_a, from_b) = tokio::join!(a.publish("till-1", &round), b.publish("till-1", &round));
            let mut stored = [from_a.unwrap(), from_b.unwrap()];
            stored.sort_unstable();
            for receiver in [&mut at_a, &mut at_b] {
                assert_eq!(next_two(receiver).await, stored, "round {round}: both events, oldest first");
            }
            // Both listen again before the next round ends them.
            for hub in [&a, &b] {
                tokio::time::timeout(Duration::from_secs(20), hub.until_hearing_others()).await.unwrap();
            }
        }
    }

    #[tokio::test]
    async fn an_event_missed_while_not_listening_and_not_read_at_once_still_comes_before_newer_ones() {
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        let operator = sqlx::PgPool::connect(&url).await.unwrap();
        let (a, b) = two_instances(&url).await;
        let (mut at_b, _place) = b.listen("till-1", ROOMY).unwrap();
        // Stored while no one listened (no announcement): only a read of the table finds it.
        let missed: i64 = sqlx::query_scalar(
            "INSERT INTO till_events (till_id, payload, created_at) VALUES ('till-1', '\"missed\"', 0) RETURNING id",
        )
        .fetch_one(&operator)
        .await
        .unwrap();
        // The listening connections end, and the read that follows fails (the table away).
        sqlx::query("ALTER TABLE till_events RENAME TO till_events_away").execute(&operator).await.unwrap();
        end_listening(&operator).await;
        let read_failed = async {
            loop {
                let tried: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND query LIKE 'SELECT id, payload FROM till_events WHERE till_id%'",
                )
                .fetch_one(&operator)
                .await
                .unwrap();
                if tried > 0 {
                    break;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), read_failed)
            .await
            .expect("B tried to read what it missed");
        sqlx::query("ALTER TABLE till_events_away RENAME TO till_events").execute(&operator).await.unwrap();
        let newer = a.publish("till-1", &"newer").await.unwrap();
        assert_eq!(next_two(&mut at_b).await, [missed, newer], "the missed event first, never stepped over");
    }

    #[tokio::test]
    async fn an_instance_not_hearing_the_database_sends_its_own_event_after_an_older_one_read_from_the_store()
    {
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        // Neither hears the database's announcements (no fan-out runs), as while an instance makes
        // its listening connection again: what A sends, it sends by reading the store.
        let a = Arc::new(Live::new(Store::open(&url).await.unwrap()));
        let b = Arc::new(Live::new(Store::open(&url).await.unwrap()));
        let (mut at_a, _place) = a.listen("till-1", ROOMY).unwrap();
        let older = b.publish("till-1", &"from B").await.unwrap();
        assert!(at_a.try_recv().is_err(), "A has not heard of B's event");
        let own = a.publish("till-1", &"from A").await.unwrap();
        assert_eq!(next_two(&mut at_a).await, [older, own], "B's older event first, then A's own");
        let next = a.publish("till-1", &"again").await.unwrap();
        assert_eq!(at_a.recv().await.unwrap().id, next);
        assert!(at_a.try_recv().is_err(), "nothing twice");
    }

    #[test]
    fn a_channel_is_read_after_what_it_was_sent_or_its_listeners_replayed_and_never_past_the_event() {
        let channel = |last_id, replayed_to| Channel {
            sender: broadcast::channel(1).0,
            listeners: 1,
            waiting: 0,
            last_id,
            replayed_to,
            opened_after: 60,
        };
        assert_eq!(catch_up_after(&channel(Some(90), Some(50)), 100), 90, "after what it was sent");
        // An event of another till with a higher id says nothing of this one: only its replay does.
        assert_eq!(catch_up_after(&channel(None, Some(50)), 100), 50, "after its replay");
        assert_eq!(catch_up_after(&channel(None, None), 100), 60, "no replay said: after what was heard");
        assert_eq!(catch_up_after(&channel(Some(120), None), 100), 99, "the event is always read");
    }

    #[tokio::test]
    async fn the_lowest_replay_of_a_channels_listeners_is_kept_until_an_event_is_sent() {
        let live = Arc::new(Live::new(Store::open("sqlite::memory:").await.unwrap()));
        let (_first, _first_place) = live.listen("till-1", ROOMY).unwrap();
        let (_second, _second_place) = live.listen("till-1", ROOMY).unwrap();
        live.replayed("till-1", 40);
        live.replayed("till-1", 30);
        live.replayed("till-1", 45);
        live.replayed("till-2", 1);
        assert_eq!(live.channels().open["till-1"].replayed_to, Some(30));
        assert!(!live.channels().open.contains_key("till-2"), "no channel is made for it");
    }

    #[test]
    fn an_announcement_names_its_event_and_carries_it_when_it_fits() {
        let whole = Announced::parse("42 till-1\n{\"sale\":\"a b\\nc\"}").unwrap();
        assert_eq!(whole, Announced { id: 42, channel: "till-1", payload: Some("{\"sale\":\"a b\\nc\"}") });
        let named = Announced::parse("43 landing:abc").unwrap();
        assert_eq!(named, Announced { id: 43, channel: "landing:abc", payload: None });
        assert_eq!(Announced::parse("x till-1"), None, "an id is a number");
        assert_eq!(Announced::parse("44"), None, "a channel is named");
        assert_eq!(Announced::parse("ping"), None, "a sign of life is no event");
    }
}
