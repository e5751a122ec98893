//! The sticker landing page's way to the server: the smallest correct path, for a customer's
//! phone on a weak connection. The browser's own `fetch` and `EventSource`, through web-sys, and
//! one non-generic function for every request; answers read with serde_json, request bodies
//! written by hand.
//!
//! The till's bundles use gloo-net and serde-wasm-bindgen (`super`). Here each costs bytes the
//! landing page's budget does not have: measured on this page, gloo-net's `EventSource` with the
//! futures channels it brings, and serde-wasm-bindgen's errors, which pull in core's float
//! formatting (serde_json formats its own), made the bundle larger, not smaller (the figures are
//! in the README's benchmark section).

use kasse_api::{Country, LandingPayment, NewLandingPayment, Problem, StickerInfo};
use serde::de::DeserializeOwned;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{EventSource, MessageEvent};

use crate::state::landing::{Refusal, Trouble};
use crate::state::till::Connection;

/// What a sticker's landing page shows: the merchant, and what there is to pay.
pub async fn sticker(sticker: &str) -> Result<StickerInfo, Trouble> {
    read(&fetch(&format!("/api/stickers/{sticker}"), None).await?)
}

/// A customer asks to pay at a sticker: by a request to their number, or by opening the app.
pub async fn pay_at_sticker(sticker: &str, request: &NewLandingPayment) -> Result<LandingPayment, Trouble> {
    let body = request_body(request);
    read(&fetch(&format!("/api/stickers/{sticker}/payments"), Some(body)).await?)
}

/// A sticker payment, by the token that names it to its customer.
pub async fn payment(token: &str) -> Result<LandingPayment, Trouble> {
    read(&fetch(&format!("/api/payments/{token}"), None).await?)
}

/// Reads a successful answer's body.
fn read<T: DeserializeOwned>(body: &str) -> Result<T, Trouble> {
    serde_json::from_str(body).map_err(|_| Trouble::NoAnswer)
}

/// The JSON body of a payment request, `NewLandingPayment`'s serde form written by hand:
/// serde_json's serializer, and the I/O error texts it carries, would make the bundle about
/// 1 KB (brotli) heavier. A unit test holds the two to the same text.
fn request_body(request: &NewLandingPayment) -> String {
    let mut fields = Vec::with_capacity(4);
    if let Some(amount) = request.amount {
        fields.push(format!(
            "\"amount\":{{\"value\":{},\"currency\":\"{}\"}}",
            amount.value,
            amount.currency.code()
        ));
    }
    if let Some(phone) = &request.phone_number {
        fields.push(format!("\"phoneNumber\":{}", json_string(phone)));
    }
    if let Some(country) = request.country {
        let code = match country {
            Country::No => "NO",
            Country::Dk => "DK",
            Country::Fi => "FI",
        };
        fields.push(format!("\"country\":\"{code}\""));
    }
    if let Some(again) = &request.again {
        fields.push(format!("\"again\":{}", json_string(again)));
    }
    format!("{{{}}}", fields.join(","))
}

/// `text` as a JSON string, quoted and escaped.
fn json_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\u{8}' => quoted.push_str("\\b"),
            '\u{c}' => quoted.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                quoted.push_str("\\u00");
                quoted.push(char::from_digit(u32::from(c) >> 4, 16).unwrap_or('0'));
                quoted.push(char::from_digit(u32::from(c) & 0xf, 16).unwrap_or('0'));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// One request (a GET, or a POST of the JSON `body`) with the browser's own `fetch`: the body of
/// a successful answer, or the refusal with its `Retry-After` (how long a rate limit lasts,
/// which the page words in the customer's language).
async fn fetch(url: &str, body: Option<String>) -> Result<String, Trouble> {
    let init = web_sys::RequestInit::new();
    if let Some(body) = body {
        let headers = web_sys::Headers::new().map_err(|_| Trouble::NoAnswer)?;
        headers.set("content-type", "application/json").map_err(|_| Trouble::NoAnswer)?;
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
    }
    let window = web_sys::window().ok_or(Trouble::NoAnswer)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .ok()
        .and_then(|response| response.dyn_into().ok())
        .ok_or(Trouble::NoAnswer)?;
    let text = match response.text() {
        Ok(text) => JsFuture::from(text).await.ok().and_then(|text| text.as_string()),
        Err(_) => None,
    }
    .ok_or(Trouble::NoAnswer)?;
    if response.ok() {
        return Ok(text);
    }
    let retry_after_s =
        response.headers().get("retry-after").ok().flatten().and_then(|s| s.trim().parse().ok());
    match serde_json::from_str::<RefusalBody>(&text) {
        Ok(body) => {
            let problem = Problem {
                kind: String::new(),
                title: body.title,
                status: response.status(),
                detail: body.detail,
                code: body.code,
            };
            Err(Trouble::Refused(Refusal::from_problem(&problem, retry_after_s)))
        }
        Err(_) => Err(Trouble::NoAnswer),
    }
}

/// What the landing page reads of a [`Problem`] body: the parts a refusal is told by. Fewer
/// fields than the whole problem make a smaller parser in the bundle.
#[derive(serde::Deserialize)]
struct RefusalBody {
    /// The problem's summary, the sentence when it has no detail.
    title: String,
    /// The sentence for a person.
    #[serde(default)]
    detail: Option<String>,
    /// The stable code that names the refusal.
    #[serde(default)]
    code: Option<kasse_api::ProblemCode>,
}

/// The one event a payment's stream sends, `{"type":"payment","payment":{…}}`
/// ([`kasse_api::LandingEvent::Payment`]), read as a plain struct: the enum's tagged form would
/// make serde buffer every event and carry a second copy of each payment field's parser.
#[derive(serde::Deserialize)]
struct PaymentEvent {
    /// `payment`, the only kind there is; another kind is ignored.
    #[serde(rename = "type")]
    kind: String,
    /// The payment as it is now.
    payment: LandingPayment,
}

/// The event a sticker's stream sends, `{"type":"sticker","sticker":{…}}`
/// ([`kasse_api::LandingEvent::Sticker`]), read as a plain struct as [`PaymentEvent`] is.
#[derive(serde::Deserialize)]
struct StickerEvent {
    /// `sticker`, the only kind there is; another kind is ignored.
    #[serde(rename = "type")]
    kind: String,
    /// What the sticker offers now.
    sticker: StickerInfo,
}

/// A live event stream the page follows: an `EventSource` with its handlers, which live as long
/// as it. The browser reconnects by itself after a drop. Closed when dropped.
pub struct Listening {
    source: EventSource,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Listening {
    /// Opens `url`, handing each message's data to `on_data`, and telling `on_connection` when
    /// the stream opens or drops.
    fn open(
        url: &str,
        on_data: impl Fn(&str) + 'static,
        on_connection: impl Fn(Connection) + Clone + 'static,
    ) -> Option<Self> {
        let source = EventSource::new(url).ok()?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
            on_data(&message.data().as_string().unwrap_or_default());
        });
        let on_connection_too = on_connection.clone();
        let on_open =
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_connection_too(Connection::Online));
        let on_error =
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_connection(Connection::Reconnecting));
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Some(Self { source, _on_message: on_message, _on_open: on_open, _on_error: on_error })
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// Listens to the payment `token`'s live events from its first (so a reloaded page catches up at
/// once), calling `on_payment` with the payment as each shows it and `on_connection` when the
/// stream opens or drops. The browser resumes after the last event it saw when it reconnects.
pub fn payment_events(
    token: &str,
    on_payment: impl Fn(LandingPayment) + 'static,
    on_connection: impl Fn(Connection) + Clone + 'static,
) -> Option<Listening> {
    let on_data = move |data: &str| {
        if let Ok(event) = serde_json::from_str::<PaymentEvent>(data)
            && event.kind == "payment"
        {
            on_payment(event.payment);
        }
    };
    Listening::open(&format!("/api/payments/{token}/events?after=0"), on_data, on_connection)
}

/// Listens to what `sticker` offers, for a landing page waiting there: the sticker as it is when
/// the stream opens (and after each reconnection), then whenever it changes. Calls `on_sticker`
/// with each, and `on_connection` when the stream opens or drops.
pub fn sticker_events(
    sticker: &str,
    on_sticker: impl Fn(StickerInfo) + 'static,
    on_connection: impl Fn(Connection) + Clone + 'static,
) -> Option<Listening> {
    let on_data = move |data: &str| {
        if let Ok(event) = serde_json::from_str::<StickerEvent>(data)
            && event.kind == "sticker"
        {
            on_sticker(event.sticker);
        }
    };
    Listening::open(&format!("/api/stickers/{sticker}/events"), on_data, on_connection)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failing test should panic with the error")]
mod tests {
    use kasse_api::{Currency, Money};

    use super::*;

    #[test]
    fn a_landing_request_body_is_exactly_what_serde_writes_for_it() {
        for request in [
            NewLandingPayment {
                amount: Some(Money::new(4_500, Currency::Nok)),
                phone_number: Some("+4791234567".into()),
                country: Some(Country::No),
                again: None,
            },
            NewLandingPayment { amount: None, phone_number: None, country: None, again: None },
            NewLandingPayment {
                amount: Some(Money::new(1_000, Currency::Eur)),
                phone_number: Some("a \"quoted\" \\ line\n\r\t\u{8}\u{c}\u{7}\u{1f}".into()),
                country: Some(Country::Fi),
                again: Some("t1".into()),
            },
            NewLandingPayment {
                amount: Some(Money::new(-5, Currency::Dkk)),
                phone_number: None,
                country: Some(Country::Dk),
                again: Some("ÆØÅ".into()),
            },
        ] {
            let body = request_body(&request);
            assert_eq!(body, serde_json::to_string(&request).unwrap());
            assert_eq!(serde_json::from_str::<NewLandingPayment>(&body).unwrap(), request);
        }
    }
}
