//! Moving from MobilePay PoS with the server's own tools, called as library functions on a running
//! server's configuration, database and platform (the simulator inside it): migrating printed
//! beacons through a flaky platform, rows with mistakes, and which till a check-in at a migrated
//! beacon rings, also when the configuration and the saved mapping disagree.

use kasse_api::Currency;
use kasse_server::ops::migrate::{self, Outcome, PosRow};
use kasse_server::ops::qr;
use kasse_sim::FaultKnobs;
use kasse_vipps::qr::{CallbackQrImage, MerchantCallbackMobilePayPutRequest};

use crate::helpers::*;

/// The demo with two tills, whose first till has no callback sticker in the configuration.
async fn two_tills() -> TestApp {
    spawn_app_with(|config| {
        config.tills[0].callback_qr = None;
        second_till(config);
    })
    .await
}

/// Beacon number `n` of a merchant's MobilePay PoS list: 15 digits.
fn beacon(n: usize) -> String {
    format!("{}", 100_000_000_000_000 + n)
}

/// `count` rows at the demo store, alternately at till-1 and till-2.
fn pos_list(count: usize) -> Vec<PosRow> {
    (1..=count)
        .map(|n| PosRow {
            row: n,
            beacon_id: Some(beacon(n)),
            pos_name: Some(format!("Kasse {} (skilt {n})", 2 - n % 2)),
            msn: Some(MSN.to_owned()),
            till: Some(format!("till-{}", 2 - n % 2)),
        })
        .collect()
}

/// Runs a migration without progress output.
async fn migrate_rows(app: &TestApp, rows: &[PosRow], dry_run: bool) -> migrate::MigrationReport {
    migrate::run(&app.running.tools(), rows, migrate::Options { dry_run }, &|_| {}).await
}

#[tokio::test]
async fn five_hundred_beacons_migrate_through_injected_5xx_a_rerun_finds_them_all_there_and_a_scan_rings_the_mapped_till()
 {
    let app = two_tills().await;
    let rows = pos_list(500);
    app.sim()
        .set_faults(FaultKnobs { error_rate: 0.02, seed: 2026, ..FaultKnobs::default() })
        .expect("the fault knobs take a 2 % error rate");

    let first = migrate_rows(&app, &rows, false).await;
    let injected = app.sim().injected_faults();
    app.sim().set_faults(FaultKnobs::default()).unwrap();
    let failed: Vec<_> = first.rows.iter().filter(|r| r.outcome != Outcome::Migrated).collect();
    assert!(failed.is_empty(), "every beacon is migrated: {failed:#?}");
    assert_eq!(first.counts.migrated, 500);
    assert!(!injected.is_empty(), "the platform answered some calls with a 5xx");
    assert!(injected.iter().all(|f| f.status.is_some_and(|s| s >= 500)), "{injected:?}");
    assert_eq!(
        first.retries,
        u64::try_from(injected.len()).unwrap(),
        "each injected 5xx was retried once, and the report counts it"
    );

    // The platform has every beacon as a callback QR of the store, under its PoS name.
    let listed = app.merchant_client().list_callback_qrs(CallbackQrImage::default()).await.unwrap();
    assert_eq!(listed.len(), 500);
    let sample = listed.iter().find(|qr| qr.merchant_qr_id.as_deref() == Some(beacon(7).as_str())).unwrap();
    assert_eq!(sample.location_description.as_deref(), Some("Kasse 1 (skilt 7)"));

    let again = migrate_rows(&app, &rows, false).await;
    assert_eq!(again.counts.already_there, 500, "a re-run finds every beacon there: {:?}", again.counts);
    assert!(again.rows.iter().all(|r| r.outcome == Outcome::AlreadyThere && r.notes.is_empty()));
    assert_eq!(again.retries, 0);

    // Beacon 8 rings till-2 and beacon 7 till-1, as the list says.
    let till_2 = app.browser_of("till-2").await;
    let mut events_2 = app.events_of(&till_2, "till-2").await;
    app.kari_scans(&beacon(8)).await;
    let rung = events_2.until_check_in("announcing Kari's check-in at beacon 8", |_| true).await;
    assert_eq!(app.check_ins_of(&till_2, "till-2").await, [rung]);
    let mut events_1 = app.events_after(app.snapshot().await.last_event_id).await;
    app.kari_scans(&beacon(7)).await;
    events_1.until_check_in("announcing Kari's check-in at beacon 7", |_| true).await;
    assert_eq!(
        app.check_ins_of(&app.http, "till-1").await.len(),
        1,
        "till-1 has the check-in at its own beacon only"
    );
    assert_eq!(app.check_ins_of(&till_2, "till-2").await.len(), 1, "and till-2 nothing more");
}

#[tokio::test]
async fn rows_with_mistakes_are_reported_each_with_its_reason_and_the_other_rows_are_migrated() {
    let app = two_tills().await;
    let long_name = "Kassen ved inngangen til bakeriet på hjørnet";
    let csv = format!(
        "beaconId,posName,msn,till\n\
         {b1},Kasse 1,{MSN},till-1\n\
         ,Kasse uten beacon,{MSN},till-1\n\
         {b3},{long_name},{MSN},till-2\n\
         {b4},Kasse i Bergen,999999,\n\
         {b5},Kasse 5,{MSN},till-2\n\
         {b5},Kasse 5,{MSN},till-1\n\
         {b7},Kasse 7,{MSN},till-9\n\
         kasse-8,Kasse 8,{MSN},till-1\n\
         {b9},Kasse 9,{MSN},till-2\n\
         {b9},Kasse 9,{MSN},till-2\n",
        b1 = beacon(1),
        b3 = beacon(3),
        b4 = beacon(4),
        b5 = beacon(5),
        b7 = beacon(7),
        b9 = beacon(9),
    );
    let rows = migrate::parse_csv(&csv, "pos.csv").unwrap();
    let dry = migrate_rows(&app, &rows, true).await;
    assert!(dry.dry_run);
    assert!(
        app.merchant_client().list_callback_qrs(CallbackQrImage::default()).await.unwrap().is_empty(),
        "a dry run sends nothing"
    );

    let report = migrate_rows(&app, &rows, false).await;
    assert_eq!(dry.counts, report.counts, "the dry run said what the run then did");
    let outcomes: Vec<_> = report
        .rows
        .iter()
        .map(|r| (r.row, r.outcome, r.problem.as_ref().map(migrate::RowProblem::code)))
        .collect();
    assert_eq!(
        outcomes,
        [
            (1, Outcome::Migrated, None),
            (2, Outcome::Failed, Some("missing-beacon-id")),
            (3, Outcome::Migrated, None),
            (4, Outcome::Failed, Some("unknown-msn")),
            (5, Outcome::Failed, Some("conflicting-duplicates")),
            (6, Outcome::Failed, Some("conflicting-duplicates")),
            (7, Outcome::Failed, Some("unknown-till")),
            (8, Outcome::Failed, Some("bad-beacon-id")),
            (9, Outcome::Migrated, None),
            (10, Outcome::Failed, Some("duplicate-beacon-id")),
        ]
    );
    let message = |row: usize| report.rows[row - 1].problem.as_ref().unwrap().to_string();
    assert_eq!(message(4), "MSN 999999 is not one of the configured stores (123456)");
    assert!(message(5).contains("is on rows 5, 6, which disagree"), "{}", message(5));
    assert_eq!(message(7), "there is no till \"till-9\" in the configuration");
    assert_eq!(message(10), format!("beaconId {} is on row 9 already; a beacon is migrated once", beacon(9)));

    // The over-long name went out shortened, with a note saying so.
    let long = &report.rows[2];
    let sent = long.location_description.clone().unwrap();
    assert!(sent.chars().count() <= 36 && long_name.starts_with(sent.trim_end_matches('…')), "{sent}");
    assert!(long.notes.iter().any(|n| n.contains("44 characters")), "{:?}", long.notes);
    let listed = app.merchant_client().list_callback_qrs(CallbackQrImage::default()).await.unwrap();
    let mut ids: Vec<_> = listed.iter().filter_map(|qr| qr.merchant_qr_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, [beacon(1), beacon(3), beacon(9)], "only the good rows reached the platform");
    let shown = listed.iter().find(|qr| qr.merchant_qr_id == Some(beacon(3))).unwrap();
    assert_eq!(shown.location_description.as_deref(), Some(sent.as_str()));
}

#[tokio::test]
async fn a_beacon_of_another_sales_unit_fails_and_a_renamed_one_is_updated() {
    let app = spawn_app_with(|config| {
        second_till(config);
        // Another sales unit of the same merchant, which took one beacon over already.
        add_store(config, "norrebro", "Bageriet Nørrebro", "234567", Currency::Dkk);
    })
    .await;
    let taken = beacon(42);
    let theirs = app.sim().config().sales_unit("234567").unwrap().clone();
    let other = kasse_vipps::Client::new(kasse_vipps::ClientConfig {
        base_url: app.sim().base_url().clone(),
        credentials: kasse_vipps::Credentials {
            client_id: theirs.client_id.clone(),
            client_secret: theirs.client_secret.clone(),
            subscription_key: theirs.subscription_key.clone(),
            msn: theirs.msn.clone(),
        },
        system: kasse_server_system(),
        timeout: PATIENCE,
        retry: kasse_vipps::RetryPolicy::default(),
    })
    .unwrap();
    other
        .put_mobilepay_qr(
            &taken,
            &MerchantCallbackMobilePayPutRequest { location_description: "Deres kasse".into() },
        )
        .await
        .unwrap();
    let mut rows = pos_list(2);
    rows[1].beacon_id = Some(taken.clone());
    let report = migrate_rows(&app, &rows, false).await;
    assert_eq!(report.rows[0].outcome, Outcome::Migrated);
    let problem = report.rows[1].problem.as_ref().expect("the taken beacon fails");
    assert_eq!(problem.code(), "taken");
    assert!(problem.to_string().contains("another sales unit"), "{problem}");

    rows[0].pos_name = Some("Kasse 1 ved vinduet".into());
    let renamed = migrate_rows(&app, &rows[..1], false).await;
    assert_eq!(renamed.rows[0].outcome, Outcome::Updated);
    assert_eq!(renamed.rows[0].notes, ["the app showed \"Kasse 1 (skilt 1)\""]);
}

/// The `Vipps-System-*` headers of a merchant tool in these tests.
fn kasse_server_system() -> kasse_vipps::SystemInfo {
    kasse_vipps::SystemInfo {
        name: "kasse-tests".to_owned(),
        version: "1".to_owned(),
        plugin_name: "api-tests".to_owned(),
        plugin_version: "1".to_owned(),
    }
}

#[tokio::test]
async fn a_beacon_the_configuration_and_the_saved_mapping_send_to_different_tills_rings_neither_and_is_reported()
 {
    let dir = std::env::temp_dir().join(format!("kasse-migration-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}", dir.join("kasse.db").display());
    let conflicted = beacon(1);

    // First the beacon is migrated to till-2 while the configuration names no sticker for it.
    let before = spawn_app_with(|config| {
        config.database_url.clone_from(&database);
        config.tills[0].callback_qr = None;
        second_till(config);
    })
    .await;
    let mut rows = pos_list(2);
    rows[0].till = Some("till-2".into());
    rows[1].till = Some("till-1".into());
    assert_eq!(migrate_rows(&before, &rows[..1], false).await.counts.migrated, 1);

    // Then someone writes it into the configuration as till-1's callback_qr.
    let app = spawn_app_with(|config| {
        config.database_url.clone_from(&database);
        config.tills[0].callback_qr = Some(conflicted.clone());
        second_till(config);
    })
    .await;
    let tools = app.running.tools();
    let conflicts = qr::conflicts(&tools).await.unwrap();
    assert_eq!(conflicts.len(), 1, "the disagreement is found: {conflicts:?}");
    assert_eq!((conflicts[0].configured.as_str(), conflicts[0].saved.as_str()), ("till-1", "till-2"));
    // This server's simulator is new: the conflicted beacon is put up again as the merchant's
    // own tool would, and beacon 2 migrated to till-1.
    let request = MerchantCallbackMobilePayPutRequest { location_description: "Kasse 1".into() };
    app.merchant_client().put_mobilepay_qr(&conflicted, &request).await.unwrap();
    assert_eq!(migrate_rows(&app, &rows[1..], false).await.counts.migrated, 1);

    let listings = qr::list_callback_qrs(&tools).await.unwrap();
    let entry = listings[0].stickers.iter().find(|s| s.id == conflicted).unwrap();
    assert_eq!(entry.till, None);
    let reason = entry.conflict.as_deref().expect("the listing says why it rings no till");
    assert!(reason.contains("till till-1's callback_qr") && reason.contains("till-2"), "{reason}");

    // Kari scans the conflicted beacon, then beacon 2 of till-1: once till-1 hears of the second,
    // the first has been processed, and it reached neither till.
    let till_2 = app.browser_of("till-2").await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    app.kari_scans(&conflicted).await;
    app.kari_scans(&beacon(2)).await;
    events.until_check_in("announcing the check-in at beacon 2", |_| true).await;
    assert_eq!(
        app.check_ins_of(&app.http, "till-1").await.len(),
        1,
        "till-1 got only the check-in at beacon 2"
    );
    assert!(app.check_ins_of(&till_2, "till-2").await.is_empty(), "till-2 got nothing");
    drop((app, before));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_migrated_beacon_deleted_by_its_id_in_capitals_is_deleted_at_the_platform_not_only_forgotten() {
    let app = two_tills().await;
    let guid = "27072f82-c4b6-4e7a-9d1c-5b3a2e8f0a11";
    let mut rows = pos_list(1);
    rows[0].beacon_id = Some(guid.to_ascii_uppercase());
    let report = migrate_rows(&app, &rows, false).await;
    assert_eq!(report.rows[0].outcome, Outcome::Migrated, "{report:#?}");

    // Typed as MobilePay's own lists spell it: the platform still takes the sticker down.
    let tools = app.running.tools();
    let deleted = qr::delete_callback_qr(&tools, &guid.to_ascii_uppercase(), None).await.unwrap();
    let change = deleted.stickers.iter().map(|s| s.change).collect::<Vec<_>>();
    assert_eq!(change, [qr::Change::Deleted], "{deleted:#?}");
    let again = qr::delete_callback_qr(&tools, guid, None).await.unwrap();
    assert_eq!(again.stickers.iter().map(|s| s.change).collect::<Vec<_>>(), [qr::Change::NotThere]);
}
