//! The till on a wide screen (a desktop PoS monitor, a landscape tablet): the sale on one side,
//! the keypad and what to do on the other, and a whole sale without scrolling. Below 1024 px it
//! keeps its one column.

use serde_json::Value;

use super::*;

/// A desktop PoS monitor, in CSS pixels.
const MONITOR: (u32, u32) = (1280, 800);

/// Where an element is on the page, in CSS pixels.
#[derive(Debug, Clone, Copy)]
struct Rect {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

impl Journey {
    /// Where the first element matching `css` is, in the page's coordinates.
    async fn rect(&self, css: &str) -> Result<Rect, Box<dyn Error>> {
        let script = "const r = document.querySelector(arguments[0]).getBoundingClientRect(); \
                      return [r.left, r.top + scrollY, r.right, r.bottom + scrollY];";
        let found = self.browser.execute(script, vec![Value::from(css)]).await?;
        let at = |i: usize| found.get(i).and_then(Value::as_f64).ok_or_else(|| format!("no `{css}`"));
        Ok(Rect { left: at(0)?, top: at(1)?, right: at(2)?, bottom: at(3)? })
    }

    /// Fails unless the page fits the screen: nothing below it, and nothing beside it.
    async fn fits_the_screen(&self, what: &str) -> Outcome {
        let sizes = self
            .browser
            .execute(
                "const d = document.documentElement; \
                 return [d.scrollWidth, d.scrollHeight, innerWidth, innerHeight];",
                vec![],
            )
            .await?;
        let size = |i: usize| sizes.get(i).and_then(Value::as_u64).unwrap_or(u64::MAX);
        if size(0) > size(2) || size(1) > size(3) {
            return Err(format!("{what} needs scrolling: {sizes} (page width, height; screen)").into());
        }
        Ok(())
    }

    /// Fails unless every element matching one of `selectors` is on screen at once.
    async fn all_on_screen(&self, selectors: &[&str]) -> Outcome {
        let (_, height) = MONITOR;
        for css in selectors {
            let rect = self.rect(css).await?;
            if rect.bottom > f64::from(height) || rect.right <= rect.left {
                return Err(format!("`{css}` is not on screen: {rect:?}").into());
            }
        }
        Ok(())
    }
}

#[tokio::test]
#[ignore = "browser journey: run by `cargo xtask test`"]
async fn on_a_wide_screen_the_till_shows_the_sale_beside_the_keypad_and_a_whole_sale_needs_no_scrolling() {
    Journey::start("wide-till")
        .await
        .run(async |j| {
            let (width, height) = MONITOR;
            j.screen(width, height, false).await?;
            j.type_amount(&["1", "2", "3", "5", "0"]).await?;
            j.browser.find(Locator::Css("#description")).await?.send_keys("Two buns and a coffee").await?;
            let amount = j.rect("#amount").await?;
            let keypad = j.rect(".keypad").await?;
            if amount.right > keypad.left || keypad.top > amount.bottom {
                return Err(
                    format!("the amount ({amount:?}) should be beside the keypad ({keypad:?})").into()
                );
            }
            j.all_on_screen(&["#amount", "#description", ".keypad", "#show-qr", "#flow-present"]).await?;
            j.fits_the_screen("a sale being typed").await?;
            j.keep_screenshot("till-wide-sale.png").await?;

            let (reference, qr_text) = j.show_qr().await?;
            let facts = j.rect(".sale-facts").await?;
            let pay = j.rect(".sale-pay").await?;
            if facts.right > pay.left {
                return Err(format!("what is sold ({facts:?}) should be beside the QR code ({pay:?})").into());
            }
            let description = j.browser.find(Locator::Css(".sale-description")).await?.text().await?;
            if description != "Two buns and a coffee" {
                return Err(format!("the sale's description shows as {description:?}").into());
            }
            j.all_on_screen(&[".headline", ".sale-amount", "svg.qr", ".countdown", "#cancel"]).await?;
            j.fits_the_screen("a sale waiting for the customer").await?;
            j.keep_screenshot("till-wide-qr.png").await?;

            j.customer_answers(&qr_text, "approve").await?;
            j.wait_for(".sale[data-status='captured']").await?;
            j.all_on_screen(&[".headline", "#next-sale"]).await?;
            j.fits_the_screen("a paid sale").await?;
            let sim = j.server.sim().ok_or("simulator")?;
            let payment = sim.payment(MSN, &reference).ok_or("at the platform")?;
            if payment.aggregate.captured_amount.value != 12_350 {
                return Err(format!("the platform captured {:?}", payment.aggregate).into());
            }

            // Narrower than 1024 px: one column, the keypad under the amount, as it always was.
            j.browser.find(Locator::Css("#next-sale")).await?.click().await?;
            j.screen(1000, height, false).await?;
            j.wait_for("#show-qr").await?;
            let amount = j.rect("#amount").await?;
            let keypad = j.rect(".keypad").await?;
            if keypad.top < amount.bottom {
                return Err(format!(
                    "below 1024 px the keypad ({keypad:?}) goes under the amount ({amount:?})"
                )
                .into());
            }
            Ok(())
        })
        .await;
}
