//! Browser journeys: the till's flows besides the dynamic QR code — a phone number, a scanned
//! personal QR code, a check-in at the till's sticker — a payment that expires, and how the
//! customer was identified, said in the cashier's language; the receipt's lines.

use super::display::{wait_for_text, wait_in};
use super::*;

/// Kari, the simulator's first customer.
const KARI: &str = "4791234567";

impl Journey {
    /// Opens a customer's phone page in a new window, runs `on_phone` there, and comes back.
    async fn on_phone(&self, customer: &str, on_phone: impl AsyncFnOnce(&Self) -> Outcome) -> Outcome {
        let till = self.browser.window().await?;
        let phone = self.browser.new_window(true).await?;
        self.browser.switch_to_window(phone.handle).await?;
        let sim = self.server.sim().ok_or("the simulator runs inside the server")?;
        self.browser.goto(&format!("{}?customer={customer}", sim.phone_url())).await?;
        let outcome = on_phone(self).await;
        self.browser.close_window().await?;
        self.browser.switch_to_window(till).await?;
        outcome
    }

    /// The customer approves the payment request `reference` on their phone page.
    async fn approve_request(&self, customer: &str, reference: &str) -> Outcome {
        self.on_phone(customer, async |j| {
            j.wait_for(&format!("[data-reference='{reference}'] button.approve")).await?.click().await?;
            // The phone shows the outcome once the answer has reached the platform.
            j.wait_for(".outcome").await?;
            Ok(())
        })
        .await
    }

    /// The till's sale reaches `status`; returns its reference.
    async fn sale_reaches(&self, status: &str) -> Result<String, Box<dyn Error>> {
        self.wait_for(&format!(".sale[data-status='{status}']")).await?;
        Ok(self.browser.find(Locator::Css(".reference code")).await?.text().await?)
    }
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_cashier_types_the_customers_number_and_the_customer_approves_on_their_phone() {
    Journey::start("phone-push")
        .await
        .run(async |j| {
            j.type_amount(&["8", "9", "00"]).await?;
            j.browser.find(Locator::Css("#flow-phone")).await?.click().await?;
            // A mistyped number is refused at the till, with its reason, before anything is sent.
            j.wait_for("#phone-number").await?.send_keys("912 34").await?;
            j.browser.find(Locator::Css("#send-request")).await?.click().await?;
            let notice = j.wait_for(".notice[role='alert']").await?.text().await?;
            if !notice.contains("too short") {
                return Err(format!("the till said {notice:?} for a short number").into());
            }
            if !j.server.sim().ok_or("simulator")?.payment_records().is_empty() {
                return Err("a mistyped number reached the platform".into());
            }
            j.browser.find(Locator::Css("#phone-number")).await?.send_keys(" 567").await?;
            j.browser.find(Locator::Css("#send-request")).await?.click().await?;
            let reference = j.sale_reaches("awaitingCustomer").await?;
            let customer = j.browser.find(Locator::Css(".sale .customer")).await?.text().await?;
            if !customer.ends_with("567") || customer.contains("91234") {
                return Err(format!("the number is shown as {customer:?}, not masked").into());
            }
            j.approve_request(KARI, &reference).await?;
            j.sale_reaches("captured").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_keyboard_wedge_scanner_reads_the_customers_qr_code_and_the_customer_approves() {
    Journey::start("wedge-scan")
        .await
        .run(async |j| {
            j.type_amount(&["4", "5", "00"]).await?;
            j.browser.find(Locator::Css("#flow-scan")).await?.click().await?;
            // The scanner types the code as a burst of keys ending in Enter, into the focused field.
            let code = format!("https://qr.vipps.no/28/2/01/031/{KARI}?v=1");
            let field = j.wait_for("#scan-input").await?;
            let focused = j.browser.active_element().await?;
            if focused.attr("id").await?.as_deref() != Some("scan-input") {
                return Err("the scan field does not have the focus a wedge scanner types into".into());
            }
            field.send_keys(&format!("{code}\u{E007}")).await?;
            let reference = j.sale_reaches("awaitingCustomer").await?;
            let sim = j.server.sim().ok_or("simulator")?;
            let record = sim
                .payment_records()
                .into_iter()
                .find(|p| p.reference == reference)
                .ok_or("not at the platform")?;
            if record.user_flow != kasse_vipps::epayment::UserFlow::PushMessage {
                return Err(format!("a scan should push to the customer, not {:?}", record.user_flow).into());
            }
            j.approve_request(KARI, &reference).await?;
            j.sale_reaches("captured").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn the_tills_camera_reads_the_customers_qr_code_and_the_customer_approves() {
    // The fake camera films Kari's code (see `camera_picture`). Without a BarcodeDetector
    // (Chromium on Linux has none anyway), our decoder reads it, in the worker it fetches only
    // now.
    camera_journey("camera-scan", "delete window.BarcodeDetector", true).await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_browser_with_a_barcode_detector_reads_the_code_with_it_and_never_fetches_our_decoder() {
    // Chromium on Linux has no BarcodeDetector, so the page gets one that reads what the camera
    // films, the way Chrome on Android or macOS does.
    let detector = format!(
        "window.BarcodeDetector = class {{ \
            constructor(options) {{ if (!options.formats.includes('qr_code')) throw new TypeError('formats'); }} \
            detect(video) {{ window.detections = (window.detections || 0) + 1; \
                return Promise.resolve(video.videoWidth ? [{{ rawValue: {CAMERA_SEES:?} }}] : []); }} \
        }}"
    );
    camera_journey("camera-detector", &detector, false).await;
}

/// Scans Kari's code with the till's camera, `setup` run in the page first, and takes the
/// payment; `decoder` says whether our decoder's worker must have been fetched for it.
async fn camera_journey(name: &'static str, setup: &str, decoder: bool) {
    Journey::start(name)
        .await
        .run(async |j| {
            j.type_amount(&["6", "7", "00"]).await?;
            j.browser.find(Locator::Css("#flow-scan")).await?.click().await?;
            j.browser.execute(setup, vec![]).await?;
            j.wait_for("#use-camera").await?.click().await?;
            let reference = j.sale_reaches("awaitingCustomer").await?;
            let sim = j.server.sim().ok_or("simulator")?;
            let record = sim
                .payment_records()
                .into_iter()
                .find(|p| p.reference == reference)
                .ok_or("not at the platform")?;
            if record.user_flow != kasse_vipps::epayment::UserFlow::PushMessage {
                return Err(
                    format!("a camera scan should push to the customer, not {:?}", record.user_flow).into()
                );
            }
            // The camera is off once it has read the code.
            if j.browser.find(Locator::Css("#camera")).await.is_ok() {
                return Err("the camera still films after the code was read".into());
            }
            let fetched = j
                .browser
                .execute(
                    "return performance.getEntriesByType('resource').some(e => e.name.includes('decoder'))",
                    vec![],
                )
                .await?;
            if fetched != serde_json::json!(decoder) {
                return Err(format!("the decoder's worker fetched: {fetched}, expected {decoder}").into());
            }
            j.approve_request(KARI, &reference).await?;
            j.sale_reaches("captured").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn in_the_demo_a_customer_checks_in_at_the_tills_sticker_and_the_till_charges_them() {
    Journey::start("check-in")
        .await
        .run(async |j| {
            // The demo's set-up, as `kasse-server serve` makes it: the till's callback sticker
            // is up on the simulator's walls, so the phone page has it nearby.
            let report = j.server.put_up_stickers_on_simulator().await.ok_or("on the simulator")??;
            if report.failed() > 0 {
                return Err(format!("the stickers: {}", report.summary()).into());
            }

            j.type_amount(&["3", "2", "00"]).await?;
            // Kari scans the sticker with her phone.
            j.on_phone(KARI, async |j| {
                j.wait_for("[data-merchant-qr-id='till-1'] button").await?.click().await?;
                j.wait_for(".outcome.ok").await?;
                Ok(())
            })
            .await?;
            j.wait_for(".check-in button.charge").await?.click().await?;
            let reference = j.sale_reaches("awaitingCustomer").await?;
            j.approve_request(KARI, &reference).await?;
            j.sale_reaches("captured").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_payment_nobody_answers_expires_on_the_platforms_clock_and_the_till_says_so() {
    Journey::start("expiry")
        .await
        .run(async |j| {
            j.type_amount(&["2", "00"]).await?;
            let (reference, _) = j.show_qr().await?;
            j.wait_for(".countdown time").await?;
            // Ten minutes pass on the platform.
            j.server.sim().ok_or("simulator")?.advance_clock(chrono::Duration::minutes(10));
            j.sale_reaches("expired").await?;
            if j.headline().await? != "Expired" {
                return Err(format!("the till says {:?}, not Expired", j.headline().await?).into());
            }
            let payment =
                j.server.sim().ok_or("simulator")?.payment(MSN, &reference).ok_or("at the platform")?;
            if payment.state != kasse_vipps::epayment::State::Expired {
                return Err(format!("the platform says {:?}", payment.state).into());
            }
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn an_amount_presented_at_the_sticker_waits_there_until_taken_back() {
    Journey::start("present")
        .await
        .run(async |j| {
            j.type_amount(&["4", "5", "00"]).await?;
            j.browser.find(Locator::Css("#flow-present")).await?.click().await?;
            let waiting = j.wait_for("#presented").await?.text().await?;
            if !waiting.contains("45.00") {
                return Err(format!("the till shows {waiting:?}").into());
            }
            j.browser.find(Locator::Css("#presented button")).await?.click().await?;
            j.browser.wait().at_most(PATIENCE).for_element(Locator::Css("#flow-present")).await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn in_norwegian_a_sale_paid_by_a_scanned_personal_qr_says_so_in_norwegian_on_every_screen() {
    Journey::start("personal-qr-norwegian")
        .await
        .run(async |j| {
            j.browser.find(Locator::Css("#language")).await?.select_by_value("nb").await?;
            j.type_amount(&["4", "5", "00"]).await?;
            j.browser.find(Locator::Css("#flow-scan")).await?.click().await?;
            let code = format!("https://qr.vipps.no/28/2/01/031/{KARI}?v=1");
            j.wait_for("#scan-input").await?.send_keys(&format!("{code}\u{E007}")).await?;
            let reference = j.sale_reaches("awaitingCustomer").await?;
            wait_for_text(&j.browser, ".sale .customer", "Personlig QR-kode").await?;
            j.approve_request(KARI, &reference).await?;
            j.sale_reaches("captured").await?;
            wait_for_text(&j.browser, ".sale .customer", "Personlig QR-kode").await?;

            // The sale's details and the day's history (the language is remembered on this device).
            j.browser.find(Locator::Css("#details")).await?.click().await?;
            let detail = format!("main.detail[data-reference='{reference}']");
            wait_in(&j.browser, &detail).await?;
            wait_for_text(&j.browser, &format!("{detail} .facts"), "Personlig QR-kode").await?;
            let facts = j.browser.find(Locator::Css(&format!("{detail} .facts"))).await?.text().await?;
            if facts.contains("Personal QR code") {
                return Err(format!("the details still say it in English: {facts:?}").into());
            }
            j.browser.find(Locator::Css("#nav-history")).await?.click().await?;
            let row = format!("#sales tr[data-reference='{reference}']");
            wait_for_text(&j.browser, &row, "Personlig QR-kode").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_receipt_line_is_added_at_the_vat_rate_the_form_shows_after_it_was_closed_and_opened() {
    Journey::start("line-vat")
        .await
        .run(async |j| {
            j.browser.goto(&j.url("till")).await?;
            j.wait_for("#show-qr").await?;
            j.browser.find(Locator::Css("#flow-lines")).await?.click().await?;
            j.wait_for("#line-vat").await?.select_by_value("1500").await?;
            // Closed and opened again: the form is made anew, and shows the rate still chosen.
            j.browser.find(Locator::Css("#flow-lines")).await?.click().await?;
            j.browser.find(Locator::Css("#flow-lines")).await?.click().await?;
            let shown = j.wait_for("#line-vat").await?.prop("value").await?;
            if shown.as_deref() != Some("1500") {
                return Err(format!("the reopened form shows the rate {shown:?}, chosen was 15 %").into());
            }
            j.browser.find(Locator::Css("#line-name")).await?.send_keys("Kaffe").await?;
            j.browser.find(Locator::Css("#line-price")).await?.send_keys("45").await?;
            j.browser.find(Locator::Css("#line-add")).await?.click().await?;
            wait_for_text(&j.browser, ".lines .line-list li .vat", "15 %").await?;
            Ok(())
        })
        .await;
}
