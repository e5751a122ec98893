//! Browser journey: a PoS system starts a payment at the till through the terminal API; the till
//! shows it as it shows its own (amount, QR code, cancel), and the cashier's cancel reaches the
//! PoS.

use serde_json::{Value, json};

use super::*;

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn a_payment_a_pos_starts_shows_on_the_till_and_the_cashier_can_cancel_it() {
    Journey::start("pos-payment")
        .await
        .run(async |j| {
            let integrators = kasse_server::ops::integrators::Integrators::of_tools(&j.server.tools());
            let pos = integrators.add("Acme PoS", &["grunerlokka".to_owned()], None).await?;
            let http = reqwest::Client::builder().no_proxy().build()?;
            let started: Value = http
                .post(j.url("terminal/v1/tills/till-1/payments"))
                .bearer_auth(&pos.api_key)
                .header("idempotency-key", "order-77")
                .json(&json!({
                    "amount": {"value": 15_900, "currency": "NOK"},
                    "orderId": "77",
                    "payer": {"flow": "qr"},
                }))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let reference = started["reference"].as_str().ok_or("a reference")?.to_owned();

            // The till, idle until now, shows the PoS's payment like one of its own.
            j.wait_for(".sale[data-status='awaitingCustomer']").await?;
            let shown = j.browser.find(Locator::Css(".reference code")).await?.text().await?;
            if shown != reference {
                return Err(format!("the till shows {shown:?}, not the PoS's {reference}").into());
            }
            let page = j.browser.find(Locator::Css("main")).await?.text().await?;
            if !page.contains("159") {
                return Err(format!("the amount is not on the till: {page}").into());
            }
            j.wait_for(".sale[data-status='awaitingCustomer'] svg.qr").await?;

            j.browser.find(Locator::Css("#cancel")).await?.click().await?;
            j.wait_for(".sale[data-status='cancelled']").await?;
            let now: Value = http
                .get(j.url(&format!("terminal/v1/payments/{reference}")))
                .bearer_auth(&pos.api_key)
                .send()
                .await?
                .json()
                .await?;
            if now["status"] != "cancelled" {
                return Err(format!("the PoS reads {now}").into());
            }
            Ok(())
        })
        .await;
}
