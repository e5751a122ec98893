//! The sticker landing page's way to the server: the same gloo-net requests and event streams
//! as the till's (`super`), answers parsed by the browser and read by serde-wasm-bindgen. What
//! differs is what a refusal becomes: a [`Trouble`] the page words for a customer, with how long
//! a rate limit lasts (`Retry-After`).

use gloo_net::http::Request;
use kasse_api::{LandingPayment, Problem, StickerInfo};
use serde::de::DeserializeOwned;
use web_sys::MessageEvent;

use super::{Listening, Owner, Sendable, Stream, from_json_text, read_json, with_json};
use crate::state::landing::{Refusal, Sending, Trouble};
use crate::state::stream::Reopening;
use crate::state::till::Connection;

/// What a sticker's landing page shows: the merchant, and what there is to pay.
pub async fn sticker(sticker: &str) -> Result<StickerInfo, Trouble> {
    answer(Request::get(&format!("/api/stickers/{sticker}")).build()).await
}

/// A customer asks to pay at a sticker: by a request to their number, or by opening the app. The
/// request goes with its Idempotency-Key, so that the same request sent again after no answer
/// gets the payment the first one started rather than a second.
pub async fn pay_at_sticker(sticker: &str, sending: &Sending) -> Result<LandingPayment, Trouble> {
    let request =
        Request::post(&format!("/api/stickers/{sticker}/payments")).header("Idempotency-Key", &sending.key);
    answer(with_json(request, &sending.request)).await
}

/// A sticker payment, by the token that names it to its customer.
pub async fn payment(token: &str) -> Result<LandingPayment, Trouble> {
    answer(Request::get(&format!("/api/payments/{token}")).build()).await
}

/// Sends `request`: the answer's value, or the refusal with its `Retry-After`, or `NoAnswer`
/// when the network failed or the answer cannot be read.
async fn answer<T: DeserializeOwned>(request: Sendable) -> Result<T, Trouble> {
    let response = request.map_err(|_| Trouble::NoAnswer)?.send().await.map_err(|_| Trouble::NoAnswer)?;
    if response.ok() {
        return read_json(response).await.ok_or(Trouble::NoAnswer);
    }
    let retry_after_s = response.headers().get("retry-after").and_then(|s| s.trim().parse().ok());
    let problem = read_json::<Problem>(response).await.ok_or(Trouble::NoAnswer)?;
    Err(Trouble::Refused(Refusal::from_problem(&problem, retry_after_s)))
}

/// The one event a payment's stream sends, `{"type":"payment","payment":{…}}`
/// ([`kasse_api::LandingEvent::Payment`]), read as a plain struct: the enum's tagged form would
/// make serde buffer every event and carry a second copy of each payment field's reader.
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

/// Listens to the payment `token`'s live events from its first (so a reloaded page catches up at
/// once), calling `on_payment` with the payment as each shows it and `on_connection` when the
/// stream opens or drops. The browser resumes after the last event it saw when it reconnects.
pub fn payment_events(
    token: &str,
    on_payment: impl Fn(LandingPayment) + 'static,
    on_connection: impl Fn(Connection) + 'static,
) -> Option<Listening> {
    let on_message = move |message: MessageEvent| {
        if let Some(event) = from_json_text::<PaymentEvent>(&message.data())
            && event.kind == "payment"
        {
            on_payment(event.payment);
        }
    };
    listen(Reopening::resuming(format!("/api/payments/{token}/events"), 0), on_message, on_connection)
}

/// Listens to what `sticker` offers, for a landing page waiting there: the sticker as it is when
/// the stream opens (and after each reconnection), then whenever it changes. Calls `on_sticker`
/// with each, and `on_connection` when the stream opens or drops.
pub fn sticker_events(
    sticker: &str,
    on_sticker: impl Fn(StickerInfo) + 'static,
    on_connection: impl Fn(Connection) + 'static,
) -> Option<Listening> {
    let on_message = move |message: MessageEvent| {
        if let Some(event) = from_json_text::<StickerEvent>(&message.data())
            && event.kind == "sticker"
        {
            on_sticker(event.sticker);
        }
    };
    listen(Reopening::afresh(format!("/api/stickers/{sticker}/events")), on_message, on_connection)
}

/// Opens a landing page's stream. A refused one (a limit reached, a server restarting) opens
/// again after a wait; meanwhile the page says it is reconnecting, and the customer has "Check
/// again" while waiting, and a reload while paying.
fn listen(
    reopening: Reopening,
    on_message: impl Fn(MessageEvent) + 'static,
    on_connection: impl Fn(Connection) + 'static,
) -> Option<Listening> {
    Stream::open(reopening, on_message, on_connection, Owner::Anyone)
        .map(|stream| Listening { _stream: stream })
}
