//! Sessions that end, and streams that are bounded: a paired browser's session expiring when
//! unused for the idle time or past its lifetime, the operator listing devices and revoking them
//! (by the library and by the real `kasse-server till …` commands) with their open event streams
//! ending at once, a customer display that sees only its till's current sale, and the caps on
//! event streams per till, per landing payment and in all.
//!
//! Time passing is played by moving a session's stored times back in the server's database file
//! (opened beside it, as another process would), never by waiting.

use std::process::Command;
use std::time::Duration;

use kasse_api::{LandingPayment, ProblemCode, Role, SaleStatus, TillEvent};
use kasse_server::config::SessionPolicy;
use kasse_server::ops::pairing::{Device, Devices};
use reqwest::StatusCode;
use reqwest::header;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::helpers::*;

/// Moves the stored times of every session back: pairing by `paired`, last use by `used`, as if
/// that much time had passed.
fn age_sessions(data: &DataDir, paired: Duration, used: Duration) {
    let conn = rusqlite::Connection::open(data.0.join("kasse.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap();
    conn.execute(
        "UPDATE sessions SET created_at = created_at - ?1, last_seen_at = last_seen_at - ?2",
        (ms(paired), ms(used)),
    )
    .unwrap();
}

/// The operator's view of the server's devices (what `kasse-server till list` prints).
async fn devices(app: &TestApp) -> Vec<Device> {
    Devices::of(&app.running.tools()).list().await.unwrap()
}

/// The one device of `role`.
async fn device(app: &TestApp, role: Role) -> Device {
    let mut of_role: Vec<Device> = devices(app).await.into_iter().filter(|d| d.role == role).collect();
    assert_eq!(of_role.len(), 1, "one {role:?} is paired");
    of_role.remove(0)
}

impl TestApp {
    /// `GET path` from `browser`.
    async fn get_from(&self, browser: &reqwest::Client, path: &str) -> Answer {
        self.send(browser.get(format!("{}{path}", self.base))).await
    }

    /// Opens an event stream at `path` from `browser`.
    async fn open_stream(&self, browser: &reqwest::Client, path: &str) -> Opened {
        let response = browser
            .get(format!("{}{path}", self.base))
            .header(header::ACCEPT, "text/event-stream")
            .send()
            .await
            .expect("the server answers");
        if response.status() == StatusCode::OK {
            return Opened::Open(response);
        }
        let status = response.status();
        let headers = response.headers().clone();
        Opened::Refused(Answer { status, headers, body: response.text().await.unwrap() })
    }

    /// A customer scans the till's callback sticker (put up at the platform first) with the
    /// simulator's phone.
    async fn check_in_at_till(&self, customer: &str) {
        self.merchant_client()
            .put_callback_qr(TILL, &kasse_vipps::qr::MerchantCallbackPutRequest::at("Kasse 1"))
            .await
            .expect("the platform takes the callback sticker");
        self.scan_callback_sticker(customer, TILL).await;
    }
}

/// An event stream opened, or the refusal read whole.
enum Opened {
    Open(reqwest::Response),
    Refused(Answer),
}

impl Opened {
    /// The open stream; fails on a refusal.
    fn stream(self) -> reqwest::Response {
        match self {
            Self::Open(response) => response,
            Self::Refused(answer) => panic!("the stream was refused: {} {}", answer.status, answer.body),
        }
    }

    /// The refusal; fails on an open stream.
    fn refusal(self) -> Answer {
        match self {
            Self::Refused(answer) => answer,
            Self::Open(response) => panic!("the stream opened ({})", response.status()),
        }
    }
}

/// Reads `stream` until the server ends it; fails if it is still open after [`PATIENCE`].
async fn until_closed(mut stream: reqwest::Response, what: &str) {
    let closed =
        tokio::time::timeout(PATIENCE, async { while let Ok(Some(_)) = stream.chunk().await {} }).await;
    assert!(closed.is_ok(), "{what}: the stream is still open");
}

/// Checks an answer is a 401 saying the session ended with `code`.
fn assert_ended(answer: &Answer, code: ProblemCode, what: &str) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}: {}", answer.body);
    assert_eq!(answer.problem().code, Some(code), "{what}");
}

/// A till's requests as its pages make them, as (what, path).
fn till_reads() -> Vec<(&'static str, String)> {
    vec![
        ("the session", "/api/session".to_owned()),
        ("the till", format!("/api/tills/{TILL}")),
        ("the history", format!("/api/tills/{TILL}/sales")),
        ("the event stream", format!("/api/tills/{TILL}/events?after=0")),
    ]
}

#[tokio::test]
async fn a_session_unused_for_the_idle_time_is_refused_as_expired_and_one_used_lately_is_not() {
    let data = DataDir::new();
    let app = spawn_app_on(&data).await;
    let idle = SessionPolicy::default().idle;
    let a_day_short = idle.checked_sub(Duration::from_hours(24)).unwrap();
    // Six days unused of the seven allowed: still paired, and this use counts.
    age_sessions(&data, a_day_short, a_day_short);
    for (what, path) in till_reads() {
        if what != "the event stream" {
            assert_eq!(app.get(&path).await.status, StatusCode::OK, "{what}");
        }
    }
    // The use just now restarted the idle time: another six days are fine too.
    age_sessions(&data, a_day_short, a_day_short);
    assert_eq!(app.get("/api/session").await.status, StatusCode::OK, "each use counts");

    age_sessions(&data, Duration::ZERO, idle + Duration::from_mins(1));
    for (what, path) in till_reads() {
        assert_ended(&app.get(&path).await, ProblemCode::SessionExpired, what);
    }
    let started =
        app.try_start_sale(&json!({"amount": {"value": 1_000, "currency": "NOK"}, "flow": "qr"})).await;
    assert_ended(&started, ProblemCode::SessionExpired, "starting a sale");
    assert!(app.sim().payment_records().is_empty(), "nothing reached the platform");
    assert!(devices(&app).await.is_empty(), "an expired session is no paired device");
}

#[tokio::test]
async fn a_session_past_its_lifetime_is_refused_as_expired_however_recently_it_was_used() {
    let data = DataDir::new();
    let app = spawn_app_on(&data).await;
    let lifetime = SessionPolicy::default().lifetime;
    age_sessions(&data, lifetime.checked_sub(Duration::from_mins(1)).unwrap(), Duration::ZERO);
    assert_eq!(app.get("/api/session").await.status, StatusCode::OK, "a minute left");
    age_sessions(&data, Duration::from_mins(2), Duration::ZERO);
    for (what, path) in till_reads() {
        assert_ended(&app.get(&path).await, ProblemCode::SessionExpired, what);
    }
}

#[tokio::test]
async fn revoking_a_device_closes_its_open_event_stream_at_once_and_refuses_its_next_request() {
    let app = spawn_app().await;
    let display = browser_with_cookie(&pair(&app.running, &app.base, Role::Display).await);
    let display_stream = app.open_stream(&display, &format!("/api/tills/{TILL}/events")).await.stream();
    let mut till_stream = app.events_after(app.snapshot().await.last_event_id).await;

    let listed = devices(&app).await;
    assert_eq!(listed.len(), 2, "the till and its display: {listed:#?}");
    assert!(listed.iter().all(|d| d.till == TILL));
    let shown = device(&app, Role::Display).await;
    let revoked = Devices::of(&app.running.tools()).revoke(&shown.id).await.unwrap();
    assert_eq!(revoked, vec![shown.clone()], "the one device");

    until_closed(display_stream, "the revoked display").await;
    let answer = app.get_from(&display, &format!("/api/tills/{TILL}")).await;
    assert_ended(&answer, ProblemCode::SessionRevoked, "the revoked display");
    let problem = answer.problem();
    assert!(problem.sentence().contains("unpaired"), "a sentence saying why: {problem:?}");
    assert_ended(&app.get_from(&display, "/api/session").await, ProblemCode::SessionRevoked, "its session");
    let reopened = app.open_stream(&display, &format!("/api/tills/{TILL}/events")).await.refusal();
    assert_ended(&reopened, ProblemCode::SessionRevoked, "its stream again");

    // The till itself is untouched: its stream still carries what happens.
    let sale = app.start_sale(1_500).await;
    till_stream.until_sale_is(&sale.reference, SaleStatus::AwaitingCustomer).await;
    assert_eq!(devices(&app).await.iter().map(|d| d.role).collect::<Vec<_>>(), [Role::Till]);
}

#[tokio::test]
async fn revoking_every_device_of_a_till_ends_its_till_and_display_sessions_and_no_other_tills() {
    let app = spawn_app_with(second_till).await;
    let display = browser_with_cookie(&pair(&app.running, &app.base, Role::Display).await);
    let other = app.browser_of("till-2").await;
    let till_stream = app.open_stream(&app.http, &format!("/api/tills/{TILL}/events")).await.stream();
    let display_stream = app.open_stream(&display, &format!("/api/tills/{TILL}/events")).await.stream();
    let mut other_stream = app.events_of(&other, "till-2").await;

    let tools = Devices::of(&app.running.tools());
    let revoked = tools.revoke_till(TILL).await.unwrap();
    let mut roles: Vec<Role> = revoked.iter().map(|d| d.role).collect();
    roles.sort_by_key(|r| *r == Role::Display);
    assert_eq!(roles, [Role::Till, Role::Display]);
    until_closed(till_stream, "the till").await;
    until_closed(display_stream, "the display").await;
    assert_ended(&app.get("/api/session").await, ProblemCode::SessionRevoked, "the till");
    assert_ended(&app.get_from(&display, "/api/session").await, ProblemCode::SessionRevoked, "the display");

    let answer = app
        .send(
            other
                .post(format!("{}/api/tills/till-2/sales", app.base))
                .json(&json!({"amount": {"value": 700, "currency": "NOK"}, "flow": "qr"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "till 2 still works: {}", answer.body);
    other_stream
        .until_sale_is(&answer.json::<kasse_api::Sale>().reference, SaleStatus::AwaitingCustomer)
        .await;
    assert!(tools.revoke_till(TILL).await.unwrap().is_empty(), "nothing is left to revoke");
    assert!(tools.revoke_till("till-9").await.is_err(), "an unknown till is named as such");
}

#[tokio::test]
async fn a_device_id_is_part_of_its_tokens_hash_and_never_of_the_token() {
    let app = spawn_app().await;
    let cookie = pair(&app.running, &app.base, Role::Display).await;
    let token = cookie.split_once('=').unwrap().1.to_owned();
    let id = device(&app, Role::Display).await.id;
    assert_eq!(id.len(), 12, "{id}");
    assert!(!token.contains(&id), "the id is not part of the token");
    let hash = hex(&sha2::Sha256::digest(token.as_bytes()));
    assert!(hash.starts_with(&id), "the id is the start of the token's hash");
    let revoked = Devices::of(&app.running.tools()).revoke(&token[..12]).await;
    assert!(revoked.is_err(), "the token's own start names no device");
    let answer = app.get_from(&browser_with_cookie(&cookie), "/api/session").await;
    assert_eq!(answer.status, StatusCode::OK, "still paired: {}", answer.body);
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Runs the real `kasse-server` with `args` on the demo configuration and the database at
/// `url`, off the runtime's threads (the server keeps serving meanwhile).
async fn operator(url: &str, args: &[&str]) -> (std::process::ExitStatus, String, String) {
    let dir = std::env::temp_dir().join(format!("kasse-operator-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(BINARY);
    command.args(args).env_clear().env("KASSE_DATABASE_URL", url).current_dir(&dir);
    let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status, text(&output.stdout), text(&output.stderr))
}

#[tokio::test]
async fn the_operators_commands_list_the_devices_of_a_running_server_and_revoke_one_at_once() {
    let data = DataDir::new();
    let app = spawn_app_on(&data).await;
    let display = browser_with_cookie(&pair(&app.running, &app.base, Role::Display).await);
    let display_stream = app.open_stream(&display, &format!("/api/tills/{TILL}/events")).await.stream();

    let (status, stdout, stderr) = operator(&data.url(), &["till", "list", "--json"]).await;
    assert!(status.success(), "{status}: {stdout}{stderr}");
    let listed: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listed.len(), 2, "{stdout}");
    for device in &listed {
        for field in ["id", "till", "role", "pairedAt", "lastSeenAt"] {
            assert!(device.get(field).is_some_and(Value::is_string), "{field} in {device}");
        }
        assert_eq!(device["till"], TILL);
    }
    let display_id =
        listed.iter().find(|d| d["role"] == "display").unwrap()["id"].as_str().unwrap().to_owned();
    let (status, table, _) = operator(&data.url(), &["till", "list"]).await;
    assert!(status.success());
    assert!(table.starts_with("DEVICE"), "a table with a header: {table}");
    let row = table.lines().find(|l| l.starts_with(&display_id)).unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains(TILL) && row.contains("display"), "{row}");

    // Revoked from another process: the server finds out by itself and ends the stream.
    let (status, stdout, stderr) = operator(&data.url(), &["till", "revoke", &display_id]).await;
    assert!(status.success(), "{status}: {stdout}{stderr}");
    assert!(stdout.contains(&display_id), "the revoked device is named: {stdout}");
    until_closed(display_stream, "the display revoked by the command").await;
    assert_ended(&app.get_from(&display, "/api/session").await, ProblemCode::SessionRevoked, "the display");
    assert_eq!(app.get("/api/session").await.status, StatusCode::OK, "the till is still paired");

    let (status, _, stderr) = operator(&data.url(), &["till", "revoke", &display_id]).await;
    assert_eq!(status.code(), Some(2), "a device no longer paired: {stderr}");
    assert!(stderr.contains(&display_id), "{stderr}");
    let (status, _, stderr) = operator(&data.url(), &["till", "revoke", "not-an-id"]).await;
    assert_eq!(status.code(), Some(2), "{stderr}");
    let (status, _, stderr) = operator(&data.url(), &["till", "revoke", "--all", "nope"]).await;
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("'nope'"), "{stderr}");

    let (status, stdout, stderr) = operator(&data.url(), &["till", "revoke", "--all", TILL, "--json"]).await;
    assert!(status.success(), "{status}: {stdout}{stderr}");
    let revoked: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(revoked.len(), 1, "the till: {stdout}");
    assert_ended(&app.get("/api/session").await, ProblemCode::SessionRevoked, "the till");
    let (_, stdout, _) = operator(&data.url(), &["till", "list", "--json"]).await;
    assert_eq!(serde_json::from_str::<Vec<Value>>(&stdout).unwrap(), Vec::<Value>::new());
}

#[tokio::test]
async fn a_customer_display_replays_only_the_tills_current_sale_and_never_its_past_sales_or_check_ins() {
    let app = spawn_app().await;
    let past = app.start_sale(1_000).await;
    assert_eq!(app.cancel(&past.reference).await.status, StatusCode::OK);
    let current = app.start_sale(2_000).await;

    // A display asking for everything from the first event, as a made-up id can.
    let display = browser_with_cookie(&pair(&app.running, &app.base, Role::Display).await);
    let stream = app.open_stream(&display, &format!("/api/tills/{TILL}/events?after=0")).await.stream();
    let mut watched = EventStream::new(stream, &app.seen);
    // Something for the till only, then the current sale ends.
    app.check_in_at_till(CUSTOMER).await;
    let mut till = app.events_after(0).await;
    till.until_check_in("the check-in at the till", |_| true).await;
    assert_eq!(app.cancel(&current.reference).await.status, StatusCode::OK);

    let shown = watched.until_sale_is(&current.reference, SaleStatus::Cancelled).await;
    for event in &shown {
        match event.event() {
            TillEvent::Sale { sale } => assert_eq!(sale.reference, current.reference, "{shown:#?}"),
            other => panic!("the display was sent {other:?}"),
        }
    }
    assert_eq!(shown.first().unwrap().sale().status, SaleStatus::Creating, "the current sale from its start");

    // A new sale is the display's from its first event.
    let next = app.start_sale(3_000).await;
    let shown = watched.until_sale_is(&next.reference, SaleStatus::AwaitingCustomer).await;
    assert!(shown.iter().all(|e| e.sale().reference == next.reference), "{shown:#?}");

    // The till itself replays all of its own history.
    let mut till = app.events_after(0).await;
    let first = till.next_event_until("a sale", |e| e.sale_if_any().is_some()).await;
    assert_eq!(first.last().unwrap().sale().reference, past.reference);
}

/// Reads a stream refusal's `Retry-After` and checks its problem says `too-many-streams`.
fn assert_too_many_streams(answer: &Answer, status: StatusCode, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.body);
    assert_eq!(answer.problem().code, Some(ProblemCode::TooManyStreams), "{what}");
    let wait: u64 = answer.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!(wait > 0, "{what}: Retry-After {wait}");
}

#[tokio::test]
async fn a_till_followed_by_as_many_streams_as_allowed_refuses_one_more_until_one_closes() {
    let app = spawn_app_with(|config| config.limits.streams_per_till = 2).await;
    let display = browser_with_cookie(&pair(&app.running, &app.base, Role::Display).await);
    let path = format!("/api/tills/{TILL}/events");
    let first = app.open_stream(&app.http, &path).await.stream();
    let _second = app.open_stream(&display, &path).await.stream();
    let refused = app.open_stream(&app.http, &path).await.refusal();
    assert_too_many_streams(&refused, StatusCode::TOO_MANY_REQUESTS, "a third stream of the till");
    let refused = app.open_stream(&display, &path).await.refusal();
    assert_too_many_streams(&refused, StatusCode::TOO_MANY_REQUESTS, "a display counts for its till");
    // Other streams are not the till's: a landing payment can still be followed.
    let payment = pay_at_donations(&app).await;
    app.open_stream(&browser(), &format!("/api/payments/{}/events", payment.token)).await.stream();

    // A stream that closes gives its place back (there is no event for the server noticing: ask
    // until it has).
    drop(first);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let reopened = tokio::time::timeout(PATIENCE, async {
        loop {
            tick.tick().await;
            if let Opened::Open(stream) = app.open_stream(&app.http, &path).await {
                return stream;
            }
        }
    })
    .await;
    assert!(reopened.is_ok(), "the closed stream's place was never given back");
}

/// A customer starts a payment at the demo's open-amount sticker.
async fn pay_at_donations(app: &TestApp) -> LandingPayment {
    let body = json!({"amount": {"value": 2_000, "currency": "NOK"}, "phoneNumber": "912 34 567"});
    let answer =
        app.send(browser().post(format!("{}/api/stickers/donations/payments", app.base)).json(&body)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.json()
}

#[tokio::test]
async fn a_landing_payment_followed_by_as_many_streams_as_allowed_refuses_one_more() {
    let app = spawn_app_with(|config| config.limits.streams_per_payment = 1).await;
    let payment = pay_at_donations(&app).await;
    let path = format!("/api/payments/{}/events?after=0", payment.token);
    let _open = app.open_stream(&browser(), &path).await.stream();
    let refused = app.open_stream(&browser(), &path).await.refusal();
    assert_too_many_streams(&refused, StatusCode::TOO_MANY_REQUESTS, "a second page of the payment");
    assert!(refused.problem().sentence().contains("payment"), "{}", refused.body);
    // The till is another channel.
    app.open_stream(&app.http, &format!("/api/tills/{TILL}/events")).await.stream();
}

#[tokio::test]
async fn a_server_with_as_many_streams_open_as_allowed_refuses_one_more_with_503() {
    let app = spawn_app_with(|config| config.limits.streams_total = 2).await;
    let payment = pay_at_donations(&app).await;
    let _till = app.open_stream(&app.http, &format!("/api/tills/{TILL}/events")).await.stream();
    let _page =
        app.open_stream(&browser(), &format!("/api/payments/{}/events", payment.token)).await.stream();
    let refused = app.open_stream(&app.http, &format!("/api/tills/{TILL}/events")).await.refusal();
    assert_too_many_streams(&refused, StatusCode::SERVICE_UNAVAILABLE, "a third stream on the server");
    let refused =
        app.open_stream(&browser(), &format!("/api/payments/{}/events", payment.token)).await.refusal();
    assert_too_many_streams(&refused, StatusCode::SERVICE_UNAVAILABLE, "whatever it follows");
    assert_eq!(app.get("/api/session").await.status, StatusCode::OK, "other requests are served");
}

#[tokio::test]
async fn streams_anyone_may_open_leave_a_quarter_of_the_servers_places_to_the_tills() {
    let app = spawn_app_with(|config| config.limits.streams_total = 4).await;
    let path = "/api/stickers/donations/events";
    let mut strangers = Vec::new();
    for _ in 0..3 {
        strangers.push(app.open_stream(&browser(), path).await.stream());
    }
    let refused = app.open_stream(&browser(), path).await.refusal();
    assert_too_many_streams(&refused, StatusCode::SERVICE_UNAVAILABLE, "a fourth stranger's stream");
    app.open_stream(&app.http, &format!("/api/tills/{TILL}/events")).await.stream();
}

#[tokio::test]
async fn the_operator_adds_a_pos_whose_printed_key_the_running_server_takes_and_revokes_it_at_once() {
    let data = DataDir::new();
    let app = spawn_app_on(&data).await;
    let add = ["integrator", "add", "Acme PoS", "--stores", "grunerlokka", "--json"];

    let (status, stdout, stderr) = operator(&data.url(), &add).await;
    assert!(status.success(), "{status}: {stdout}{stderr}");
    let added: kasse_server::ops::integrators::Added = serde_json::from_str(&stdout).unwrap();
    assert!(added.api_key.starts_with("kasse_pos_"), "{stdout}");
    let pos = crate::helpers::pos::Pos::with(&app, added.clone()).await;
    let tills = pos.get("/terminal/v1/tills").await;
    assert_eq!(tills.status, StatusCode::OK, "the printed key works: {}", tills.body);

    // Searched by another process: a file of a database this process has open must not be opened
    // and closed here, which would drop the server's SQLite locks on it (POSIX locks are per process).
    let files = ["kasse.db", "kasse.db-wal"].map(|f| data.0.join(f));
    let found = Command::new("grep").arg("-a").arg("-l").arg(&added.api_key).args(&files).output().unwrap();
    assert!(
        found.stdout.is_empty(),
        "only a hash of the key is kept: {}",
        String::from_utf8_lossy(&found.stdout)
    );
    let hash = hex(&sha2::Sha256::digest(added.api_key.as_bytes()));
    let found = Command::new("grep").arg("-a").arg("-c").arg(&hash).args(&files).output().unwrap();
    assert!(String::from_utf8_lossy(&found.stdout).lines().any(|l| !l.ends_with(":0")), "its hash is");
    let (status, listed, _) = operator(&data.url(), &["integrator", "list", "--json"]).await;
    assert!(status.success());
    assert!(listed.contains("Acme PoS") && !listed.contains(&added.api_key), "never shown again: {listed}");

    let (status, _, stderr) = operator(&data.url(), &add).await;
    assert_eq!(status.code(), Some(2), "a name is taken once: {stderr}");
    let (status, _, stderr) =
        operator(&data.url(), &["integrator", "add", "Other", "--stores", "atlantis"]).await;
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("atlantis"), "the unknown store is named: {stderr}");

    let (status, stdout, stderr) = operator(&data.url(), &["integrator", "revoke", "Acme PoS"]).await;
    assert!(status.success(), "{stdout}{stderr}");
    let refused = pos.get("/terminal/v1/tills").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "refused at its next request");
    assert_eq!(refused.problem().code, Some(kasse_api::ProblemCode::KeyRevoked));
}

#[tokio::test]
async fn the_operators_manager_pair_prints_a_code_that_opens_the_back_office_with_a_pin_chosen_there() {
    let data = DataDir::new();
    let app = spawn_app_on(&data).await;
    let (status, stdout, stderr) = operator(&data.url(), &["manager", "list"]).await;
    assert!(status.success() && stdout.contains("No manager is added"), "{stdout}{stderr}");
    let (status, stdout, stderr) = operator(&data.url(), &["manager", "pair", "Ingrid"]).await;
    assert!(status.success(), "{status}: {stdout}{stderr}");
    let code = stdout.trim().to_owned();
    let (_, stdout, _) = operator(&data.url(), &["manager", "pair", "Ola", "--store", "grunerlokka"]).await;
    assert_eq!(stdout.trim().len(), 9, "a second manager, for one store: {stdout}");
    let ola_code = stdout.trim().to_owned();
    let code = code.as_str();
    assert_eq!(code.len(), 9, "the code alone on stdout: {stdout:?}");
    assert!(stderr.contains("/pair") && stderr.contains("every store"), "{stderr}");

    let answer = browser()
        .post(format!("{}/api/pair", app.base))
        .json(&json!({ "code": code, "pin": "4711" }))
        .send()
        .await;
    let answer = answer.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let answer_cookie =
        answer.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let paired: kasse_api::Paired = answer.json().await.unwrap();
    assert!(matches!(paired, kasse_api::Paired::Manager(ref s) if s.manager.name == "Ingrid"), "{paired:?}");

    // The operator sees both: Ingrid with her PIN and her one back office, Ola still to pair.
    let (status, stdout, stderr) = operator(&data.url(), &["manager", "list", "--json"]).await;
    assert!(status.success(), "{stdout}{stderr}");
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let shown: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].clone(),
                m["store"].clone(),
                m["pinChosen"].clone(),
                m["devices"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (json!("Ingrid"), json!(null), json!(true), 1),
            (json!("Ola"), json!("grunerlokka"), json!(false), 0)
        ],
        "{stdout}"
    );
    let (_, stdout, _) = operator(&data.url(), &["manager", "list"]).await;
    let rows: Vec<Vec<&str>> =
        stdout.lines().map(|l| l.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect()).collect();
    assert_eq!(rows[0], ["NAME", "STORE", "PIN", "DEVICES", "LAST SEEN"], "{stdout}");
    assert_eq!(rows[1][..4], ["Ingrid", "every store", "chosen", "1"], "{stdout}");
    assert_eq!(rows[2], ["Ola", "grunerlokka", "not yet", "0", "-"], "{stdout}");

    for (args, says) in [
        (&["manager", "pair", "Ola", "--store", "nowhere"][..], "'nowhere'"),
        (&["manager", "pair", "Ingrid", "--store", "grunerlokka"][..], "other stores"),
        (&["manager", "pair", " "][..], "1 to 60 characters"),
        (&["manager", "revoke", "Nobody"][..], "no manager named Nobody"),
    ] {
        let (status, stdout, stderr) = operator(&data.url(), args).await;
        assert_eq!(status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stdout.is_empty() && stderr.contains(says), "{args:?}: {stderr}");
    }

    // One back office of a manager, revoked by its device id (as the back office shows it).
    let ola =
        browser().post(format!("{}/api/pair", app.base)).json(&json!({ "code": ola_code, "pin": "1234" }));
    let ola = ola.send().await.unwrap();
    assert_eq!(ola.status(), StatusCode::OK);
    let ola_cookie =
        ola.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let ola = browser_with_cookie(&ola_cookie);
    let devices: Vec<kasse_api::Device> =
        ola.get(format!("{}/api/admin/devices", app.base)).send().await.unwrap().json().await.unwrap();
    let own = devices.iter().find(|d| d.of == "Ola").expect("Ola's own device is listed");
    let (status, stdout, stderr) = operator(&data.url(), &["till", "revoke", &own.id]).await;
    assert!(status.success(), "{status}: {stdout}{stderr}");
    assert!(stdout.contains(&own.id) && stdout.contains("manager's back office"), "{stdout}");
    let closed = ola.get(format!("{}/api/admin/session", app.base)).send().await.unwrap();
    assert_eq!(closed.status(), StatusCode::UNAUTHORIZED);

    // Removed by the operator, from another process: the back office closes at once.
    let cookie = answer_cookie;
    let back_office = browser_with_cookie(&cookie);
    let open = back_office.get(format!("{}/api/admin/session", app.base)).send().await.unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    let (status, stdout, stderr) = operator(&data.url(), &["manager", "revoke", "Ingrid"]).await;
    assert!(status.success(), "{status}: {stdout}{stderr}");
    let (_, stdout, _) = operator(&data.url(), &["manager", "list"]).await;
    assert!(
        !stdout.contains("Ingrid") && stdout.contains("Ola"),
        "a removed manager is not listed: {stdout}"
    );
    let closed = back_office.get(format!("{}/api/admin/session", app.base)).send().await.unwrap();
    assert_eq!(closed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(closed.json::<kasse_api::Problem>().await.unwrap().code, Some(ProblemCode::SessionRevoked));
    let (status, _, _) =
        operator(&data.url(), &["manager", "pair", "Ingrid", "--store", "grunerlokka"]).await;
    assert!(status.success(), "the name is free again, for one store now");
}
