//! The back office's stickers: every sticker of the manager's tills as the platform has them (a
//! migrated beacon among them), one put up for a till, and the print-ready sheet in the store's
//! language, of one till or one sticker, its style served beside it. A store manager sees and
//! prints only their own store's.

use kasse_api::{AdminStickers, StickerKind};
use kasse_server::ops::migrate::{self, PosRow};
use kasse_server::ops::qr;
use reqwest::StatusCode;
use serde_json::json;

use crate::admin::{ManagerBrowser, code_of, manager, two_stores};
use crate::helpers::*;

impl ManagerBrowser {
    async fn stickers(&self) -> AdminStickers {
        let (status, body) = self.get("/api/admin/stickers").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

fn ids(stickers: &AdminStickers) -> Vec<(StickerKind, &str)> {
    stickers.stickers.iter().map(|s| (s.kind, s.id.as_str())).collect()
}

#[tokio::test]
async fn a_manager_puts_up_a_tills_callback_sticker_sees_every_sticker_and_prints_them_in_the_stores_language()
 {
    let app = spawn_app().await;
    let manager = manager(&app, "Ingrid", None).await;
    let before = manager.stickers().await;
    assert!(before.stickers.is_empty(), "none is at the platform yet: {before:?}");
    let missing: Vec<&str> = before.missing.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(missing, ["till-1", "demo", "donations"]);

    let (status, body) = manager.post("/api/admin/stickers", &json!({ "till": TILL })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let after: AdminStickers = serde_json::from_str(&body).unwrap();
    assert_eq!(ids(&after), [(StickerKind::Callback, "till-1")]);
    assert_eq!(after.stickers[0].target, "Kasse 1", "a scan rings the till");
    // At the platform, as a callback QR of the store.
    let tools = app.running.tools();
    assert!(
        qr::list_callback_qrs(&tools).await.unwrap()[0]
            .stickers
            .iter()
            .any(|s| s.id == "till-1" && s.at_platform)
    );

    // The redirect stickers, and a MobilePay beacon migrated to the till.
    qr::create_redirect_qrs(&tools, &[]).await.unwrap();
    let beacon = PosRow {
        row: 1,
        beacon_id: Some("100000000000007".to_owned()),
        pos_name: Some("Kasse 1".to_owned()),
        msn: Some(MSN.to_owned()),
        till: Some(TILL.to_owned()),
    };
    migrate::run(&tools, &[beacon], migrate::Options { dry_run: false }, &|_| {}).await;
    let every = manager.stickers().await;
    assert_eq!(
        ids(&every),
        [
            (StickerKind::Callback, "till-1"),
            (StickerKind::Beacon, "100000000000007"),
            (StickerKind::Redirect, "demo"),
            (StickerKind::Redirect, "donations"),
        ]
    );
    assert!(every.missing.is_empty(), "{every:?}");

    // The sheet: in Norwegian for a NOK store, in Danish when asked; one sticker alone.
    let (status, page) = manager.get("/api/admin/stickers/sheet").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("<html lang=\"nb\">") && page.contains("Skann med Vipps eller MobilePay"),
        "{page}"
    );
    assert_eq!(page.matches("<figure class=\"sticker\"").count(), 3, "the beacon is printed already");
    let headers = manager.http.get(format!("{}/api/admin/stickers/sheet", app.base)).send().await.unwrap();
    let header = |name: &str| headers.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(
        (header("content-type"), header("cache-control")),
        ("text/html; charset=utf-8".to_owned(), "no-store".to_owned())
    );
    let (_, danish) = manager.get(&format!("/api/admin/stickers/sheet?till={TILL}&language=da")).await;
    assert!(danish.contains("<html lang=\"da\">") && danish.contains("tjekker ind ved Kasse 1"), "{danish}");
    assert_eq!(
        danish.matches("<figure class=\"sticker\"").count(),
        2,
        "the till's own: no open-amount sticker, no beacon"
    );
    let (_, one) =
        manager.get(&format!("/api/admin/stickers/sheet?till={TILL}&sticker=100000000000007")).await;
    assert_eq!(one.matches("<figure class=\"sticker\"").count(), 1, "{one}");
    assert!(one.contains("data-id=\"100000000000007\""));
    let (status, body) = manager.get("/api/admin/stickers/sheet?sticker=nosuch").await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::NOT_FOUND, Some(kasse_api::ProblemCode::UnknownSticker))
    );
    let (status, _) = manager.get("/api/admin/stickers/sheet?language=sv").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, css) = manager.get("/api/admin/stickers/sheet.css").await;
    assert!(status == StatusCode::OK && css.contains("@page { size: A4"), "{css}");
}

#[tokio::test]
async fn a_store_manager_sees_puts_up_and_prints_only_their_own_stores_stickers() {
    let app = two_stores().await;
    let tools = app.running.tools();
    qr::create_callback_qrs(&tools, &[], None).await.unwrap();
    let other = manager(&app, "Mette", Some("norrebro")).await;
    let stickers = other.stickers().await;
    assert_eq!(ids(&stickers), [(StickerKind::Callback, "till-dk")], "their till's only");
    assert!(stickers.stickers.iter().all(|s| s.till.as_deref() == Some("till-dk")), "{stickers:?}");
    let (status, _) = other.post("/api/admin/stickers", &json!({ "till": TILL })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = other.get(&format!("/api/admin/stickers/sheet?till={TILL}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, page) = other.get("/api/admin/stickers/sheet").await;
    assert!(page.contains("<html lang=\"da\">"), "a DKK store's sheet is Danish: {page}");
    let (status, _) = other.get("/api/admin/stickers/sheet?sticker=till-1").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another store's sticker is none of theirs");
    // A manager of every store prints one DKK sticker: in Danish, though their first store is
    // a Norwegian one.
    let every = manager(&app, "Ingrid", None).await;
    let (_, one) = every.get("/api/admin/stickers/sheet?till=till-dk&sticker=till-dk").await;
    assert!(one.contains("<html lang=\"da\">") && one.matches("<figure").count() == 1, "{one}");
}
