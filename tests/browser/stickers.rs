//! The printable sticker sheet of `kasse-server qr stickers`, rendered by Chromium: every QR code
//! on it is read back from pixels, the way a phone camera would, and must say exactly what the
//! platform says the sticker's code contains.

use std::error::Error;

use fantoccini::Locator;
use kasse_server::ops::qr::StickerKind;
use kasse_server::ops::{qr, stickers};

use super::{Journey, scan};

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn every_qr_code_on_the_printed_sticker_sheet_reads_back_as_its_stickers_target() {
    Journey::start("sticker-sheet")
        .await
        .run(async |j| {
            let tools = j.server.tools();
            qr::create_callback_qrs(&tools, &[], None).await?;
            qr::create_redirect_qrs(&tools, &[]).await?;
            let sheet = stickers::collect(&tools, &[]).await?;
            if !sheet.missing.is_empty() || sheet.stickers.len() != 3 {
                return Err(format!("the sheet is not the demo's three stickers: {sheet:#?}").into());
            }
            let file = j.scratch.join("stickers.html");
            std::fs::write(&file, stickers::html(&sheet))?;
            j.browser.goto(&format!("file://{}", file.display())).await?;

            let drawn = j.browser.find_all(Locator::Css("figure.sticker")).await?;
            if drawn.len() != sheet.stickers.len() {
                return Err(format!(
                    "{} stickers on the page, {} on the sheet",
                    drawn.len(),
                    sheet.stickers.len()
                )
                .into());
            }
            for (figure, sticker) in drawn.iter().zip(&sheet.stickers) {
                let code = figure.find(Locator::Css("svg")).await?;
                let read = scan(&code.screenshot().await?)
                    .map_err(|e| -> Box<dyn Error> { format!("sticker {}: {e}", sticker.id).into() })?;
                if read != sticker.content {
                    return Err(
                        format!("sticker {} reads {read:?}, not {:?}", sticker.id, sticker.content).into()
                    );
                }
                if figure.attr("data-content").await?.as_deref() != Some(read.as_str()) {
                    return Err(
                        format!("sticker {}'s data-content is not what its code says", sticker.id).into()
                    );
                }
                let caption = figure.find(Locator::Css("figcaption")).await?.text().await?;
                if !caption.contains(&sticker.store) || !caption.contains(&sticker.title) {
                    return Err(format!("sticker {} is captioned {caption:?}", sticker.id).into());
                }
            }

            // What the codes say works: the till's redirect sticker leads to its landing page,
            // and the callback sticker is the one the platform checks customers in at.
            let sim = j.server.sim().ok_or("the simulator runs inside the server")?;
            let redirect = sheet.stickers.iter().find(|s| s.kind == StickerKind::Redirect && s.id == "demo");
            let redirect = redirect.ok_or("the demo till's redirect sticker is on the sheet")?;
            j.browser.goto(&redirect.content).await?;
            let landed = j.browser.current_url().await?;
            if landed.as_str() != j.url("q/demo") {
                return Err(format!("the redirect sticker led to {landed}, not to /q/demo").into());
            }
            let callback = &sheet.stickers[0];
            if callback.kind != StickerKind::Callback
                || !callback.content.starts_with(sim.base_url().as_str())
            {
                return Err(
                    format!("the first sticker is not the till's callback sticker: {callback:?}").into()
                );
            }
            Ok(())
        })
        .await;
}
