//! Who may do what: pairing a browser with a one-time code, the session cookie it gets, a till
//! reaching only its own till, a customer display that can watch but not take money, and
//! requests from other sites.

use kasse_api::{Currency, ProblemCode, Role, Sale, SaleStatus, Session, TillSnapshot};
use kasse_vipps::epayment::State;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::{Value, json};

use crate::helpers::*;

/// Every till endpoint, as (method, path, JSON body for a POST), for a sale `reference` at `till`.
fn till_endpoints(till: &str, reference: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let sales = format!("/api/tills/{till}/sales");
    let sale = format!("{sales}/{reference}");
    let nok = |value: i64| json!({ "value": value, "currency": "NOK" });
    vec![
        ("GET", format!("/api/tills/{till}"), None),
        ("POST", sales.clone(), Some(json!({ "amount": nok(1_000), "flow": "qr" }))),
        ("GET", sales, None),
        ("GET", sale.clone(), None),
        ("POST", format!("{sale}/cancel"), Some(json!({}))),
        ("POST", format!("{sale}/capture"), Some(json!({}))),
        ("POST", format!("{sale}/refund"), Some(json!({ "amount": nok(1_000) }))),
        ("POST", format!("{sale}/reconcile"), Some(json!({}))),
        ("GET", format!("{sale}/log"), None),
        ("GET", format!("/api/tills/{till}/check-ins"), None),
        ("GET", format!("/api/tills/{till}/events"), None),
    ]
}

impl TestApp {
    /// Sends `method path` (with `body` as JSON) from `client`, a browser of its own.
    async fn send_from(
        &self,
        client: &reqwest::Client,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        let request = match body {
            Some(body) => client
                .request(method.parse().unwrap(), url)
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.to_string()),
            None => client.request(method.parse().unwrap(), url),
        };
        self.send(request).await
    }

    /// `POST /api/pair` with `code` from a browser without a session, with extra headers.
    async fn try_pair(&self, code: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = browser().post(format!("{}/api/pair", self.base)).json(&json!({ "code": code }));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }
}

/// The session cookie (`name=value`) of a pairing answer.
fn session_cookie(answer: &Answer) -> String {
    let set_cookie = answer.header("set-cookie").expect("a pairing sets the session cookie");
    set_cookie.split(';').next().unwrap().trim().to_owned()
}

#[tokio::test]
async fn every_till_endpoint_refuses_a_browser_without_a_session_or_with_a_made_up_one() {
    let app = spawn_app().await;
    let sale = app.start_sale(2_000).await;
    let made_up = format!("kasse_session={}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    for (who, client) in [
        ("no cookie", browser()),
        ("a made-up session", browser_with_cookie(&made_up)),
        ("an empty session", browser_with_cookie("kasse_session=")),
    ] {
        for (method, path, body) in till_endpoints(TILL, &sale.reference) {
            let answer = app.send_from(&client, method, &path, body.as_ref()).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{who}: {method} {path}: {}", answer.body);
            assert_eq!(
                answer.problem().code.map(ProblemCode::as_str),
                Some("unauthorized"),
                "{who}: {method} {path}"
            );
        }
        let session = app.send_from(&client, "GET", "/api/session", None).await;
        assert_eq!(session.status, StatusCode::UNAUTHORIZED, "{who}: {}", session.body);
        session.problem();
    }

    // Nothing any of them asked for happened.
    assert_eq!(app.sale(&sale.reference).await.status, SaleStatus::AwaitingCustomer);
    assert_eq!(app.sim().payment_records().len(), 1, "no second sale reached the platform");
    let received = app.received(&sale.reference);
    assert_eq!(received.len(), 1, "only the till's own create reached the platform: {received:#?}");
}

#[tokio::test]
async fn a_till_reaches_neither_another_tills_paths_nor_its_sales() {
    let app = spawn_app_with(second_till).await;
    let till_2 = browser_with_cookie(&pair_with_till(&app.running, &app.base, "till-2", Role::Till).await);
    let started = app
        .send_from(
            &till_2,
            "POST",
            "/api/tills/till-2/sales",
            Some(&json!({"amount": {"value": 3_000, "currency": "NOK"}, "flow": "qr"})),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let theirs: Sale = started.json();

    // Till 1's browser, on till 2's paths.
    for (method, path, body) in till_endpoints("till-2", &theirs.reference) {
        let answer = app.send_from(&app.http, method, &path, body.as_ref()).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} {path}: {}", answer.body);
        assert_eq!(answer.problem().code.map(ProblemCode::as_str), Some("forbidden"), "{method} {path}");
    }
    // Till 1's browser, naming till 2's sale on its own paths.
    let sale = format!("/api/tills/{TILL}/sales/{}", theirs.reference);
    for (method, path, body) in [
        ("GET", sale.clone(), None),
        ("POST", format!("{sale}/cancel"), Some(json!({}))),
        ("POST", format!("{sale}/capture"), Some(json!({}))),
        ("POST", format!("{sale}/refund"), Some(json!({"amount": {"value": 100, "currency": "NOK"}}))),
        ("POST", format!("{sale}/reconcile"), Some(json!({}))),
        ("GET", format!("{sale}/log"), None),
    ] {
        let answer = app.send_from(&app.http, method, &path, body.as_ref()).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {path}: {}", answer.body);
        assert_eq!(
            answer.problem().code.map(ProblemCode::as_str),
            Some("unknown-payment"),
            "{method} {path}"
        );
    }
    let history = app.get(&format!("/api/tills/{TILL}/sales")).await;
    assert!(!history.body.contains(&theirs.reference), "till 1's history holds only its own sales");

    assert_eq!(app.platform_payment(&theirs.reference).state, State::Created, "till 2's sale is untouched");
    assert_eq!(app.received(&theirs.reference).len(), 1, "only its create reached the platform");
    let answer =
        app.send_from(&till_2, "GET", &format!("/api/tills/till-2/sales/{}", theirs.reference), None).await;
    assert_eq!(answer.json::<Sale>().status, SaleStatus::AwaitingCustomer);
}

#[tokio::test]
async fn a_customer_display_can_watch_its_till_but_cannot_start_cancel_capture_or_refund() {
    let app = spawn_app().await;
    let display = browser_with_cookie(&pair(&app.running, &app.base, Role::Display).await);

    let session = app.send_from(&display, "GET", "/api/session", None).await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.body);
    let session: Session = session.json();
    assert_eq!((session.till.id.as_str(), session.role), (TILL, Role::Display));

    let snapshot = app.send_from(&display, "GET", &format!("/api/tills/{TILL}"), None).await;
    assert_eq!(snapshot.status, StatusCode::OK, "{}", snapshot.body);
    let after = snapshot.json::<TillSnapshot>().last_event_id;
    // The display's own live stream shows the till's sale.
    let stream = display
        .get(format!("{}/api/tills/{TILL}/events?after={after}", app.base))
        .header(header::ACCEPT, "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut watched = EventStream::new(stream, &app.seen);
    let sale = app.start_sale(2_500).await;
    let shown = watched.until_sale_is(&sale.reference, SaleStatus::AwaitingCustomer).await;
    assert!(shown.last().unwrap().sale().qr.is_some(), "the display gets the QR code to show");

    let nok = json!({"value": 2_500, "currency": "NOK"});
    let path = format!("/api/tills/{TILL}/sales");
    let sale_path = format!("{path}/{}", sale.reference);
    for (what, path, body) in [
        ("start a sale", path.clone(), json!({"amount": nok, "flow": "qr"})),
        ("cancel", format!("{sale_path}/cancel"), json!({})),
        ("capture", format!("{sale_path}/capture"), json!({})),
        ("refund", format!("{sale_path}/refund"), json!({"amount": nok})),
    ] {
        let answer = app.send_from(&display, "POST", &path, Some(&body)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{what}: {}", answer.body);
        assert_eq!(answer.problem().code.map(ProblemCode::as_str), Some("forbidden"), "{what}");
    }
    assert_eq!(app.sale(&sale.reference).await.status, SaleStatus::AwaitingCustomer, "nothing changed");
    assert_eq!(app.received(&sale.reference).len(), 1, "only the till's create reached the platform");
}

#[tokio::test]
async fn the_session_says_which_till_the_browser_serves_and_as_what() {
    let app = spawn_app().await;
    let answer = app.get("/api/session").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let session: Session = answer.json();
    assert_eq!(session.role, Role::Till);
    assert_eq!(session.till.id, TILL);
    assert_eq!(session.till.name, "Kasse 1");
    assert_eq!(session.till.store_name, "Kaffebrenneriet Grünerløkka");
    assert_eq!(session.till.currency, Currency::Nok);
}

#[tokio::test]
async fn a_pairing_code_pairs_one_browser_once_with_an_http_only_same_site_strict_cookie() {
    let app = spawn_app().await;
    let code = app.running.pairing_code(TILL, Role::Till).await.unwrap();

    // Typed the way people do: lower case, a space for the dash.
    let paired = app.try_pair(&code.to_lowercase().replace('-', " "), &[]).await;
    assert_eq!(paired.status, StatusCode::OK, "{}", paired.body);
    assert_eq!(paired.json::<Session>().role, Role::Till);
    let set_cookie = paired.header("set-cookie").unwrap().to_owned();
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"HttpOnly"), "scripts cannot read the session: {set_cookie}");
    assert!(attributes.contains(&"SameSite=Strict"), "other sites cannot send it: {set_cookie}");
    assert!(attributes.contains(&"Path=/"), "{set_cookie}");
    let cookie = session_cookie(&paired);
    assert!(cookie.starts_with("kasse_session=") && cookie.len() > "kasse_session=".len() + 30, "{cookie}");
    let session = app.send_from(&browser_with_cookie(&cookie), "GET", "/api/session", None).await;
    assert_eq!(session.status, StatusCode::OK, "the cookie is a session: {}", session.body);

    for (what, typed) in
        [("the code used again", code.as_str()), ("a wrong code", "ABCD-EFGH"), ("nothing", "")]
    {
        let refused = app.try_pair(typed, &[]).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{what}: {}", refused.body);
        let problem = refused.problem();
        assert_eq!(problem.code.map(ProblemCode::as_str), Some("unauthorized"), "{what}");
        assert!(
            problem.sentence().contains("pairing code"),
            "{what}: a sentence about the code: {problem:?}"
        );
        assert_eq!(refused.header("set-cookie"), None, "{what}: no session");
    }
}

#[tokio::test]
async fn after_ten_wrong_pairing_codes_in_a_minute_a_device_is_refused_even_with_a_good_code() {
    let app = spawn_app().await;
    // Pairing several browsers from one device is not guessing: good codes do not count.
    for role in [Role::Till, Role::Display, Role::Till] {
        pair(&app.running, &app.base, role).await;
    }
    for attempt in 1..=10 {
        let refused = app.try_pair("WRONG-CODE", &[]).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "wrong code {attempt}: {}", refused.body);
    }
    let limited = app.try_pair("WRONG-CODE", &[]).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "the eleventh wrong code: {}", limited.body);
    let problem = limited.problem();
    assert_eq!(problem.code.map(ProblemCode::as_str), Some("too-many-requests"));
    assert!(problem.sentence().contains("Try again in"), "the sentence says to wait: {problem:?}");
    let wait: u64 = limited.header("retry-after").expect("and so does Retry-After").parse().unwrap();
    assert!(wait >= 1, "{wait}");

    let good = app.running.pairing_code(TILL, Role::Till).await.unwrap();
    let refused = app.try_pair(&good, &[]).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "guessing cannot go on: {}", refused.body);
    assert_eq!(refused.header("set-cookie"), None);
}

#[tokio::test]
async fn a_request_that_changes_something_from_another_sites_page_is_refused_and_one_from_our_own_is_not() {
    let app = spawn_app().await;
    let own = app.running.url().origin().ascii_serialization();
    let path = format!("/api/tills/{TILL}/sales");
    let body = json!({"amount": {"value": 1_500, "currency": "NOK"}, "flow": "qr"}).to_string();
    let from = |origin: &str| {
        app.http
            .post(format!("{}{path}", app.base))
            .header(header::ORIGIN, origin)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.clone())
    };

    let foreign = app.send(from("https://evil.example")).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{}", foreign.body);
    assert_eq!(foreign.problem().code.map(ProblemCode::as_str), Some("forbidden"));
    assert_eq!(app.snapshot().await.sale, None, "no sale was recorded");
    assert!(app.sim().payment_records().is_empty(), "nothing reached the platform");

    // A pairing code posted from another site is refused, and still works from ours.
    let code = app.running.pairing_code(TILL, Role::Till).await.unwrap();
    let foreign_pairing = app.try_pair(&code, &[("origin", "https://evil.example")]).await;
    assert_eq!(foreign_pairing.status, StatusCode::FORBIDDEN, "{}", foreign_pairing.body);
    assert_eq!(foreign_pairing.header("set-cookie"), None);
    let our_pairing = app.try_pair(&code, &[("origin", own.as_str())]).await;
    assert_eq!(our_pairing.status, StatusCode::OK, "{}", our_pairing.body);

    let ours = app.send(from(&own)).await;
    assert_eq!(ours.status, StatusCode::CREATED, "a request from our own page works: {}", ours.body);
    let sale: Sale = ours.json();
    let cancel = app
        .send(
            app.http
                .post(format!("{}{path}/{}/cancel", app.base, sale.reference))
                .header(header::ORIGIN, "https://evil.example"),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::FORBIDDEN, "{}", cancel.body);
    assert_eq!(app.sale(&sale.reference).await.status, SaleStatus::AwaitingCustomer, "not cancelled");
}

#[tokio::test]
async fn a_burst_of_concurrent_wrong_pairing_codes_lets_at_most_the_limit_reach_the_database() {
    let app = spawn_app().await;
    // Well-formed codes, so each one let through is looked up in the database.
    let attempts = (0..30).map(|_| app.try_pair("ABCD-EFGH", &[]));
    let answers = futures_util::future::join_all(attempts).await;
    let checked = answers.iter().filter(|a| a.status == StatusCode::UNAUTHORIZED).count();
    let limited = answers.iter().filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(checked + limited, 30, "each is checked or limited");
    assert!(checked <= 10, "{checked} wrong codes were checked: the limit is ten a minute");
    assert!(checked > 0, "the first are checked");
    for answer in answers.iter().filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS) {
        assert_eq!(answer.problem().code.map(ProblemCode::as_str), Some("too-many-requests"));
    }
    let good = app.running.pairing_code(TILL, Role::Till).await.unwrap();
    assert_eq!(app.try_pair(&good, &[]).await.status, StatusCode::TOO_MANY_REQUESTS, "guessing stopped");
}

#[tokio::test]
async fn on_https_the_session_cookie_is_host_prefixed_and_secure_and_a_plain_one_opens_nothing() {
    let app = spawn_app_with(|config| {
        config.public_url = Some(url::Url::parse("https://kasse.example.no/").unwrap());
    })
    .await;
    let code = app.running.pairing_code(TILL, Role::Till).await.unwrap();
    let paired = app.try_pair(&code, &[]).await;
    assert_eq!(paired.status, StatusCode::OK, "{}", paired.body);
    let set_cookie = paired.header("set-cookie").unwrap().to_owned();
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    let (name, token) = attributes[0].split_once('=').unwrap();
    assert_eq!(name, "__Host-kasse_session", "{set_cookie}");
    for needed in ["Secure", "Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(attributes.contains(&needed), "{needed}: {set_cookie}");
    }
    assert!(!set_cookie.to_ascii_lowercase().contains("domain"), "host-only: {set_cookie}");

    let host = browser_with_cookie(&format!("__Host-kasse_session={token}"));
    assert_eq!(app.send_from(&host, "GET", "/api/session", None).await.status, StatusCode::OK);
    // The same token under the plain name, as another host could set it, opens nothing.
    let plain = browser_with_cookie(&format!("kasse_session={token}"));
    for (method, path, body) in till_endpoints(TILL, "kasse-till-1-none") {
        let answer = app.send_from(&plain, method, &path, body.as_ref()).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} {path}: {}", answer.body);
    }
    assert_eq!(app.send_from(&plain, "GET", "/api/session", None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn on_plain_http_the_session_cookie_has_the_plain_name_without_secure_and_only_that_name_opens() {
    let app = spawn_app().await;
    let code = app.running.pairing_code(TILL, Role::Till).await.unwrap();
    let paired = app.try_pair(&code, &[]).await;
    let set_cookie = paired.header("set-cookie").unwrap().to_owned();
    let (name, token) = set_cookie.split(';').next().unwrap().split_once('=').unwrap();
    assert_eq!(name, "kasse_session", "{set_cookie}");
    assert!(
        !set_cookie.split(';').any(|a| a.trim() == "Secure"),
        "a browser on http would drop it: {set_cookie}"
    );
    let prefixed = browser_with_cookie(&format!("__Host-kasse_session={token}"));
    let answer = app.send_from(&prefixed, "GET", "/api/session", None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    let plain = browser_with_cookie(&format!("kasse_session={token}"));
    assert_eq!(app.send_from(&plain, "GET", "/api/session", None).await.status, StatusCode::OK);
}
