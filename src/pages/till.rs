//! The till: type an amount (or ring up lines), then ask the customer to pay by any in-store
//! flow — a QR code to scan, a push to their phone number, a scan of their own QR code, a
//! check-in at the till's sticker, or the sticker's landing page — and watch it happen.
//!
//! The page loads the till's snapshot, then follows its live event stream. Every change to the
//! sale comes from the server (a request's answer, an event, or a fresh snapshot); the page only
//! turns the cashier's presses into requests.

use std::time::Duration;

use kasse_api::{Country, Money, NewSale, Presented, SaleLine, SaleStatus, TillSnapshot};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::Redirect;

use crate::api;
use crate::components::camera::CameraScanner;
use crate::components::connection::ConnectionBadge;
use crate::components::keypad::Keypad;
use crate::components::locale::{LanguageSwitcher, tr, use_locale};
use crate::components::qr::QrCode;
use crate::i18n::{common, sale as sale_text, till as text};
use crate::state::keypad::Key;
use crate::state::money::{format_money, parse_amount};
use crate::state::scanner::{self, KeyBursts, Typed};
use crate::state::till::{self, AskLoyalty, Connection, Failure, Panel, TillModel, Tone};

/// `/till`: loads the till this browser works for.
#[component]
pub fn TillPage() -> impl IntoView {
    let locale = use_locale();
    let loaded = LocalResource::new(|| async {
        let session = api::session().await?;
        api::till_snapshot(&session.till.id).await
    });
    view! {
        <Suspense fallback=move || view! { <p class="loading">{common::loading(locale.get())}</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Ok(snapshot) => view! { <Till snapshot/> }.into_any(),
                    Err(Failure::Refused(problem)) if problem.status == 401 => {
                        view! { <Redirect path="/pair"/> }.into_any()
                    }
                    Err(Failure::Refused(problem)) => view! {
                        <main class="page narrow">
                            <h1>{tr(text::cannot_open)}</h1>
                            <p>{common::problem(&problem, locale.get_untracked())}</p>
                        </main>
                    }
                    .into_any(),
                    Err(Failure::NoAnswer) => view! {
                        <main class="page narrow">
                            <h1>{tr(text::no_connection)}</h1>
                            <p>{tr(text::check_network)}</p>
                        </main>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

/// Asks the server what is true now, after a request got no answer or the stream reconnected.
fn resync(model: RwSignal<TillModel>, till_id: String) {
    spawn_local(async move {
        if let Ok(snapshot) = api::till_snapshot(&till_id).await {
            model.update(|m| m.apply_snapshot(snapshot));
        }
    });
}

/// The page's clock for the keypad's key bursts: milliseconds since the page opened, which never
/// goes back as the wall clock can.
fn clock_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

fn now_ms() -> i64 {
    // Milliseconds since the epoch fit an i64 for the next 290 million years.
    #[allow(clippy::cast_possible_truncation)]
    let now = js_sys::Date::now() as i64;
    now
}

/// Sends a start request and shows what the server answers.
fn send_start(model: RwSignal<TillModel>, till_id: String, request: NewSale) {
    spawn_local(async move {
        match api::start_sale(&till_id, &request).await {
            Ok(sale) => model.update(|m| m.request_answered(sale)),
            Err(failure) => {
                let unsure = failure == Failure::NoAnswer;
                model.update(|m| m.request_failed(failure));
                if unsure {
                    resync(model, till_id);
                }
            }
        }
    });
}

/// Where this device remembers that the QR code goes to the customer display.
const QR_ON_DISPLAY_KEY: &str = "kasse.qr-on-display";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Whether this till shows its QR codes on the customer display (remembered per device).
fn qr_on_display_here() -> bool {
    local_storage().and_then(|s| s.get_item(QR_ON_DISPLAY_KEY).ok().flatten()).is_some_and(|v| v == "1")
}

/// Where this device remembers the finished sale the cashier put away on `till`, so that a
/// reload does not bring it back.
fn put_away_key(till: &str) -> String {
    format!("kasse.put-away.{till}")
}

/// The finished sale the cashier last put away on `till`, as this device remembers it.
fn put_away_here(till: &str) -> Option<String> {
    local_storage()?.get_item(&put_away_key(till)).ok().flatten()
}

/// Puts the finished sale away, on screen and in this device's memory.
fn put_away(model: RwSignal<TillModel>) {
    model.update(TillModel::next_sale);
    let (till, reference) = model.with_untracked(|m| (m.till.id.clone(), m.put_away.clone()));
    if let (Some(storage), Some(reference)) = (local_storage(), reference) {
        let _ = storage.set_item(&put_away_key(&till), &reference);
    }
}

fn remember_qr_on_display(on: bool) {
    if let Some(storage) = local_storage() {
        let _ = if on {
            storage.set_item(QR_ON_DISPLAY_KEY, "1")
        } else {
            storage.remove_item(QR_ON_DISPLAY_KEY)
        };
    }
}

/// Whether a key press belongs to a form field (typing a phone number is not keypad input).
fn typed_into_a_field(event: &web_sys::KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast as _;
    event.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).is_some_and(|element| {
        matches!(element.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA" | "BUTTON")
    })
}

/// A banner, in the cashier's language, while the server cannot reach the payment platform: it
/// comes and goes with what the server says (its snapshot and live events).
#[component]
fn PlatformBanner(model: RwSignal<TillModel>) -> impl IntoView {
    let shown = move || model.with(TillModel::platform_banner);
    view! {
        <Show when=shown>
            <p class="notice banner" id="platform-down" role="alert">{tr(text::platform_down)}</p>
        </Show>
    }
}

/// The till screen for a loaded till.
#[component]
fn Till(snapshot: TillSnapshot) -> impl IntoView {
    let put_away_before = put_away_here(&snapshot.till.id);
    let model = RwSignal::new(TillModel::new(snapshot).with_put_away(put_away_before));
    model.update_untracked(|m| m.qr_on_display = qr_on_display_here());
    let till_id = StoredValue::new(model.with_untracked(|m| m.till.id.clone()));

    let events = {
        api::till_events(
            &till_id.get_value(),
            model.with_untracked(TillModel::last_event_id),
            move |id, event| model.update(|m| m.apply_event(id, event)),
            move |connection| {
                let was = model.with_untracked(|m| m.connection);
                model.update(|m| m.set_connection(connection));
                // Back after a drop: the stream replays events, and a snapshot settles anything
                // a request in the gap left unsure.
                if was == Connection::Reconnecting && connection == Connection::Online {
                    resync(model, till_id.get_value());
                }
            },
        )
    };
    // Closed when the page goes away.
    StoredValue::new_local(events);

    let now = RwSignal::new(now_ms());
    if let Ok(ticker) = set_interval_with_handle(move || now.set(now_ms()), Duration::from_secs(1)) {
        on_cleanup(move || ticker.clear());
    }

    let start_qr = move || {
        if let Some(request) = model.try_update(TillModel::start_qr).flatten() {
            send_start(model, till_id.get_value(), request);
        }
    };

    // Keys typed on the keypad screen, read in bursts so that a scanner's is never an amount.
    let bursts = StoredValue::new(KeyBursts::default());
    let typed = move |typed: Option<Typed>| {
        if let Some(request) = typed.and_then(|typed| model.try_update(|m| m.typed(typed)).flatten()) {
            send_start(model, till_id.get_value(), request);
        }
    };
    let keyboard = {
        window_event_listener(leptos::ev::keydown, move |event| {
            if typed_into_a_field(&event) || model.with_untracked(|m| m.panel != Panel::Keypad) {
                return;
            }
            typed(bursts.try_update_value(|b| b.key(&event.key(), clock_ms())).flatten());
            if bursts.with_value(KeyBursts::holding) {
                // The keys held are pressed once a pause shows that the burst is over.
                set_timeout(
                    move || typed(bursts.try_update_value(|b| b.settle(clock_ms())).flatten()),
                    Duration::from_millis(u64::from(scanner::BURST_GAP_MS) + 10),
                );
            }
        })
    };
    on_cleanup(move || keyboard.remove());

    let store_line = model.with_untracked(|m| format!("{} · {}", m.till.store_name, m.till.name));
    let connection = Signal::derive(move || model.with(|m| m.connection));
    let has_sale = move || model.with(|m| m.sale.is_some());
    let locale = use_locale();
    let notice = move || model.with(|m| m.notice.as_ref().map(|n| common::notice(n, locale.get())));
    let unsure = move || model.with(|m| m.unsure);

    view! {
        <main class="till">
            <header class="bar">
                <span class="where">{store_line}</span>
                <nav class="tabs" aria-label=tr(common::nav_label)>
                    <a href="/till" aria-current="page">{tr(common::nav_sale)}</a>
                    <a href="/till/history" rel="external">{tr(common::nav_history)}</a>
                </nav>
                <ConnectionBadge connection/>
                <LanguageSwitcher/>
            </header>
            <PlatformBanner model/>
            <Show when=has_sale fallback=move || view! { <Entry model till_id start_qr/> }>
                <SalePanel model now till_id/>
                <Presenting model till_id/>
            </Show>
            <Show when=unsure>
                <p class="notice" role="status">{tr(text::unsure)}</p>
            </Show>
            {move || notice().map(|text| view! { <p class="notice" role="alert">{text}</p> })}
        </main>
    }
}

/// Preparing a sale: the amount, the flows, and what waits at the till's stickers.
#[component]
fn Entry(
    model: RwSignal<TillModel>,
    till_id: StoredValue<String>,
    start_qr: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let locale = use_locale();
    let amount = move || model.with(|m| format_money(m.amount(), locale.get()));
    let keypad_locked = Signal::derive(move || model.with(|m| m.busy || !m.lines.is_empty()));
    let cannot_start = move || model.with(|m| !m.can_start());
    let panel = move || model.with(|m| m.panel);
    let press = move |key: Key| model.update(|m| m.press(key));
    let present = move || {
        let Some(presentation) = model.with_untracked(TillModel::presentation) else { return };
        model.update(TillModel::request_sent);
        spawn_local(async move {
            match api::present(&till_id.get_value(), &presentation).await {
                Ok(presented) => model.update(|m| {
                    m.request_done();
                    m.set_presented(Some(presented));
                }),
                Err(failure) => model.update(|m| m.request_failed(failure)),
            }
        });
    };
    view! {
        // Two sides on a wide screen (the sale; the keypad and the ways to pay), one column below.
        <section class="entry" aria-label=tr(text::new_sale)>
            <div class="entry-sale">
                <output class="amount" id="amount" aria-live="polite">{amount}</output>
                <label class="field">
                    <span>{tr(text::description)}</span>
                    <input
                        id="description"
                        maxlength="100"
                        prop:value=move || model.with(|m| m.description.clone())
                        on:input=move |e| model.update(|m| m.description = event_target_value(&e))
                    />
                </label>
                <Lines model/>
            </div>
            <div class="entry-pay">
                <Show when=move || panel() == Panel::Keypad>
                    <Keypad on_press=press disabled=keypad_locked/>
                </Show>
                <Show when=move || panel() == Panel::Phone>
                    <PhonePanel model till_id/>
                </Show>
                <Show when=move || panel() == Panel::Scan>
                    <ScanPanel model till_id/>
                </Show>
                <div class="flows" role="group" aria-label=tr(text::ways_to_pay)>
                    <button type="button" class="primary" id="show-qr" disabled=cannot_start on:click=move |_| start_qr()>
                        {tr(text::show_qr)}
                    </button>
                    <button
                        type="button"
                        class="secondary"
                        id="flow-phone"
                        aria-pressed=move || (panel() == Panel::Phone).to_string()
                        on:click=move |_| model.update(|m| m.toggle(Panel::Phone))
                    >
                        {tr(text::phone)}
                    </button>
                    <button
                        type="button"
                        class="secondary"
                        id="flow-scan"
                        aria-pressed=move || (panel() == Panel::Scan).to_string()
                        on:click=move |_| model.update(|m| m.toggle(Panel::Scan))
                    >
                        {tr(text::scan)}
                    </button>
                    <button type="button" class="secondary" id="flow-present" disabled=cannot_start on:click=move |_| present()>
                        {tr(text::present)}
                    </button>
            </div>
            <label class="toggle">
                <input
                    type="checkbox"
                    id="qr-on-display"
                    prop:checked=move || model.with(|m| m.qr_on_display)
                    on:change=move |e| {
                        let on = event_target_checked(&e);
                        remember_qr_on_display(on);
                        model.update(|m| m.qr_on_display = on);
                    }
                />
                <span>{tr(text::qr_on_display)}</span>
            </label>
            <Show when=move || model.with(|m| m.till.loyalty)>
                <label class="toggle">
                    <input
                        type="checkbox"
                        id="ask-loyalty"
                        prop:checked=move || model.with(|m| m.ask_loyalty == AskLoyalty::Yes)
                        on:change=move |e| {
                            let ask = if event_target_checked(&e) { AskLoyalty::Yes } else { AskLoyalty::No };
                            model.update(|m| m.ask_loyalty = ask);
                        }
                    />
                    <span>{tr(text::ask_loyalty)}</span>
                </label>
            </Show>
            <Waiting model till_id/>
            </div>
        </section>
    }
}

/// The receipt's lines, and a form to add one.
#[component]
fn Lines(model: RwSignal<TillModel>) -> impl IntoView {
    let locale = use_locale();
    let open = move || model.with(|m| m.panel == Panel::Lines);
    let currency = model.with_untracked(|m| m.till.currency);
    let rates = till::vat_rates(currency);
    let name = RwSignal::new(String::new());
    let quantity = RwSignal::new("1".to_owned());
    let price = RwSignal::new(String::new());
    let rate = RwSignal::new(rates.first().copied().unwrap_or(0));
    // Why the line typed cannot be added; nothing is added until it is fixed.
    let mistake = RwSignal::new(None::<String>);
    let add = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        // The server checks the receipt's totals; here only what the cashier can fix at once.
        let unit_price = match parse_amount(&price.get_untracked(), Money::new(i64::MAX, currency)) {
            Ok(unit_price) => unit_price,
            Err(wrong) => return mistake.set(Some(sale_text::mistake(wrong, locale.get_untracked()))),
        };
        let Some(quantity_value) =
            quantity.get_untracked().trim().parse::<u32>().ok().filter(|q| (1..=9999).contains(q))
        else {
            return mistake.set(Some(text::bad_quantity(locale.get_untracked()).to_owned()));
        };
        let line = SaleLine {
            name: name.get_untracked().trim().to_owned(),
            quantity: quantity_value,
            unit_price,
            vat_rate: rate.get_untracked(),
        };
        if line.name.is_empty() {
            return mistake.set(Some(text::bad_line_name(locale.get_untracked()).to_owned()));
        }
        mistake.set(None);
        model.update(|m| m.add_line(line));
        name.set(String::new());
        quantity.set("1".to_owned());
        price.set(String::new());
    };
    let lines = move || model.with(|m| m.lines.clone());
    view! {
        <div class="lines">
            <button
                type="button"
                class="link"
                id="flow-lines"
                aria-expanded=move || open().to_string()
                on:click=move |_| model.update(|m| m.toggle(Panel::Lines))
            >
                {tr(text::add_line)}
            </button>
            <ul class="line-list">
                {move || {
                    lines()
                        .into_iter()
                        .enumerate()
                        .map(|(index, line)| {
                            let total = Money::new(line.total(), line.unit_price.currency);
                            view! {
                                <li>
                                    <span>{format!("{} × {}", line.quantity, line.name)}</span>
                                    <span class="vat">{till::format_vat(line.vat_rate)}</span>
                                    <span>{move || format_money(total, locale.get())}</span>
                                    <button type="button" class="link" on:click=move |_| model.update(|m| m.remove_line(index))>
                                        {tr(text::remove_line)}
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <Show when=open>
                <form class="line-form" on:submit=add>
                    <label>
                        <span>{tr(text::line_name)}</span>
                        <input id="line-name" maxlength="100" required prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e))/>
                    </label>
                    <label>
                        <span>{tr(text::quantity)}</span>
                        <input id="line-quantity" inputmode="numeric" required prop:value=move || quantity.get() on:input=move |e| quantity.set(event_target_value(&e))/>
                    </label>
                    <label>
                        <span>{tr(text::amount)}</span>
                        <input id="line-price" inputmode="decimal" required prop:value=move || price.get() on:input=move |e| price.set(event_target_value(&e))/>
                    </label>
                    <label>
                        <span>{tr(text::vat)}</span>
                        // The rate outlives the form, which is made anew each time the panel
                        // opens: the select shows the rate a line is added with.
                        <select
                            id="line-vat"
                            prop:value=move || rate.get().to_string()
                            on:change=move |e| rate.set(event_target_value(&e).parse().unwrap_or(0))
                        >
                            {rates.iter().map(|r| view! { <option value=r.to_string()>{till::format_vat(*r)}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="submit" class="secondary" id="line-add">{tr(text::add_line)}</button>
                    {move || mistake.get().map(|sentence| view! { <p class="field-mistake" role="alert">{sentence}</p> })}
                </form>
            </Show>
        </div>
    }
}

/// Typing the customer's phone number.
#[component]
fn PhonePanel(model: RwSignal<TillModel>, till_id: StoredValue<String>) -> impl IntoView {
    let field = NodeRef::<leptos::html::Input>::new();
    // Opening the panel means typing a number next: the field takes the focus.
    Effect::new(move |_| {
        if let Some(input) = field.get() {
            let _ = input.focus();
        }
    });
    let locale = use_locale();
    let send = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        match model.try_update(TillModel::start_phone) {
            Some(Ok(Some(request))) => send_start(model, till_id.get_value(), request),
            Some(Err(mistake)) => {
                let sentence = common::phone_mistake(mistake, locale.get_untracked());
                model.update(|m| m.refuse(sentence.to_owned()));
            }
            _ => {}
        }
    };
    let choose_country = move |event: leptos::ev::Event| {
        let code = event_target_value(&event);
        if let Some(country) = Country::ALL.into_iter().find(|c| c.calling_code() == code) {
            model.update(|m| m.country = country);
        }
    };
    view! {
        <form class="panel phone" on:submit=send>
            <label class="country">
                <span>{tr(text::country)}</span>
                <select id="phone-country" on:change=choose_country prop:value=move || model.with(|m| m.country.calling_code().to_owned())>
                    {Country::ALL.into_iter().map(|c| view! { <option value=c.calling_code()>{format!("+{}", c.calling_code())}</option> }).collect_view()}
                </select>
            </label>
            <label class="number">
                <span>{tr(text::phone_label)}</span>
                <input
                    id="phone-number"
                    node_ref=field
                    type="tel"
                    autocomplete="off"
                    inputmode="tel"
                    required
                    prop:value=move || model.with(|m| m.phone.clone())
                    on:input=move |e| model.update(|m| m.phone = event_target_value(&e))
                />
            </label>
            <button type="submit" class="primary" id="send-request" disabled=move || model.with(|m| !m.can_start())>
                {tr(text::send_request)}
            </button>
        </form>
    }
}

/// Waiting for the customer's QR code: from a keyboard-wedge scanner (its burst of keys ends
/// with Enter in this field), or from the camera.
#[component]
fn ScanPanel(model: RwSignal<TillModel>, till_id: StoredValue<String>) -> impl IntoView {
    let field = NodeRef::<leptos::html::Input>::new();
    let camera_on = RwSignal::new(false);
    // The scanner types into whatever has focus: make sure it is this field.
    Effect::new(move |_| {
        if let Some(input) = field.get() {
            let _ = input.focus();
        }
    });
    let read = move |text: String| {
        if let Some(request) = model.try_update(|m| m.scanned(&text)).flatten() {
            send_start(model, till_id.get_value(), request);
        }
    };
    let scanned = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let Some(input) = field.get_untracked() else { return };
        let text = input.value();
        input.set_value("");
        read(text);
    };
    view! {
        <form class="panel scan" on:submit=scanned>
            <p>{tr(text::scan_prompt)}</p>
            <label>
                <span class="visually-hidden">{tr(text::scanner_field)}</span>
                <input id="scan-input" node_ref=field autocomplete="off" spellcheck="false"/>
            </label>
            <button
                type="button"
                class="secondary"
                id="use-camera"
                aria-pressed=move || camera_on.get().to_string()
                on:click=move |_| camera_on.update(|on| *on = !*on)
            >
                {tr(text::camera)}
            </button>
            <Show when=move || camera_on.get()>
                <CameraScanner on_code=Callback::new(read)/>
            </Show>
        </form>
    }
}

/// What waits at the till's stickers: an amount presented, customers checked in.
#[component]
fn Waiting(model: RwSignal<TillModel>, till_id: StoredValue<String>) -> impl IntoView {
    let check_ins = move || model.with(|m| m.open_check_ins(now_ms()));
    view! {
        <Presenting model till_id/>
        <ul class="check-ins" aria-live="polite">
            {move || check_ins().into_iter().map(|check_in| {
                let id = check_in.id.clone();
                view! {
                    <li class="check-in" data-check-in=check_in.id.clone()>
                        <span>{tr(text::checked_in)}</span>
                        <button type="button" class="primary charge" disabled=move || model.with(|m| !m.can_start()) on:click=move |_| {
                            if let Some(request) = model.try_update(|m| m.charge(&id)).flatten() {
                                send_start(model, till_id.get_value(), request);
                            }
                        }>
                            {tr(text::charge)}
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// What the till presents at its sticker: the amount, who claimed it once a customer's payment
/// there took it (their masked number), and "Take back", which also cancels that customer's
/// request. Under the keypad while it waits, under the sale a claim started once claimed.
///
/// The claim follows the sale it started: whenever that sale changes (it starts, cannot start, is
/// cancelled or paid), what the till presents is read anew from the server.
#[component]
fn Presenting(model: RwSignal<TillModel>, till_id: StoredValue<String>) -> impl IntoView {
    let locale = use_locale();
    let sticker_sale = Memo::new(move |_| model.with(TillModel::sticker_sale));
    Effect::new(move |_| {
        if sticker_sale.get().is_some() {
            resync(model, till_id.get_value());
        }
    });
    let presented = move || model.with(|m| m.presented.clone());
    let take_back = move || {
        if !model.try_update(TillModel::take_back).unwrap_or(false) {
            return;
        }
        spawn_local(async move {
            match api::withdraw(&till_id.get_value()).await {
                Ok(()) => model.update(TillModel::taken_back),
                Err(failure) => {
                    model.update(|m| m.request_failed(failure));
                    // Refused (the customer approved first) or unanswered: show what is true now.
                    resync(model, till_id.get_value());
                }
            }
        });
    };
    view! {
        {move || presented().map(|Presented { amount, claimed, claimed_by, .. }| {
            let claim = claimed.then(|| text::claimed(claimed_by.as_deref(), locale.get()));
            view! {
                <p class="waiting" id="presented" data-claimed=claimed.to_string() aria-live="polite">
                    <span>{tr(text::presented)}</span>
                    " "
                    <strong>{move || format_money(amount, locale.get())}</strong>
                    {claim.map(|claim| view! { <span class="claimed" id="claimed-by">{claim}</span> })}
                    <button
                        type="button"
                        class="link"
                        id="take-back"
                        disabled=move || model.with(|m| m.busy)
                        on:click=move |_| take_back()
                    >
                        {tr(text::withdraw)}
                    </button>
                </p>
            }
        })}
    }
}

/// The sale on screen: its status, the QR code while the customer can scan it, and what the
/// cashier can do next.
#[component]
fn SalePanel(model: RwSignal<TillModel>, now: RwSignal<i64>, till_id: StoredValue<String>) -> impl IntoView {
    let locale = use_locale();
    let sale = Memo::new(move |_| model.with(|m| m.sale.clone()));
    let status = move || sale.get().map_or(SaleStatus::Creating, |s| s.status);
    let status_name = move || status().as_str();
    let tone_name = move || match till::tone(status()) {
        Tone::Waiting => "waiting",
        Tone::Success => "success",
        Tone::Failure => "failure",
    };
    let headline = move || text::headline(status(), locale.get());
    let explanation = move || {
        let sale = sale.get();
        match sale.as_ref().and_then(|s| s.failure.clone()) {
            Some(failure) if status() == SaleStatus::Failed || status() == SaleStatus::Authorized => failure,
            _ => text::explanation(status(), locale.get()).to_owned(),
        }
    };
    let amount = move || sale.get().map(|s| format_money(s.amount, locale.get())).unwrap_or_default();
    // What was taken of the amount, once a capture took only part of it.
    let charged =
        move || sale.get().map(|s| common::charged(till::charged(&s), locale.get())).unwrap_or_default();
    let customer = move || sale.get().and_then(|s| s.customer).map(|c| common::identified(&c, locale.get()));
    let loyalty = move || sale.get().and_then(|s| s.loyalty).map(|l| common::loyalty(&l, locale.get()));
    let reference = move || sale.get().map(|s| s.reference).unwrap_or_default();
    let qr_text = Memo::new(move |_| model.with(|m| m.qr_here().map(str::to_owned)));
    let qr_elsewhere = move || model.with(TillModel::qr_elsewhere);
    let countdown = move || model.with(|m| m.seconds_left(now.get())).map(till::format_countdown);
    let cancellable = move || matches!(status(), SaleStatus::Creating | SaleStatus::AwaitingCustomer);
    let capturable = move || status() == SaleStatus::Authorized;
    let finished = move || status().is_final();
    let busy = move || model.with(|m| m.busy);

    // One shape for every action on the sale: send, show the answer, ask again if unanswered.
    let act = move |action: SaleAction| {
        let Some(reference) = model.with_untracked(|m| m.sale.as_ref().map(|s| s.reference.clone())) else {
            return;
        };
        model.update(TillModel::request_sent);
        let till_id = till_id.get_value();
        {
            spawn_local(async move {
                let answer = match action {
                    SaleAction::Cancel => api::cancel_sale(&till_id, &reference).await,
                    SaleAction::CaptureAll => api::capture(&till_id, &reference, None).await,
                    SaleAction::CheckAgain => api::reconcile(&till_id, &reference).await,
                };
                match answer {
                    Ok(sale) => model.update(|m| m.request_answered(sale)),
                    Err(failure) => {
                        model.update(|m| m.request_failed(failure));
                        // Whatever the action's fate, show the sale as the server has it now.
                        resync(model, till_id);
                    }
                }
            });
        }
    };
    let detail_link = move || format!("/till/sales/{}", reference());

    view! {
        // Two sides on a wide screen (what is sold; the QR code and what to do), one column below,
        // where the receipt is left to the history.
        <section class="sale" data-status=status_name data-tone=tone_name aria-live="polite">
            <div class="sale-facts">
                <h1 class="headline">{headline}</h1>
                <p class="sale-amount">{charged}</p>
                {move || customer().map(|c| view! { <p class="customer">{c}</p> })}
                {move || loyalty().map(|l| view! { <p class="loyalty">{l}</p> })}
                {move || sale.get().and_then(|s| s.description).map(|d| view! { <p class="sale-description">{d}</p> })}
                <SaleReceipt model/>
            </div>
            <div class="sale-pay">
                {move || qr_text.get().map(|text| {
                    let label = format!("{} {}", common::qr_label(locale.get()), amount());
                    view! { <figure class="qr-frame"><QrCode text label/></figure> }
                })}
                <Show when=qr_elsewhere>
                    <p class="qr-elsewhere">{tr(text::qr_is_on_display)}</p>
                </Show>
                {move || countdown().map(|left| view! {
                    <p class="countdown">{tr(text::expires_in)} " " <time>{left}</time></p>
                })}
                <p class="explanation">{explanation}</p>
                <div class="actions">
                    <Show when=capturable>
                        {
                            view! {
                                <button type="button" class="primary" id="capture" disabled=busy on:click=move |_| act(SaleAction::CaptureAll)>
                                    {tr(text::capture_all)}
                                </button>
                            }
                        }
                    </Show>
                    <Show when=move || cancellable() || capturable()>
                        {
                            view! {
                                <button type="button" class="secondary" id="cancel" disabled=busy on:click=move |_| act(SaleAction::Cancel)>
                                    {move || if capturable() { text::release(locale.get()) } else { text::cancel(locale.get()) }}
                                </button>
                            }
                        }
                    </Show>
                    <Show when=move || !finished()>
                        {
                            view! {
                                <button type="button" class="link" id="check-again" disabled=busy on:click=move |_| act(SaleAction::CheckAgain)>
                                    {tr(text::check_again)}
                                </button>
                            }
                        }
                    </Show>
                    <Show when=finished>
                        <button type="button" class="primary" id="next-sale" on:click=move |_| put_away(model)>
                            {tr(text::new_sale)}
                        </button>
                    </Show>
                    <a href=detail_link class="link" id="details" rel="external">{tr(text::details)}</a>
                </div>
            </div>
            <p class="reference">{tr(common::reference)} " " <code>{reference}</code></p>
        </section>
    }
}

/// The receipt's lines of the sale on screen, as the cashier entered them (shown beside the
/// sale on a wide screen).
#[component]
fn SaleReceipt(model: RwSignal<TillModel>) -> impl IntoView {
    let locale = use_locale();
    let lines = move || model.with(|m| m.lines.clone());
    move || {
        let lines = lines();
        (!lines.is_empty()).then(|| {
            let rows = lines
                .into_iter()
                .map(|line| {
                    let total = Money::new(line.total(), line.unit_price.currency);
                    view! {
                        <li>
                            <span>{format!("{} × {}", line.quantity, line.name)}</span>
                            <span class="vat">{till::format_vat(line.vat_rate)}</span>
                            <span>{move || format_money(total, locale.get())}</span>
                        </li>
                    }
                })
                .collect_view();
            view! { <ul class="line-list sale-receipt">{rows}</ul> }
        })
    }
}

/// What the cashier can do to the sale on screen.
#[derive(Debug, Clone, Copy)]
enum SaleAction {
    Cancel,
    CaptureAll,
    CheckAgain,
}
