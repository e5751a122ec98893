//! The landing page behind a static Merchant Redirect QR sticker (`/q/{sticker}`): a customer
//! with an ordinary phone camera scans the sticker and pays here, by a request to their number or
//! by opening the app, and watches the payment happen.
//!
//! It is its own small bundle (`src/bin/landing.rs`, `landing.html`) so that it loads fast on a
//! weak mobile connection: no router, just this page, which reads the sticker (and the payment
//! a reload or the switch back from the app names) from the address. The logic is
//! `state::landing`; this module wires it to the DOM, the server (`api`) and the device
//! (`localStorage` for a number the customer asked to remember, the address for the payment).

use std::time::Duration;

use kasse_api::{Country, LandingPayment, NewLandingPayment, StickerInfo};
use leptos::either::{Either, EitherOf5};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::components::locale::{LanguageSwitcher, provide_locale};
use crate::i18n::Locale;
use crate::i18n::landing as text;
use crate::state::landing::{
    self, LandingModel, Live, Mistake, Notice, PAYMENT_PARAMETER, Refusal, Stage, Step, Trouble,
};
use crate::state::money::format_money;
use crate::state::till::{Connection, format_countdown};

/// Where this device keeps the number its customer asked it to remember.
const NUMBER_KEY: &str = "kasse.phone";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn now_ms() -> i64 {
    // Milliseconds since the epoch fit an i64 for the next 290 million years.
    #[allow(clippy::cast_possible_truncation)]
    let now = js_sys::Date::now() as i64;
    now
}

/// Reads (or, after a refusal that says it changed, reads again) what the sticker offers.
fn load_sticker(model: RwSignal<LandingModel>) {
    let sticker = model.with_untracked(|m| m.sticker_id.clone());
    spawn_local(async move {
        match api::landing::sticker(&sticker).await {
            Ok(info) => model.update(|m| m.sticker_loaded(info)),
            Err(trouble) => model.update(|m| m.sticker_failed(trouble)),
        }
    });
}

/// Reads the payment the address names (the live events follow it after).
fn read_payment(model: RwSignal<LandingModel>, token: String) {
    spawn_local(async move {
        match api::landing::payment(&token).await {
            Ok(payment) => {
                model.update(|m| m.answered(payment));
            }
            Err(trouble) => model.update(|m| m.failed(trouble)),
        }
    });
}

/// Sends a payment request and shows what the server answers.
fn send(model: RwSignal<LandingModel>, request: NewLandingPayment) {
    let sticker = model.with_untracked(|m| m.sticker_id.clone());
    spawn_local(async move {
        match api::landing::pay_at_sticker(&sticker, &request).await {
            Ok(payment) => {
                model.update(|m| m.answered(payment));
                open_app_when_ready(model);
            }
            Err(trouble) => {
                model.update(|m| m.failed(trouble));
                if model.with_untracked(LandingModel::sticker_is_stale) {
                    load_sticker(model);
                }
            }
        }
    });
}

/// After "Open the app": once the platform has given its address, goes there (in this tab,
/// unchanged, as the platform asks); the address of this page already names the payment, so the
/// app's switch back lands on it.
fn open_app_when_ready(model: RwSignal<LandingModel>) {
    if let Some(url) = model.try_update(LandingModel::app_to_open).flatten()
        && let Some(window) = web_sys::window()
    {
        let _ = window.location().assign(&url);
    }
}

/// Keeps (or forgets) the customer's number on this device, as they chose when paying.
fn keep_number(number: Option<String>) {
    let Some(storage) = local_storage() else { return };
    let _ = match number {
        Some(number) => storage.set_item(NUMBER_KEY, &number),
        None => storage.remove_item(NUMBER_KEY),
    };
}

/// Puts the followed payment's token in the address (or takes it out), without a new history
/// entry: a reload, and the app's switch back, then find the same payment.
fn show_in_address(sticker: &str, token: Option<&str>) {
    let url = match token {
        Some(token) => format!("/q/{sticker}?{PAYMENT_PARAMETER}={token}"),
        None => format!("/q/{sticker}"),
    };
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// Marks the page interactive (`data-ready` on `<html>`, the milliseconds since navigation
/// started), once its first real content is on screen with its handlers attached. `cargo xtask
/// bench` measures time to interactive by it.
fn mark_ready() {
    let Some(window) = web_sys::window() else { return };
    // Whole milliseconds: formatting a float would pull float printing into the bundle.
    #[allow(clippy::cast_possible_truncation)]
    let at = window.performance().map_or(0.0, |p| p.now()) as i64;
    if let Some(root) = window.document().and_then(|d| d.document_element())
        && !root.has_attribute("data-ready")
    {
        let _ = root.set_attribute("data-ready", &at.to_string());
    }
}

/// The landing page: the root of the landing bundle.
///
/// Each part of the page is built for one language at a time and rebuilt when the customer
/// switches language: its texts are then plain strings, not one reactive closure each, which
/// keeps the bundle small. Only what changes while the customer looks (what they type, the
/// countdown, whether a request is on its way) is reactive within a part.
#[component]
pub fn StickerPage() -> impl IntoView {
    let locale = provide_locale();
    let location = web_sys::window().map(|w| w.location());
    let path = location.as_ref().and_then(|l| l.pathname().ok()).unwrap_or_default();
    let query = location.as_ref().and_then(|l| l.search().ok()).unwrap_or_default();
    let remembered = local_storage().and_then(|s| s.get_item(NUMBER_KEY).ok().flatten());
    let sticker_id = landing::sticker_in_path(&path);
    let known = sticker_id.is_some();
    let model = RwSignal::new(LandingModel::new(
        sticker_id.unwrap_or_default(),
        landing::token_in_query(&query),
        remembered,
    ));
    if known {
        load_sticker(model);
        if let Some(token) = model.with_untracked(|m| m.following().map(str::to_owned)) {
            read_payment(model, token);
        }
    } else {
        model.update(|m| m.sticker_failed(Trouble::Refused(Refusal::UnknownSticker)));
    }

    // What the page follows live: the payment until it is final, or, while the page waits at
    // the sticker, what the sticker offers (an amount the till presents shows at once, and goes
    // again if the till takes it back). One stream at a time.
    let connection = RwSignal::new(Connection::Connecting);
    let live = Memo::new(move |_| model.with(LandingModel::live));
    let events = StoredValue::new_local(None::<api::landing::Listening>);
    // A page being left closes its stream there and then (a browser keeps only a few
    // connections to one server, and one kept for the back button would hold one); shown again
    // from that cache, it opens it anew.
    let shown = RwSignal::new(true);
    let hidden = window_event_listener_untyped("pagehide", move |_| {
        events.set_value(None);
        shown.set(false);
    });
    let showing = window_event_listener_untyped("pageshow", move |_| shown.set(true));
    on_cleanup(move || {
        hidden.remove();
        showing.remove();
    });
    let followed = Memo::new(move |_| model.with(|m| m.following().map(str::to_owned)));
    // One effect for both (fewer effects, smaller bundle): `live` changes whenever `followed`
    // does, so the stream is never opened twice for one payment.
    Effect::new(move |_| {
        let token = followed.get();
        if known {
            show_in_address(&model.with_untracked(|m| m.sticker_id.clone()), token.as_deref());
        }
        let on_connection = move |state| {
            let _ = connection.try_set(state);
        };
        // Dropping the old stream closes it.
        let live = live.get().filter(|_| shown.get());
        events.set_value(live.and_then(|live| match live {
            Live::Payment(token) => api::landing::payment_events(
                &token,
                move |payment| {
                    model.try_update(|m| m.apply_event(payment));
                    open_app_when_ready(model);
                },
                on_connection,
            ),
            Live::Sticker(id) => api::landing::sticker_events(
                &id,
                move |sticker| {
                    model.try_update(|m| m.sticker_offered(sticker));
                },
                on_connection,
            ),
        }));
    });

    let now = RwSignal::new(now_ms());
    if let Ok(ticker) = set_interval_with_handle(move || now.set(now_ms()), Duration::from_secs(1)) {
        on_cleanup(move || ticker.clear());
    }

    // What is on screen, and which reading of the sticker it shows: the parts below are rebuilt
    // when it changes, and read the rest untracked, so typing (which changes the model)
    // rebuilds nothing. One memo rather than one per part keeps the bundle small.
    let screen = Memo::new(move |_| model.with(|m| (m.stage(), m.sticker_reads)));
    let stage = move || screen.with(|(stage, _)| *stage);
    let notice = Memo::new(move |_| model.with(|m| m.notice.clone()));
    Effect::new(move |_| {
        if stage() != Stage::Loading {
            mark_ready();
        }
    });
    let stage_name = move || match stage() {
        Stage::Loading => "loading",
        Stage::Unavailable => "unavailable",
        Stage::NothingToPay => "nothing",
        Stage::Form => "form",
        Stage::Payment(_) => "payment",
    };
    let merchant = move || {
        screen.track();
        let (merchant, place) = model.with_untracked(|m| {
            m.sticker
                .as_ref()
                .map(|s| (s.merchant.clone(), s.place.clone()))
                .or_else(|| m.payment.as_ref().map(|p| (p.merchant.clone(), String::new())))
        })?;
        Some(view! {
            <div class="merchant">
                <h1 id="merchant">{merchant}</h1>
                <p class="place">{place}</p>
            </div>
        })
    };
    let body = move || {
        let locale = locale.get();
        match stage() {
            Stage::Loading => EitherOf5::A(view! { <p class="loading">{text::loading(locale)}</p> }),
            Stage::Unavailable => {
                let why =
                    model.with_untracked(|m| m.sticker_trouble.as_ref().map(|t| text::trouble(t, locale)));
                EitherOf5::B(view! {
                    <section class="card">
                        <h2>{text::unavailable(locale)}</h2>
                        <p>{why}</p>
                    </section>
                })
            }
            Stage::NothingToPay => EitherOf5::C({
                let closed = model.with_untracked(|m| m.sticker.as_ref().is_some_and(|s| s.closed));
                let (headline, line) = if closed {
                    (text::closed(locale), text::closed_line(locale))
                } else {
                    (text::nothing_to_pay(locale), text::nothing_to_pay_line(locale))
                };
                view! {
                    <section class="card">
                        <h2>{headline}</h2>
                        <p>{line}</p>
                        // Only while the live stream is down (or refused): then the customer asks.
                        {move || (connection.get() == Connection::Reconnecting).then(|| view! {
                            <button type="button" class="secondary" id="check-again" on:click=move |_| load_sticker(model)>
                                {text::check_again(locale)}
                            </button>
                        })}
                    </section>
                }
            }),
            Stage::Form => EitherOf5::D(pay_form(model, locale, model.with_untracked(|m| m.sticker.clone()))),
            Stage::Payment(step) => {
                EitherOf5::E(status(model, locale, step, model.with_untracked(|m| m.payment.clone()), now))
            }
        }
    };
    let sentence = move || {
        let locale = locale.get();
        notice
            .with(|notice| match notice {
                Some(Notice::Mistake(mistake)) => Some(text::mistake(*mistake, locale)),
                Some(Notice::Trouble(trouble)) => Some(text::trouble(trouble, locale)),
                None => None,
            })
            .map(|sentence| view! { <p class="notice" id="notice" role="alert">{sentence}</p> })
    };
    let reconnecting = move || {
        let following = live.with(|live| matches!(live, Some(Live::Payment(_))));
        (connection.get() == Connection::Reconnecting && following).then(
            || view! { <p class="connection-note" role="status">{text::reconnecting(locale.get())}</p> },
        )
    };

    view! {
        <main class="landing" data-stage=stage_name>
            <header class="landing-bar">
                <p class="brand">"Vipps MobilePay"</p>
                <LanguageSwitcher/>
            </header>
            {merchant}
            {body}
            {sentence}
            {reconnecting}
        </main>
    }
}

/// What there is to pay, and the two ways to pay it, in `locale`.
fn pay_form(model: RwSignal<LandingModel>, locale: Locale, sticker: Option<StickerInfo>) -> impl IntoView {
    let pay = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if let Some(request) = model.try_update(LandingModel::pay).flatten() {
            keep_number(model.with_untracked(|m| m.kept.clone()));
            send(model, request);
        }
    };
    let open_app = move |_| {
        if let Some(request) = model.try_update(LandingModel::open_app).flatten() {
            send(model, request);
        }
    };
    let forget = move |_| {
        keep_number(None);
        model.update(LandingModel::forget_number);
    };
    let choose_country = move |event: leptos::ev::Event| {
        let code = event_target_value(&event);
        if let Some(country) = Country::ALL.into_iter().find(|c| c.calling_code() == code) {
            model.update(|m| m.choose_country(country));
        }
    };
    let mistaken = move |phone: bool| {
        model
            .with(|m| match &m.notice {
                Some(Notice::Mistake(Mistake::Phone(_))) => phone,
                Some(Notice::Mistake(_)) => !phone,
                _ => false,
            })
            .to_string()
    };
    let busy = move || model.with(|m| m.busy);
    let countries = model.with_untracked(LandingModel::countries).map(|country| {
        let chosen = move || model.with(|m| m.country == country);
        view! { <option value=country.calling_code() prop:selected=chosen>{text::country(country, locale)}</option> }
    });
    let amount = sticker.map(|info| amount_part(model, locale, info, move || mistaken(false)));

    view! {
        <form class="pay-form" novalidate on:submit=pay>
            {amount}
            <div class="field">
                <label for="phone">{text::phone_label(locale)}</label>
                <div class="phone-row">
                    <label class="visually-hidden" for="country">{text::country_label(locale)}</label>
                    <select id="country" autocomplete="tel-country-code" on:change=choose_country>{countries}</select>
                    <input id="phone" type="tel" autocomplete="tel" inputmode="tel" required
                        aria-describedby="pay-hint" aria-invalid=move || mistaken(true)
                        prop:value=move || model.with(|m| m.phone.clone())
                        on:input=move |event| model.update(|m| m.phone = event_target_value(&event))/>
                </div>
            </div>
            <label class="check">
                <input type="checkbox" id="remember" prop:checked=move || model.with(|m| m.remember)
                    on:change=move |event| model.update(|m| m.remember = event_target_checked(&event))/>
                <span>{text::remember(locale)}</span>
            </label>
            {move || model.with(|m| m.kept.is_some()).then(|| view! {
                <button type="button" class="link" id="forget" on:click=forget>{text::forget(locale)}</button>
            })}
            <button type="submit" class="primary" id="pay" disabled=busy>{text::pay(locale)}</button>
            <p class="hint" id="pay-hint">{text::pay_hint(locale)}</p>
            <p class="or" aria-hidden="true">{text::or(locale)}</p>
            <button type="button" class="secondary" id="open-app" disabled=busy on:click=open_app>
                {text::open_app_instead(locale)}
            </button>
        </form>
    }
}

/// The amount: a field within an open-amount sticker's bounds, or what the till presents (or,
/// sending again, what the customer saw before).
fn amount_part(
    model: RwSignal<LandingModel>,
    locale: Locale,
    info: StickerInfo,
    mistaken: impl Fn() -> String + Send + Sync + 'static,
) -> impl IntoView {
    if let Some(open) = info.open {
        return Either::Left(view! {
            <div class="field">
                <label for="amount-input">{text::amount_label(locale)}</label>
                <input id="amount-input" type="text" inputmode="decimal" autocomplete="off"
                    aria-describedby="amount-bounds" aria-invalid=mistaken
                    prop:value=move || model.with(|m| m.amount.clone())
                    on:input=move |event| model.update(|m| m.amount = event_target_value(&event))/>
                <p class="hint" id="amount-bounds">{text::bounds(open.min, open.max, locale)}</p>
            </div>
        });
    }
    let amount = info
        .presented
        .as_ref()
        .map(|p| p.amount)
        .or_else(|| model.with_untracked(|m| m.amount_to_pay().ok().flatten()))
        .map(|amount| format_money(amount, locale));
    let description = info.presented.and_then(|p| p.description);
    Either::Right(view! {
        <div class="to-pay">
            <p class="label">{text::to_pay(locale)}</p>
            <p class="amount" id="amount">{amount}</p>
            <p class="description">{description}</p>
        </div>
    })
}

/// The payment, live, in `locale`: sent, approve in the app (with the time left), and how it
/// ended.
fn status(
    model: RwSignal<LandingModel>,
    locale: Locale,
    step: Step,
    payment: Option<LandingPayment>,
    now: RwSignal<i64>,
) -> impl IntoView {
    let (step_name, tone) = match step {
        Step::Sending => ("sending", "waiting"),
        Step::Approve => ("approve", "waiting"),
        Step::OpenApp => ("open-app", "waiting"),
        Step::Finishing => ("finishing", "success"),
        Step::Paid => ("paid", "success"),
        Step::Refunded => ("refunded", "waiting"),
        Step::Declined => ("declined", "failure"),
        Step::Expired => ("expired", "failure"),
        Step::Cancelled => ("cancelled", "failure"),
        Step::Failed => ("failed", "failure"),
    };
    let (headline, line) = text::step(step, locale);
    let payment = payment.unwrap_or_else(|| LandingPayment {
        token: String::new(),
        sticker: String::new(),
        merchant: String::new(),
        amount: kasse_api::Money::zero(kasse_api::Currency::Nok),
        description: None,
        status: kasse_api::SaleStatus::Creating,
        phone: None,
        redirect_url: None,
        expires_at_ms: None,
    });
    // The masked number the request went to, after "We sent the payment request to".
    let phone = payment.phone.filter(|_| step == Step::Approve).map(|phone| format!(" {phone}."));
    let redirect = payment.redirect_url.filter(|_| step == Step::OpenApp).map(|url| {
        view! { <a class="primary button" id="open-the-app" href=url>{text::open_the_app(locale)}</a> }
    });
    let send_again = step.can_send_again().then(|| {
        let again = move |_| {
            if let Some(request) = model.try_update(LandingModel::send_again).flatten() {
                send(model, request);
            }
        };
        view! { <button type="button" class="primary" id="send-again" on:click=again>{text::send_again(locale)}</button> }
    });
    let countdown = move || {
        model.with(|m| m.seconds_left(now.get())).map(|seconds| {
            view! {
                <p class="countdown">
                    {text::time_left(locale)} " " <time id="countdown">{format_countdown(seconds)}</time>
                </p>
            }
        })
    };
    view! {
        <section class="status card" data-step=step_name data-tone=tone>
            <p class="amount" id="amount">{format_money(payment.amount, locale)}</p>
            <p class="description">{payment.description}</p>
            <div role="status" aria-live="polite" aria-atomic="true">
                <h2 class="headline" id="status">{headline}</h2>
                <p class="line">{line}{phone}</p>
            </div>
            {countdown}
            {redirect}
            {send_again}
        </section>
    }
}
