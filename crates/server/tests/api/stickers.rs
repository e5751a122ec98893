//! Callback and redirect stickers put up, listed and taken down with the server's tools (library
//! calls on a running server and its simulator), and the sticker sheet drawn from what the
//! platform says each code contains.

use kasse_server::ops::qr::{self, Change, QrError, StickerKind};
use kasse_server::ops::stickers;
use reqwest::StatusCode;
use reqwest::header;

use crate::helpers::*;

/// The demo with a second till that has no stickers in the configuration.
async fn two_tills() -> TestApp {
    spawn_app_with(|config| {
        let mut till = config.tills[0].clone();
        "till-2".clone_into(&mut till.id);
        "Kasse 2".clone_into(&mut till.name);
        till.callback_qr = None;
        till.redirect_sticker = None;
        config.tills.push(till);
    })
    .await
}

fn changes(report: &qr::ChangeReport) -> Vec<(&str, Change)> {
    report.stickers.iter().map(|s| (s.id.as_str(), s.change)).collect()
}

#[tokio::test]
async fn stickers_are_put_up_once_and_a_second_run_finds_them_there() {
    let app = spawn_app().await;
    let tools = app.running.tools();
    let callbacks = qr::create_callback_qrs(&tools, &[], None).await.unwrap();
    assert_eq!(changes(&callbacks), [("till-1", Change::Created)], "{callbacks:#?}");
    let redirects = qr::create_redirect_qrs(&tools, &[]).await.unwrap();
    assert_eq!(changes(&redirects), [("demo", Change::Created), ("donations", Change::Created)]);

    let again = qr::create_callback_qrs(&tools, &[], None).await.unwrap();
    assert_eq!(changes(&again), [("till-1", Change::AlreadyThere)]);
    let again = qr::create_redirect_qrs(&tools, &[]).await.unwrap();
    assert_eq!(changes(&again), [("demo", Change::AlreadyThere), ("donations", Change::AlreadyThere)]);
    assert_eq!(again.summary(), "2 already there");

    // The platform shows the till's name after a scan, and a redirect sticker leads to its page.
    let listed = qr::list_callback_qrs(&tools).await.unwrap();
    let sticker = &listed[0].stickers[0];
    assert_eq!((sticker.id.as_str(), sticker.till.as_deref()), ("till-1", Some("till-1")));
    assert_eq!(sticker.location_description.as_deref(), Some("Kasse 1"));
    let redirects = qr::list_redirect_qrs(&tools).await;
    assert!(redirects[0].stickers.iter().all(|s| s.configured && s.leads_to_landing_page == Some(true)));
    let demo = redirects[0].stickers.iter().find(|s| s.id == "demo").unwrap();
    let camera =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let scanned = camera.get(demo.qr_content.clone().unwrap()).send().await.unwrap();
    assert_eq!(scanned.status(), StatusCode::FOUND);
    assert_eq!(scanned.headers()[header::LOCATION].to_str().unwrap(), format!("{}/q/demo", app.base));
}

#[tokio::test]
async fn a_new_callback_sticker_for_a_till_without_one_rings_that_till() {
    let app = two_tills().await;
    let tools = app.running.tools();
    let report = qr::create_callback_qrs(&tools, &["till-2".to_owned()], None).await.unwrap();
    assert_eq!(changes(&report), [("till-2", Change::Created)]);
    let listed = qr::list_callback_qrs(&tools).await.unwrap();
    let entry = listed[0].stickers.iter().find(|s| s.id == "till-2").unwrap();
    assert_eq!(
        (entry.till.as_deref(), entry.kind),
        (Some("till-2"), Some(kasse_server::CallbackQrKind::Callback))
    );

    let till_2 = app.browser_of("till-2").await;
    let mut events = app.events_of(&till_2, "till-2").await;
    app.kari_scans("till-2").await;
    events.until_check_in("announcing Kari at till-2's new sticker", |_| true).await;

    // A sticker id the configuration gives to another till is refused, and changes nothing.
    let refused = qr::create_callback_qrs(&tools, &["till-2".to_owned()], Some("till-1")).await.unwrap();
    assert_eq!(refused.failed(), 1);
    assert_eq!(
        refused.stickers[0].detail.as_deref(),
        Some("it is till till-1's callback_qr in the configuration")
    );
}

#[tokio::test]
async fn bad_arguments_are_refused_before_anything_reaches_the_platform() {
    let app = two_tills().await;
    let tools = app.running.tools();
    let cases = [
        (
            qr::create_callback_qrs(&tools, &["till-9".to_owned()], None).await,
            QrError::UnknownTill("till-9".into()),
        ),
        (qr::create_callback_qrs(&tools, &[], Some("kasse-x")).await, QrError::IdForManyTills),
        (
            qr::create_callback_qrs(&tools, &["till-2".to_owned()], Some("has space")).await,
            QrError::BadId("has space".into()),
        ),
        (qr::create_redirect_qrs(&tools, &["nope".to_owned()]).await, QrError::UnknownSticker("nope".into())),
    ];
    for (outcome, expected) in cases {
        assert_eq!(outcome.unwrap_err(), expected);
    }
    let unit = app.merchant_client();
    assert!(unit.list_callback_qrs(kasse_vipps::qr::CallbackQrImage::default()).await.unwrap().is_empty());
    assert!(
        unit.list_redirect_qrs(kasse_vipps::qr::RedirectQrFormat::TargetUrl, None).await.unwrap().is_empty()
    );
}

#[tokio::test]
async fn a_deleted_sticker_is_gone_from_the_platform_and_deleting_it_again_says_so() {
    let app = two_tills().await;
    let tools = app.running.tools();
    qr::create_callback_qrs(&tools, &["till-2".to_owned()], None).await.unwrap();
    qr::create_redirect_qrs(&tools, &["demo".to_owned()]).await.unwrap();

    let deleted = qr::delete_callback_qr(&tools, "till-2", None).await.unwrap();
    assert_eq!(changes(&deleted), [("till-2", Change::Deleted)]);
    assert_eq!(
        changes(&qr::delete_callback_qr(&tools, "till-2", None).await.unwrap()),
        [("till-2", Change::NotThere)]
    );
    let listed = qr::list_callback_qrs(&tools).await.unwrap();
    assert!(listed[0].stickers.iter().all(|s| s.id != "till-2"), "{listed:#?}");

    let deleted = qr::delete_redirect_qr(&tools, "demo", None).await.unwrap();
    assert_eq!(changes(&deleted), [("demo", Change::Deleted)]);
    assert!(deleted.stickers[0].notes[0].contains("the configuration still has it"));
    let redirects = qr::list_redirect_qrs(&tools).await;
    let demo = redirects[0].stickers.iter().find(|s| s.id == "demo").unwrap();
    assert!(!demo.at_platform && demo.configured, "{demo:?}");
    assert_eq!(
        qr::delete_redirect_qr(&tools, "demo", Some("elsewhere")).await.unwrap_err(),
        QrError::UnknownStore("elsewhere".into())
    );
}

#[tokio::test]
async fn the_sticker_sheet_holds_every_sticker_the_platform_has_with_its_exact_code_and_names_the_missing() {
    let app = spawn_app().await;
    let tools = app.running.tools();
    let empty = stickers::collect(&tools, &[]).await.unwrap();
    assert!(empty.stickers.is_empty());
    let missing: Vec<_> = empty.missing.iter().map(|m| (m.id.as_str(), m.why.as_str())).collect();
    assert_eq!(
        missing,
        [
            ("till-1", "it is not at the platform yet: run `kasse-server qr callback create till-1`"),
            ("demo", "it is not at the platform yet: run `kasse-server qr redirect create demo`"),
            ("donations", "it is not at the platform yet: run `kasse-server qr redirect create donations`"),
        ]
    );

    qr::create_callback_qrs(&tools, &[], None).await.unwrap();
    qr::create_redirect_qrs(&tools, &[]).await.unwrap();
    let sheet = stickers::collect(&tools, &[]).await.unwrap();
    assert!(sheet.missing.is_empty() && sheet.notes.is_empty(), "{sheet:#?}");
    let drawn: Vec<_> = sheet.stickers.iter().map(|s| (s.kind, s.id.as_str(), s.title.as_str())).collect();
    assert_eq!(
        drawn,
        [
            (StickerKind::Callback, "till-1", "Kasse 1"),
            (StickerKind::Redirect, "demo", "Kasse 1"),
            (StickerKind::Redirect, "donations", "Donation to the coffee fund"),
        ]
    );
    // Each code says exactly what the platform says it must.
    let unit = app.merchant_client();
    let callback = unit.get_callback_qr("till-1", kasse_vipps::qr::CallbackQrImage::default()).await.unwrap();
    assert_eq!(Some(sheet.stickers[0].content.clone()), callback.qr_content);
    let demo =
        unit.get_redirect_qr("demo", kasse_vipps::qr::RedirectQrFormat::TargetUrl, None).await.unwrap();
    assert_eq!(sheet.stickers[1].content, demo.url);
    assert_eq!(sheet.stickers[1].target, format!("{}/q/demo", app.base));

    let page = stickers::html(&sheet);
    assert_eq!(page.matches("<figure class=\"sticker\"").count(), 3);
    assert_eq!(page.matches("<svg ").count(), 3);
    assert!(
        page.contains("Kaffebrenneriet Grünerløkka")
            && page.contains(&format!("data-content=\"{}\"", demo.url))
    );

    let one_till = stickers::collect(&tools, &["till-1".to_owned()]).await.unwrap();
    assert_eq!(one_till.stickers.len(), 2, "a till's own stickers, without the open-amount one");
}
