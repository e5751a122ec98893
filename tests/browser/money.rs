//! Browser journeys: money after approval — taking part of a reservation by hand, refunding some
//! of it from the sale's detail page — and the day's history with its totals.

use super::display::{wait_for_text, wait_in};
use super::*;

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn with_manual_capture_a_cashier_takes_part_of_a_payment_and_refunds_some_of_it_from_the_detail_page() {
    Journey::start_with("money-partial", |c| c.tills[0].capture = kasse_server::CapturePolicy::Manual)
        .await
        .run(async |j| {
            j.type_amount(&["1", "0", "0", "00"]).await?;
            let (reference, qr_text) = j.show_qr().await?;
            j.customer_answers(&qr_text, "approve").await?;
            j.wait_for(".sale[data-status='authorized']").await?;
            if j.headline().await? != "Approved" {
                return Err(format!("the till says {:?}, not Approved", j.headline().await?).into());
            }

            // To the sale's details, from the till's own link if it has one.
            match j.browser.find(Locator::Css("#details")).await {
                Ok(link) => link.click().await?,
                Err(_) => j.browser.goto(&j.url(&format!("till/sales/{reference}"))).await?,
            }
            wait_in(&j.browser, &format!("main.detail[data-reference='{reference}']")).await?;
            wait_for_text(&j.browser, "#capturable", "100.00").await?;

            // A mistyped amount is refused with a sentence, and nothing is sent.
            j.wait_for("#capture-part").await?.send_keys("120").await?;
            j.browser.find(Locator::Css("#capture-part-submit")).await?.click().await?;
            wait_for_text(&j.browser, "#capture-part-mistake", "more than what is left").await?;
            let field = j.browser.find(Locator::Css("#capture-part")).await?;
            field.clear().await?;
            field.send_keys("40").await?;
            j.browser.find(Locator::Css("#capture-part-submit")).await?.click().await?;
            wait_for_text(&j.browser, "[data-amount='captured'] dd", "40.00").await?;
            wait_for_text(&j.browser, "#sale-status", "Paid").await?;

            j.wait_for("#refund-amount").await?.send_keys("15").await?;
            j.browser.find(Locator::Css("#refund")).await?.click().await?;
            wait_for_text(&j.browser, "[data-amount='refunded'] dd", "15.00").await?;
            wait_for_text(&j.browser, "[data-amount='captured'] dd", "40.00").await?;
            wait_for_text(&j.browser, "#refundable", "25.00").await?;

            let sim = j.server.sim().ok_or("the simulator runs inside the server")?;
            let payment = sim.payment(MSN, &reference).ok_or("the platform has the payment")?;
            let aggregate = &payment.aggregate;
            if (aggregate.captured_amount.value, aggregate.refunded_amount.value) != (4_000, 1_500) {
                return Err(format!("the platform has {aggregate:?}").into());
            }
            // The platform's log, in words, once the page has read it again.
            j.wait_for("#log li[data-event='CAPTURED']").await?;
            j.wait_for("#log li[data-event='REFUNDED']").await?;
            wait_for_text(&j.browser, "#log li[data-event='REFUNDED']", "15.00").await?;

            // The day's history lists it, with totals.
            j.browser.find(Locator::Css("#nav-history")).await?.click().await?;
            let row = j.wait_for(&format!("#sales tr[data-reference='{reference}']")).await?;
            let text = row.text().await?.replace('\u{a0}', " ");
            if !(text.contains("100.00") && text.contains("Paid") && text.contains("QR code")) {
                return Err(format!("the history's row reads {text:?}").into());
            }
            wait_for_text(&j.browser, "#totals tr[data-status='captured'] [data-total='captured']", "40.00")
                .await?;
            wait_for_text(&j.browser, "#totals tr[data-status='captured'] [data-total='refunded']", "15.00")
                .await?;
            wait_for_text(&j.browser, "#net-taken", "25.00").await?;
            j.keep_screenshot("history.png").await?;

            // Filtering by another status hides it; the link leads back to its details.
            let status = j.browser.find(Locator::Css("#filter-status")).await?;
            status.select_by_value("declined").await?;
            j.wait_for("#no-sales").await?;
            j.browser.find(Locator::Css("#filter-status")).await?.select_by_value("").await?;
            j.wait_for(&format!("#sales tr[data-reference='{reference}'] a.details-link"))
                .await?
                .click()
                .await?;
            wait_in(&j.browser, &format!("main.detail[data-reference='{reference}']")).await?;
            Ok(())
        })
        .await;
}
