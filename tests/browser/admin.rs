//! Browser journeys: the manager's back office on a tablet (a second browser beside the till):
//! pairing as a manager with a PIN, pairing a till from the back office and taking a sale on it,
//! unpairing it with the PIN, and finding a sale of last week among every till's and refunding
//! part of it with the PIN, putting up a till's sticker and printing its sheet in Danish, and the
//! service's health as the platform stops answering and comes back; every screen of it audited,
//! in Danish and Finnish too, and every section again on a desktop's screen.

use super::access::audit_in;
use super::display::{SecondBrowser, wait_for_text, wait_in};
use super::money::{choose_a_week_ago, days_ago, pick_date, wait_for_sale_row};
use super::*;

/// The manager's PIN.
pub(super) const PIN: &str = "4711";

/// Pairs `tablet` as the manager `name` at the pairing page, choosing [`PIN`], and waits for the
/// back office.
pub(super) async fn pair_manager(j: &Journey, tablet: &Client, name: &str) -> Outcome {
    let code = j.server.manager_pairing_code(name, None).await?;
    tablet.goto(&j.url("pair")).await?;
    wait_in(tablet, "#pairing-code").await?.send_keys(&code).await?;
    tablet.find(Locator::Css("#pair")).await?.click().await?;
    // A manager's first pairing asks for a PIN, twice, before the code is spent.
    wait_in(tablet, "#new-pin").await?.send_keys(PIN).await?;
    audit_in(tablet, "pairing page asking for a PIN").await?;
    tablet.find(Locator::Css("#new-pin-again")).await?.send_keys(PIN).await?;
    tablet.find(Locator::Css("#pair")).await?.click().await?;
    wait_for_text(tablet, "#signed-in", name).await
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_manager_pairs_a_till_from_the_back_office_it_takes_a_sale_and_is_unpaired_with_the_pin() {
    Journey::start("admin-devices")
        .await
        .run(async |j| {
            let tablet = SecondBrowser::open(j, "tablet").await;
            let outcome = async {
                let b = &tablet.client;
                pair_manager(j, b, "Ingrid").await?;
                // The journey's till (paired as it started) and the tablet itself.
                wait_in(b, "#devices tr[data-kind='till']").await?;
                wait_in(b, "#devices tr[data-kind='manager']").await?;
                audit_in(b, "back office's devices").await?;

                // A code for a new till, with the PIN; its QR code opens the pairing page with it.
                b.find(Locator::Css("#new-kind")).await?.select_by_value("till").await?;
                b.find(Locator::Css("#new-pin-confirm")).await?.send_keys(PIN).await?;
                b.find(Locator::Css("#make-code")).await?.click().await?;
                let code = wait_in(b, "#new-code").await?.text().await?;
                let qr = wait_in(b, "#code-made svg.qr").await?;
                // As the manager shows it to the new device: on screen.
                b.execute(
                    "arguments[0].scrollIntoView({ block: 'center' });",
                    vec![serde_json::to_value(&qr)?],
                )
                .await?;
                let shot = qr.screenshot().await?;
                let address = scan(&shot)?;
                if !address.ends_with(&format!("/pair?code={code}")) {
                    return Err(format!("the QR code says {address:?} for the code {code}").into());
                }
                audit_in(b, "back office with a code made").await?;
                keep_screenshot_of(b, "admin-devices.png").await?;

                // The till's browser scans it, pairs, and takes a sale.
                j.browser.goto(&address).await?;
                j.wait_for("#pair").await?.click().await?;
                j.wait_for("#show-qr").await?;
                j.type_amount(&["4", "2", "00"]).await?;
                let (_, qr_text) = j.show_qr().await?;
                j.customer_answers(&qr_text, "approve").await?;
                j.wait_for(".sale[data-status='captured']").await?;

                // The back office lists the new till's session; unpairing it asks for the PIN.
                b.refresh().await?;
                let tills = wait_for_rows(b, "#devices tr[data-kind='till']", 2).await?;
                let newest = tills.last().ok_or("no till row")?;
                let device = newest.attr("data-device").await?.ok_or("a device id")?;
                newest.find(Locator::Css("button.unpair")).await?.click().await?;
                let pin = wait_in(b, &format!("#unpair-pin-{device}")).await?;
                pin.send_keys("0000").await?;
                b.find(Locator::Css(".confirm-unpair")).await?.click().await?;
                wait_for_text(b, ".confirm .notice", "PIN").await?;
                j.wait_for(".sale[data-status='captured']").await?;
                let pin = b.find(Locator::Css(&format!("#unpair-pin-{device}"))).await?;
                pin.clear().await?;
                pin.send_keys(PIN).await?;
                b.find(Locator::Css(".confirm-unpair")).await?.click().await?;
                wait_for_text(b, "#devices-said", "Unpaired").await?;
                // The till is sent to pairing at once, saying why.
                j.wait_for("#pairing-code").await?;
                wait_for_text(&j.browser, ".notice.reason", "unpaired").await?;
                Ok(())
            }
            .await;
            tablet.close().await;
            outcome
        })
        .await;
}

/// Fails unless the platform has refunded `value` of the payment `reference`.
fn refunded_at_the_platform(j: &Journey, reference: &str, value: i64) -> Outcome {
    let sim = j.server.sim().ok_or("the simulator runs inside the server")?;
    let payment = sim.payment(MSN, reference).ok_or("the platform has the payment")?;
    if payment.aggregate.refunded_amount.value != value {
        return Err(format!("the platform has {:?}, not {value} refunded", payment.aggregate).into());
    }
    Ok(())
}

impl Journey {
    /// A customer gives 25.00 on the open-amount (donations) sticker's landing page with Kari's
    /// number, and approves; returns the payment's reference once it is captured.
    async fn donated_2500(&self) -> Result<String, Box<dyn Error>> {
        let token = self.donate_from_kari(2_500).await?;
        let sim = self.server.sim().ok_or("the simulator runs inside the server")?;
        let reference = sim
            .payment_records()
            .into_iter()
            .find(|p| p.amount.value == 2_500)
            .ok_or("the platform has the donation")?
            .reference;
        sim.answer(MSN, &reference, None, true).map_err(|e| format!("{e:?}"))?;
        let deadline = std::time::Instant::now() + PATIENCE;
        // Captured as kasse has it, which the back office reads, not only at the platform: the
        // capture's answer is recorded a moment after the platform made it.
        let captured_here = || async {
            let status = self
                .browser
                .execute_async(
                    "const done = arguments[arguments.length - 1];
                     fetch('/api/payments/' + arguments[0]).then((r) => r.json()).then((p) => done(p.status), () => done(null));",
                    vec![serde_json::json!(token)],
                )
                .await?;
            Ok::<bool, Box<dyn Error>>(status == serde_json::json!("captured"))
        };
        while sim.payment(MSN, &reference).is_none_or(|p| p.aggregate.captured_amount.value != 2_500)
            || !captured_here().await?
        {
            if std::time::Instant::now() > deadline {
                return Err("the donation was never captured".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(reference)
    }
}

/// Waits until `css` matches at least `count` elements; returns them.
async fn wait_for_rows(
    browser: &Client,
    css: &str,
    count: usize,
) -> Result<Vec<fantoccini::elements::Element>, Box<dyn Error>> {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let found = browser.find_all(Locator::Css(css)).await?;
        if found.len() >= count {
            return Ok(found);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("{} of `{css}`, not {count}", found.len()).into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn in_danish_a_manager_finds_last_weeks_sale_by_the_phones_last_digits_and_refunds_part_with_the_pin() {
    Journey::start("admin-sales")
        .await
        .run(async |j| {
            let reference = j.kari_paid_250_a_week_ago().await?;

            let tablet = SecondBrowser::open(j, "tablet").await;
            let outcome = async {
                let b = &tablet.client;
                pair_manager(j, b, "Mette").await?;
                wait_in(b, "#language").await?.select_by_value("da").await?;
                b.find(Locator::Css("#nav-sales")).await?.click().await?;
                wait_for_text(b, "#sales-heading", "Dagens salg").await?;
                wait_in(b, "#no-sales").await?;
                // Eight days ago alone has nothing; through today, the span holds the sale.
                wait_in(b, "#filter-day").await?.select_by_value("date").await?;
                pick_date(b, "#filter-date", &days_ago(b, 8).await?).await?;
                wait_in(b, "#no-sales").await?;
                pick_date(b, "#filter-through", &days_ago(b, 0).await?).await?;
                wait_for_text(b, "#sales-heading", "–").await?;
                wait_for_sale_row(b, &reference, &["Kasse 1"]).await?;
                // Then that day alone.
                pick_date(b, "#filter-through", "").await?;
                choose_a_week_ago(b).await?;
                b.find(Locator::Css("#filter-till")).await?.select_by_value("till:till-1").await?;
                wait_for_sale_row(b, &reference, &["Kasse 1"]).await?;
                // Other digits find nothing; the phone's last ones find it again.
                let search = b.find(Locator::Css("#search")).await?;
                search.send_keys("999\u{E007}").await?;
                wait_in(b, "#no-sales").await?;
                search.clear().await?;
                search.send_keys("567\u{E007}").await?;
                wait_for_sale_row(b, &reference, &["Kasse 1", "250,00", "567"]).await?;
                wait_for_text(b, "#net-taken", "250,00").await?;
                audit_in(b, "back office's sales, in Danish").await?;
                keep_screenshot_of(b, "admin-sales.png").await?;

                // Its page: the till that took it and its log; part of it is given back, which
                // asks for the PIN (the demo store asks for every refund's).
                let details = format!("#sales tr[data-reference='{reference}'] a.details-link");
                b.find(Locator::Css(&details)).await?.click().await?;
                wait_in(b, &format!(".admin-sale [data-reference='{reference}']")).await?;
                wait_for_text(b, "#sale-till", "Kasse 1").await?;
                wait_in(b, "#log li[data-event='CAPTURED']").await?;
                wait_for_text(b, "#refund-pin-rule", "pinkode").await?;
                wait_in(b, "#refund-amount").await?.send_keys("100").await?;
                b.find(Locator::Css("#refund")).await?.click().await?;
                wait_for_text(b, "#refund-mistake", "4 til 8 cifre").await?;
                wait_in(b, "#refund-pin").await?.send_keys("0000").await?;
                b.find(Locator::Css("#refund")).await?.click().await?;
                wait_in(b, "#refusal").await?;
                refunded_at_the_platform(j, &reference, 0)?;
                b.find(Locator::Css("#refund-pin")).await?.send_keys(PIN).await?;
                audit_in(b, "back office's sale, in Danish").await?;
                keep_screenshot_of(b, "admin-sale.png").await?;
                b.find(Locator::Css("#refund")).await?.click().await?;
                wait_for_text(b, "[data-amount='refunded'] dd", "100,00").await?;
                wait_for_text(b, "#refundable", "150,00").await?;
                wait_in(b, "#log li[data-event='REFUNDED']").await?;
                refunded_at_the_platform(j, &reference, 10_000)?;

                // The platform stops answering: a refund is kept, and the page waits for it
                // rather than let a second one go out under another key.
                let sim = j.server.sim().ok_or("the simulator runs inside the server")?;
                sim.set_faults(kasse_sim::FaultKnobs { error_rate: 1.0, ..Default::default() })?;
                b.find(Locator::Css("#refund-amount")).await?.send_keys("10").await?;
                b.find(Locator::Css("#refund-pin")).await?.send_keys(PIN).await?;
                b.find(Locator::Css("#refund")).await?.click().await?;
                wait_for_text(b, ".detail-actions .sending", "Venter på svar").await?;
                if b.find(Locator::Css("#refund")).await?.attr("disabled").await?.is_none() {
                    return Err("the refund button is live while a refund waits".into());
                }
                // It answers again: the kept refund goes through once, and the page shows it.
                sim.set_faults(kasse_sim::FaultKnobs::default())?;
                wait_for_text(b, "[data-amount='refunded'] dd", "110,00").await?;
                wait_in(b, "#refund:not([disabled])").await?;
                refunded_at_the_platform(j, &reference, 11_000)?;
                Ok(())
            }
            .await;
            tablet.close().await;
            outcome
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn in_finnish_the_health_page_says_when_the_platform_stops_answering_and_what_waits_for_it() {
    Journey::start("admin-health")
        .await
        .run(async |j| {
            let tablet = SecondBrowser::open(j, "tablet").await;
            let outcome = async {
                let b = &tablet.client;
                pair_manager(j, b, "Aino").await?;
                wait_in(b, "#language").await?.select_by_value("fi").await?;
                b.find(Locator::Css("#nav-health")).await?.click().await?;
                wait_in(b, "#health-summary[data-tone='success']").await?;
                wait_in(b, &format!("#units [data-msn='{MSN}'] [data-reachable='true']")).await?;
                wait_in(b, &format!("#units [data-msn='{MSN}'] [data-registered='true']")).await?;
                wait_for_text(b, "#pending-writes", "0").await?;
                audit_in(b, "back office's health, in Finnish").await?;

                // The platform fails every call: the till's sale is kept and sent again.
                let sim = j.server.sim().ok_or("the simulator runs inside the server")?;
                sim.set_faults(kasse_sim::FaultKnobs { error_rate: 1.0, ..Default::default() })?;
                j.type_amount(&["4", "2", "00"]).await?;
                j.browser.find(Locator::Css("#show-qr")).await?.click().await?;
                j.wait_for(".sale[data-status='creating']").await?;
                // Once the till is told the platform does not answer, so is the back office.
                j.wait_for("#platform-down").await?;
                b.find(Locator::Css("#refresh")).await?.click().await?;
                wait_in(b, "#health-summary[data-tone='failure']").await?;
                wait_in(b, &format!("#units [data-msn='{MSN}'] [data-reachable='false']")).await?;
                wait_for_text(b, "#pending-writes", "1").await?;
                wait_for_text(b, "#sales-in-progress", "1").await?;
                audit_in(b, "back office's health with the platform down").await?;
                keep_screenshot_of(b, "admin-health.png").await?;

                // It answers again: the sale goes through, and the page says so once refreshed.
                sim.set_faults(kasse_sim::FaultKnobs::default())?;
                j.wait_for(".sale[data-status='awaitingCustomer']").await?;
                b.find(Locator::Css("#refresh")).await?.click().await?;
                wait_in(b, "#health-summary[data-tone='success']").await?;
                wait_for_text(b, "#pending-writes", "0").await
            }
            .await;
            tablet.close().await;
            outcome
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_manager_puts_up_a_tills_sticker_and_prints_its_sheet_in_danish_every_code_reading_back() {
    Journey::start("admin-stickers")
        .await
        .run(async |j| {
            let tablet = SecondBrowser::open(j, "tablet").await;
            let outcome = async {
                let b = &tablet.client;
                pair_manager(j, b, "Mette").await?;
                wait_in(b, "#language").await?.select_by_value("da").await?;
                b.find(Locator::Css("#nav-stickers")).await?.click().await?;
                // Nothing is at the platform yet: the demo's three stickers are listed as missing.
                wait_in(b, "#stickers-missing li[data-id='till-1']").await?;
                audit_in(b, "back office's stickers, none up, in Danish").await?;

                // The till's callback sticker, put up from here; the redirect ones by the tools.
                b.find(Locator::Css("#put-up")).await?.click().await?;
                wait_in(b, "#put-up-said.said").await?;
                wait_in(b, "#stickers tr[data-id='till-1'][data-kind='callback']").await?;
                kasse_server::ops::qr::create_redirect_qrs(&j.server.tools(), &[]).await?;
                b.refresh().await?;
                wait_in(b, "#stickers tr[data-id='donations'][data-kind='redirect']").await?;
                audit_in(b, "back office's stickers, in Danish").await?;
                keep_screenshot_of(b, "admin-stickers.png").await?;

                // The till's sheet, in Danish: its two stickers, each code reading back as itself.
                wait_in(b, "#sheet-language").await?.select_by_value("da").await?;
                let link = b.find(Locator::Css("#stickers tr[data-id='till-1'] a.print-till")).await?;
                let sheet = link.prop("href").await?.ok_or("the link has an address")?;
                if !sheet.ends_with("/api/admin/stickers/sheet?till=till-1&language=da") {
                    return Err(format!("the till's sheet is at {sheet}").into());
                }
                b.goto(&sheet).await?;
                wait_in(b, "html[lang='da'] figure.sticker").await?;
                wait_for_text(b, "figure[data-kind='callback'] .what", "Scan med MobilePay eller Vipps")
                    .await?;
                wait_for_text(b, "figure[data-kind='callback'] .target", "tjekker ind ved Kasse 1").await?;
                let figures = b.find_all(Locator::Css("figure.sticker")).await?;
                if figures.len() != 2 {
                    return Err(format!("{} stickers on till-1's sheet, not its two", figures.len()).into());
                }
                for figure in figures {
                    let content = figure.attr("data-content").await?.ok_or("data-content")?;
                    let read = scan(&figure.find(Locator::Css("svg")).await?.screenshot().await?)?;
                    if read != content {
                        return Err(format!("a sticker reads {read:?}, not {content:?}").into());
                    }
                }
                audit_in(b, "the sticker sheet, in Danish").await?;
                Ok(())
            }
            .await;
            tablet.close().await;
            outcome
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn the_end_of_day_matches_the_days_sales_and_its_csv_lists_them_a_stickers_donation_too() {
    Journey::start("admin-day")
        .await
        .run(async |j| {
            // A sale of 100.00, paid, 10.00 of it then given back from its page.
            j.type_amount(&["1", "0", "0", "00"]).await?;
            let (reference, qr_text) = j.show_qr().await?;
            j.customer_answers(&qr_text, "approve").await?;
            j.wait_for(".sale[data-status='captured']").await?;
            j.browser.goto(&j.url(&format!("till/sales/{reference}"))).await?;
            j.wait_for("#refund-amount").await?.send_keys("10").await?;
            j.browser.find(Locator::Css("#refund")).await?.click().await?;
            wait_for_text(&j.browser, "[data-amount='refunded'] dd", "10.00").await?;
            // And a donation of 25.00 on the open-amount sticker, which no till takes.
            let donation = j.donated_2500().await?;

            let tablet = SecondBrowser::open(j, "tablet").await;
            let outcome = async {
                let b = &tablet.client;
                pair_manager(j, b, "Ingrid").await?;
                b.find(Locator::Css("#nav-day")).await?.click().await?;
                let sticker = "[data-sticker='donations'] .money tr[data-currency='NOK']";
                wait_for_text(b, &format!("{sticker} [data-figure='captured']"), "25.00").await?;
                wait_for_text(b, "[data-sticker='donations'] h3", "Donation to the coffee fund").await?;
                let till = "[data-till='till-1'] .money tr[data-currency='NOK']";
                wait_for_text(b, &format!("{till} [data-figure='captured']"), "100.00").await?;
                wait_for_text(b, &format!("{till} [data-figure='refunded']"), "10.00").await?;
                wait_for_text(b, &format!("{till} [data-figure='net']"), "90.00").await?;
                wait_for_text(b, "[data-till='till-1'] .by-status tr[data-status='captured'] [data-figure='count']", "1")
                    .await?;
                // The store's: the till's and the sticker's.
                wait_for_text(b, "[data-store='grunerlokka'] > .table-scroll .money [data-figure='net']", "115.00").await?;
                audit_in(b, "back office's end of day").await?;
                keep_screenshot_of(b, "admin-day.png").await?;

                // The CSV link downloads the day's sales.
                let csv = b
                    .execute_async(
                        "const done = arguments[arguments.length - 1];\
                         fetch(document.querySelector('#csv').href).then((r) => r.text()).then(done, (e) => done(String(e)));",
                        vec![],
                    )
                    .await?;
                let csv = csv.as_str().ok_or("the CSV's text")?;
                let row = csv.lines().find(|l| l.contains(&reference)).ok_or_else(|| format!("no row in {csv:?}"))?;
                if !row.ends_with(",NOK,100.00,100.00,10.00,0.00") {
                    return Err(format!("the CSV row reads {row:?}").into());
                }
                let row = csv.lines().find(|l| l.contains(&donation)).ok_or_else(|| format!("no donation in {csv:?}"))?;
                if !row.contains(",Donation to the coffee fund,") || !row.ends_with(",NOK,25.00,25.00,0.00,0.00") {
                    return Err(format!("the donation's CSV row reads {row:?}").into());
                }
                wait_in(b, "#print").await?;

                // The sales section finds it by its sticker, and its page names the sticker.
                b.find(Locator::Css("#nav-sales")).await?.click().await?;
                wait_in(b, "#filter-till").await?.select_by_value("sticker:donations").await?;
                wait_for_sale_row(b, &donation, &["Donation to the coffee fund", "25.00"]).await?;
                let details = format!("#sales tr[data-reference='{donation}'] a.details-link");
                b.find(Locator::Css(&details)).await?.click().await?;
                wait_for_text(b, "#sale-till", "Paid on the sticker: Donation to the coffee fund").await?;
                b.find(Locator::Css("#nav-day")).await?.click().await?;

                // On a desktop's screen, every section, audited.
                b.set_window_size(1280, 800).await?;
                for (tab, shown, what) in [
                    ("#nav-devices", "#devices", "devices"),
                    ("#nav-sales", "#sales", "sales"),
                    ("#nav-day", "#day-heading", "end of day"),
                    ("#nav-stickers", "#stickers-missing", "stickers"),
                    ("#nav-health", "#health-summary", "health"),
                ] {
                    b.find(Locator::Css(tab)).await?.click().await?;
                    wait_in(b, shown).await?;
                    audit_in(b, &format!("back office's {what} on a desktop")).await?;
                }
                Ok(())
            }
            .await;
            tablet.close().await;
            outcome
        })
        .await;
}
