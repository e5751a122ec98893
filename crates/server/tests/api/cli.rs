//! The real `kasse-server` binary running the tools against a `kasse-sim` of its own (started in
//! the test on port 0), as an operator would: exit statuses, the report on stdout, progress on
//! stderr, `--json`, and mistakes that stop a tool before it does anything.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kasse_sim::{SimConfig, SimHandle};
use kasse_vipps::qr::CallbackQrImage;
use serde_json::Value;

use crate::helpers::*;

/// A simulator on its own, a configuration file naming it, and a database folder.
pub(crate) struct Operator {
    pub(crate) sim: SimHandle,
    dir: PathBuf,
    pub(crate) config: PathBuf,
    /// The stores' secrets, as the environment gives them to the binary.
    pub(crate) env: Vec<(String, String)>,
}

impl Operator {
    /// Two stores (NOK and DKK) and three tills on a fresh simulator.
    pub(crate) async fn new() -> Self {
        Self::on(SimConfig::demo()).await
    }

    /// The same on a simulator of `config` (which has the demo's sales units).
    pub(crate) async fn on(config: SimConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = kasse_sim::start(config, listener).unwrap();
        let dir = std::env::temp_dir().join(format!("kasse-cli-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let unit = |msn: &str| sim.config().sales_unit(msn).unwrap().clone();
        let (oslo, copenhagen) = (unit("123456"), unit("234567"));
        let config = format!(
            r#"
[server]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:9/"
database = "sqlite://{db}"

[platform]
provider = "sim"
base_url = "{sim}"

[[stores]]
id = "grunerlokka"
name = "Kaffebrenneriet Grünerløkka"
msn = "123456"
currency = "NOK"
client_id = "{oslo_id}"

[[stores]]
id = "norrebro"
name = "Bageriet Nørrebro"
msn = "234567"
currency = "DKK"
client_id = "{copenhagen_id}"

[[tills]]
id = "till-1"
name = "Kasse 1"
store = "grunerlokka"
callback_qr = "till-1"
redirect_sticker = "kasse-1"

[[tills]]
id = "till-2"
name = "Kasse 2"
store = "grunerlokka"

[[tills]]
id = "kasse-a"
name = "Kasse A"
store = "norrebro"
"#,
            db = dir.join("kasse.db").display(),
            sim = sim.base_url(),
            oslo_id = oslo.client_id,
            copenhagen_id = copenhagen.client_id,
        );
        let path = dir.join("kasse.toml");
        std::fs::write(&path, config).unwrap();
        let env = vec![
            ("KASSE_STORE_GRUNERLOKKA_CLIENT_SECRET".to_owned(), oslo.client_secret.expose().to_owned()),
            (
                "KASSE_STORE_GRUNERLOKKA_SUBSCRIPTION_KEY".to_owned(),
                oslo.subscription_key.expose().to_owned(),
            ),
            ("KASSE_STORE_NORREBRO_CLIENT_SECRET".to_owned(), copenhagen.client_secret.expose().to_owned()),
            (
                "KASSE_STORE_NORREBRO_SUBSCRIPTION_KEY".to_owned(),
                copenhagen.subscription_key.expose().to_owned(),
            ),
        ];
        Self { sim, dir, config: path, env }
    }

    /// Runs `kasse-server ARGS --config FILE` to its end, off the runtime's threads (the
    /// simulator it talks to keeps serving meanwhile).
    pub(crate) async fn run(&self, args: &[&str]) -> Output {
        self.run_as(&self.config, &self.env, args).await
    }

    /// [`Operator::run`] with another configuration file and environment.
    pub(crate) async fn run_as(&self, config: &Path, env: &[(String, String)], args: &[&str]) -> Output {
        let mut command = Command::new(BINARY);
        command.args(args).arg("--config").arg(config).envs(env.iter().cloned());
        for variable in [
            "KASSE_CONFIG",
            "KASSE_LISTEN",
            "KASSE_PUBLIC_URL",
            "KASSE_DATABASE_URL",
            "KASSE_PROVIDER",
            "KASSE_PLATFORM_URL",
            "RUST_LOG",
        ] {
            command.env_remove(variable);
        }
        tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("kasse-server runs")
    }

    /// A file in this operator's folder with `text` in it.
    pub(crate) fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A client of the Oslo store, as the merchant's own tools would have.
    pub(crate) fn oslo(&self) -> kasse_vipps::Client {
        let unit = self.sim.config().sales_unit("123456").unwrap();
        kasse_vipps::Client::new(kasse_vipps::ClientConfig {
            base_url: self.sim.base_url().clone(),
            credentials: kasse_vipps::Credentials {
                client_id: unit.client_id.clone(),
                client_secret: unit.client_secret.clone(),
                subscription_key: unit.subscription_key.clone(),
                msn: unit.msn.clone(),
            },
            system: kasse_vipps::SystemInfo {
                name: "kasse-tests".to_owned(),
                version: "1".to_owned(),
                plugin_name: "cli-tests".to_owned(),
                plugin_version: "1".to_owned(),
            },
            timeout: PATIENCE,
            retry: kasse_vipps::RetryPolicy::default(),
        })
        .unwrap()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A temporary path, as a command-line argument.
pub(crate) fn path_arg(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

#[tokio::test(flavor = "multi_thread")]
async fn qr_migrate_reports_every_row_exits_1_while_a_row_fails_and_0_once_the_list_is_clean() {
    let operator = Operator::new().await;
    let list = operator.file(
        "pos.csv",
        "beaconId;posName;MSN;till\n\
         100000000000001;Kasse 1;123456;till-1\n\
         ;Kasse uten beacon;123456;till-1\n\
         100000000000003;Kasse ved inngangen til bakeriet på hjørnet;123456;till-2\n\
         100000000000004;Kasse i Bergen;999999;\n\
         100000000000005;Kasse A;234567;kasse-a\n",
    );
    let first = operator.run(&["qr", "migrate", "--from", path_arg(&list)]).await;
    let (stdout, stderr) = (text(&first.stdout), text(&first.stderr));
    assert_eq!(first.status.code(), Some(1), "a failed row makes the exit status 1:\n{stdout}\n{stderr}");
    assert!(stdout.contains("failed: no beaconId"), "{stdout}");
    assert!(
        stdout.contains("failed: MSN 999999 is not one of the configured stores (123456, 234567)"),
        "{stdout}"
    );
    assert!(stdout.contains("posName is 43 characters"), "{stdout}");
    assert!(stdout.contains("5 rows: 3 migrated, 0 updated, 0 already there, 2 failed"), "{stdout}");
    assert!(stderr.contains("migrating 5 points of sale") && stderr.contains("5/5 rows done"), "{stderr}");
    assert!(stderr.contains("row 2: no beaconId"), "progress names each failed row as it goes: {stderr}");

    let listed = operator.oslo().list_callback_qrs(CallbackQrImage::default()).await.unwrap();
    assert_eq!(listed.len(), 2, "the Oslo store's two good beacons: {listed:?}");

    let json = operator.run(&["qr", "migrate", "--from", path_arg(&list), "--json"]).await;
    assert_eq!(json.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&json.stdout).expect("--json writes JSON to stdout");
    assert_eq!(report["counts"]["alreadyThere"], 3, "{report:#}");
    assert_eq!(report["rows"][1]["problem"]["code"], "missing-beacon-id");
    assert_eq!(report["rows"][0]["outcome"], "alreadyThere");

    let clean = operator.file(
        "clean.csv",
        "beaconId,posName,msn,till\n100000000000001,Kasse 1,123456,till-1\n100000000000006,Kasse 6,123456,till-2\n",
    );
    let dry = operator.run(&["qr", "migrate", "--from", path_arg(&clean), "--dry-run"]).await;
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    assert!(text(&dry.stdout).contains("would migrate"), "{}", text(&dry.stdout));
    assert_eq!(operator.oslo().list_callback_qrs(CallbackQrImage::default()).await.unwrap().len(), 2, "dry");
    let done = operator.run(&["qr", "migrate", "--from", path_arg(&clean)]).await;
    let stdout = text(&done.stdout);
    assert_eq!(done.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("2 rows: 1 migrated, 0 updated, 1 already there, 0 failed"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_that_cannot_start_says_why_and_exits_2_having_done_nothing() {
    let operator = Operator::new().await;
    let missing = operator.dir.join("no-such-list.csv");
    let unreadable = operator.run(&["qr", "migrate", "--from", path_arg(&missing)]).await;
    assert_eq!(unreadable.status.code(), Some(2));
    assert!(text(&unreadable.stderr).contains("cannot read"), "{}", text(&unreadable.stderr));

    let no_header = operator.file("bad.csv", "100000000000001,Kasse 1\n");
    let refused = operator.run(&["qr", "migrate", "--from", path_arg(&no_header)]).await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("has no beaconId column"), "{}", text(&refused.stderr));

    let pdf = operator.run(&["qr", "stickers", "--out", path_arg(&operator.dir.join("sheet.pdf"))]).await;
    assert_eq!(pdf.status.code(), Some(2));
    assert!(text(&pdf.stderr).contains("--out must name an .html file"), "{}", text(&pdf.stderr));

    // The demo configuration runs the simulator inside `serve`, which a tool cannot reach.
    let mut demo = Command::new(BINARY);
    demo.args(["webhooks", "sync"]).env_remove("KASSE_CONFIG").env_remove("KASSE_PLATFORM_URL");
    let demo = tokio::task::spawn_blocking(move || demo.output()).await.unwrap().unwrap();
    assert_eq!(demo.status.code(), Some(2));
    assert!(
        text(&demo.stderr).contains("the simulator built into `kasse-server serve`"),
        "{}",
        text(&demo.stderr)
    );
    assert!(operator.oslo().list_webhooks().await.unwrap().webhooks.is_empty(), "nothing was registered");
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_sync_run_twice_registers_every_store_once_and_changes_nothing_the_second_time() {
    let operator = Operator::new().await;
    let first = operator.run(&["webhooks", "sync"]).await;
    let stdout = text(&first.stdout);
    assert_eq!(first.status.code(), Some(0), "{stdout}\n{}", text(&first.stderr));
    assert!(stdout.contains("webhook URL: http://127.0.0.1:9/webhooks/vipps"), "{stdout}");
    assert!(stdout.contains("2 stores: 2 created, 0 removed, 0 unchanged, 0 failed"), "{stdout}");
    let registered = operator.oslo().list_webhooks().await.unwrap().webhooks;
    assert_eq!(registered.len(), 1);

    let second = operator.run(&["webhooks", "sync", "--json"]).await;
    assert_eq!(second.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&second.stdout).unwrap();
    for unit in report["units"].as_array().unwrap() {
        assert!(unit.get("created").is_none() && unit.get("removed").is_none(), "{unit:#}");
        assert!(unit["kept"].is_string(), "{unit:#}");
    }
    assert_eq!(report["units"][0]["kept"], registered[0].id.as_str());
    assert_eq!(operator.oslo().list_webhooks().await.unwrap().webhooks, registered, "nothing changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mobilepay_beacons_id_is_never_put_up_as_an_ordinary_callback_sticker() {
    let operator = Operator::new().await;
    for beacon in ["100000000000001", "4f9c3a52-6b1e-4d4e-9a2b-0c7d5e1f2a3b"] {
        let out = operator.run(&["qr", "callback", "create", "till-1", "--id", beacon]).await;
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{beacon}: {stdout}");
        assert!(stdout.contains("MobilePay PoS beacon") && stdout.contains("qr migrate"), "{stdout}");
    }
    let listed = operator.oslo().list_callback_qrs(CallbackQrImage::default()).await.unwrap();
    assert!(listed.is_empty(), "nothing put up: {listed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stickers_put_up_by_the_binary_end_up_on_the_printed_sheet() {
    let operator = Operator::new().await;
    let callbacks = operator.run(&["qr", "callback", "create"]).await;
    let stdout = text(&callbacks.stdout);
    assert_eq!(callbacks.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("callback sticker till-1 at MSN 123456 (till till-1): created"), "{stdout}");
    assert!(stdout.contains("3 created"), "every till gets one: {stdout}");
    let redirects = operator.run(&["qr", "redirect", "create"]).await;
    assert_eq!(redirects.status.code(), Some(0), "{}", text(&redirects.stdout));
    let listed = operator.run(&["qr", "callback", "list"]).await;
    assert!(
        text(&listed.stdout).contains("callback till-2 \"Kasse 2\": rings till till-2"),
        "{}",
        text(&listed.stdout)
    );

    let sheet = operator.dir.join("stickers.html");
    let printed = operator.run(&["qr", "stickers", "--out", path_arg(&sheet)]).await;
    assert_eq!(printed.status.code(), Some(0), "{}", text(&printed.stderr));
    assert!(
        text(&printed.stdout).contains("4 stickers on the sheet, 0 missing"),
        "{}",
        text(&printed.stdout)
    );
    let page = std::fs::read_to_string(&sheet).unwrap();
    assert_eq!(page.matches("<figure class=\"sticker\"").count(), 4);
    assert!(page.contains("Bageriet Nørrebro") && page.contains("Kasse A"));
}
