//! Browser journeys: money after approval — taking part of a reservation by hand, refunding some
//! of it from the sale's detail page — the day's history with its totals, a sale of last week
//! found by the customer's phone number and refunded, and, at a store that asks, that refund
//! taking a manager's PIN.

use super::display::{wait_for_text, wait_in};
use super::*;

impl Journey {
    /// Kari pays 250.00 from her phone at the till (`+47 912 34 567`), and the sale is then
    /// moved back a week in the server's database, as if paid then. Returns its reference.
    pub(super) async fn kari_paid_250_a_week_ago(&self) -> Result<String, Box<dyn Error>> {
        self.type_amount(&["2", "5", "0", "00"]).await?;
        self.browser.find(Locator::Css("#flow-phone")).await?.click().await?;
        self.wait_for("#phone-number").await?.send_keys("912 34 567").await?;
        self.browser.find(Locator::Css("#send-request")).await?.click().await?;
        self.wait_for(".sale[data-status='awaitingCustomer']").await?;
        let reference = self.browser.find(Locator::Css(".reference code")).await?.text().await?;
        let sim = self.server.sim().ok_or("the simulator runs inside the server")?;
        sim.answer(MSN, &reference, None, true).map_err(|e| format!("{e:?}"))?;
        self.wait_for(".sale[data-status='captured']").await?;
        let database = rusqlite::Connection::open(self.scratch.join("kasse.db"))?;
        database.busy_timeout(PATIENCE)?;
        let moved = database.execute(
            "UPDATE payments SET created_at = created_at - 7 * 86400000 WHERE reference = ?1",
            [&reference],
        )?;
        if moved != 1 {
            return Err(format!("{moved} sales moved back").into());
        }
        Ok(reference)
    }
}

/// Waits until the sales list shows the sale `reference` with every one of `parts` in its row.
/// The row is looked up afresh at each look: the list is drawn anew whenever its query changes
/// (a search typed, a field cleared), so a row found before that is gone.
pub(super) async fn wait_for_sale_row(browser: &Client, reference: &str, parts: &[&str]) -> Outcome {
    let row = format!("#sales tr[data-reference='{reference}']");
    for part in parts {
        wait_for_text(browser, &row, part).await?;
    }
    Ok(())
}

/// The day `days` ago as `browser`'s calendar has it (`YYYY-MM-DD`).
pub(super) async fn days_ago(browser: &Client, days: u32) -> Result<String, Box<dyn Error>> {
    let day = browser
        .execute(
            "const d = new Date(Date.now() - arguments[0] * 86400000);\
             return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;",
            vec![days.into()],
        )
        .await?;
    Ok(day.as_str().ok_or("a date")?.to_owned())
}

/// Picks `day` (`YYYY-MM-DD`) in the date field `css` shows.
pub(super) async fn pick_date(browser: &Client, css: &str, day: &str) -> Outcome {
    let calendar = wait_in(browser, css).await?;
    // A date field takes keys in the browser's own order; the user's pick is its value.
    browser
        .execute(
            "arguments[0].value = arguments[1];\
             arguments[0].dispatchEvent(new Event('change', { bubbles: true }));",
            vec![serde_json::to_value(&calendar)?, day.into()],
        )
        .await?;
    Ok(())
}

/// Chooses, in the sales filters `browser` shows, the day a week ago as its calendar has it;
/// returns that day (`YYYY-MM-DD`).
pub(super) async fn choose_a_week_ago(browser: &Client) -> Result<String, Box<dyn Error>> {
    let week_ago = days_ago(browser, 7).await?;
    wait_in(browser, "#filter-day").await?.select_by_value("date").await?;
    pick_date(browser, "#filter-date", &week_ago).await?;
    Ok(week_ago)
}

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
            wait_for_sale_row(&j.browser, &reference, &["100.00", "Paid", "QR code"]).await?;
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

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_cashier_finds_last_weeks_sale_by_the_phones_last_digits_and_refunds_part_of_it() {
    Journey::start("history-last-week")
        .await
        .run(async |j| {
            let reference = j.kari_paid_250_a_week_ago().await?;

            // Today's history does not have it.
            j.browser.goto(&j.url("till/history")).await?;
            j.wait_for("#no-sales").await?;
            let week_ago = choose_a_week_ago(&j.browser).await?;
            wait_for_text(&j.browser, "#history-heading", &week_ago).await?;
            j.wait_for(&format!("#sales tr[data-reference='{reference}']")).await?;

            // The phone's last digits find it; other digits do not.
            let search = j.wait_for("#search").await?;
            search.send_keys("999").await?;
            j.browser.find(Locator::Css("#search-submit")).await?.click().await?;
            wait_for_text(&j.browser, "#no-sales", "None of this day's sales").await?;
            let search = j.browser.find(Locator::Css("#search")).await?;
            search.clear().await?;
            search.send_keys("567\u{E007}").await?;
            wait_for_sale_row(&j.browser, &reference, &["250.00", "567", "Paid"]).await?;
            wait_for_text(&j.browser, "#net-taken", "250.00").await?;
            j.keep_screenshot("history-search.png").await?;

            // From its details, part of it is given back.
            let details = format!("#sales tr[data-reference='{reference}'] a.details-link");
            j.browser.find(Locator::Css(&details)).await?.click().await?;
            wait_in(&j.browser, &format!("main.detail[data-reference='{reference}']")).await?;
            j.wait_for("#refund-amount").await?.send_keys("100").await?;
            j.browser.find(Locator::Css("#refund")).await?.click().await?;
            wait_for_text(&j.browser, "[data-amount='refunded'] dd", "100.00").await?;
            wait_for_text(&j.browser, "#refundable", "150.00").await?;
            let sim = j.server.sim().ok_or("the simulator runs inside the server")?;
            let payment = sim.payment(MSN, &reference).ok_or("the platform has the payment")?;
            if payment.aggregate.refunded_amount.value != 10_000 {
                return Err(format!("the platform has {:?}", payment.aggregate).into());
            }
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn at_a_store_that_asks_last_weeks_refund_at_the_till_takes_a_managers_pin() {
    Journey::start_with("till-earlier-refund", |config| {
        config.stores[0].earlier_day_refunds_need_manager = true;
    })
    .await
    .run(async |j| {
        // A manager of the store, paired on a tablet with their PIN.
        let tablet = super::display::SecondBrowser::open(j, "tablet").await;
        let paired = super::admin::pair_manager(j, &tablet.client, "Ingrid").await;
        tablet.close().await;
        paired?;
        let reference = j.kari_paid_250_a_week_ago().await?;

        // At the till, its page: the refund is refused until a manager types their PIN.
        j.browser.goto(&j.url(&format!("till/sales/{reference}"))).await?;
        j.wait_for("#refund-amount").await?.send_keys("100").await?;
        j.browser.find(Locator::Css("#refund")).await?.click().await?;
        wait_for_text(&j.browser, "#refund-pin-rule", "earlier day").await?;
        wait_for_text(&j.browser, "#refusal", "manager").await?;
        j.wait_for("#refund-pin").await?.send_keys("0000").await?;
        j.browser.find(Locator::Css("#refund")).await?.click().await?;
        wait_for_text(&j.browser, "#refusal", "PIN").await?;
        let sim = j.server.sim().ok_or("the simulator runs inside the server")?;
        if sim.payment(MSN, &reference).ok_or("at the platform")?.aggregate.refunded_amount.value != 0 {
            return Err("a wrong PIN refunded".into());
        }
        j.browser.find(Locator::Css("#refund-pin")).await?.send_keys(super::admin::PIN).await?;
        super::access::audit_in(&j.browser, "the till's sale asking for a manager's PIN").await?;
        j.keep_screenshot("till-earlier-refund.png").await?;
        j.browser.find(Locator::Css("#refund")).await?.click().await?;
        wait_for_text(&j.browser, "[data-amount='refunded'] dd", "100.00").await?;
        let refunded = sim.payment(MSN, &reference).ok_or("at the platform")?.aggregate.refunded_amount.value;
        if refunded != 10_000 {
            return Err(format!("the platform refunded {refunded}").into());
        }
        Ok(())
    })
    .await;
}
