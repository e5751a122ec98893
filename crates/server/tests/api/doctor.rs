//! `kasse-server doctor`, the real binary against a `kasse-sim` of its own: a clean set-up
//! passes, and each set-up mistake the simulator can be made to show is found, said, and turns
//! the exit status to 1.

use kasse_sim::{FaultKnobs, SimConfig};
use kasse_vipps::epayment::State;
use kasse_vipps::management::CaptureType;
use kasse_vipps::qr::{MerchantCallbackPutRequest, MerchantRedirectQrRequest, RedirectQrFormat};
use kasse_vipps::webhooks::RegisterRequest;
use serde_json::Value;

use crate::cli::{Operator, path_arg, text};

/// `doctor --json` as `operator` runs it: its exit status and report.
async fn doctor(operator: &Operator) -> (Option<i32>, Value) {
    let out = operator.run(&["doctor", "--json"]).await;
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    (out.status.code(), report)
}

/// The findings of `check` with `verdict`, as (store, sentence).
fn found(report: &Value, check: &str, verdict: &str) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check && f["verdict"] == verdict)
        .map(|f| (f["store"].as_str().unwrap_or("").to_owned(), f["says"].as_str().unwrap().to_owned()))
        .collect()
}

/// The operator's set-up made ready: webhooks registered, till-1's stickers put up.
async fn ready(operator: &Operator) {
    for args in
        [&["webhooks", "sync"][..], &["qr", "callback", "create", "till-1"], &["qr", "redirect", "create"]]
    {
        let out = operator.run(args).await;
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_set_up_lacks_webhooks_and_stickers_and_once_they_are_there_every_check_passes() {
    let operator = Operator::new().await;
    let (status, report) = doctor(&operator).await;
    assert_eq!(status, Some(1), "{report:#}");
    let missing = found(&report, "webhooks", "problem");
    assert_eq!(missing.len(), 2, "both stores: {report:#}");
    assert!(missing[0].1.contains("kasse-server webhooks sync"), "says what to do: {}", missing[0].1);
    let stickers = found(&report, "stickers", "problem");
    assert_eq!(stickers.len(), 1, "{report:#}");
    assert!(stickers[0].1.contains("qr callback create till-1"), "{}", stickers[0].1);
    let redirect = found(&report, "redirect-stickers", "problem");
    assert_eq!(redirect.len(), 1, "{report:#}");
    assert!(redirect[0].1.contains("qr redirect create kasse-1"), "{}", redirect[0].1);

    ready(&operator).await;
    let out = operator.run(&["doctor"]).await;
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    assert!(said.contains("0 problems, 0 not checked"), "{said}");
    let (_, report) = doctor(&operator).await;
    for check in
        ["credentials", "currency", "payments", "push-messages", "webhooks", "stickers", "redirect-stickers"]
    {
        assert_eq!(found(&report, check, "ok").len(), 2, "{check} for each store: {report:#}");
    }
    assert_eq!(found(&report, "clock", "ok").len(), 1, "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_registration_of_ours_and_one_whose_secret_we_lost_are_problems_and_sync_mends_both() {
    let operator = Operator::new().await;
    ready(&operator).await;
    let oslo = operator.oslo();
    let ours = "http://127.0.0.1:9/webhooks/vipps".to_owned();
    let second =
        RegisterRequest { url: ours.clone(), events: vec!["epayments.payment.authorized.v1".to_owned()] };
    oslo.register_webhook(&second).await.unwrap();
    let (status, report) = doctor(&operator).await;
    assert_eq!(status, Some(1));
    let webhooks = found(&report, "webhooks", "problem");
    assert_eq!(webhooks.len(), 1, "{report:#}");
    assert!(webhooks[0].1.contains("2 webhook registrations"), "{}", webhooks[0].1);
    assert!(
        found(&report, "foreign-webhook", "problem").is_empty(),
        "ours, not another system's: {report:#}"
    );

    // The one whose secret we keep gone: the other is ours by its address, but cannot be verified.
    let saved = operator.oslo().list_webhooks().await.unwrap().webhooks;
    let kept = saved.iter().find(|w| w.events.len() > 1).unwrap();
    oslo.delete_webhook(&kept.id).await.unwrap();
    let (status, report) = doctor(&operator).await;
    assert_eq!(status, Some(1));
    let webhooks = found(&report, "webhooks", "problem");
    assert!(webhooks[0].1.contains("secret kasse does not keep"), "{report:#}");

    let out = operator.run(&["webhooks", "sync"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(doctor(&operator).await.0, Some(0), "mended");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_platform_that_does_not_answer_leaves_everything_unchecked_and_the_status_says_so() {
    let operator = Operator::new().await;
    ready(&operator).await;
    operator.sim.set_faults(FaultKnobs { error_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let (status, report) = doctor(&operator).await;
    assert_eq!(status, Some(2), "nothing wrong found, but nothing checked: {report:#}");
    assert_eq!(found(&report, "credentials", "not-checked").len(), 2, "{report:#}");
    assert_eq!(found(&report, "clock", "not-checked").len(), 1, "{report:#}");
    assert!(
        report["findings"].as_array().unwrap().iter().all(|f| f["verdict"] == "not-checked"),
        "{report:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_systems_webhook_a_sticker_that_rings_no_till_and_a_skewed_clock_are_each_found() {
    let operator = Operator::new().await;
    ready(&operator).await;
    let oslo = operator.oslo();
    let old = oslo
        .register_webhook(&RegisterRequest {
            url: "https://old-pos.example/callbacks".to_owned(),
            events: vec!["epayments.payment.authorized.v1".to_owned()],
        })
        .await
        .unwrap();
    let (status, report) = doctor(&operator).await;
    assert_eq!(status, Some(1));
    let foreign = found(&report, "foreign-webhook", "problem");
    assert_eq!(foreign.len(), 1, "{report:#}");
    assert_eq!(foreign[0].0, "grunerlokka");
    assert!(foreign[0].1.contains(&old.id) && foreign[0].1.contains("old-pos.example"), "{}", foreign[0].1);
    oslo.delete_webhook(&old.id).await.unwrap();

    let lost = MerchantCallbackPutRequest { location_description: "By the door".to_owned(), category: None };
    oslo.put_callback_qr("lost-1", &lost).await.unwrap();
    let (status, report) = doctor(&operator).await;
    assert_eq!(status, Some(1));
    let stickers = found(&report, "stickers", "problem");
    assert_eq!(stickers.len(), 1, "{report:#}");
    assert!(stickers[0].1.contains("lost-1") && stickers[0].1.contains("rings no till"), "{}", stickers[0].1);
    assert!(stickers[0].1.contains("qr callback delete lost-1 --store grunerlokka"), "{}", stickers[0].1);
    oslo.delete_callback_qr("lost-1").await.unwrap();

    // A redirect sticker led elsewhere, and one leading to our landing pages that the
    // configuration does not have.
    let elsewhere = "https://example.com/menu";
    oslo.update_redirect_qr("kasse-1", elsewhere, RedirectQrFormat::TargetUrl, None).await.unwrap();
    let stray = MerchantRedirectQrRequest {
        id: "kasse-9".to_owned(),
        redirect_url: "http://127.0.0.1:9/q/kasse-9".to_owned(),
        ttl: None,
    };
    oslo.create_redirect_qr(&stray, RedirectQrFormat::TargetUrl, None).await.unwrap();
    let (status, report) = doctor(&operator).await;
    assert_eq!(status, Some(1));
    let redirect = found(&report, "redirect-stickers", "problem");
    assert_eq!(redirect.len(), 2, "{report:#}");
    assert!(
        redirect.iter().any(|(_, says)| says.contains("kasse-1") && says.contains(elsewhere)),
        "{report:#}"
    );
    assert!(
        redirect.iter().any(|(_, says)| says.contains("kasse-9")
            && says.contains("redirect delete kasse-9 --store grunerlokka")),
        "{report:#}"
    );
    oslo.delete_redirect_qr("kasse-9").await.unwrap();
    let out = operator.run(&["qr", "redirect", "create", "kasse-1"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    operator.sim.set_faults(FaultKnobs { clock_skew_seconds: 600, ..FaultKnobs::default() }).unwrap();
    let (status, report) = doctor(&operator).await;
    assert_eq!(status, Some(1));
    let clock = found(&report, "clock", "problem");
    assert_eq!(clock.len(), 1, "{report:#}");
    assert!(clock[0].1.contains("behind the platform's"), "{}", clock[0].1);
    operator.sim.set_faults(FaultKnobs { clock_skew_seconds: -120, ..FaultKnobs::default() }).unwrap();
    let (_, report) = doctor(&operator).await;
    let clock = found(&report, "clock", "problem");
    assert!(clock.len() == 1 && clock[0].1.contains("ahead of the platform's"), "{report:#}");
    // Within a minute is in order.
    operator.sim.set_faults(FaultKnobs { clock_skew_seconds: -30, ..FaultKnobs::default() }).unwrap();
    assert_eq!(doctor(&operator).await.0, Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn push_messages_not_allowed_wrong_keys_and_a_wrong_currency_are_each_found() {
    let mut config = SimConfig::demo();
    config.sales_units.iter_mut().find(|u| u.msn == "123456").unwrap().push_allowed = false;
    let operator = Operator::on(config).await;
    ready(&operator).await;
    let (status, report) = doctor(&operator).await;
    assert_eq!(status, Some(1));
    let push = found(&report, "push-messages", "problem");
    assert_eq!(push.len(), 1, "{report:#}");
    assert_eq!(push[0].0, "grunerlokka");
    assert!(push[0].1.contains("5080"), "{}", push[0].1);

    // The Danish store's keys typed wrong: nothing more of it can be checked.
    let mut env = operator.env.clone();
    for (name, value) in &mut env {
        if name == "KASSE_STORE_NORREBRO_CLIENT_SECRET" {
            value.push('x');
        }
    }
    let out = operator.run_as(&operator.config, &env, &["doctor", "--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = found(&report, "credentials", "problem");
    assert_eq!(keys.len(), 1, "{report:#}");
    assert_eq!(keys[0].0, "norrebro");
    assert!(keys[0].1.contains("refused the keys"), "{}", keys[0].1);
    assert!(found(&report, "webhooks", "ok").iter().all(|(store, _)| store != "norrebro"));

    // The Oslo store's MSN typed wrong: its keys are another sales unit's.
    let toml = std::fs::read_to_string(&operator.config).unwrap().replacen(
        "msn = \"123456\"",
        "msn = \"123457\"",
        1,
    );
    let wrong = operator.file("wrong-msn.toml", &toml);
    let out = operator.run_as(&wrong, &operator.env, &["doctor", "--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let msn = found(&report, "credentials", "problem");
    assert!(msn.len() == 1 && msn[0].1.contains("MSN 123457 does not belong"), "{report:#}");

    // The Oslo store set to take kroner of Denmark, on a Norwegian sales unit.
    let toml = std::fs::read_to_string(&operator.config).unwrap().replacen(
        "currency = \"NOK\"",
        "currency = \"DKK\"",
        1,
    );
    let wrong = operator.file("wrong-currency.toml", &toml);
    let out = operator.run_as(&wrong, &operator.env, &["doctor", "--json"]).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let currency = found(&report, "currency", "problem");
    assert_eq!(currency.len(), 1, "{report:#}");
    assert!(currency[0].1.contains("a business in NO") && currency[0].1.contains("DKK"), "{}", currency[0].1);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_system_holding_the_check_ins_is_said_to_keep_them_from_the_tills() {
    let operator = Operator::new().await;
    let old = RegisterRequest {
        url: "https://old-pos.example/check-ins".to_owned(),
        events: vec![kasse_vipps::webhooks::USER_CHECKED_IN.to_owned()],
    };
    operator.oslo().register_webhook(&old).await.unwrap();
    let (status, report) = doctor(&operator).await;
    assert_eq!(status, Some(1));
    let foreign = found(&report, "foreign-webhook", "problem");
    assert_eq!(foreign.len(), 1, "{report:#}");
    assert!(
        foreign[0].1.contains("one registration for check-ins") && foreign[0].1.contains("no till rings"),
        "{}",
        foreign[0].1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unit_described_without_settings_is_unknown_until_a_probe_payment_to_the_operators_phone_shows_it()
{
    let mut config = SimConfig::demo();
    // Direct capture is the eCom and Recurring APIs' alone: said, and no problem for ePayment.
    config.sales_units.iter_mut().find(|u| u.msn == "123456").unwrap().capture_type =
        CaptureType::DirectCapture;
    config.sales_units.iter_mut().find(|u| u.msn == "234567").unwrap().settings_described = false;
    let operator = Operator::on(config).await;
    ready(&operator).await;
    let (status, report) = doctor(&operator).await;
    assert_eq!(status, Some(2), "nothing wrong, something unknown: {report:#}");
    let payments = found(&report, "payments", "ok");
    assert!(payments.len() == 1 && payments[0].0 == "grunerlokka", "{report:#}");
    assert!(payments[0].1.contains("eCom and Recurring APIs only"), "{}", payments[0].1);
    // Not described is not "no": each is said to be unknown, and push messages say how to find out.
    for check in ["payments", "push-messages"] {
        let unknown = found(&report, check, "not-checked");
        assert!(unknown.len() == 1 && unknown[0].0 == "norrebro", "{check}: {report:#}");
    }
    let push = &found(&report, "push-messages", "not-checked")[0].1;
    assert!(push.contains("--probe-phone"), "{push}");
    assert!(operator.sim.payment_records().is_empty(), "nothing is sent without --probe-phone");

    // The probe: a payment request to the operator's phone, cancelled at once.
    let out = operator.run(&["doctor", "--json", "--probe-phone", "+45 20 03 18 01"]).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let push = found(&report, "push-messages", "ok");
    let probed = push.iter().find(|(store, _)| store == "norrebro").expect("found out by the probe");
    assert!(probed.1.contains("probe payment") && probed.1.contains("cancelled at once"), "{}", probed.1);
    assert!(!probed.1.contains("20031801"), "the number is masked: {}", probed.1);
    let records = operator.sim.payment_records();
    assert_eq!(records.len(), 1, "one probe, for the one unit the API did not describe");
    let probe = &records[0];
    assert_eq!((probe.msn.as_str(), probe.amount.value), ("234567", 100));
    assert!(probed.1.contains(&probe.reference), "names the payment: {}", probed.1);
    let at_platform = operator.sim.payment("234567", &probe.reference).unwrap();
    assert_eq!(at_platform.state, State::Terminated, "cancelled before anyone could approve it");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_probe_refused_with_5080_a_unit_that_takes_no_payments_and_a_number_without_its_country_are_said() {
    let mut config = SimConfig::demo();
    config.sales_units.iter_mut().find(|u| u.msn == "123456").unwrap().payment_allowed = false;
    let copenhagen = config.sales_units.iter_mut().find(|u| u.msn == "234567").unwrap();
    copenhagen.settings_described = false;
    copenhagen.push_allowed = false;
    let operator = Operator::on(config).await;
    ready(&operator).await;
    let out = operator.run(&["doctor", "--json", "--probe-phone", "004520031801"]).await;
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let payments = found(&report, "payments", "problem");
    assert!(payments.len() == 1 && payments[0].0 == "grunerlokka", "{report:#}");
    assert!(payments[0].1.contains("may not take payments"), "{}", payments[0].1);
    let push = found(&report, "push-messages", "problem");
    assert!(push.len() == 1 && push[0].0 == "norrebro", "{report:#}");
    assert!(push[0].1.contains("5080") && push[0].1.contains("probe"), "{}", push[0].1);
    assert!(operator.sim.payment_records().is_empty(), "a refused probe leaves no payment");

    // A number without its country code could be a stranger's in another store's country.
    for typed in ["20031801", "not a number", "+99 123"] {
        let out = operator.run(&["doctor", "--json", "--probe-phone", typed]).await;
        assert_eq!(out.status.code(), Some(2), "{typed}");
        assert!(text(&out.stderr).contains("nothing was checked"), "{typed}: {}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "{typed}: no report");
    }
    assert!(operator.sim.payment_records().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_that_captures_by_hand_learns_partial_capture_from_the_newest_one_its_tills_tried() {
    let operator = Operator::new().await;
    ready(&operator).await;
    let toml = std::fs::read_to_string(&operator.config)
        .unwrap()
        .replace("store = \"norrebro\"\n", "store = \"norrebro\"\ncapture = \"manual\"\n");
    let manual = operator.file("manual.toml", &toml);
    let out = operator.run_as(&manual, &operator.env, &["doctor", "--json"]).await;
    assert_eq!(out.status.code(), Some(2), "nothing wrong, one thing unknown");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let partial = found(&report, "partial-capture", "not-checked");
    assert!(partial.len() == 1 && partial[0].0 == "norrebro", "{report:#}");
    assert!(partial[0].1.contains("Kasse A") && partial[0].1.contains("6140"), "{}", partial[0].1);
    let findings = report["findings"].as_array().unwrap();
    let about_grunerlokka =
        findings.iter().filter(|f| f["check"] == "partial-capture" && f["store"] == "grunerlokka");
    assert_eq!(about_grunerlokka.count(), 0, "a store whose tills capture automatically is never asked");

    // Kasse A tried to capture 4.00 of 10.00 and the platform refused it, as the sale stores that.
    let refusal = kasse_vipps::Error::Rejected {
        status: 400,
        problem: serde_json::from_value(serde_json::json!({
            "title": "Must capture full amount",
            "extraDetails": [{"name": "ErrorCode", "reason": "6140"}],
        }))
        .unwrap(),
    };
    let db = rusqlite::Connection::open(operator.config.with_file_name("kasse.db")).unwrap();
    db.execute(
        "INSERT INTO payments (reference, till_id, msn, flow, currency, amount, status, active, authorized, \
         captured, cancelled, refunded, created_at, updated_at) \
         VALUES ('kasse-a-1234', 'kasse-a', '234567', 'qr', 'DKK', 1000, 'authorized', 0, 1000, 0, 0, 0, 1, 1)",
        (),
    )
    .unwrap();
    let capture = |key: &str, status: &str, error: Option<String>, at: i64| {
        db.execute(
            "INSERT INTO operations (idempotency_key, reference, kind, amount, status, error, attempts, created_at, \
             updated_at, request) VALUES (?1, 'kasse-a-1234', 'capture', 400, ?2, ?3, 1, ?4, ?4, '{}')",
            (key, status, error, at),
        )
        .unwrap();
    };
    capture("kasse-a-1234-capture-1", "failed", Some(refusal.to_string()), 2);
    let out = operator.run_as(&manual, &operator.env, &["doctor", "--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let refused = found(&report, "partial-capture", "problem");
    assert!(
        refused.len() == 1 && refused[0].1.contains("refused 4.00 of 10.00 on sale kasse-a-1234"),
        "{report:#}"
    );

    // Allowed since: the newest answer counts.
    capture("kasse-a-1234-capture-2", "done", None, 3);
    let out = operator.run_as(&manual, &operator.env, &["doctor", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let allowed = found(&report, "partial-capture", "ok");
    assert!(allowed.len() == 1 && allowed[0].1.contains("a capture of 4.00 of 10.00"), "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sticker_the_qr_tools_gave_a_till_and_then_gone_from_the_platform_is_found() {
    let operator = Operator::new().await;
    ready(&operator).await;
    let out = operator.run(&["qr", "callback", "create", "till-2", "--id", "shelf-2"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(doctor(&operator).await.0, Some(0), "up and ringing till-2");
    // Taken down at the platform by someone else; the database still gives it to till-2.
    operator.oslo().delete_callback_qr("shelf-2").await.unwrap();
    let (status, report) = doctor(&operator).await;
    assert_eq!(status, Some(1));
    let stickers = found(&report, "stickers", "problem");
    assert_eq!(stickers.len(), 1, "{report:#}");
    assert!(
        stickers[0].1.contains("shelf-2")
            && stickers[0].1.contains("till till-2")
            && stickers[0].1.contains("qr callback create till-2 --id shelf-2"),
        "{}",
        stickers[0].1
    );
    assert!(found(&report, "stickers", "ok").iter().all(|(store, _)| store != "grunerlokka"), "{report:#}");

    // Its till gone from the configuration: only forgetting it is offered.
    let toml = std::fs::read_to_string(&operator.config)
        .unwrap()
        .replace("[[tills]]\nid = \"till-2\"\nname = \"Kasse 2\"\nstore = \"grunerlokka\"\n", "");
    let without = operator.file("without-till-2.toml", &toml);
    let out = operator.run_as(&without, &operator.env, &["doctor", "--json"]).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stickers = found(&report, "stickers", "problem");
    assert_eq!(stickers.len(), 1, "{report:#}");
    assert!(
        stickers[0].1.contains("no longer a till") && stickers[0].1.contains("qr callback delete shelf-2"),
        "{}",
        stickers[0].1
    );
    assert!(!stickers[0].1.contains("qr callback create"), "{}", stickers[0].1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_beacon_moved_over_and_then_gone_from_the_platform_is_found_and_moving_it_again_is_offered() {
    let operator = Operator::new().await;
    ready(&operator).await;
    let list = operator.file("pos.csv", "beaconId,posName,msn,till\n100000000000007,Kasse 2,123456,till-2\n");
    let out = operator.run(&["qr", "migrate", "--from", path_arg(&list)]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(doctor(&operator).await.0, Some(0), "moved over and ringing till-2");
    // Taken down at the platform by someone else; the database still gives it to till-2.
    operator.oslo().delete_callback_qr("100000000000007").await.unwrap();
    let (status, report) = doctor(&operator).await;
    assert_eq!(status, Some(1));
    let stickers = found(&report, "stickers", "problem");
    assert_eq!(stickers.len(), 1, "{report:#}");
    let said = &stickers[0].1;
    assert!(said.contains("100000000000007") && said.contains("till till-2"), "{said}");
    assert!(
        said.contains("MobilePay beacon") && said.contains("kasse-server qr migrate --from FILE"),
        "{said}"
    );
    assert!(said.contains("qr callback delete 100000000000007 --store grunerlokka"), "{said}");
    // A beacon's id is not one `qr callback create` would put up again.
    assert!(!said.contains("qr callback create"), "{said}");
}
