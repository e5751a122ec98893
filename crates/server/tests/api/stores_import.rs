//! `kasse-server stores import`, the real binary against a `kasse-sim` of its own whose Norwegian
//! merchant has one sales unit more than the configuration: a dry run says what would change and
//! writes nothing, the import writes the new store (comments and secrets left as they were) and a
//! second run changes nothing; the new store then works with its keys. Mistakes change nothing.

use kasse_sim::{SalesUnit, SimConfig};
use kasse_vipps::Currency;
use serde_json::Value;

use crate::cli::{Operator, text};

/// The demo's sales units and Majorstuen, a second Norwegian one.
async fn operator() -> Operator {
    let mut config = SimConfig::demo();
    config.sales_units.push(SalesUnit::generated("456789", "Kaffebrenneriet Majorstuen", Currency::Nok));
    Operator::on(config).await
}

/// What became of each store in a `--json` report, as (store, kind).
fn kinds(report: &Value) -> Vec<(String, String)> {
    report["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["store"].as_str().unwrap().to_owned(), s["kind"].as_str().unwrap().to_owned()))
        .collect()
}

fn pair(store: &str, kind: &str) -> (String, String) {
    (store.to_owned(), kind.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merchants_new_sales_unit_becomes_a_store_once_and_works_with_its_keys() {
    let operator = operator().await;
    let before = std::fs::read_to_string(&operator.config).unwrap();

    let out = operator.run(&["stores", "import", "--org", "987654321", "--dry-run", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["merchant"], "Kaffebrenneriet AS");
    assert_eq!(report["currency"], "NOK");
    assert_eq!(
        kinds(&report),
        [
            pair("grunerlokka", "unchanged"),
            pair("kaffebrenneriet-majorstuen", "added"),
            pair("norrebro", "not-listed")
        ]
    );
    assert_eq!(report["written"], false);
    assert_eq!(std::fs::read_to_string(&operator.config).unwrap(), before, "a dry run writes nothing");

    let out = operator.run(&["stores", "import", "--org", "987654321"]).await;
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    assert!(said.contains("1 added, 0 updated, 1 unchanged"), "{said}");
    assert!(
        said.contains("KASSE_STORE_KAFFEBRENNERIET_MAJORSTUEN_CLIENT_SECRET"),
        "says what to add: {said}"
    );
    let after = std::fs::read_to_string(&operator.config).unwrap();
    assert!(
        after.contains(
            "id = \"kaffebrenneriet-majorstuen\"\nname = \"Kaffebrenneriet Majorstuen\"\nmsn = \"456789\"\ncurrency = \"NOK\""
        ),
        "{after}"
    );
    assert!(!after.contains("secret"), "no secret written: {after}");
    // Everything that was there still is, word for word.
    for line in before.lines() {
        assert!(after.contains(line), "kept: {line}");
    }

    // Until the merchant adds its keys, the configuration says what is missing.
    let out = operator.run(&["check-config"]).await;
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("kaffebrenneriet-majorstuen") && said.contains("client_id"), "{said}");

    // With them, the new store is one the server can run and the platform accepts, and the
    // import has nothing more to do.
    let unit = operator.sim.config().sales_unit("456789").unwrap().clone();
    let with_keys = after.replace(
        "id = \"kaffebrenneriet-majorstuen\"\n",
        &format!("id = \"kaffebrenneriet-majorstuen\"\nclient_id = \"{}\"\n", unit.client_id),
    );
    std::fs::write(&operator.config, &with_keys).unwrap();
    let mut env = operator.env.clone();
    env.push((
        "KASSE_STORE_KAFFEBRENNERIET_MAJORSTUEN_CLIENT_SECRET".into(),
        unit.client_secret.expose().into(),
    ));
    env.push((
        "KASSE_STORE_KAFFEBRENNERIET_MAJORSTUEN_SUBSCRIPTION_KEY".into(),
        unit.subscription_key.expose().into(),
    ));
    let out = operator.run_as(&operator.config, &env, &["check-config"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let out = operator.run_as(&operator.config, &env, &["stores", "import", "--org", "987654321"]).await;
    assert!(text(&out.stdout).contains("nothing to change"), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&operator.config).unwrap(), with_keys, "a second run changes nothing");
    let out = operator.run_as(&operator.config, &env, &["doctor", "--json"]).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let majorstuen = |check: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == check && f["store"] == "kaffebrenneriet-majorstuen")
            .map(|f| f["verdict"].as_str().unwrap().to_owned())
    };
    assert_eq!(majorstuen("credentials").as_deref(), Some("ok"), "{report:#}");
    assert_eq!(majorstuen("currency").as_deref(), Some("ok"), "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_the_platform_names_otherwise_is_set_to_its_name_and_its_comment_kept() {
    let operator = operator().await;
    let before = std::fs::read_to_string(&operator.config).unwrap();
    let renamed = before.replace(
        "name = \"Bageriet Nørrebro\"",
        "name = \"Nørrebro\" # as the sign says\ncurrency = \"EUR\"",
    );
    let renamed = renamed.replacen("currency = \"DKK\"\n", "", 1);
    std::fs::write(&operator.config, &renamed).unwrap();
    let out = operator.run(&["stores", "import", "--org", "12345678", "--using", "norrebro", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["merchant"], "Bageriet Nørrebro ApS");
    assert_eq!(kinds(&report), [pair("norrebro", "updated"), pair("grunerlokka", "not-listed")]);
    let says = report["stores"][0]["says"].as_str().unwrap();
    assert!(
        says.contains("\"Nørrebro\" → \"Bageriet Nørrebro\"") && says.contains("\"EUR\" → \"DKK\""),
        "{says}"
    );
    let after = std::fs::read_to_string(&operator.config).unwrap();
    assert!(after.contains("name = \"Bageriet Nørrebro\" # as the sign says\ncurrency = \"DKK\""), "{after}");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_merchants_number_an_unknown_form_or_store_and_no_file_change_nothing_and_exit_2() {
    let operator = operator().await;
    let before = std::fs::read_to_string(&operator.config).unwrap();
    for (args, says) in [
        // The first store's keys are the Norwegian merchant's, not the Danish one's.
        (&["--org", "12345678"][..], "403"),
        (&["--org", "12345"], "--scheme"),
        (&["--org", "987654321", "--using", "nowhere"], "no store \"nowhere\""),
        (&["--org", "987654321", "--scheme", "NO:ORG"], "not a registry"),
    ] {
        let out = operator.run(&[&["stores", "import"][..], args].concat()).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?} says {says:?}: {stderr}");
        assert_eq!(std::fs::read_to_string(&operator.config).unwrap(), before, "{args:?} wrote nothing");
    }
}
