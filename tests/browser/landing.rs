//! Browser journeys of the sticker landing page (`/q/{sticker}`), as a customer's phone uses it:
//! a window of a phone's size (360 × 740) beside the till, which presents the amount. The
//! customer types a number, or opens the app instead, and answers on the simulator's phone page
//! or on its app-switch page; the landing page shows each step live. How fast the page loads on
//! a slow phone is measured by `cargo xtask bench` (`xtask/src/landing_load.rs`), not tested
//! here: a test never asserts a wall-clock time.

use serde_json::{Value, json};

use super::*;

/// Kari, the simulator's first customer, and her number as she types it.
const KARI: &str = "4791234567";
const KARI_TYPED: &str = "912 34 567";
/// The demo till's sticker, and the demo's open-amount (donations) sticker: 10.00 to 1000.00.
const TILL_STICKER: &str = "q/demo";
const DONATIONS: &str = "q/donations";
/// A phone's screen, in CSS pixels.
const PHONE: (u32, u32) = (360, 740);

impl Journey {
    /// Makes the current window a phone's screen.
    async fn phone_screen(&self) -> Outcome {
        let (width, height) = PHONE;
        self.screen(width, height, true).await
    }

    /// The cashier types `keys` on the till and presents the amount at the till's sticker.
    async fn present(&self, keys: &[&str]) -> Outcome {
        self.type_amount(keys).await?;
        self.browser.find(Locator::Css("#flow-present")).await?.click().await?;
        self.wait_for("#presented").await?;
        Ok(())
    }

    /// Kari's number asks to give `value` øre on the donations sticker, straight through its API
    /// from the current window (as a page would, with no typing); fails unless it is started.
    pub(super) async fn donate_from_kari(&self, value: i64) -> Result<String, Box<dyn Error>> {
        let answer = self
            .browser
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch('/api/stickers/donations/payments', {
                     method: 'POST',
                     headers: { 'content-type': 'application/json' },
                     body: JSON.stringify({ amount: { value: arguments[0], currency: 'NOK' },
                                            phoneNumber: '+4791234567' }),
                 }).then((r) => r.json().then((body) => done([r.status, body.token])), () => done([0, null]));",
                vec![json!(value)],
            )
            .await?;
        match (answer.get(0), answer.get(1).and_then(|t| t.as_str())) {
            (Some(status), Some(token)) if *status == json!(201) => Ok(token.to_owned()),
            _ => Err(format!("payment {value} was answered {answer}").into()),
        }
    }

    /// The customer scans a sticker: a new window, a phone's size, at `path`, once the page is
    /// ready to use. The window stays the current one.
    async fn scan_sticker(&self, path: &str) -> Outcome {
        let phone = self.browser.new_window(true).await?;
        self.browser.switch_to_window(phone.handle).await?;
        self.phone_screen().await?;
        self.browser.goto(&self.url(path)).await?;
        self.wait_for("html[data-ready]").await?;
        Ok(())
    }

    /// Types `number` into the landing page's phone field (replacing what is there).
    async fn type_number(&self, number: &str) -> Outcome {
        let field = self.wait_for("#phone").await?;
        field.clear().await?;
        field.send_keys(number).await?;
        Ok(())
    }

    /// Types `number` and presses Pay.
    async fn pay_with(&self, number: &str) -> Outcome {
        self.type_number(number).await?;
        self.browser.find(Locator::Css("#pay")).await?.click().await?;
        Ok(())
    }

    /// Waits for an element matching `css`, also across a navigation (the app switch goes to the
    /// platform's page and comes back): chromedriver aborts a search that a navigation
    /// interrupts, and the search then starts again on the new page.
    async fn wait_across_navigation(
        &self,
        css: &str,
    ) -> Result<fantoccini::elements::Element, Box<dyn Error>> {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            match self.browser.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await {
                Ok(element) => return Ok(element),
                Err(error)
                    if error.to_string().contains("aborted by navigation")
                        && std::time::Instant::now() < deadline => {}
                Err(error) => return Err(format!("waiting for `{css}`: {error}").into()),
            }
        }
    }

    /// The landing page shows the payment at `step` (`approve`, `paid`, `declined`, …).
    async fn step_is(&self, step: &str) -> Outcome {
        self.wait_across_navigation(&format!(".status[data-step='{step}']")).await?;
        Ok(())
    }

    /// The landing page's notice comes to read exactly `sentence`.
    async fn notice_reads(&self, sentence: &str) -> Outcome {
        let xpath = format!("//p[@id='notice'][normalize-space(.)=\"{sentence}\"]");
        if self.browser.wait().at_most(PATIENCE).for_element(Locator::XPath(&xpath)).await.is_err() {
            let shown = match self.browser.find(Locator::Css("#notice")).await {
                Ok(notice) => notice.text().await?,
                Err(_) => "no notice at all".to_owned(),
            };
            return Err(format!("the page should say {sentence:?}, it says {shown:?}").into());
        }
        Ok(())
    }

    /// The references of the payments at the platform.
    fn references(&self) -> Result<Vec<String>, Box<dyn Error>> {
        let sim = self.server.sim().ok_or("the simulator runs inside the server")?;
        Ok(sim.payment_records().into_iter().map(|p| p.reference).collect())
    }

    /// The one payment at the platform that is not among `before`.
    fn new_reference(&self, before: &[String]) -> Result<String, Box<dyn Error>> {
        let new: Vec<_> = self.references()?.into_iter().filter(|r| !before.contains(r)).collect();
        match new.as_slice() {
            [reference] => Ok(reference.clone()),
            other => Err(format!("expected one new payment at the platform, found {other:?}").into()),
        }
    }

    /// `customer` answers (`approve` or `decline`) the payment request `reference` on the
    /// simulator's phone page, in a window of its own, and comes back.
    async fn answer_on_phone(&self, customer: &str, reference: &str, answer: &str) -> Outcome {
        let back = self.browser.window().await?;
        let app = self.browser.new_window(true).await?;
        self.browser.switch_to_window(app.handle).await?;
        let sim = self.server.sim().ok_or("the simulator runs inside the server")?;
        self.browser.goto(&format!("{}?customer={customer}", sim.phone_url())).await?;
        let answered = match self.wait_for(&format!("[data-reference='{reference}'] button.{answer}")).await {
            Ok(button) => {
                button.click().await?;
                // The phone shows the outcome once the answer has reached the platform.
                self.wait_for(".outcome").await.map(|_| ())
            }
            Err(_) => Err(format!("{reference} is not waiting on {customer}'s phone").into()),
        };
        self.browser.close_window().await?;
        self.browser.switch_to_window(back).await?;
        answered
    }

    /// The landing page's payment request reached the platform: its reference, checked to be a
    /// push of `value` øre.
    fn pushed(&self, before: &[String], value: i64) -> Result<String, Box<dyn Error>> {
        let reference = self.new_reference(before)?;
        let sim = self.server.sim().ok_or("simulator")?;
        let record = sim.payment_records().into_iter().find(|p| p.reference == reference).ok_or("gone")?;
        if record.user_flow != kasse_vipps::epayment::UserFlow::PushMessage || record.amount.value != value {
            return Err(format!("expected a push of {value}, the platform got {record:?}").into());
        }
        Ok(reference)
    }
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_customer_scans_the_sticker_types_their_number_approves_in_the_app_and_sees_paid() {
    Journey::start("landing-phone")
        .await
        .run(async |j| {
            j.present(&["4", "5", "00"]).await?;
            j.scan_sticker(TILL_STICKER).await?;
            let merchant = j.wait_for("#merchant").await?.text().await?;
            let amount = j.wait_for(".to-pay #amount").await?.text().await?;
            if merchant != "Kaffebrenneriet Grünerløkka" || !amount.contains("45.00") {
                return Err(format!("the page shows {merchant:?} and {amount:?}").into());
            }
            let field = j.wait_for("#phone").await?;
            if field.attr("type").await?.as_deref() != Some("tel")
                || field.attr("autocomplete").await?.as_deref() != Some("tel")
            {
                return Err("the number field must be type=tel, autocomplete=tel".into());
            }
            j.type_number(KARI_TYPED).await?;
            // Nothing is wider than the phone: no sideways scrolling (WCAG 1.4.10, reflow).
            let widths = j
                .browser
                .execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![])
                .await?;
            if widths[0].as_u64() > widths[1].as_u64() {
                return Err(
                    format!("the page is wider than the phone: {widths} (scroll width, screen)").into()
                );
            }
            j.keep_screenshot("landing-before.png").await?;

            let before = j.references()?;
            j.browser.find(Locator::Css("#pay")).await?.click().await?;
            j.step_is("approve").await?;
            let reference = j.pushed(&before, 4_500)?;
            let line = j.browser.find(Locator::Css(".status .line")).await?.text().await?;
            if !line.ends_with("567.") || line.contains("91234") {
                return Err(format!("the number should show masked: {line:?}").into());
            }
            j.wait_for("#countdown").await?;

            j.answer_on_phone(KARI, &reference, "approve").await?;
            j.step_is("paid").await?;
            let headline = j.browser.find(Locator::Css("#status")).await?.text().await?;
            if headline != "Paid" {
                return Err(format!("the page says {headline:?}, not Paid").into());
            }
            j.keep_screenshot("landing-paid.png").await?;
            let sim = j.server.sim().ok_or("simulator")?;
            let payment = sim.payment(MSN, &reference).ok_or("at the platform")?;
            if payment.aggregate.captured_amount.value != 4_500 {
                return Err(format!("the platform captured {:?}", payment.aggregate).into());
            }
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_customer_who_scans_before_the_cashier_presents_sees_the_amount_come_and_go_without_a_tap() {
    Journey::start("landing-waits-live")
        .await
        .run(async |j| {
            let till = j.browser.window().await?;
            j.scan_sticker(TILL_STICKER).await?;
            let phone = j.browser.window().await?;
            j.wait_for("main[data-stage='nothing']").await?;
            if j.browser.find(Locator::Css("#check-again")).await.is_ok() {
                return Err("while the page follows the sticker live there is nothing to tap".into());
            }
            // Marks this very page: a reload or a new page would not carry it.
            j.browser.execute("window.kasseSamePage = true;", vec![]).await?;
            j.keep_screenshot("landing-waiting.png").await?;

            j.browser.switch_to_window(till.clone()).await?;
            j.present(&["4", "5", "00"]).await?;
            j.browser.switch_to_window(phone.clone()).await?;
            let amount = j.wait_for("main[data-stage='form'] .to-pay #amount").await?.text().await?;
            if !amount.contains("45.00") {
                return Err(format!("the page shows {amount:?}, not 45.00").into());
            }
            j.type_number(KARI_TYPED).await?;

            // The cashier takes it back: the page waits again.
            j.browser.switch_to_window(till.clone()).await?;
            j.browser.find(Locator::Css("#take-back")).await?.click().await?;
            j.browser.switch_to_window(phone.clone()).await?;
            j.wait_for("main[data-stage='nothing']").await?;

            // And presents another amount, which the customer pays without having tapped anything.
            j.browser.switch_to_window(till).await?;
            j.present(&["5", "2", "00"]).await?;
            j.browser.switch_to_window(phone).await?;
            let amount = j.wait_for("main[data-stage='form'] .to-pay #amount").await?.text().await?;
            if !amount.contains("52.00") {
                return Err(format!("the page shows {amount:?}, not 52.00").into());
            }
            let same = j.browser.execute("return window.kasseSamePage === true;", vec![]).await?;
            if same != Value::Bool(true) {
                return Err("the page was loaded again: it should have changed in place".into());
            }
            let before = j.references()?;
            j.pay_with(KARI_TYPED).await?;
            j.step_is("approve").await?;
            let reference = j.pushed(&before, 5_200)?;
            j.answer_on_phone(KARI, &reference, "approve").await?;
            j.step_is("paid").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn an_open_amount_sticker_switched_off_says_so_on_the_waiting_page_and_takes_amounts_again_when_on() {
    use kasse_server::ops::sticker_switch::switch_with;
    Journey::start("landing-switched-off")
        .await
        .run(async |j| {
            j.scan_sticker(DONATIONS).await?;
            j.wait_for("#amount-input").await?;
            switch_with(&j.server.tools(), "donations", false).await?;
            let said = j.wait_for("main[data-stage='nothing'] h2").await?.text().await?;
            if said != "Not taking payments right now" {
                return Err(format!("the switched-off sticker's page says {said:?}").into());
            }
            switch_with(&j.server.tools(), "donations", true).await?;
            j.wait_for("main[data-stage='form'] #amount-input").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_customer_opens_the_app_instead_approves_there_and_comes_back_to_paid() {
    Journey::start("landing-app-switch")
        .await
        .run(async |j| {
            j.present(&["3", "9", "00"]).await?;
            j.scan_sticker(TILL_STICKER).await?;
            let before = j.references()?;
            j.browser.find(Locator::Css("#open-app")).await?.click().await?;
            // The browser goes to the platform's page (the app, on a real phone).
            let sim = j.server.sim().ok_or("simulator")?;
            j.wait_across_navigation("button.approve").await?;
            let there = j.browser.current_url().await?;
            if !there.as_str().starts_with(sim.base_url().as_str()) {
                return Err(format!("the app switch went to {there}, not the platform").into());
            }
            let reference = j.new_reference(&before)?;
            let record =
                sim.payment_records().into_iter().find(|p| p.reference == reference).ok_or("gone")?;
            if record.user_flow != kasse_vipps::epayment::UserFlow::WebRedirect {
                return Err(format!("an app switch is WEB_REDIRECT, not {:?}", record.user_flow).into());
            }
            j.browser.find(Locator::Css("button.approve")).await?.click().await?;
            // The platform sends the customer back to the page, which finds the payment.
            j.step_is("paid").await?;
            let back = j.browser.current_url().await?;
            if back.path() != "/q/demo" || !back.query().is_some_and(|q| q.starts_with("payment=")) {
                return Err(format!("the customer came back to {back}").into());
            }
            let payment = sim.payment(MSN, &reference).ok_or("at the platform")?;
            if payment.aggregate.captured_amount.value != 3_900 {
                return Err(format!("the platform captured {:?}", payment.aggregate).into());
            }
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_customer_who_declines_in_the_app_is_told_nothing_was_charged_and_can_send_it_again() {
    Journey::start("landing-declined")
        .await
        .run(async |j| {
            j.present(&["2", "5", "00"]).await?;
            j.scan_sticker(TILL_STICKER).await?;
            let before = j.references()?;
            j.pay_with(KARI_TYPED).await?;
            j.step_is("approve").await?;
            let first = j.pushed(&before, 2_500)?;
            j.answer_on_phone(KARI, &first, "decline").await?;
            j.step_is("declined").await?;
            let line = j.browser.find(Locator::Css(".status .line")).await?.text().await?;
            if !line.contains("Nothing was charged") {
                return Err(format!("the page says {line:?}").into());
            }

            // She changes her mind: the same amount goes to her phone again.
            let before = j.references()?;
            j.browser.find(Locator::Css("#send-again")).await?.click().await?;
            j.step_is("approve").await?;
            let second = j.pushed(&before, 2_500)?;
            j.answer_on_phone(KARI, &second, "approve").await?;
            j.step_is("paid").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn the_till_shows_the_masked_number_that_claimed_its_amount_and_one_tap_takes_it_back() {
    Journey::start("landing-take-back")
        .await
        .run(async |j| {
            j.present(&["4", "5", "00"]).await?;
            let till = j.browser.window().await?;
            j.scan_sticker(TILL_STICKER).await?;
            let phone = j.browser.window().await?;
            let before = j.references()?;
            j.pay_with(KARI_TYPED).await?;
            j.step_is("approve").await?;
            let reference = j.pushed(&before, 4_500)?;

            // The till shows, live, whose payment took the amount: the number, masked.
            j.browser.switch_to_window(till).await?;
            let claim = j.wait_for("#presented[data-claimed='true'] #claimed-by").await?.text().await?;
            if !claim.starts_with("Claimed by +47 ") || !claim.ends_with("567") || claim.contains("91234") {
                return Err(format!("the till says {claim:?}").into());
            }
            j.keep_screenshot("till-claimed.png").await?;

            // The cashier takes it back in one tap: Kari's request is cancelled at the platform.
            j.browser.find(Locator::Css("#take-back")).await?.click().await?;
            j.wait_for(".sale[data-status='cancelled']").await?;
            let sim = j.server.sim().ok_or("simulator")?;
            let payment = sim.payment(MSN, &reference).ok_or("at the platform")?;
            if payment.state != kasse_vipps::epayment::State::Terminated {
                return Err(format!("the platform says {:?}", payment.state).into());
            }
            j.browser.switch_to_window(phone).await?;
            j.step_is("cancelled").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_request_nobody_approves_expires_on_the_platforms_clock_and_can_be_sent_again() {
    Journey::start("landing-expired")
        .await
        .run(async |j| {
            j.present(&["1", "8", "00"]).await?;
            j.scan_sticker(TILL_STICKER).await?;
            let before = j.references()?;
            j.pay_with(KARI_TYPED).await?;
            j.step_is("approve").await?;
            j.wait_for("#countdown").await?;
            let first = j.pushed(&before, 1_800)?;
            // Ten minutes pass on the platform.
            j.server.sim().ok_or("simulator")?.advance_clock(chrono::Duration::minutes(10));
            j.step_is("expired").await?;
            if j.browser.find(Locator::Css("#countdown")).await.is_ok() {
                return Err("an expired request still counts down".into());
            }
            let before = j.references()?;
            j.browser.find(Locator::Css("#send-again")).await?.click().await?;
            j.step_is("approve").await?;
            let second = j.pushed(&before, 1_800)?;
            if second == first {
                return Err("sending again must be a new payment".into());
            }
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn numbers_no_payment_can_reach_are_refused_with_their_reason_before_anything_is_sent() {
    Journey::start("landing-bad-numbers")
        .await
        .run(async |j| {
            j.present(&["4", "5", "00"]).await?;
            j.scan_sticker(TILL_STICKER).await?;
            for (typed, sentence) in [
                ("912 34", "The number is too short."),
                ("912 3A 567", "A phone number has only digits."),
                (
                    "+46 70 123 45 67",
                    "Only Norwegian (+47), Danish (+45) and Finnish (+358) numbers can pay here.",
                ),
            ] {
                j.pay_with(typed).await?;
                j.notice_reads(sentence).await?;
                let field = j.browser.find(Locator::Css("#phone")).await?;
                if field.attr("aria-invalid").await?.as_deref() != Some("true") {
                    return Err(format!("{typed:?}: the field is not marked invalid").into());
                }
                if !j.references()?.is_empty() {
                    return Err(format!("{typed:?} reached the platform").into());
                }
            }
            // A Danish number is fine once Denmark is chosen; the store's country comes first.
            let first = j.browser.find(Locator::Css("#country option")).await?.attr("value").await?;
            if first.as_deref() != Some("47") {
                return Err(format!("the store's country should come first, not {first:?}").into());
            }
            j.browser.find(Locator::Css("#country")).await?.select_by_value("45").await?;
            j.pay_with("20 03 18 01").await?;
            j.step_is("approve").await?;
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn too_many_requests_to_one_number_get_a_sentence_in_the_customers_language_saying_when() {
    Journey::start("landing-rate-limit")
        .await
        .run(async |j| {
            j.scan_sticker(DONATIONS).await?;
            // Three requests to Kari's number in the last ten minutes, from wherever.
            for value in [1_000, 1_100, 1_200] {
                j.donate_from_kari(value).await?;
            }
            j.browser.find(Locator::Css("#language")).await?.select_by_value("nb").await?;
            j.wait_for("#amount-input").await?.send_keys("50").await?;
            j.pay_with(KARI_TYPED).await?;
            j.notice_reads(
                "Dette nummeret har allerede fått flere betalingsforespørsler. Prøv igjen om 10 minutter.",
            )
            .await?;
            if j.references()?.len() != 3 {
                return Err("the fourth request reached the platform".into());
            }
            Ok(())
        })
        .await;
}

/// Makes the page lose the answer to its first payment request, as a phone's connection that
/// drops while the answer comes back: the request reaches the server, and the page hears only
/// that the network failed. Each payment request's Idempotency-Key is noted in
/// `window.paymentKeys`.
const LOSE_FIRST_ANSWER: &str = "
window.paymentKeys = [];
const realFetch = window.fetch;
let lost = false;
window.fetch = async function (input, init) {
    const pay = input instanceof Request && input.method === 'POST' && input.url.endsWith('/payments');
    if (pay) window.paymentKeys.push(input.headers.get('Idempotency-Key'));
    const response = await realFetch.call(window, input, init);
    if (pay && !lost) {
        lost = true;
        throw new TypeError('Failed to fetch');
    }
    return response;
};";

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_donation_paid_again_after_its_answer_was_lost_starts_one_payment_not_two() {
    Journey::start("landing-lost-answer")
        .await
        .run(async |j| {
            j.scan_sticker(DONATIONS).await?;
            j.browser.execute(LOSE_FIRST_ANSWER, vec![]).await?;
            j.wait_for("#amount-input").await?.send_keys("50").await?;
            let before = j.references()?;
            j.pay_with(KARI_TYPED).await?;
            j.wait_for("#notice").await?;
            // The customer taps Pay again.
            j.wait_for("#pay:not([disabled])").await?.click().await?;
            j.step_is("approve").await?;
            let reference = j.pushed(&before, 5_000)?;
            let keys = j.browser.execute("return window.paymentKeys;", vec![]).await?;
            let sent: Vec<&str> = keys.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            if sent.len() != 2 || sent[0] != sent[1] {
                return Err(format!("the two requests went with the keys {keys}").into());
            }
            j.answer_on_phone(KARI, &reference, "approve").await?;
            j.step_is("paid").await?;
            if j.references()?.len() != before.len() + 1 {
                return Err("a second payment reached the platform".into());
            }
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_reload_while_the_customer_approves_shows_the_same_payment_and_its_outcome() {
    Journey::start("landing-reload")
        .await
        .run(async |j| {
            j.present(&["6", "2", "00"]).await?;
            j.scan_sticker(TILL_STICKER).await?;
            let before = j.references()?;
            j.pay_with(KARI_TYPED).await?;
            j.step_is("approve").await?;
            let reference = j.pushed(&before, 6_200)?;
            let address = j.browser.current_url().await?;
            if !address.query().is_some_and(|q| q.starts_with("payment=")) {
                return Err(format!("the address does not name the payment: {address}").into());
            }

            j.browser.refresh().await?;
            j.wait_for("html[data-ready]").await?;
            j.step_is("approve").await?;
            j.wait_for("#countdown").await?;
            j.answer_on_phone(KARI, &reference, "approve").await?;
            j.step_is("paid").await?;
            if j.references()?.len() != 1 {
                return Err("the reload started another payment".into());
            }
            Ok(())
        })
        .await;
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn an_open_amount_sticker_takes_only_amounts_within_its_bounds_and_remembers_the_number_if_asked() {
    Journey::start("landing-open-amount")
        .await
        .run(async |j| {
            j.scan_sticker(DONATIONS).await?;
            let bounds = j.wait_for("#amount-bounds").await?.text().await?;
            if !bounds.contains("10.00") || !bounds.contains("1,000.00") {
                return Err(format!("the page should show the bounds: {bounds:?}").into());
            }
            let amount = j.wait_for("#amount-input").await?;
            j.type_number(KARI_TYPED).await?;
            for (typed, sentence) in [
                ("5", "The smallest amount is NOK\u{a0}10.00."),
                ("1000,50", "The largest amount is NOK\u{a0}1,000.00."),
                ("ten", "Type the amount in figures, like 50 or 49,90."),
            ] {
                amount.clear().await?;
                amount.send_keys(typed).await?;
                j.browser.find(Locator::Css("#pay")).await?.click().await?;
                j.notice_reads(sentence).await?;
                if !j.references()?.is_empty() {
                    return Err(format!("{typed:?} reached the platform").into());
                }
            }
            amount.clear().await?;
            amount.send_keys("25").await?;
            j.browser.find(Locator::Css("#remember")).await?.click().await?;
            let before = j.references()?;
            j.browser.find(Locator::Css("#pay")).await?.click().await?;
            j.step_is("approve").await?;
            let reference = j.pushed(&before, 2_500)?;
            j.answer_on_phone(KARI, &reference, "approve").await?;
            j.step_is("paid").await?;

            // Next time, on this phone, the number is filled in, until she forgets it.
            j.browser.goto(&j.url(DONATIONS)).await?;
            let kept = j.wait_for("#phone").await?.prop("value").await?;
            if kept.as_deref() != Some("+4791234567") {
                return Err(format!("the remembered number should be filled in, not {kept:?}").into());
            }
            j.browser.find(Locator::Css("#forget")).await?.click().await?;
            j.browser.refresh().await?;
            let after = j.wait_for("#phone").await?.prop("value").await?;
            if after.as_deref() != Some("") {
                return Err(format!("the number should be forgotten, the field holds {after:?}").into());
            }
            Ok(())
        })
        .await;
}
