//! The simulated customer's phone: the simulator's phone page, answered with the page's own forms,
//! for a sale's QR code, a push payment request, or a callback sticker scanned with its Scan button.

use super::*;

impl TestApp {
    /// The simulated customer scans the sale's QR code and presses a button on the phone page;
    /// returns the phone page's status.
    pub(crate) async fn try_answer_on_phone(&self, sale: &Sale, action: &str) -> StatusCode {
        let qr = sale.qr.as_deref().expect("a QR sale awaiting the customer has a QR code");
        let response = self
            .http
            .post(qr)
            .form(&[("action", action), ("customer", CUSTOMER)])
            .send()
            .await
            .expect("the phone page answers");
        response.status()
    }

    /// Like `try_answer_on_phone`, insisting the phone took the answer.
    pub(crate) async fn answer_on_phone(&self, sale: &Sale, action: &str) {
        let status = self.try_answer_on_phone(sale, action).await;
        assert!(status.is_success(), "the phone page took the answer: {status}");
    }

    /// The customer approves the sale in the app.
    pub(crate) async fn approve(&self, sale: &Sale) {
        self.answer_on_phone(sale, "approve").await;
    }

    /// The customer declines the sale in the app.
    pub(crate) async fn decline(&self, sale: &Sale) {
        self.answer_on_phone(sale, "decline").await;
    }

    /// The page of a simulated customer's phone (`customer` is their number).
    pub(crate) async fn phone_page(&self, customer: &str) -> String {
        phone_page(self.sim(), customer).await
    }

    /// Whether a push payment request for `reference` is waiting on `customer`'s phone.
    pub(crate) async fn on_phone(&self, customer: &str, reference: &str) -> bool {
        self.phone_page(customer).await.contains(&format!("data-reference=\"{reference}\""))
    }

    /// `customer` answers the push payment request for `reference` on their phone page, with
    /// the page's own form; returns the phone's status.
    pub(crate) async fn answer_request_on_phone(
        &self,
        customer: &str,
        reference: &str,
        action: &str,
    ) -> StatusCode {
        answer_request_on_phone(self.sim(), customer, reference, action).await
    }

    /// `customer` approves the push payment request for `reference` on their phone.
    pub(crate) async fn approve_on_phone(&self, customer: &str, reference: &str) {
        let status = self.answer_request_on_phone(customer, reference, "approve").await;
        assert!(status.is_success(), "the phone took the approval: {status}");
    }

    /// `customer` declines the push payment request for `reference` on their phone.
    pub(crate) async fn decline_on_phone(&self, customer: &str, reference: &str) {
        let status = self.answer_request_on_phone(customer, reference, "decline").await;
        assert!(status.is_success(), "the phone took the refusal: {status}");
    }

    /// Kari scans the callback sticker `merchant_qr_id` with her phone page's Scan button.
    pub(crate) async fn kari_scans(&self, merchant_qr_id: &str) {
        self.scan_callback_sticker(CUSTOMER, merchant_qr_id).await;
    }

    /// `customer` scans the callback sticker `merchant_qr_id` with the phone page's Scan button.
    pub(crate) async fn scan_callback_sticker(&self, customer: &str, merchant_qr_id: &str) {
        scan_callback_sticker(self.sim(), customer, merchant_qr_id).await;
    }
}

/// `customer` scans the callback sticker `merchant_qr_id` at `sim` with the phone page's Scan
/// button.
pub(crate) async fn scan_callback_sticker(sim: &SimHandle, customer: &str, merchant_qr_id: &str) {
    let page = phone_page(sim, customer).await;
    let action = attribute_after(&page, &format!("data-merchant-qr-id=\"{merchant_qr_id}\""), "action")
        .unwrap_or_else(|| panic!("sticker {merchant_qr_id} is on the phone page: {page}"));
    let url = sim.base_url().join(action).unwrap();
    let camera =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let scanned = camera.post(url).form(&[("customer", customer)]).send().await.unwrap();
    assert_eq!(scanned.status(), StatusCode::SEE_OTHER, "the scan checked {customer} in");
}

/// The page of a simulated customer's phone (`customer` is their number).
pub(crate) async fn phone_page(sim: &SimHandle, customer: &str) -> String {
    let mut url = sim.phone_url();
    url.query_pairs_mut().append_pair("customer", customer);
    let page = browser().get(url).send().await.expect("the phone page answers");
    assert_eq!(page.status(), StatusCode::OK, "the phone page opens");
    page.text().await.unwrap()
}

/// `customer` answers the push payment request for `reference` on their phone page, with the
/// page's own form; returns the phone's status.
pub(crate) async fn answer_request_on_phone(
    sim: &SimHandle,
    customer: &str,
    reference: &str,
    action: &str,
) -> StatusCode {
    let page = phone_page(sim, customer).await;
    let form = attribute_after(&page, &format!("data-reference=\"{reference}\""), "action")
        .unwrap_or_else(|| panic!("{reference} is not waiting on {customer}'s phone: {page}"));
    let url = sim.base_url().join(form).unwrap();
    let response = browser()
        .post(url)
        .form(&[("action", action), ("customer", customer)])
        .send()
        .await
        .expect("the phone page answers");
    response.status()
}

/// The value of `attribute` in the first tag at or after `marker` in `html`, if any.
pub(crate) fn attribute_after<'a>(html: &'a str, marker: &str, attribute: &str) -> Option<&'a str> {
    let rest = &html[html.find(marker)?..];
    let start = rest.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    Some(&rest[start..start + rest[start..].find('"')?])
}
