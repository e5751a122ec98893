//! Behind a reverse proxy: every request arrives from the proxy, so the per-client limits
//! (wrong pairing codes, landing-page requests) count by the client the proxy names in
//! `X-Forwarded-For` or `Forwarded`, but only when the proxy is in `[server] trusted_proxies`.
//! From any other peer those headers are ignored, so a client cannot make up a fresh address for
//! itself; and IPv6 clients are counted per /64. Served at an https public URL, every answer
//! tells browsers to keep to https (HSTS).
//!
//! The tests' requests all come from 127.0.0.1, which plays the proxy.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Two customers behind the proxy.
const ANNA: &str = "203.0.113.7";
const BO: &str = "203.0.113.8";
/// Wrong codes a client may try in a minute, and landing-page requests in ten minutes.
const WRONG_CODES_ALLOWED: usize = 10;
const LANDING_REQUESTS_ALLOWED: usize = 10;
/// What browsers are told when the server is reached over https.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The demo configuration behind a proxy on 127.0.0.1.
fn behind_a_proxy(config: &mut kasse_server::Config) {
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
}

/// A wrong pairing code, sent through the proxy with `header: value`.
async fn wrong_code(app: &TestApp, header: &str, value: &str) -> Answer {
    let request = browser()
        .post(format!("{}/api/pair", app.base))
        .header(header, value)
        .json(&json!({ "code": "WRONG-CODE" }));
    app.send(request).await
}

/// A customer at the till's sticker while the till presents nothing (refused, but counted for
/// the client), sent through the proxy with `header: value`.
async fn landing_request(app: &TestApp, header: &str, value: &str) -> Answer {
    let request = browser()
        .post(format!("{}/api/stickers/demo/payments", app.base))
        .header(header, value)
        .json(&json!({}));
    app.send(request).await
}

/// Whether an answer is the refusal of a per-client limit.
fn limited(answer: &Answer) -> bool {
    answer.status == StatusCode::TOO_MANY_REQUESTS
}

#[tokio::test]
async fn two_customers_behind_a_trusted_proxy_each_have_their_own_landing_page_limit() {
    let app = spawn_app_with(behind_a_proxy).await;
    for n in 1..=LANDING_REQUESTS_ALLOWED {
        let answer = landing_request(&app, "x-forwarded-for", ANNA).await;
        assert_eq!(answer.status, StatusCode::CONFLICT, "Anna's request {n}: {}", answer.body);
    }
    let refused = landing_request(&app, "x-forwarded-for", ANNA).await;
    assert!(limited(&refused), "Anna has used up her requests: {}", refused.body);
    assert_eq!(refused.problem().code.map(kasse_api::ProblemCode::as_str), Some("client-rate-limited"));

    let answer = landing_request(&app, "x-forwarded-for", BO).await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "Bo's first request is his own: {}", answer.body);
    // The proxy appends the address it saw to whatever the client sent: Anna cannot pass as Bo.
    let answer = landing_request(&app, "x-forwarded-for", &format!("{BO}, {ANNA}")).await;
    assert!(limited(&answer), "the right-most hop is Anna: {}", answer.body);
}

#[tokio::test]
async fn two_customers_behind_a_trusted_proxy_each_have_their_own_pairing_limit() {
    let app = spawn_app_with(behind_a_proxy).await;
    for n in 1..=WRONG_CODES_ALLOWED {
        let answer = wrong_code(&app, "forwarded", &format!("for={ANNA};proto=https")).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "Anna's wrong code {n}: {}", answer.body);
    }
    assert!(limited(&wrong_code(&app, "forwarded", &format!("for={ANNA}")).await), "Anna is guessing");

    let answer = wrong_code(&app, "forwarded", &format!("for={BO}")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "Bo mistyped once: {}", answer.body);
    let code = app.running.pairing_code(TILL, kasse_api::Role::Till).await.unwrap();
    let request = browser()
        .post(format!("{}/api/pair", app.base))
        .header("x-forwarded-for", BO)
        .json(&json!({ "code": code }));
    let paired = app.send(request).await;
    assert_eq!(paired.status, StatusCode::OK, "Bo pairs his till: {}", paired.body);
}

#[tokio::test]
async fn a_forwarding_header_from_a_peer_that_is_not_a_trusted_proxy_cannot_buy_a_fresh_limit() {
    let no_proxies = |_: &mut kasse_server::Config| {};
    let another_proxy = |config: &mut kasse_server::Config| {
        config.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    };
    for (setting, app) in [
        ("no trusted_proxies", spawn_app_with(no_proxies).await),
        ("another proxy", spawn_app_with(another_proxy).await),
    ] {
        for n in 1..=LANDING_REQUESTS_ALLOWED {
            let made_up = format!("198.51.100.{n}");
            let answer = landing_request(&app, "x-forwarded-for", &made_up).await;
            assert_eq!(answer.status, StatusCode::CONFLICT, "{setting}: request {n}: {}", answer.body);
        }
        for (header, value) in [("x-forwarded-for", "198.51.100.99"), ("forwarded", "for=198.51.100.98")] {
            let answer = landing_request(&app, header, value).await;
            assert!(limited(&answer), "{setting}: {header} is ignored, the peer is limited: {}", answer.body);
        }
    }
}

#[tokio::test]
async fn two_ipv6_addresses_in_one_64_share_a_limit_and_another_64_has_its_own() {
    let app = spawn_app_with(behind_a_proxy).await;
    for n in 1..=WRONG_CODES_ALLOWED {
        let address = format!("2001:db8:1:2::{n:x}");
        let answer = wrong_code(&app, "x-forwarded-for", &address).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "wrong code {n} from {address}: {}", answer.body);
    }
    let same_64 = wrong_code(&app, "forwarded", r#"for="[2001:db8:1:2:ffff:eeee:dddd:1]:4711""#).await;
    assert!(limited(&same_64), "a new address in the same /64 is the same client: {}", same_64.body);
    let next_64 = wrong_code(&app, "forwarded", r#"for="[2001:db8:1:3::1]:4711""#).await;
    assert_eq!(next_64.status, StatusCode::UNAUTHORIZED, "another /64 is another client: {}", next_64.body);
}

#[tokio::test]
async fn health_details_and_metrics_are_for_the_operators_networks_not_for_customers_on_the_internet() {
    let app = spawn_app_with(behind_a_proxy).await;
    let from = |path: &str, client: &str| {
        let request = browser().get(format!("{}{path}", app.base)).header("x-forwarded-for", client);
        app.send(request)
    };
    // Monitoring on the operator's own network sees everything.
    let health = from("/healthz", "10.1.2.3").await;
    assert_eq!(health.status, StatusCode::OK);
    assert!(health.json::<Value>()["platform"].is_array(), "the parts: {}", health.body);
    assert!(from("/metrics", "10.1.2.3").await.body.contains("kasse_sales_in_progress"));
    // A customer through the proxy learns whether the server is up, and nothing of the shop.
    let health = from("/healthz", ANNA).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(
        health.json::<Value>(),
        json!({ "status": health.json::<Value>()["status"] }),
        "{}",
        health.body
    );
    assert!(!health.body.contains(MSN), "{}", health.body);
    let metrics = from("/metrics", ANNA).await;
    assert_eq!(metrics.status, StatusCode::NOT_FOUND, "{}", metrics.body);
    assert!(!metrics.body.contains("kasse_"), "{}", metrics.body);

    // Behind a proxy kasse was not told of, every client looks like this machine: a request
    // naming a client it forwards for is not the operator's, whoever it names.
    let untold = spawn_app().await;
    let through = |path: &str| {
        let request = browser().get(format!("{}{path}", untold.base)).header("x-forwarded-for", ANNA);
        untold.send(request)
    };
    assert_eq!(through("/metrics").await.status, StatusCode::NOT_FOUND);
    assert!(through("/healthz").await.json::<Value>().get("platform").is_none());
    assert_eq!(untold.get("/metrics").await.status, StatusCode::OK, "asked on this machine itself");
}

#[tokio::test]
async fn every_answer_of_a_server_reached_over_https_tells_browsers_to_keep_to_https() {
    let app = spawn_app_with(|config| {
        config.public_url = Some("https://kasse.example.no/".parse().unwrap());
    })
    .await;
    for path in ["/", "/q/demo", "/app.css", "/healthz", &format!("/api/tills/{TILL}"), "/api/nowhere"] {
        let answer = app.get(path).await;
        assert_eq!(answer.header("strict-transport-security"), Some(HSTS), "{path}: {}", answer.status);
    }
    let answer = wrong_code(&app, "x-forwarded-for", ANNA).await;
    assert_eq!(answer.header("strict-transport-security"), Some(HSTS), "an error too");
}

#[tokio::test]
async fn a_server_reached_over_plain_http_does_not_claim_https() {
    let app = spawn_app().await;
    for path in ["/", "/healthz", &format!("/api/tills/{TILL}")] {
        let answer = app.get(path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.header("strict-transport-security"), None, "{path}");
    }
}
