//! The one-time QR flow at the till: a sale from awaiting the customer to captured, declined or
//! cancelled, one sale at a time per till, bad input refused; and what holds for every response:
//! genuine and fresh webhooks only, no platform credential ever reaching a browser, a live event
//! stream that resumes exactly where it left off, the security headers, and problems for errors.

use chrono::Utc;
use kasse_api::{Currency, Flow, Money, ProblemCode, Sale, SaleStatus};
use kasse_vipps::epayment::{PaymentEventName, State, WebhookEvent};
use kasse_vipps::signing::{self, SignedHeaders};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::json;

use crate::helpers::*;

/// Whether `text` holds something shaped like an access token the simulator issues
/// (`sim.` + 32 hex digits + `.` + 32 hex digits).
fn holds_sim_access_token(text: &str) -> bool {
    let hex = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    text.match_indices("sim.").any(|(at, _)| {
        let rest = &text[at + 4..];
        rest.get(..32).is_some_and(hex) && rest.get(32..33) == Some(".") && rest.get(33..65).is_some_and(hex)
    })
}

#[tokio::test]
async fn a_qr_sale_goes_from_awaiting_customer_to_captured_after_the_customer_approves() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;

    let sale = app.start_sale(12_350).await;
    assert_eq!(sale.status, SaleStatus::AwaitingCustomer);
    assert_eq!(sale.till_id, TILL);
    assert_eq!(sale.flow, Flow::Qr);
    assert_eq!(sale.amount, Money::new(12_350, Currency::Nok));
    assert!(
        sale.qr.as_deref().is_some_and(|qr| qr.contains("/sim/pay/")),
        "the QR points at the app: {sale:?}"
    );

    app.approve(&sale).await;
    let seen = events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    assert!(seen.iter().all(|e| e.sale().reference == sale.reference), "{seen:#?}");
    assert!(statuses(&seen).contains(&SaleStatus::AwaitingCustomer), "the till showed the QR: {seen:#?}");
    let captured = seen.last().unwrap().sale();
    assert_eq!(captured.captured, Money::new(12_350, Currency::Nok));
    assert_eq!(captured.qr, None, "a paid sale's QR code is no longer shown");
    assert_eq!(app.sale(&sale.reference).await.status, SaleStatus::Captured, "a reload shows the same");
    assert_eq!(app.snapshot().await.sale.map(|s| s.status), Some(SaleStatus::Captured));

    let payment = app.platform_payment(&sale.reference);
    assert_eq!(payment.state, State::Authorized);
    assert_eq!(payment.aggregate.captured_amount.value, 12_350);

    let received = app.received(&sale.reference);
    let mut keys = Vec::new();
    for operation in ["create", "capture"] {
        let sent = writes(&received, operation);
        assert_eq!(sent.len(), 1, "the {operation} reached the platform exactly once: {received:#?}");
        let write = sent[0];
        assert!(write.applied, "{write:?}");
        let key = write.idempotency_key.clone().filter(|k| !k.is_empty());
        keys.push(key.unwrap_or_else(|| panic!("the {operation} had an Idempotency-Key: {write:?}")));
        let system = &write.system;
        for (name, value) in [
            ("Vipps-System-Name", &system.system_name),
            ("Vipps-System-Version", &system.system_version),
            ("Vipps-System-Plugin-Name", &system.plugin_name),
            ("Vipps-System-Plugin-Version", &system.plugin_version),
        ] {
            assert!(value.as_deref().is_some_and(|v| !v.is_empty()), "the {operation} had {name}: {write:?}");
        }
    }
    assert_ne!(keys[0], keys[1], "each operation has its own idempotency key");
    assert_all_deliveries_acknowledged(&app);
}

#[tokio::test]
async fn a_declined_qr_sale_shows_declined_and_nothing_is_captured() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.start_sale(4_990).await;

    app.decline(&sale).await;
    let seen = events.until_sale_is(&sale.reference, SaleStatus::Declined).await;
    let declined = seen.last().unwrap().sale();
    assert_eq!(declined.captured, Money::zero(Currency::Nok));
    assert_eq!(declined.qr, None);
    assert_eq!(app.snapshot().await.sale.map(|s| s.status), Some(SaleStatus::Declined));

    let payment = app.platform_payment(&sale.reference);
    assert_eq!(payment.state, State::Aborted);
    assert_eq!(payment.aggregate.authorized_amount.value, 0);
    assert_eq!(payment.aggregate.captured_amount.value, 0);
    let received = app.received(&sale.reference);
    assert!(writes(&received, "capture").is_empty(), "nothing was captured: {received:#?}");
}

#[tokio::test]
async fn cancelling_before_approval_shows_cancelled_and_a_second_cancel_is_refused() {
    let app = spawn_app().await;
    let sale = app.start_sale(2_500).await;

    let cancelled = app.cancel(&sale.reference).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let cancelled: Sale = cancelled.json();
    assert_eq!(cancelled.status, SaleStatus::Cancelled);
    assert_eq!(cancelled.qr, None, "a cancelled sale's QR code is no longer shown");
    assert_eq!(app.sale(&sale.reference).await.status, SaleStatus::Cancelled);
    assert_eq!(app.platform_payment(&sale.reference).state, State::Terminated);

    let again = app.cancel(&sale.reference).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(again.problem().code.map(ProblemCode::as_str), Some("not-cancellable"));

    // A customer who scans the old QR code afterwards cannot pay: the phone says so.
    assert!(app.try_answer_on_phone(&sale, "approve").await.is_client_error());
    assert_eq!(app.platform_payment(&sale.reference).state, State::Terminated);
    let received = app.received(&sale.reference);
    assert!(writes(&received, "capture").is_empty(), "nothing was captured: {received:#?}");
    assert_eq!(app.sale(&sale.reference).await.status, SaleStatus::Cancelled);
}

#[tokio::test]
async fn a_till_with_a_sale_in_progress_refuses_a_second_one_until_the_first_is_final() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let first = app.start_sale(10_000).await;

    let body = json!({"amount": {"value": 20_000, "currency": "NOK"}, "flow": "qr"});
    let refused = app.try_start_sale(&body).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    let problem = refused.problem();
    assert_eq!(problem.code.map(ProblemCode::as_str), Some("till-busy"));
    assert!(
        problem.sentence().contains(&first.reference),
        "the refusal names the sale in progress ({}): {problem:?}",
        first.reference
    );
    assert_eq!(app.snapshot().await.sale.map(|s| s.reference), Some(first.reference.clone()));
    assert_eq!(app.sim().payment_records().len(), 1, "the refused sale never reached the platform");

    app.decline(&first).await;
    events.until_sale_is(&first.reference, SaleStatus::Declined).await;
    let second = app.try_start_sale(&body).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let second: Sale = second.json();
    assert_ne!(second.reference, first.reference, "a new attempt is a new reference");
    assert_eq!(second.status, SaleStatus::AwaitingCustomer);
    assert_eq!(second.amount, Money::new(20_000, Currency::Nok));
}

#[tokio::test]
async fn bad_input_gets_a_clear_problem_and_changes_nothing() {
    let app = spawn_app().await;
    let sales = format!("/api/tills/{TILL}/sales");
    let cases: [(&str, String, &str, &str, StatusCode, &str); 8] = [
        (
            "a DKK amount at a NOK till",
            sales.clone(),
            "application/json",
            r#"{"amount":{"value":12350,"currency":"DKK"},"flow":"qr"}"#,
            StatusCode::BAD_REQUEST,
            "wrong-currency",
        ),
        (
            "99 øre, below the NOK minimum",
            sales.clone(),
            "application/json",
            r#"{"amount":{"value":99,"currency":"NOK"},"flow":"qr"}"#,
            StatusCode::BAD_REQUEST,
            "amount-too-small",
        ),
        (
            "a negative amount",
            sales.clone(),
            "application/json",
            r#"{"amount":{"value":-100,"currency":"NOK"},"flow":"qr"}"#,
            StatusCode::BAD_REQUEST,
            "amount-too-small",
        ),
        (
            "more than the platform's largest payment",
            sales.clone(),
            "application/json",
            r#"{"amount":{"value":65000001,"currency":"NOK"},"flow":"qr"}"#,
            StatusCode::BAD_REQUEST,
            "amount-too-large",
        ),
        (
            "a decimal amount",
            sales.clone(),
            "application/json",
            r#"{"amount":{"value":123.5,"currency":"NOK"},"flow":"qr"}"#,
            StatusCode::BAD_REQUEST,
            "bad-request-body",
        ),
        (
            "malformed JSON",
            sales.clone(),
            "application/json",
            r#"{"amount":{"value":12350,"#,
            StatusCode::BAD_REQUEST,
            "bad-request-body",
        ),
        (
            "a body that is not JSON",
            sales.clone(),
            "text/plain",
            "123.50 kr",
            StatusCode::BAD_REQUEST,
            "bad-request-body",
        ),
        (
            "another till than the one this browser is paired with",
            "/api/tills/till-9/sales".to_owned(),
            "application/json",
            r#"{"amount":{"value":12350,"currency":"NOK"},"flow":"qr"}"#,
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
    ];
    for (what, path, content_type, body, status, code) in cases {
        let answer = app.post_raw(&path, content_type, body).await;
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        assert_eq!(answer.problem().code.map(ProblemCode::as_str), Some(code), "{what}");
        let snapshot = app.snapshot().await;
        assert_eq!(snapshot.sale, None, "{what}: no sale was recorded");
        assert_eq!(snapshot.last_event_id, 0, "{what}: the till was told nothing");
        assert!(app.sim().payment_records().is_empty(), "{what}: nothing reached the platform");
    }

    // A body past the server's 64 KiB limit is refused before it is read.
    let padding = "x".repeat(70 * 1024);
    let oversized = json!({"amount": {"value": 12_350, "currency": "NOK"}, "flow": "qr", "note": padding});
    let answer = app.try_start_sale(&oversized).await;
    assert!(answer.status.is_client_error(), "an oversized body is refused: {}", answer.status);
    answer.problem();
    assert_eq!(app.snapshot().await.sale, None, "an oversized body records no sale");

    let unknown = app.get("/api/tills/till-9").await;
    assert_eq!(unknown.status, StatusCode::FORBIDDEN, "a paired browser sees only its own till");
    assert_eq!(unknown.problem().code.map(ProblemCode::as_str), Some("forbidden"));
    let no_sale = app.get(&format!("/api/tills/{TILL}/sales/{TILL}-000000000000")).await;
    assert_eq!(no_sale.status, StatusCode::NOT_FOUND);
    assert_eq!(no_sale.problem().code.map(ProblemCode::as_str), Some("unknown-payment"));
}

#[tokio::test]
async fn a_webhook_that_is_not_genuinely_signed_and_fresh_is_refused_and_a_duplicate_changes_nothing() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.start_sale(12_350).await;
    app.approve(&sale).await;
    events.until_sale_is(&sale.reference, SaleStatus::Captured).await;

    // The platform's own AUTHORIZED event for this payment, as it was delivered.
    let logged = app.platform_events(&sale.reference).await;
    let authorized = logged
        .iter()
        .find(|e| e.name == PaymentEventName::Authorized)
        .unwrap_or_else(|| panic!("the platform logged the approval: {logged:#?}"));
    let event = WebhookEvent {
        msn: MSN.to_owned(),
        reference: authorized.reference.clone(),
        psp_reference: authorized.psp_reference.clone(),
        name: authorized.name,
        amount: authorized.amount,
        timestamp: authorized.timestamp,
        idempotency_key: authorized.idempotency_key.clone(),
        success: authorized.success,
    };
    let body = serde_json::to_vec(&event).unwrap();
    let url = app.webhook_url();
    let secret = app.webhook_secret().await;
    let now = signing::http_date(Utc::now());
    let early = signing::http_date(Utc::now() + chrono::Duration::minutes(10));
    let mut changed = event.clone();
    changed.amount.value = 1;
    let changed = serde_json::to_vec(&changed).unwrap();
    let genuine = signing::sign(&secret, &url, &now, &body).unwrap();
    let client_secret = app.sales_unit().client_secret.expose().to_owned();

    // A genuine delivery that is only late is no forgery: the platform retries for days, and
    // webhooks.rs shows a late one accepted while what it says can matter.
    let forged: [(&str, &[u8], SignedHeaders); 5] = [
        ("signed with a made-up secret", &body, signing::sign("not-our-secret", &url, &now, &body).unwrap()),
        (
            "signed with the API client secret instead of the webhook secret",
            &body,
            signing::sign(&client_secret, &url, &now, &body).unwrap(),
        ),
        ("a body changed after signing", &changed, genuine.clone()),
        ("an x-ms-date from the future", &body, signing::sign(&secret, &url, &early, &body).unwrap()),
        (
            "no signature at all",
            &body,
            SignedHeaders {
                date: now.clone(),
                content_sha256: genuine.content_sha256.clone(),
                authorization: String::new(),
            },
        ),
    ];
    for (what, sent, headers) in forged {
        let answer = app.deliver_webhook(sent, &headers).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}: {}", answer.body);
        assert_eq!(answer.problem().code.map(ProblemCode::as_str), Some("unauthorized"), "{what}");
    }

    // The genuine event delivered again, as the platform may: accepted, and harmless.
    let again = app.deliver_webhook(&body, &genuine).await;
    assert_eq!(again.status, StatusCode::OK, "a correctly signed duplicate is acknowledged: {}", again.body);

    // The inbox is processed in arrival order, so once a later sale's webhooks have been acted
    // on, the duplicate has been too. Nothing about the first sale may have changed meanwhile.
    let next = app.start_sale(3_000).await;
    app.approve(&next).await;
    let seen = events.until_sale_is(&next.reference, SaleStatus::Captured).await;
    assert!(
        seen.iter().all(|e| e.sale().reference == next.reference),
        "the duplicate and the refused deliveries told the till nothing: {seen:#?}"
    );
    assert_eq!(app.sale(&sale.reference).await.captured, Money::new(12_350, Currency::Nok));
    assert_eq!(app.platform_payment(&sale.reference).aggregate.captured_amount.value, 12_350);
    let received = app.received(&sale.reference);
    assert_eq!(
        writes(&received, "capture").len(),
        1,
        "no second capture reached the platform: {received:#?}"
    );
    assert_all_deliveries_acknowledged(&app);
}

#[tokio::test]
async fn no_platform_credential_ever_reaches_a_browser() {
    let app = spawn_app().await;
    let session = app.get("/api/session").await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.body);
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.start_sale(12_350).await;
    let busy = app.try_start_sale(&json!({"amount": {"value": 100, "currency": "NOK"}, "flow": "qr"})).await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    app.approve(&sale).await;
    events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    app.sale(&sale.reference).await;
    app.snapshot().await;
    let late_cancel = app.cancel(&sale.reference).await;
    assert_eq!(late_cancel.status, StatusCode::CONFLICT, "{}", late_cancel.body);
    assert_eq!(app.get("/api/tills/till-9").await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/no-such-thing").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/till").await.status, StatusCode::OK);

    let unit = app.sales_unit();
    let secrets = app.running.secrets().await;
    for credential in [unit.client_secret.expose(), unit.subscription_key.expose()] {
        assert!(secrets.iter().any(|s| s == credential), "secrets() lists the API credentials");
    }
    assert!(secrets.len() >= 3, "secrets() lists the webhook secret too: {} secrets", secrets.len());
    let mut forbidden: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
    forbidden.push(unit.client_id.clone());
    let tokens = app.sim().issued_tokens();
    assert!(!tokens.is_empty(), "the server fetched an access token");
    forbidden.extend(tokens);

    let issued_shape = format!("sim.{}.{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    assert!(holds_sim_access_token(&format!("x{issued_shape}\"")), "the token check recognises a token");

    let seen = app.seen.lock().unwrap().clone();
    assert!(seen.iter().any(|s| s.contains("\"captured\"")), "the record holds the SSE text");
    for text in &seen {
        for secret in &forbidden {
            assert!(!text.contains(secret.as_str()), "a platform credential reached the browser: {text}");
        }
        assert!(!holds_sim_access_token(text), "an access token reached the browser: {text}");
        assert!(!text.contains("Bearer"), "an access token reached the browser: {text}");
    }
}

#[tokio::test]
async fn a_reconnecting_event_stream_replays_exactly_what_it_missed() {
    let app = spawn_app().await;
    let first_after = app.snapshot().await.last_event_id;
    let mut events = app.events_after(first_after).await;
    let sale = app.start_sale(7_700).await;
    app.approve(&sale).await;
    let all = events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    let ids: Vec<i64> = all.iter().map(|e| e.id.expect("every event has an id")).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "event ids increase: {ids:?}");
    assert!(all.len() >= 3, "a paid sale is several events: {all:#?}");

    // The browser lost the connection after the first event; its EventSource reconnects to the
    // same URL and says what it last saw.
    let mut replay = app.reconnect_events(first_after, ids[0]).await;
    let replayed = replay.next_events(all.len() - 1).await;
    assert_eq!(replayed, all[1..], "the later events, in order, once each");

    // And nothing else: the next event on the resumed stream is the next thing that happens.
    let next = app.start_sale(1_000).await;
    let fresh = replay.next_events(1).await;
    assert!(fresh[0].id.unwrap() > *ids.last().unwrap());
    assert_eq!(fresh[0].sale().reference, next.reference);
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_unknown_api_paths_are_problems() {
    let app = spawn_app().await;
    let mut answers = vec![
        ("an API response", app.get(&format!("/api/tills/{TILL}")).await),
        ("a static file", app.get("/app.css").await),
        ("the app at /till", app.get("/till").await),
        ("the app at /display/till-1", app.get("/display/till-1").await),
        ("the history", app.get("/till/sales/kasse-till-1-0001").await),
        ("an API error", app.get("/api/tills/till-9").await),
        ("a refused webhook", app.post_raw("/webhooks/vipps", "application/json", "{}").await),
        ("the health check", app.get("/healthz").await),
    ];
    assert_eq!(answers[1].1.body, STYLESHEET);
    assert_eq!(answers[2].1.body, INDEX_HTML, "/till is the app");
    assert_eq!(answers[3].1.body, DISPLAY_HTML, "/display/… is the display's own bundle");
    assert_eq!(answers[4].1.body, HISTORY_HTML, "/till/sales/… is the history's own bundle");

    let unknown_api = [
        ("GET", "/api/no-such-thing"),
        ("GET", "/api/tills/till-1/no-such-thing"),
        ("GET", "/api/tills"),
        ("POST", "/api/no-such-thing"),
    ];
    for (method, path) in unknown_api {
        let request = if method == "GET" {
            app.http.get(format!("{}{path}", app.base))
        } else {
            app.http.post(format!("{}{path}", app.base)).json(&json!({}))
        };
        let answer = app.send(request).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {path}: {}", answer.body);
        assert_eq!(answer.problem().code.map(ProblemCode::as_str), Some("not-found"), "{method} {path}");
        assert!(!answer.body.contains("kasse-test-index"), "{method} {path} is not the app's page");
        answers.push(("an unknown API path", answer));
    }

    let stream = app.events_after(0).await;
    let mut checked: Vec<(&str, HeaderMap)> =
        answers.into_iter().map(|(what, a)| (what, a.headers)).collect();
    checked.push(("the live event stream", stream.headers.clone()));
    for (what, headers) in checked {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(get("content-security-policy"), Some(kasse_server::CSP), "{what}");
        assert_eq!(get("x-content-type-options"), Some("nosniff"), "{what}");
        assert!(get("referrer-policy").is_some_and(|v| !v.is_empty()), "{what}");
        assert_eq!(get("x-frame-options"), Some("DENY"), "{what}");
    }
}

#[tokio::test]
async fn every_api_error_is_a_problem_even_at_the_api_root_or_with_a_wrong_method() {
    let app = spawn_app().await;
    let cases = [
        ("GET", "/api", StatusCode::NOT_FOUND),
        ("GET", "/api/", StatusCode::NOT_FOUND),
        ("DELETE", "/api/tills/till-1", StatusCode::METHOD_NOT_ALLOWED),
        ("DELETE", "/api/tills/till-1/sales", StatusCode::METHOD_NOT_ALLOWED),
    ];
    for (method, path, status) in cases {
        let request = app.http.request(method.parse().unwrap(), format!("{}{path}", app.base));
        let answer = app.send(request).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
        assert!(!answer.body.contains("kasse-test-index"), "{method} {path} is not the app's page");
        answer.problem();
    }
}
