//! The simulated customer's phone: plain HTML pages (no scripts) where one picks a customer, sees
//! their payment requests, and approves or declines, as the Vipps MobilePay app would let them.
//!
//! `/sim/pay/{token}` is also where a payment's QR code and landing-page link point, so scanning a
//! till's QR with a real phone on the same network opens the same approve/decline page. The same
//! goes for static stickers: `/sim/r/{print}` (a merchant redirect QR) forwards to the merchant's
//! page, and `/sim/c/{print}` (a merchant callback QR) checks a customer in, which sends the
//! merchant `user.checked-in.v1`. The phone page lists every sticker "nearby" with a Scan button,
//! and shows the customer's own personal QR code for a cashier's scanner.
//!
//! Each page copies what it shows out of the world while holding its lock, lets go, and only
//! then renders: drawing HTML (and QR codes) never holds up the platform's API calls.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use kasse_vipps::epayment::{Amount, State as PaymentState, UserFlow};
use serde::Deserialize;

use crate::Sim;
use crate::config::SimCustomer;
use crate::drawing::{self, Format};
use crate::qr::{Sticker, StickerKind};
use crate::world::Payment;

/// The edge of a payment's QR code as a PNG, in pixels.
const PAYMENT_QR_PNG_SIZE: u32 = 400;

/// The phone routes.
pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/sim/phone", get(phone))
        .route("/sim/pay/{token}", get(pay_page).post(pay_answer))
        .route("/sim/qr-image/{token}", get(qr_image))
        .route("/sim/r/{print}", get(scan_redirect_sticker))
        .route("/sim/c/{print}", get(callback_sticker_page).post(scan_callback_sticker))
}

#[derive(Debug, Deserialize)]
struct CustomerQuery {
    customer: Option<String>,
    /// The print of the callback sticker the customer just scanned.
    checked_in: Option<String>,
}

fn chosen<'a>(customers: &'a [SimCustomer], wanted: Option<&str>) -> Option<&'a SimCustomer> {
    wanted.and_then(|w| customers.iter().find(|c| c.phone_number == w)).or_else(|| customers.first())
}

/// The `<option>`s of a "who is this" select: every customer, `selected` (or the first) chosen.
fn customer_options(customers: &[SimCustomer], selected: Option<&str>) -> String {
    let me = chosen(customers, selected);
    let mut options = String::new();
    for c in customers {
        let selected = if Some(c) == me { " selected" } else { "" };
        let _ = write!(
            options,
            "<option value=\"{p}\"{selected}>{n} (+{p})</option>",
            p = esc(&c.phone_number),
            n = esc(&c.name)
        );
    }
    options
}

/// An open payment as the phone shows it.
struct Offer {
    reference: String,
    merchant: String,
    amount: Amount,
    token: String,
}

/// What the phone page of one customer shows, copied out of the world.
struct PhoneView {
    customers: Vec<SimCustomer>,
    me: SimCustomer,
    /// Merchant names by MSN.
    merchants: HashMap<String, String>,
    /// Push payments waiting for this customer.
    requests: Vec<Offer>,
    /// QR payments showing on customer displays.
    screens: Vec<Offer>,
}

impl PhoneView {
    /// The page of the customer with phone number `wanted` (or of the first customer).
    fn collect(sim: &Sim, wanted: Option<&str>) -> Option<Self> {
        let world = sim.world_now();
        let customers = world.config.customers.clone();
        let me = chosen(&customers, wanted)?.clone();
        let merchants: HashMap<_, _> =
            world.config.sales_units.iter().map(|u| (u.msn.clone(), u.name.clone())).collect();
        let offer = |p: &Payment| Offer {
            reference: p.reference.clone(),
            merchant: merchants.get(&p.msn).cloned().unwrap_or_default(),
            amount: p.request.amount,
            token: p.token.clone(),
        };
        let open: Vec<_> =
            world.payments().into_iter().filter(|p| p.state == PaymentState::Created).collect();
        let requests =
            open.iter().filter(|p| p.is_addressed_to(&me.phone_number)).map(|p| offer(p)).collect();
        let screens = open.iter().filter(|p| p.request.user_flow == UserFlow::Qr).map(|p| offer(p)).collect();
        drop(world);
        Some(Self { customers, me, merchants, requests, screens })
    }

    fn merchant(&self, msn: &str) -> &str {
        self.merchants.get(msn).map_or("", String::as_str)
    }
}

async fn phone(State(sim): State<Arc<Sim>>, Query(query): Query<CustomerQuery>) -> Html<String> {
    let Some(view) = PhoneView::collect(&sim, query.customer.as_deref()) else {
        return page("Phone", "<p>No simulated customers are configured.</p>");
    };
    let stickers = sim.qr.stickers(sim.clock.now());
    let me = &view.me;
    let mut body = String::new();
    body.push_str("<nav aria-label=\"Customers\"><ul class=\"customers\">");
    for c in &view.customers {
        let current = if c == me { " aria-current=\"page\"" } else { "" };
        let _ = write!(
            body,
            "<li><a href=\"/sim/phone?customer={p}\"{current}>{n} <small>+{p}</small></a></li>",
            p = esc(&c.phone_number),
            n = esc(&c.name)
        );
    }
    body.push_str("</ul></nav>");
    let _ = write!(body, "<h1>{}</h1><p class=\"muted\">+{}</p>", esc(&me.name), esc(&me.phone_number));
    if let Some(sticker) = query.checked_in.as_deref().and_then(|p| stickers.iter().find(|s| s.print == p)) {
        let _ = write!(
            body,
            "<p class=\"outcome ok\" role=\"status\">Checked in at {}, {}</p>",
            esc(view.merchant(&sticker.msn)),
            esc(&sticker.location_description)
        );
    }

    body.push_str("<h2>Payment requests</h2>");
    if view.requests.is_empty() {
        body.push_str("<p class=\"muted\">No requests waiting.</p>");
    }
    for p in &view.requests {
        let _ = write!(
            body,
            "<section class=\"request\" data-reference=\"{r}\"><p><strong>{m}</strong> asks for <strong>{a}</strong></p>{f}</section>",
            r = esc(&p.reference),
            m = esc(&p.merchant),
            a = format_amount(p.amount),
            f = answer_form(&p.token, &me.phone_number)
        );
    }

    body.push_str("<h2>QR codes on screens nearby</h2>");
    if view.screens.is_empty() {
        body.push_str("<p class=\"muted\">None showing.</p>");
    }
    for p in &view.screens {
        let _ = write!(
            body,
            "<p><a class=\"scan\" href=\"/sim/pay/{t}?customer={c}\">Scan: {m}, {a}</a></p>",
            t = esc(&p.token),
            c = esc(&me.phone_number),
            m = esc(&p.merchant),
            a = format_amount(p.amount)
        );
    }
    body.push_str(&stickers_nearby(&stickers, &view));
    body.push_str(&my_qr_code(me));
    page(&format!("{}: phone", me.name), &body)
}

/// Every sticker on the simulated shop walls: a callback QR is scanned with a form (it checks the
/// customer in), a redirect QR with a plain link (it opens the merchant's page).
fn stickers_nearby(stickers: &[Sticker], view: &PhoneView) -> String {
    let mut s = String::from("<h2>Stickers nearby</h2>");
    if stickers.is_empty() {
        s.push_str("<p class=\"muted\">None on the walls.</p>");
    }
    for sticker in stickers {
        let merchant = view.merchant(&sticker.msn);
        match sticker.kind {
            StickerKind::Callback => {
                let _ = write!(
                    s,
                    "<section class=\"sticker\" data-msn=\"{msn}\" data-merchant-qr-id=\"{id}\">\
                     <p><strong>{m}</strong>, {l}</p><form method=\"post\" action=\"/sim/c/{p}\">\
                     <input type=\"hidden\" name=\"customer\" value=\"{c}\">\
                     <button class=\"approve\">Scan</button></form></section>",
                    msn = esc(&sticker.msn),
                    id = esc(&sticker.id),
                    m = esc(merchant),
                    l = esc(&sticker.location_description),
                    p = esc(&sticker.print),
                    c = esc(&view.me.phone_number),
                );
            }
            StickerKind::Redirect => {
                let _ = write!(
                    s,
                    "<p class=\"sticker\" data-msn=\"{msn}\" data-redirect-id=\"{id}\">\
                     <a class=\"scan\" href=\"/sim/r/{p}\">Scan: {m}, {id}</a></p>",
                    msn = esc(&sticker.msn),
                    id = esc(&sticker.id),
                    m = esc(merchant),
                    p = esc(&sticker.print),
                );
            }
        }
    }
    s
}

/// The customer's personal QR code, drawn inline, with its text.
fn my_qr_code(me: &SimCustomer) -> String {
    let content = me.personal_qr();
    let label = format!("role=\"img\" aria-label=\"Personal QR code of {}\" ", esc(&me.name));
    let drawing = drawing::svg(&content, 200).map(|svg| svg.replacen("<svg ", &format!("<svg {label}"), 1));
    format!(
        "<h2>My QR code</h2><p class=\"muted\">Shown to a cashier's scanner:</p>\
         <figure class=\"my-qr\">{}<figcaption><code>{}</code></figcaption></figure>",
        drawing.unwrap_or_default(),
        esc(&content)
    )
}

/// `GET /sim/r/{print}`: what a phone camera does with a redirect sticker, a 302 to wherever its
/// merchant points it now.
async fn scan_redirect_sticker(State(sim): State<Arc<Sim>>, Path(print): Path<String>) -> Response {
    let Some(target) = sim.qr.redirect_target(&print, sim.clock.now()) else {
        return (StatusCode::NOT_FOUND, page("Not found", "<h1>This QR code no longer works</h1>"))
            .into_response();
    };
    match HeaderValue::from_str(&target) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A callback sticker and the merchant it belongs to, if it is still up.
fn callback_sticker(sim: &Sim, print: &str) -> Option<(Sticker, String)> {
    let sticker = sim.qr.sticker(print, sim.clock.now()).filter(|s| s.kind == StickerKind::Callback)?;
    // The QR lock is released by now: the world may be locked.
    let merchant = sim.world().config.sales_unit(&sticker.msn).map(|u| u.name.clone()).unwrap_or_default();
    Some((sticker, merchant))
}

fn sticker_gone() -> Response {
    (StatusCode::NOT_FOUND, page("Not found", "<h1>This QR code is not registered</h1>")).into_response()
}

/// `GET /sim/c/{print}`: a callback sticker scanned with a real phone's camera: pick who checks in.
async fn callback_sticker_page(
    State(sim): State<Arc<Sim>>,
    Path(print): Path<String>,
    Query(query): Query<CustomerQuery>,
) -> Response {
    let Some((sticker, merchant)) = callback_sticker(&sim, &print) else { return sticker_gone() };
    let customers = sim.world().config.customers.clone();
    let body = format!(
        "<p class=\"muted\">Vipps MobilePay (simulated)</p><h1>{}</h1><p>{}</p><form method=\"post\">\
         <label>Checking in as <select name=\"customer\">{}</select></label>\
         <p><button class=\"approve\">Check in</button></p></form>",
        esc(&merchant),
        esc(&sticker.location_description),
        customer_options(&customers, query.customer.as_deref())
    );
    page(&format!("Check in at {merchant}"), &body).into_response()
}

#[derive(Debug, Deserialize)]
struct ScanForm {
    customer: String,
}

/// `POST /sim/c/{print}`: the customer scans a callback sticker: a check-in, then back to their
/// phone page, which says where they checked in and soon shows the merchant's payment request.
async fn scan_callback_sticker(
    State(sim): State<Arc<Sim>>,
    Path(print): Path<String>,
    Form(form): Form<ScanForm>,
) -> Response {
    let known = sim.world().config.customer(&form.customer).is_some();
    if !known {
        return (StatusCode::BAD_REQUEST, page("Bad request", "<h1>Unknown customer</h1>")).into_response();
    }
    match sim.check_in(&print, &form.customer) {
        Ok(event) => {
            tracing::info!(msn = %event.msn, merchant_qr_id = %event.merchant_qr_id, "customer checked in");
            let customer: String = url::form_urlencoded::byte_serialize(form.customer.as_bytes()).collect();
            Redirect::to(&format!("/sim/phone?customer={customer}&checked_in={print}")).into_response()
        }
        Err(_) => sticker_gone(),
    }
}

fn answer_form(token: &str, customer: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/sim/pay/{t}\"><input type=\"hidden\" name=\"customer\" value=\"{c}\">\
         <button name=\"action\" value=\"approve\" class=\"approve\">Approve</button> \
         <button name=\"action\" value=\"decline\" class=\"decline\">Decline</button></form>",
        t = esc(token),
        c = esc(customer)
    )
}

fn payment_gone() -> Response {
    (StatusCode::NOT_FOUND, page("Not found", "<h1>This payment does not exist</h1>")).into_response()
}

/// `GET /sim/pay/{token}`: where a payment's QR code and landing-page link lead.
async fn pay_page(
    State(sim): State<Arc<Sim>>,
    Path(token): Path<String>,
    Query(query): Query<CustomerQuery>,
) -> Response {
    let world = sim.world_now();
    let Some(payment) = world.payment_by_token(&token).cloned() else { return payment_gone() };
    let merchant = world.config.sales_unit(&payment.msn).map(|u| u.name.clone()).unwrap_or_default();
    let customers = world.config.customers.clone();
    drop(world);

    let mut body = format!(
        "<p class=\"muted\">Vipps MobilePay (simulated)</p><h1>{}</h1><p class=\"amount\">{}</p>",
        esc(&merchant),
        format_amount(payment.request.amount)
    );
    if let Some(description) = &payment.request.payment_description {
        let _ = write!(body, "<p>{}</p>", esc(description));
    }
    body.push_str(&status_block(&payment, &customers, query.customer.as_deref()));
    page(&format!("Pay {merchant}"), &body).into_response()
}

fn status_block(payment: &Payment, customers: &[SimCustomer], wanted: Option<&str>) -> String {
    match payment.state {
        PaymentState::Created => {
            let fixed = payment.customer().and_then(|c| c.phone_number.clone());
            let mut s = String::from("<form method=\"post\">");
            if let Some(phone) = fixed {
                let _ = write!(s, "<input type=\"hidden\" name=\"customer\" value=\"{}\">", esc(&phone));
            } else {
                let _ = write!(
                    s,
                    "<label>Paying as <select name=\"customer\">{}</select></label>",
                    customer_options(customers, wanted)
                );
            }
            s.push_str("<p><button name=\"action\" value=\"approve\" class=\"approve\">Approve</button> <button name=\"action\" value=\"decline\" class=\"decline\">Decline</button></p></form>");
            s
        }
        PaymentState::Authorized => "<p class=\"outcome ok\" role=\"status\">Approved</p>".to_owned(),
        PaymentState::Aborted => "<p class=\"outcome\" role=\"status\">Declined</p>".to_owned(),
        PaymentState::Expired => "<p class=\"outcome\" role=\"status\">Expired</p>".to_owned(),
        PaymentState::Terminated => {
            "<p class=\"outcome\" role=\"status\">Cancelled by the merchant</p>".to_owned()
        }
    }
}

#[derive(Debug, Deserialize)]
struct PayForm {
    action: String,
    customer: Option<String>,
}

/// `POST /sim/pay/{token}`: the customer approves or declines. Whoever approves must be old
/// enough for the payment's `minimumUserAge`.
async fn pay_answer(
    State(sim): State<Arc<Sim>>,
    Path(token): Path<String>,
    Form(form): Form<PayForm>,
) -> Response {
    let now = sim.clock.now();
    let mut world = sim.world();
    let Some(payment) = world.payment_by_token(&token).cloned() else { return payment_gone() };
    let (msn, reference) = (&payment.msn, &payment.reference);
    let outcome = match form.action.as_str() {
        "approve" => world.approve(msn, reference, form.customer.as_deref(), now),
        "decline" => world.decline(msn, reference, now),
        _ => {
            return (StatusCode::BAD_REQUEST, page("Bad request", "<h1>Unknown action</h1>")).into_response();
        }
    };
    sim.flush(&mut world);
    drop(world);
    if let Err(e) = outcome {
        tracing::info!(reference = %payment.reference, error = %e, "phone answer refused");
        // The app tells its user why (a test amount's card refusal, a payment already answered)
        // and lets them try again from the payment.
        let again = format!("/sim/pay/{}", esc(&token));
        let body = format!(
            "<h1>That did not work</h1><p class=\"outcome\" role=\"alert\">{}</p><p><a href=\"{again}\">Back to the payment</a></p>",
            esc(&e.detail)
        );
        return (
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            page("Payment failed", &body),
        )
            .into_response();
    }
    // An app switch goes back to the merchant; otherwise the phone shows the outcome.
    if let (Some(url), UserFlow::WebRedirect | UserFlow::NativeRedirect) =
        (&payment.request.return_url, payment.request.user_flow)
    {
        return Redirect::to(url).into_response();
    }
    let customer: String =
        url::form_urlencoded::byte_serialize(form.customer.unwrap_or_default().as_bytes()).collect();
    Redirect::to(&format!("/sim/pay/{token}?customer={customer}")).into_response()
}

#[derive(Debug, Deserialize)]
struct ImageQuery {
    format: Option<String>,
}

/// `GET /sim/qr-image/{token}`: a QR payment's code for the customer display, leading to its pay
/// page. Gone (404) once the payment is answered or expired, as on the platform.
async fn qr_image(
    State(sim): State<Arc<Sim>>,
    Path(token): Path<String>,
    Query(query): Query<ImageQuery>,
) -> Response {
    let open = sim.world().payment_by_token(&token).is_some_and(|p| p.state == PaymentState::Created);
    let target = sim.base_url.join(&format!("sim/pay/{token}"));
    match target {
        Ok(url) if open => drawing::image_response(
            url.as_str(),
            Format::from_query(query.format.as_deref()),
            PAYMENT_QR_PNG_SIZE,
        ),
        Ok(_) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `NOK 123.50`: minor units as a decimal, for the simulator's own pages.
pub fn format_amount(amount: Amount) -> String {
    let code = match amount.currency {
        kasse_vipps::Currency::Nok => "NOK",
        kasse_vipps::Currency::Dkk => "DKK",
        kasse_vipps::Currency::Eur => "EUR",
    };
    format!("{code} {}.{:02}", amount.value / 100, amount.value % 100)
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · kasse simulator</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        esc(title)
    ))
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f1ee;color:#1d1d1f}\
main{max-width:26rem;margin:0 auto;padding:1rem}h1{margin:.5rem 0 0}.muted{color:#5f5f66}\
.amount{font-size:2rem;font-weight:700;margin:.25rem 0}.customers{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5rem}\
.customers a{display:inline-flex;align-items:center;min-height:44px;box-sizing:border-box;padding:.5rem .75rem;border-radius:.5rem;background:#fff;color:inherit;text-decoration:none}\
.customers a[aria-current]{background:#ff5b24;color:#fff}.request{background:#fff;border-radius:.75rem;padding:.75rem 1rem;margin:.5rem 0}\
button{font:inherit;min-height:44px;min-width:44px;padding:.5rem 1.25rem;border-radius:.5rem;border:0;cursor:pointer}\
.approve{background:#ff5b24;color:#fff}.decline{background:#e2ddd8}.outcome{font-size:1.5rem;font-weight:700}.ok{color:#0a7d32}\
select{font:inherit;min-height:44px}code{word-break:break-all}\
.scan{display:inline-flex;align-items:center;min-height:44px;padding:0 .25rem}.sticker{background:#fff;border-radius:.75rem;padding:.75rem 1rem;margin:.5rem 0}\
.my-qr{margin:0}.my-qr svg{display:block;width:12rem;height:auto;background:#fff}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_shown_with_two_decimals() {
        assert_eq!(format_amount(Amount::new(12_305, kasse_vipps::Currency::Nok)), "NOK 123.05");
        assert_eq!(format_amount(Amount::new(1, kasse_vipps::Currency::Eur)), "EUR 0.01");
    }

    #[test]
    fn markup_in_names_is_escaped() {
        assert_eq!(esc("<b>\"Bob\" & 'Al'</b>"), "&lt;b&gt;&quot;Bob&quot; &amp; &#39;Al&#39;&lt;/b&gt;");
    }
}
