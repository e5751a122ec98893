//! The client against a stand-in platform (a small axum server in the test) answering what the
//! simulator never does, in the order a test needs.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failing test panics with what went wrong")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kasse_vipps::{
    Amount, Client, ClientConfig, Credentials, Currency, Error, RetryPolicy, Secret, SystemInfo,
};
use serde_json::json;
use tokio::net::TcpListener;
use url::Url;

/// A platform whose captures are answered 503 the first time, then 401 whatever the token.
async fn busy_then_refusing_credentials() -> (Url, Arc<AtomicU32>) {
    let captures = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&captures);
    let token = || async {
        axum::Json(json!({
            "token_type": "Bearer", "expires_in": "3600", "ext_expires_in": "0", "expires_on": "0",
            "not_before": "0", "resource": "r", "access_token": "token"
        }))
    };
    let capture = move || {
        let counted = Arc::clone(&counted);
        async move {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            } else {
                StatusCode::UNAUTHORIZED.into_response()
            }
        }
    };
    let app = Router::new()
        .route("/accesstoken/get", post(token))
        .route("/epayment/v1/payments/{reference}/capture", post(capture));
    (serve(app).await, captures)
}

/// A platform that gives tokens at once (or, `refusing`, refuses the credentials with 400) and
/// answers reads of a payment only after 2 s; counts the reads.
async fn slow_reads(refusing: bool) -> (Url, Arc<AtomicU32>) {
    let reads = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&reads);
    let token = move || async move {
        if refusing {
            return StatusCode::BAD_REQUEST.into_response();
        }
        axum::Json(json!({
            "token_type": "Bearer", "expires_in": "3600", "ext_expires_in": "0", "expires_on": "0",
            "not_before": "0", "resource": "r", "access_token": "token"
        }))
        .into_response()
    };
    let read = move || {
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(2)).await;
            StatusCode::NOT_FOUND
        }
    };
    let app = Router::new()
        .route("/accesstoken/get", post(token))
        .route("/epayment/v1/payments/{reference}", get(read));
    (serve(app).await, reads)
}

/// Serves `app` on a free port of this machine, for as long as the test runs: its address.
async fn serve(app: Router) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn client(base_url: Url) -> Client {
    Client::new(ClientConfig {
        base_url,
        credentials: Credentials {
            client_id: "id".into(),
            client_secret: Secret::new("secret"),
            subscription_key: Secret::new("key"),
            msn: "123456".into(),
        },
        system: SystemInfo {
            name: "kasse-tests".into(),
            version: "1".into(),
            plugin_name: "kasse".into(),
            plugin_version: "1".into(),
        },
        timeout: Duration::from_millis(300),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
    })
    .unwrap()
}

#[tokio::test]
async fn credentials_refused_after_an_unanswered_attempt_leave_the_outcome_unknown_never_a_refusal() {
    let (url, captures) = busy_then_refusing_credentials().await;
    let amount = Amount { currency: Currency::Nok, value: 1_000 };
    let error = client(url).capture_payment("ref-1", amount, "capture-key-1").await.unwrap_err();
    // The 503 may have been applied; the 401s (the second after a fresh token) say nothing of it.
    assert_eq!(captures.load(Ordering::SeqCst), 3);
    assert!(error.outcome_unknown(), "{error}");
    assert!(matches!(&error, Error::Unsettled(last) if last.status() == Some(401)), "{error:?}");
}

#[tokio::test]
async fn a_call_the_platform_does_not_answer_in_time_is_sent_once_its_outcome_unknown() {
    let (url, reads) = slow_reads(false).await;
    let error = client(url).get_payment("hanging-1").await.unwrap_err();
    assert!(matches!(&error, Error::Unreachable(_)) && error.outcome_unknown(), "{error:?}");
    // Where each of the four attempts waited out the timeout, under a cashier's press.
    assert_eq!(reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_call_that_got_no_token_was_never_sent_and_says_so() {
    let (url, reads) = slow_reads(true).await;
    let error = client(url).get_payment("no-token-1").await.unwrap_err();
    assert!(matches!(&error, Error::NoToken(why) if why.status() == Some(400)), "{error:?}");
    assert!(error.refused_unread(), "a write resent so is kept, never recorded refused");
    assert_eq!(error.status(), None, "not the payment's answer: never taken for its 404");
    assert_eq!(reads.load(Ordering::SeqCst), 0);
}
