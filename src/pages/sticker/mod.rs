//! The landing page behind a static Merchant Redirect QR sticker (`/q/{sticker}`): a customer
//! with an ordinary phone camera scans the sticker and pays here, by a request to their number or
//! by opening the app, and watches the payment happen.
//!
//! It is its own small bundle (`src/bin/landing.rs`, `landing.html`) so that it loads fast on a
//! weak mobile connection: no router, just this page, which reads the sticker (and the payment
//! a reload or the switch back from the app names) from the address. The logic is
//! `state::landing`; this module wires it to the DOM (`view`), the server (`api::landing`) and
//! the device (`localStorage` for a number the customer asked to remember, the address for the
//! payment, `sessionStorage` for a payment request sent without an answer and its key).
//!
//! Unlike the till's pages it is not built with Leptos: its budget (80 KB with brotli for
//! everything the phone downloads) leaves no room for Leptos's renderer and reactive graph,
//! about 30 KB of the page with them. The page is one [`LandingModel`]: every change goes
//! through [`Page::update`], which brings the screen and the live stream up to the model.

mod dom;
mod view;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use kasse_api::Country;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::spawn_local;
use web_sys::{Element, Event, HtmlInputElement};

use crate::api;
use crate::components::locale;
use crate::i18n::Locale;
use crate::state::landing::{
    self, Attempt, LandingModel, Live, PAYMENT_PARAMETER, Refusal, Sending, Stage, Trouble,
};
use crate::state::till::Connection;
use dom::DomResult;
use view::{Moment, Screen};

/// Where this device keeps the number its customer asked it to remember.
const NUMBER_KEY: &str = "kasse.phone";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Where this tab keeps the payment request it sent to `sticker` without an answer, with its
/// Idempotency-Key: a reload keeps it, so the request sent again after it still starts no second
/// payment. Session storage: it belongs to this tab's payment, not to the device.
fn attempt_key(sticker: &str) -> String {
    format!("kasse.attempt.{sticker}")
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// The request this tab sent to `sticker` without an answer, as kept before a reload.
fn kept_attempt(sticker: &str) -> Option<String> {
    session_storage()?.get_item(&attempt_key(sticker)).ok().flatten()
}

/// Keeps (or forgets) the request sent to `sticker` without an answer, as the model has it now.
fn keep_attempt(sticker: &str, attempt: Option<&Attempt>) {
    let Some(storage) = session_storage() else { return };
    let _ = match attempt {
        Some(attempt) => storage.set_item(&attempt_key(sticker), &attempt.stored()),
        None => storage.remove_item(&attempt_key(sticker)),
    };
}

fn now_ms() -> i64 {
    // Milliseconds since the epoch fit an i64 for the next 290 million years.
    #[allow(clippy::cast_possible_truncation)]
    let now = js_sys::Date::now() as i64;
    now
}

/// The page: its one model, what lives beside it, and what is on screen.
struct Page {
    model: RefCell<LandingModel>,
    locale: Cell<Locale>,
    /// The live stream's state, for "Check again" and "Reconnecting…".
    connection: Cell<Connection>,
    now_ms: Cell<i64>,
    /// False while the page is left (in the browser's back-forward cache).
    shown: Cell<bool>,
    /// Whether the address names a sticker at all.
    known: bool,
    screen: RefCell<Screen>,
    /// The live stream, closed when dropped, and what it follows (with the payment the address
    /// names), to open a new one only when that changes.
    stream: RefCell<Option<api::Listening>>,
    streaming: RefCell<Option<(Option<String>, Option<Live>)>>,
}

/// Starts the landing page in the document's `<body>`: the root of the landing bundle.
pub fn start() -> DomResult<()> {
    let locale = locale::chosen();
    locale::show_language(locale);
    let location = web_sys::window().map(|w| w.location());
    let path = location.as_ref().and_then(|l| l.pathname().ok()).unwrap_or_default();
    let query = location.as_ref().and_then(|l| l.search().ok()).unwrap_or_default();
    let remembered = local_storage().and_then(|s| s.get_item(NUMBER_KEY).ok().flatten());
    let sticker_id = landing::sticker_in_path(&path);
    let known = sticker_id.is_some();
    let sticker_id = sticker_id.unwrap_or_default();
    let attempt = kept_attempt(&sticker_id);
    let mut model = LandingModel::new(sticker_id, landing::token_in_query(&query), remembered)
        .with_attempt(attempt.as_deref());
    if !known {
        model.sticker_failed(Trouble::Refused(Refusal::UnknownSticker));
    }
    let page = Rc::new(Page {
        model: RefCell::new(model),
        locale: Cell::new(locale),
        connection: Cell::new(Connection::Connecting),
        now_ms: Cell::new(now_ms()),
        shown: Cell::new(true),
        known,
        screen: RefCell::new(Screen::new()?),
        stream: RefCell::new(None),
        streaming: RefCell::new(None),
    });

    // Every control's event bubbles to `<main>`: one handler per kind, for the page's life.
    let root = page.screen.borrow().root().clone();
    for kind in ["click", "input", "change", "submit"] {
        let page = Rc::clone(&page);
        listen(&root, kind, move |event| page.on(&event))?;
    }
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    // A page being left closes its stream there and then (a browser keeps only a few
    // connections to one server, and one kept for the back button would hold one); shown again
    // from that cache, it opens it anew.
    for (kind, shown) in [("pagehide", false), ("pageshow", true)] {
        let page = Rc::clone(&page);
        listen(&window, kind, move |_| {
            page.shown.set(shown);
            page.update(|_| ());
        })?;
    }
    let tick = {
        let page = Rc::clone(&page);
        Closure::<dyn FnMut()>::new(move || {
            page.now_ms.set(now_ms());
            page.update(|_| ());
        })
    };
    window.set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), 1_000)?;
    // The page lives as long as the document: so do its handlers.
    tick.forget();

    if known {
        page.load_sticker();
        let token = page.model.borrow().following().map(str::to_owned);
        if let Some(token) = token {
            page.read_payment(token);
        }
    }
    page.update(|_| ());
    Ok(())
}

/// Calls `handler` with each `kind` event reaching `target`, for the page's life.
fn listen(target: &web_sys::EventTarget, kind: &str, handler: impl FnMut(Event) + 'static) -> DomResult<()> {
    let handler = Closure::<dyn FnMut(Event)>::new(handler);
    target.add_event_listener_with_callback(kind, handler.as_ref().unchecked_ref())?;
    handler.forget();
    Ok(())
}

impl Page {
    /// Changes the model with `change`, then brings the live stream and the screen up to it.
    /// `None` if the model is borrowed already (a DOM event fired while it was being changed or
    /// the screen drawn): nothing of the page waits for it, and the next change draws anew.
    fn update<R>(self: &Rc<Self>, change: impl FnOnce(&mut LandingModel) -> R) -> Option<R> {
        let answer = change(&mut *self.model.try_borrow_mut().ok()?);
        self.follow();
        let model = self.model.borrow();
        let moment = Moment {
            model: &model,
            locale: self.locale.get(),
            connection: self.connection.get(),
            now_ms: self.now_ms.get(),
        };
        if let Ok(mut screen) = self.screen.try_borrow_mut() {
            // A DOM call refused here leaves the screen as it was; the next change tries again.
            let _ = screen.show(&moment);
        }
        if model.stage() != Stage::Loading {
            mark_ready();
        }
        Some(answer)
    }

    /// Follows, live, what the model says to: the payment until it is final, or, while the page
    /// waits at the sticker, what the sticker offers (an amount the till presents shows at once,
    /// and goes again if the till takes it back). One stream at a time.
    fn follow(self: &Rc<Self>) {
        let (followed, live) = {
            let model = self.model.borrow();
            (model.following().map(str::to_owned), model.live())
        };
        let wanted = (followed, live.filter(|_| self.shown.get()));
        if self.streaming.borrow().as_ref() == Some(&wanted) {
            return;
        }
        if self.known {
            show_in_address(&self.model.borrow().sticker_id, wanted.0.as_deref());
        }
        // Dropping the old stream closes it; the new one has not said how it is yet.
        self.stream.replace(None);
        self.connection.set(Connection::Connecting);
        let on_connection = {
            let page = Rc::downgrade(self);
            move |state| {
                if let Some(page) = page.upgrade() {
                    page.connection.set(state);
                    page.update(|_| ());
                }
            }
        };
        let page = Rc::downgrade(self);
        let stream = match &wanted.1 {
            Some(Live::Payment(token)) => api::landing::payment_events(
                token,
                move |payment| {
                    if let Some(page) = page.upgrade() {
                        page.update(|m| m.apply_event(payment));
                        page.open_app_when_ready();
                    }
                },
                on_connection,
            ),
            Some(Live::Sticker(id)) => api::landing::sticker_events(
                id,
                move |sticker| {
                    if let Some(page) = page.upgrade() {
                        page.update(|m| m.sticker_offered(sticker));
                    }
                },
                on_connection,
            ),
            None => None,
        };
        self.stream.replace(stream);
        self.streaming.replace(Some(wanted));
    }

    /// What the customer did, from an event bubbling up from a control.
    fn on(self: &Rc<Self>, event: &Event) {
        let Some(target) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
        let value =
            || js_sys::Reflect::get(&target, &JsValue::from_str("value")).ok().and_then(|v| v.as_string());
        match (event.type_().as_str(), target.id().as_str()) {
            ("submit", _) => {
                event.prevent_default();
                if let Some(sending) = self.update(|m| m.pay(api::action_key)).flatten() {
                    keep_number(self.model.borrow().kept.as_deref());
                    self.send(sending);
                }
            }
            ("click", "open-app") => self.send_if(|m| m.open_app(api::action_key)),
            ("click", "send-again") => self.send_if(|m| m.send_again(api::action_key)),
            ("click", "check-again") => {
                // The sticker's stream is down (or was refused): it opens anew, with a reading.
                self.streaming.replace(None);
                self.update(|_| ());
                self.load_sticker();
            }
            ("click", "forget") => {
                keep_number(None);
                self.update(LandingModel::forget_number);
            }
            // `change` too: a field changed without an `input` event (cleared by a tool,
            // autofilled) is read when it loses focus.
            ("input" | "change", "phone") => {
                let phone = value().unwrap_or_default();
                self.update(|m| m.phone = phone);
            }
            ("input" | "change", "amount-input") => {
                let amount = value().unwrap_or_default();
                self.update(|m| m.amount = amount);
            }
            ("change", "country") => {
                let code = value().unwrap_or_default();
                if let Some(country) = Country::ALL.into_iter().find(|c| c.calling_code() == code) {
                    self.update(|m| m.choose_country(country));
                }
            }
            ("change", "remember") => {
                let checked = target.unchecked_ref::<HtmlInputElement>().checked();
                self.update(|m| m.remember = checked);
            }
            ("change", "language") => {
                if let Some(chosen) = value().and_then(|tag| Locale::from_tag(&tag)) {
                    locale::choose(chosen);
                    self.locale.set(chosen);
                    self.update(|_| ());
                }
            }
            _ => {}
        }
    }

    /// Sends the request `ask` makes of the model, if it makes one.
    fn send_if(self: &Rc<Self>, ask: impl FnOnce(&mut LandingModel) -> Option<Sending>) {
        if let Some(sending) = self.update(ask).flatten() {
            self.send(sending);
        }
    }

    /// Keeps the request sent without an answer in this tab's storage, or forgets it, as the
    /// model has it now.
    fn keep_attempt(&self) {
        let model = self.model.borrow();
        keep_attempt(&model.sticker_id, model.attempt());
    }

    /// Reads (or, after a refusal that says it changed, reads again) what the sticker offers.
    fn load_sticker(self: &Rc<Self>) {
        let page = Rc::clone(self);
        let sticker = self.model.borrow().sticker_id.clone();
        spawn_local(async move {
            match api::landing::sticker(&sticker).await {
                Ok(info) => page.update(|m| m.sticker_loaded(info)),
                Err(trouble) => page.update(|m| m.sticker_failed(trouble)),
            };
        });
    }

    /// Reads the payment the address names (the live events follow it after).
    fn read_payment(self: &Rc<Self>, token: String) {
        let page = Rc::clone(self);
        spawn_local(async move {
            match api::landing::payment(&token).await {
                Ok(payment) => page.update(|m| m.answered(payment)),
                Err(trouble) => page.update(|m| m.failed(trouble)),
            };
        });
    }

    /// Sends a payment request and shows what the server answers.
    fn send(self: &Rc<Self>, sending: Sending) {
        // Kept before it goes: a reload while it is on its way sends it again under its key.
        self.keep_attempt();
        let page = Rc::clone(self);
        let sticker = self.model.borrow().sticker_id.clone();
        spawn_local(async move {
            match api::landing::pay_at_sticker(&sticker, &sending).await {
                Ok(payment) => {
                    page.update(|m| m.answered(payment));
                    page.keep_attempt();
                    page.open_app_when_ready();
                }
                Err(trouble) => {
                    page.update(|m| m.failed(trouble));
                    page.keep_attempt();
                    if page.model.borrow().sticker_is_stale() {
                        page.load_sticker();
                    }
                }
            }
        });
    }

    /// After "Open the app": once the platform has given its address, goes there (in this tab,
    /// unchanged, as the platform asks); the address of this page already names the payment, so
    /// the app's switch back lands on it.
    fn open_app_when_ready(self: &Rc<Self>) {
        if let Some(url) = self.update(LandingModel::app_to_open).flatten()
            && let Some(window) = web_sys::window()
        {
            let _ = window.location().assign(&url);
        }
    }
}

/// Keeps (or forgets) the customer's number on this device, as they chose when paying.
fn keep_number(number: Option<&str>) {
    let Some(storage) = local_storage() else { return };
    let _ = match number {
        Some(number) => storage.set_item(NUMBER_KEY, number),
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
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// Marks the page interactive (`data-ready` on `<html>`, the milliseconds since navigation
/// started), once its first real content is on screen with its handlers attached. `cargo xtask
/// bench` measures time to interactive by it.
fn mark_ready() {
    let Some(window) = web_sys::window() else { return };
    let Some(root) = window.document().and_then(|d| d.document_element()) else { return };
    if root.has_attribute("data-ready") {
        return;
    }
    // Whole milliseconds: formatting a float would pull float printing into the bundle.
    #[allow(clippy::cast_possible_truncation)]
    let at = window.performance().map_or(0.0, |p| p.now()) as i64;
    let _ = root.set_attribute("data-ready", &at.to_string());
}
