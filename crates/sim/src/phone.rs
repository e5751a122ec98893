//! The simulated customer's phone: plain HTML pages (no scripts) where one picks a customer, sees
//! their payment requests, and approves or declines, as the Vipps MobilePay app would let them.
//! A payment that asks for profile data (`profile.scope`) asks the customer, above the buttons,
//! whether to share it (radio buttons `share`, `yes` or `no`, one needed to approve); a merchant's
//! loyalty check-ins (Check-in API) show on the phone page for 15 minutes.
//!
//! `/sim/pay/{token}` is also where a payment's QR code and landing-page link point, so scanning a
//! till's QR with a real phone on the same network opens the same approve/decline page. The same
//! goes for static stickers: `/sim/r/{print}` (a merchant redirect QR) forwards to the merchant's
//! page, and `/sim/c/{print}` (a merchant callback QR) checks a customer in, which sends the
//! merchant `user.checked-in.v1`. The phone page lists every sticker "nearby" with a Scan button,
//! and shows the customer's own personal QR code for a cashier's scanner.
//!
//! The pages are written with `maud`, so every name, reference and description they show is
//! escaped by construction; the one piece of markup passed through as it is, is the QR code SVG
//! the simulator draws itself.
//!
//! Each page copies what it shows out of the world while holding its lock, lets go, and only
//! then renders: drawing HTML (and QR codes) never holds up the platform's API calls.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use kasse_vipps::epayment::{Amount, State as PaymentState, UserFlow};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use crate::Sim;
use crate::config::SimCustomer;
use crate::drawing::{self, Format};
use crate::qr::{Sticker, StickerKind};
use crate::userinfo::{asked_for, scope_words};
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
fn customer_options(customers: &[SimCustomer], selected: Option<&str>) -> Markup {
    let me = chosen(customers, selected);
    html! {
        @for c in customers {
            option value=(c.phone_number) selected[Some(c) == me] { (c.name) " (+" (c.phone_number) ")" }
        }
    }
}

/// An open payment as the phone shows it.
struct Offer {
    reference: String,
    merchant: String,
    amount: Amount,
    token: String,
    /// The profile data it asks for, in words (`your phone number`), if any.
    asks: Option<String>,
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
            asks: asks(p),
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
        return page("Phone", &html! { p { "No simulated customers are configured." } });
    };
    let stickers = sim.qr.stickers(sim.clock.now());
    let me = &view.me;
    let checked_in = query.checked_in.as_deref().and_then(|p| stickers.iter().find(|s| s.print == p));
    let loyalty = sim.loyalty_check_ins.showing(&me.phone_number, sim.clock.now());
    let body = html! {
        nav aria-label="Customers" {
            ul.customers {
                @for c in &view.customers {
                    li {
                        @let current = (c == me).then_some("page");
                        a href={ "/sim/phone?customer=" (c.phone_number) } aria-current=[current] {
                            (c.name) " " small { "+" (c.phone_number) }
                        }
                    }
                }
            }
        }
        h1 { (me.name) }
        p.muted { "+" (me.phone_number) }
        @if let Some(sticker) = checked_in {
            p.outcome.ok role="status" {
                "Checked in at " (view.merchant(&sticker.msn)) ", " (sticker.location_description)
            }
        }
        // The app's loyalty screen, one line per merchant that checked the customer in lately.
        @for c in &loyalty {
            p.loyalty.ok role="status" data-msn=(c.msn) {
                "Checked in at " (view.merchant(&c.msn)) ": " (if c.is_member { "member" } else { "not a member" })
            }
        }

        h2 { "Payment requests" }
        @if view.requests.is_empty() {
            p.muted { "No requests waiting." }
        }
        @for p in &view.requests {
            section.request data-reference=(p.reference) {
                p { strong { (p.merchant) } " asks for " strong { (format_amount(p.amount)) } }
                (answer_form(p, &me.phone_number))
            }
        }

        h2 { "QR codes on screens nearby" }
        @if view.screens.is_empty() {
            p.muted { "None showing." }
        }
        @for p in &view.screens {
            p {
                a.scan href={ "/sim/pay/" (p.token) "?customer=" (me.phone_number) } {
                    "Scan: " (p.merchant) ", " (format_amount(p.amount))
                }
            }
        }
        (stickers_nearby(&stickers, &view))
        (my_qr_code(me))
    };
    page(&format!("{}: phone", me.name), &body)
}

/// Every sticker on the simulated shop walls: a callback QR is scanned with a form (it checks the
/// customer in), a redirect QR with a plain link (it opens the merchant's page).
fn stickers_nearby(stickers: &[Sticker], view: &PhoneView) -> Markup {
    html! {
        h2 { "Stickers nearby" }
        @if stickers.is_empty() {
            p.muted { "None on the walls." }
        }
        @for sticker in stickers {
            @let merchant = view.merchant(&sticker.msn);
            @match sticker.kind {
                StickerKind::Callback => {
                    section.sticker data-msn=(sticker.msn) data-merchant-qr-id=(sticker.id) {
                        p { strong { (merchant) } ", " (sticker.location_description) }
                        form method="post" action={ "/sim/c/" (sticker.print) } {
                            input type="hidden" name="customer" value=(view.me.phone_number);
                            button.approve { "Scan" }
                        }
                    }
                }
                StickerKind::Redirect => {
                    p.sticker data-msn=(sticker.msn) data-redirect-id=(sticker.id) {
                        a.scan href={ "/sim/r/" (sticker.print) } { "Scan: " (merchant) ", " (sticker.id) }
                    }
                }
            }
        }
    }
}

/// The customer's personal QR code, drawn inline, with its text.
fn my_qr_code(me: &SimCustomer) -> Markup {
    let content = me.personal_qr();
    html! {
        h2 { "My QR code" }
        p.muted { "Shown to a cashier's scanner:" }
        figure.my-qr {
            @if let Some(svg) = labelled_qr_svg(&content, &me.name) { (svg) }
            figcaption { code { (content) } }
        }
    }
}

/// `content` as an inline SVG QR code that screen readers announce as the personal QR code of
/// `name`. The drawing is the simulator's own and safe as it is; the label is escaped by maud.
fn labelled_qr_svg(content: &str, name: &str) -> Option<PreEscaped<String>> {
    let svg = drawing::svg(content, 200)?;
    let label = html! { "Personal QR code of " (name) }.into_string();
    Some(PreEscaped(svg.replacen("<svg ", &format!("<svg role=\"img\" aria-label=\"{label}\" "), 1)))
}

/// `GET /sim/r/{print}`: what a phone camera does with a redirect sticker, a 302 to wherever its
/// merchant points it now.
async fn scan_redirect_sticker(State(sim): State<Arc<Sim>>, Path(print): Path<String>) -> Response {
    let Some(target) = sim.qr.redirect_target(&print, sim.clock.now()) else {
        return refusal(StatusCode::NOT_FOUND, "Not found", "This QR code no longer works");
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
    refusal(StatusCode::NOT_FOUND, "Not found", "This QR code is not registered")
}

/// `GET /sim/c/{print}`: a callback sticker scanned with a real phone's camera: pick who checks in.
async fn callback_sticker_page(
    State(sim): State<Arc<Sim>>,
    Path(print): Path<String>,
    Query(query): Query<CustomerQuery>,
) -> Response {
    let Some((sticker, merchant)) = callback_sticker(&sim, &print) else { return sticker_gone() };
    let customers = sim.world().config.customers.clone();
    let body = html! {
        p.muted { "Vipps MobilePay (simulated)" }
        h1 { (merchant) }
        p { (sticker.location_description) }
        form method="post" {
            label {
                "Checking in as "
                select name="customer" { (customer_options(&customers, query.customer.as_deref())) }
            }
            p { button.approve { "Check in" } }
        }
    };
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
        return refusal(StatusCode::BAD_REQUEST, "Bad request", "Unknown customer");
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

/// A push request's answer form on the phone page, for `customer`.
fn answer_form(offer: &Offer, customer: &str) -> Markup {
    html! {
        form method="post" action={ "/sim/pay/" (offer.token) } {
            input type="hidden" name="customer" value=(customer);
            (consent_question(&offer.merchant, offer.asks.as_deref()))
            (answer_buttons())
        }
    }
}

/// The profile data `payment` asks for, in the app's words, if any.
fn asks(payment: &Payment) -> Option<String> {
    asked_for(&scope_words(payment.profile_scope()))
}

/// Above the buttons of a payment that asks for profile data: `merchant` asks for `asks`; share
/// it or not. Neither is preselected, and approving needs one: nothing is ever shared silently.
fn consent_question(merchant: &str, asks: Option<&str>) -> Markup {
    html! {
        @if let Some(asks) = asks {
            fieldset.consent {
                legend { (merchant) " asks for " (asks) "." }
                label { input type="radio" name="share" value="yes" required; " Share it" }
                " "
                label { input type="radio" name="share" value="no" required; " Don't share" }
            }
        }
    }
}

/// The approve and decline buttons of a payment's form. Declining answers no question, so it
/// skips the form's `required` checks.
fn answer_buttons() -> Markup {
    html! {
        button name="action" value="approve" class="approve" { "Approve" }
        " "
        button name="action" value="decline" class="decline" formnovalidate { "Decline" }
    }
}

fn payment_gone() -> Response {
    refusal(StatusCode::NOT_FOUND, "Not found", "This payment does not exist")
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

    let body = html! {
        p.muted { "Vipps MobilePay (simulated)" }
        h1 { (merchant) }
        p.amount { (format_amount(payment.request.amount)) }
        @if let Some(description) = &payment.request.payment_description {
            p { (description) }
        }
        (status_block(&payment, &merchant, &customers, query.customer.as_deref()))
    };
    page(&format!("Pay {merchant}"), &body).into_response()
}

fn status_block(
    payment: &Payment,
    merchant: &str,
    customers: &[SimCustomer],
    wanted: Option<&str>,
) -> Markup {
    match payment.state {
        PaymentState::Created => {
            let fixed = payment.customer().and_then(|c| c.phone_number.clone());
            html! {
                form method="post" {
                    @if let Some(phone) = fixed {
                        input type="hidden" name="customer" value=(phone);
                    } @else {
                        label {
                            "Paying as "
                            select name="customer" { (customer_options(customers, wanted)) }
                        }
                    }
                    (consent_question(merchant, asks(payment).as_deref()))
                    p { (answer_buttons()) }
                }
            }
        }
        PaymentState::Authorized => html! { p.outcome.ok role="status" { "Approved" } },
        PaymentState::Aborted => html! { p.outcome role="status" { "Declined" } },
        PaymentState::Expired => html! { p.outcome role="status" { "Expired" } },
        PaymentState::Terminated => html! { p.outcome role="status" { "Cancelled by the merchant" } },
    }
}

#[derive(Debug, Deserialize)]
struct PayForm {
    action: String,
    customer: Option<String>,
    /// The answer to the profile question: `yes` shares; anything else, or none, does not.
    share: Option<String>,
}

/// `POST /sim/pay/{token}`: the customer approves or declines. Whoever approves must be old
/// enough for the payment's `minimumUserAge`, and shares the profile data it asks for only with
/// `share=yes`.
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
        "approve" => {
            let shares = form.share.as_deref() == Some("yes");
            world.approve(msn, reference, form.customer.as_deref(), shares, now)
        }
        "decline" => world.decline(msn, reference, now),
        _ => return refusal(StatusCode::BAD_REQUEST, "Bad request", "Unknown action"),
    };
    sim.flush(&mut world);
    drop(world);
    if let Err(e) = outcome {
        tracing::info!(reference = %payment.reference, error = %e, "phone answer refused");
        // The app tells its user why (a test amount's card refusal, a payment already answered)
        // and lets them try again from the payment.
        let body = html! {
            h1 { "That did not work" }
            p.outcome role="alert" { (e.detail) }
            p { a href={ "/sim/pay/" (token) } { "Back to the payment" } }
        };
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

/// A whole page: `title` (escaped like everything else) and `body` in the simulator's style.
fn page(title: &str, body: &Markup) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · kasse simulator" }
                // The stylesheet has nothing escaping changes (a unit test holds it to that).
                style { (STYLE) }
            }
            body { main { (body) } }
        }
    };
    Html(page.into_string())
}

/// A page that only says `heading`, answered with `status`.
fn refusal(status: StatusCode, title: &str, heading: &str) -> Response {
    (status, page(title, &html! { h1 { (heading) } })).into_response()
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
.my-qr{margin:0}.my-qr svg{display:block;width:12rem;height:auto;background:#fff}\
.consent{border:0;padding:0;margin:.5rem 0}.consent legend{padding:0;margin-bottom:.25rem}\
.consent label{display:inline-flex;align-items:center;gap:.25rem;min-height:44px;margin-right:.75rem}";

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
        let bob = SimCustomer::new("<b>\"Bob\" & 'Al'</b>", "47\"1");
        let option = "<option value=\"47&quot;1\" selected>\
                      &lt;b&gt;&quot;Bob&quot; &amp; 'Al'&lt;/b&gt; (+47&quot;1)</option>";
        assert_eq!(customer_options(&[bob], None).into_string(), option);
        let svg = labelled_qr_svg("https://qr.vipps.no/p/x", "\"><script>").unwrap().into_string();
        assert!(
            svg.starts_with("<svg role=\"img\" aria-label=\"Personal QR code of &quot;&gt;&lt;script&gt;\" "),
            "{svg}"
        );
    }

    #[test]
    fn the_stylesheet_survives_escaping_unchanged() {
        assert_eq!(html! { (STYLE) }.into_string(), STYLE);
    }
}
