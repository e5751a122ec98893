//! What whoever runs kasse relies on: `/healthz`, `/metrics` in the Prometheus text format, and
//! the command line (`check-config`, `till pair`), run as the real binary.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use kasse_api::{Sale, SaleStatus};
use kasse_sim::FaultKnobs;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

impl TestApp {
    /// `/metrics`, checked to be Prometheus text.
    async fn prometheus(&self) -> String {
        let answer = self.get("/metrics").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let content_type = answer.header("content-type").unwrap_or_default();
        assert!(content_type.starts_with("text/plain"), "Prometheus text: {content_type}");
        answer.body
    }

    /// The sample `series` of `/metrics`, which must be there.
    async fn sample(&self, series: &str) -> i64 {
        let text = self.prometheus().await;
        metric(&text, series).unwrap_or_else(|| panic!("/metrics has no {series}:\n{text}"))
    }
}

/// Runs the binary with exactly `env` as its environment, in a fresh folder.
fn run(args: &[&str], env: &[(&str, &str)]) -> (Output, String, String) {
    let dir = std::env::temp_dir().join(format!("kasse-server-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(BINARY)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(&dir)
        .output()
        .expect("kasse-server can be run");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// A configuration file in a fresh folder, removed when dropped.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn new(text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kasse-server-config-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kasse.toml");
        std::fs::write(&path, text).unwrap();
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[tokio::test]
async fn the_health_check_answers_ok() {
    let app = spawn_app().await;
    let answer = app.get("/healthz").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json::<serde_json::Value>()["status"], "ok", "{}", answer.body);
}

#[tokio::test]
async fn metrics_count_sales_and_platform_writes_and_show_what_is_in_progress() {
    let app = spawn_app().await;
    let text = app.prometheus().await;
    for (name, kind) in [
        ("kasse_sales_started_total", "counter"),
        ("kasse_platform_writes_total", "counter"),
        ("kasse_webhooks_total", "counter"),
        ("kasse_live_streams", "gauge"),
        ("kasse_operations_pending", "gauge"),
        ("kasse_sales_in_progress", "gauge"),
        ("kasse_webhooks_unprocessed", "gauge"),
    ] {
        assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name} is a {kind}:\n{text}");
        assert!(text.contains(&format!("# HELP {name} ")), "{name} is explained:\n{text}");
    }
    for gauge in ["kasse_live_streams", "kasse_operations_pending", "kasse_sales_in_progress"] {
        assert_eq!(metric(&text, gauge), Some(0), "{gauge} on a fresh server:\n{text}");
    }
    assert!(metric(&text, "kasse_webhooks_unprocessed").is_some_and(|n| n >= 0), "{text}");
    assert_eq!(metric(&text, "kasse_sales_started_total{flow=\"qr\"}"), None, "no sale yet:\n{text}");

    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    assert_eq!(app.sample("kasse_live_streams").await, 1, "the till's stream is open");

    // A sale the platform cannot be told about yet: recorded, its create pending.
    app.sim().set_faults(FaultKnobs { error_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let answer =
        app.try_start_sale(&json!({"amount": {"value": 12_350, "currency": "NOK"}, "flow": "qr"})).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    let sale: Sale = answer.json();
    assert_eq!(app.sample("kasse_sales_started_total{flow=\"qr\"}").await, 1);
    assert_eq!(app.sample("kasse_operations_pending").await, 1, "the create is pending");
    assert_eq!(app.sample("kasse_sales_in_progress").await, 1);
    assert!(app.sample("kasse_platform_writes_total{kind=\"create\",outcome=\"unknown\"}").await >= 1);

    app.sim().set_faults(FaultKnobs::default()).unwrap();
    let shown = events.until_sale_is(&sale.reference, SaleStatus::AwaitingCustomer).await;
    let sale = shown.last().unwrap().sale();
    assert_eq!(app.sample("kasse_operations_pending").await, 0, "the create is confirmed");
    assert_eq!(app.sample("kasse_platform_writes_total{kind=\"create\",outcome=\"confirmed\"}").await, 1);
    assert_eq!(app.sample("kasse_sales_in_progress").await, 1);

    app.approve(&sale).await;
    events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    assert_eq!(app.sample("kasse_sales_in_progress").await, 0, "a captured sale is done");
    assert_eq!(app.sample("kasse_platform_writes_total{kind=\"capture\",outcome=\"confirmed\"}").await, 1);
    assert!(app.sample("kasse_webhooks_total{outcome=\"accepted\"}").await >= 1);

    // Each sale is counted under its flow.
    let second = app.start_sale(3_000).await;
    assert_eq!(app.sample("kasse_sales_started_total{flow=\"qr\"}").await, 2);
    assert_eq!(app.sample("kasse_sales_in_progress").await, 1);
    assert_eq!(app.cancel(&second.reference).await.status, StatusCode::OK);
    let phone =
        json!({"amount": {"value": 4_500, "currency": "NOK"}, "flow": "phone", "phoneNumber": "91234567"});
    assert_eq!(app.try_start_sale(&phone).await.status, StatusCode::CREATED);
    assert_eq!(app.sample("kasse_sales_started_total{flow=\"phone\"}").await, 1);
    assert_eq!(app.sample("kasse_sales_started_total{flow=\"qr\"}").await, 2);
    assert_eq!(app.sample("kasse_platform_writes_total{kind=\"create\",outcome=\"confirmed\"}").await, 3);

    // A closed stream is no longer counted (there is no event for that: ask until it shows).
    drop(events);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            tick.tick().await;
            if app.sample("kasse_live_streams").await == 0 {
                return;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the closed stream is still counted:\n{}", app.prometheus().await);
}

#[test]
fn check_config_without_a_file_says_the_built_in_demo_is_ok() {
    let (output, stdout, stderr) = run(&["check-config"], &[]);
    assert!(output.status.success(), "{}: {stdout}{stderr}", output.status);
    assert!(stdout.starts_with("configuration OK: "), "{stdout}");
    assert!(stdout.contains("the built-in demo"), "it says where the configuration came from: {stdout}");
}

#[test]
fn check_config_lists_every_mistake_in_a_file_and_exits_1() {
    let file = ConfigFile::new(
        r#"
[server]
listen = "not-an-address"

[[stores]]
id = "shop"
name = "Shop"
msn = "1"
currency = "SEK"

[[tills]]
id = "till-1"
name = "Kasse 1"
store = "nowhere"
capture = "sometimes"

[[stickers]]
id = "tips"
store = "shop"
description = "Tips"
min = 5000
max = 1000
"#,
    );
    let (output, stdout, stderr) = run(&["check-config", "--config", file.path()], &[]);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.starts_with(&format!("{} has 6 problems:\n", file.path())), "{stdout}");
    let mistakes = [
        "[server] listen = \"not-an-address\" is not valid",
        "[[stores]] \"shop\" currency = \"SEK\" is not valid",
        "[[tills]] \"till-1\" capture = \"sometimes\" is not valid",
        "msn = \"1\" is not a merchant serial number",
        "[[tills]] \"till-1\" belongs to store \"nowhere\"",
        "[[stickers]] \"tips\": min = 5000 is above max = 1000",
    ];
    for mistake in mistakes {
        let line = stdout.lines().find(|line| line.contains(mistake));
        let line = line.unwrap_or_else(|| panic!("the report names {mistake:?}:\n{stdout}"));
        let number = line.trim_start().split_once(". ").map(|(n, _)| n);
        assert!(number.is_some_and(|n| n.parse::<u8>().is_ok()), "each on its own numbered line: {line}");
    }
}

#[test]
fn pairing_an_unknown_till_fails_and_names_it() {
    let (output, stdout, stderr) = run(&["till", "pair", "nope"], &[]);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "no code is printed: {stdout}");
    assert!(stderr.contains("'nope'"), "the till is named: {stderr}");
}

#[test]
fn check_config_never_prints_a_secret_value() {
    const SECRET: &str = "client-secret-value-9f1c2e";
    const KEY: &str = "subscription-key-value-77ab03";
    let sound = r#"
[server]
public_url = "https://kasse.example.no/"

[platform]
provider = "test"

[[stores]]
id = "majorstuen"
name = "Kaffebrenneriet Majorstuen"
msn = "654321"
currency = "NOK"
client_id = "fb492b5e-7907-4d83-ba20-c7fb60ca35de"
client_secret = { env = "MAJORSTUEN_SECRET" }
subscription_key = { env = "MAJORSTUEN_KEY" }

[[tills]]
id = "till-1"
name = "Kasse 1"
store = "majorstuen"
"#;
    let env = [("MAJORSTUEN_SECRET", SECRET), ("MAJORSTUEN_KEY", KEY)];
    let file = ConfigFile::new(sound);
    let (output, stdout, stderr) = run(&["check-config", "-c", file.path()], &env);
    assert!(output.status.success(), "{}: {stdout}{stderr}", output.status);
    assert!(stdout.contains("client_secret from the environment variable MAJORSTUEN_SECRET"), "{stdout}");
    assert!(stdout.contains("subscription_key from the environment variable MAJORSTUEN_KEY"), "{stdout}");

    // The same with mistakes, and with a secret written into the file itself.
    let written = "literal-secret-in-the-file-5d2e";
    let broken = sound
        .replace(
            r#"subscription_key = { env = "MAJORSTUEN_KEY" }"#,
            &format!("subscription_key = {written:?}"),
        )
        .replace(r#"msn = "654321""#, r#"msn = "65""#);
    let file = ConfigFile::new(&broken);
    let (failed, failed_stdout, failed_stderr) = run(&["check-config", "-c", file.path()], &env);
    assert_eq!(failed.status.code(), Some(1), "{failed_stdout}{failed_stderr}");
    assert!(failed_stdout.contains("subscription_key is written into the file"), "{failed_stdout}");

    for text in [&stdout, &stderr, &failed_stdout, &failed_stderr] {
        for secret in [SECRET, KEY, written] {
            assert!(!text.contains(secret), "a secret was printed: {text}");
        }
    }
}
