//! What the landing page shows for a state of `LandingModel`: the page's frame once, then each
//! part of it rebuilt when what it shows changes (see [`Part`]).
//!
//! Each part is built for one language at a time and rebuilt when the customer switches
//! language. Within a part only what changes while the customer looks is updated in place: what
//! they type, the countdown, whether a request is on its way. The element ids, classes and
//! attributes are the page's contract with its stylesheet and the browser tests.

use kasse_api::{LandingPayment, StickerInfo};
use web_sys::{Element, HtmlInputElement, HtmlSelectElement};

use super::dom::{DomResult, El, Part, el, flag, when};
use crate::i18n::landing as text;
use crate::i18n::{Locale, common};
use crate::state::landing::{LandingModel, Live, Mistake, Notice, Stage, Step};
use crate::state::money::format_money;
use crate::state::till::{Connection, format_countdown};

/// What the page's parts show at one moment: the model and what lives beside it.
pub struct Moment<'a> {
    /// The page's state.
    pub model: &'a LandingModel,
    /// The language the customer reads.
    pub locale: Locale,
    /// The live stream's state.
    pub connection: Connection,
    /// Milliseconds since the epoch, for the countdown.
    pub now_ms: i64,
}

/// The page on screen: its frame and its parts.
pub struct Screen {
    main: Element,
    language_name: Part<Locale>,
    language: HtmlSelectElement,
    merchant: Part<(Stage, u32)>,
    body: Part<(Stage, u32, Locale)>,
    inside: Inside,
    notice: Part<(Option<Notice>, Locale)>,
    reconnecting: Part<(bool, Locale)>,
}

/// The parts within the body that change while it is shown.
enum Inside {
    /// Nothing changes in place.
    Still,
    /// Nothing to pay: "Check again" while the live stream is down.
    Waiting(Part<bool>),
    /// The form: its fields, its buttons, and "Forget my number" while a number is kept.
    Form(Form),
    /// A payment: the time left to approve.
    Payment(Countdown),
}

/// The form's fields and buttons.
struct Form {
    amount: Option<Field>,
    country: HtmlSelectElement,
    phone: Field,
    remember: HtmlInputElement,
    forget: Part<bool>,
    pay: Element,
    open_app: Element,
}

impl Screen {
    /// Builds the page's frame (`<main>`, its bar and language switcher) at the end of `<body>`.
    pub fn new() -> DomResult<Self> {
        let language_name = Part::new()?;
        let mut options = el("select")?.id("language");
        for locale in Locale::ALL {
            options = options.child(el("option")?.attr("value", locale.tag()).text(locale.name()));
        }
        let language = options.done_as::<HtmlSelectElement>();
        let switcher = el("label")?.class("language").part(&language_name).node(&language);
        let bar = el("header")?
            .class("landing-bar")
            .child(el("p")?.class("brand").text("Vipps MobilePay"))
            .child(switcher);
        let (merchant, body, notice, reconnecting) = (Part::new()?, Part::new()?, Part::new()?, Part::new()?);
        let main = el("main")?
            .class("landing")
            .child(bar)
            .part(&merchant)
            .part(&body)
            .part(&notice)
            .part(&reconnecting)
            .done();
        super::dom::document()?.body().ok_or(wasm_bindgen::JsValue::NULL)?.append_with_node_1(&main)?;
        Ok(Self {
            main,
            language_name,
            language,
            merchant,
            body,
            inside: Inside::Still,
            notice,
            reconnecting,
        })
    }

    /// Where the page's events bubble to.
    pub fn root(&self) -> &Element {
        &self.main
    }

    /// Brings the screen up to `now`.
    pub fn show(&mut self, now: &Moment<'_>) -> DomResult<()> {
        let Moment { model, locale, connection, now_ms } = *now;
        let stage = model.stage();
        let _ = self.main.set_attribute("data-stage", stage_name(stage));
        self.language_name.show(locale, |locale| {
            Ok(Some(el("span")?.class("visually-hidden").text(common::language(*locale))))
        })?;
        if self.language.value() != locale.tag() {
            self.language.set_value(locale.tag());
        }
        self.merchant.show((stage, model.sticker_reads), |_| merchant(model))?;
        let inside = &mut self.inside;
        self.body.show((stage, model.sticker_reads, locale), |_| {
            let (body, parts) = body(model, stage, locale)?;
            *inside = parts;
            Ok(Some(body))
        })?;
        match &mut self.inside {
            Inside::Still => Ok(()),
            Inside::Waiting(check_again) => {
                check_again.show(connection == Connection::Reconnecting, |shown| {
                    when(*shown, || button("button", "secondary", "check-again", text::check_again(locale)))
                })
            }
            Inside::Form(form) => form.show(model, locale),
            Inside::Payment(countdown) => countdown.show(model.seconds_left(now_ms), locale),
        }?;
        self.notice.show((model.notice.clone(), locale), |(notice, locale)| {
            let sentence = match notice {
                Some(Notice::Mistake(mistake)) => text::mistake(*mistake, *locale),
                Some(Notice::Trouble(trouble)) => text::trouble(trouble, *locale),
                None => return Ok(None),
            };
            Ok(Some(el("p")?.class("notice").id("notice").attr("role", "alert").text(&sentence)))
        })?;
        let following = matches!(model.live(), Some(Live::Payment(_)));
        let reconnecting = connection == Connection::Reconnecting && following;
        self.reconnecting.show((reconnecting, locale), |(shown, locale)| {
            when(*shown, || {
                Ok(el("p")?.class("connection-note").attr("role", "status").text(text::reconnecting(*locale)))
            })
        })
    }
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Loading => "loading",
        Stage::Unavailable => "unavailable",
        Stage::NothingToPay => "nothing",
        Stage::Form => "form",
        Stage::Payment(_) => "payment",
    }
}

/// Who is paid, and where, above everything else.
fn merchant(model: &LandingModel) -> DomResult<Option<El>> {
    let Some((merchant, place)) = model
        .sticker
        .as_ref()
        .map(|s| (s.merchant.as_str(), s.place.as_str()))
        .or_else(|| model.payment.as_ref().map(|p| (p.merchant.as_str(), "")))
    else {
        return Ok(None);
    };
    Ok(Some(
        el("div")?
            .class("merchant")
            .child(el("h1")?.id("merchant").text(merchant))
            .child(el("p")?.class("place").text(place)),
    ))
}

/// The body for `stage` in `locale`, and its parts that change in place.
fn body(model: &LandingModel, stage: Stage, locale: Locale) -> DomResult<(El, Inside)> {
    Ok(match stage {
        Stage::Loading => (el("p")?.class("loading").text(text::loading(locale)), Inside::Still),
        Stage::Unavailable => {
            let why = model.sticker_trouble.as_ref().map(|t| text::trouble(t, locale)).unwrap_or_default();
            let card = el("section")?
                .class("card")
                .child(el("h2")?.text(text::unavailable(locale)))
                .child(el("p")?.text(&why));
            (card, Inside::Still)
        }
        Stage::NothingToPay => {
            let closed = model.sticker.as_ref().is_some_and(|s| s.closed);
            let (headline, line) = if closed {
                (text::closed(locale), text::closed_line(locale))
            } else {
                (text::nothing_to_pay(locale), text::nothing_to_pay_line(locale))
            };
            // "Check again" only while the live stream is down (or refused): then the customer asks.
            let check_again = Part::new()?;
            let card = el("section")?
                .class("card")
                .child(el("h2")?.text(headline))
                .child(el("p")?.text(line))
                .part(&check_again);
            (card, Inside::Waiting(check_again))
        }
        Stage::Form => {
            let (form, parts) = pay_form(model, locale, model.sticker.as_ref())?;
            (form, Inside::Form(parts))
        }
        Stage::Payment(step) => {
            let countdown = Countdown::new()?;
            // A payment stage always has its payment; the guard only keeps the types honest.
            let Some(payment) = &model.payment else { return body(model, Stage::Loading, locale) };
            (status(payment, locale, step, &countdown)?, Inside::Payment(countdown))
        }
    })
}

/// What there is to pay, and the two ways to pay it, in `locale`.
fn pay_form(model: &LandingModel, locale: Locale, sticker: Option<&StickerInfo>) -> DomResult<(El, Form)> {
    let mut country = el("select")?.id("country").attr("autocomplete", "tel-country-code");
    for option in model.countries() {
        country = country
            .child(el("option")?.attr("value", option.calling_code()).text(&text::country(option, locale)));
    }
    let country = country.done_as::<HtmlSelectElement>();
    let phone = el("input")?
        .id("phone")
        .attr("type", "tel")
        .attr("autocomplete", "tel")
        .attr("inputmode", "tel")
        .attr("required", "")
        .attr("aria-describedby", "pay-hint")
        .done_as::<HtmlInputElement>();
    let remember = el("input")?.attr("type", "checkbox").id("remember").done_as::<HtmlInputElement>();
    let forget = Part::new()?;
    let pay = button("submit", "primary", "pay", text::pay(locale))?.done();
    let open_app = button("button", "secondary", "open-app", text::open_app_instead(locale))?.done();
    let (amount, amount_input) = match sticker {
        Some(info) => amount_part(model, locale, info)?,
        None => (None, None),
    };

    let phone_row = el("div")?
        .class("phone-row")
        .child(el("label")?.class("visually-hidden").attr("for", "country").text(text::country_label(locale)))
        .node(&country)
        .node(&phone);
    let form = el("form")?
        .class("pay-form")
        .attr("novalidate", "")
        .child(amount)
        .child(
            el("div")?
                .class("field")
                .child(el("label")?.attr("for", "phone").text(text::phone_label(locale)))
                .child(phone_row),
        )
        .child(el("label")?.class("check").node(&remember).child(el("span")?.text(text::remember(locale))))
        .part(&forget)
        .node(&pay)
        .child(el("p")?.class("hint").id("pay-hint").text(text::pay_hint(locale)))
        .child(el("p")?.class("or").attr("aria-hidden", "true").text(text::or(locale)))
        .node(&open_app);
    let fields = Form {
        amount: amount_input.map(Field::new),
        country,
        phone: Field::new(phone),
        remember,
        forget,
        pay,
        open_app,
    };
    Ok((form, fields))
}

/// A text field the customer types in, and what the page last wrote into it.
struct Field {
    input: HtmlInputElement,
    written: Option<String>,
}

impl Field {
    fn new(input: HtmlInputElement) -> Self {
        Self { input, written: None }
    }

    /// Shows `value` in the field when the model's value changed since the page last wrote it
    /// (not merely because the field's text differs: what the customer did to the field without
    /// an `input` event, such as clearing it, stays until they type); says whether it is
    /// `mistaken`.
    fn show(&mut self, value: &str, mistaken: bool) {
        if self.written.as_deref() != Some(value) {
            // Written only when it differs, so the customer's caret stays where it is.
            if self.input.value() != value {
                self.input.set_value(value);
            }
            self.written = Some(value.to_owned());
        }
        let _ = self.input.set_attribute("aria-invalid", if mistaken { "true" } else { "false" });
    }
}

/// The time left to approve: shown while there is some, its figure changed in place each second
/// (a screen reader keeps its place, and the element stays the same).
struct Countdown {
    shown: Part<bool>,
    time: Option<Element>,
}

impl Countdown {
    fn new() -> DomResult<Self> {
        Ok(Self { shown: Part::new()?, time: None })
    }

    fn show(&mut self, seconds: Option<i64>, locale: Locale) -> DomResult<()> {
        let time = &mut self.time;
        self.shown.show(seconds.is_some(), |shown| {
            *time = None;
            if !*shown {
                return Ok(None);
            }
            let figure = el("time")?.id("countdown").done();
            let line = el("p")?.class("countdown").text(text::time_left(locale)).text(" ").node(&figure);
            *time = Some(figure);
            Ok(Some(line))
        })?;
        if let (Some(time), Some(seconds)) = (&self.time, seconds) {
            let figure = format_countdown(seconds);
            if time.text_content().as_deref() != Some(figure.as_str()) {
                time.set_text_content(Some(&figure));
            }
        }
        Ok(())
    }
}

impl Form {
    /// Brings the fields and buttons up to `model`. A field is written only when it differs, so
    /// the customer's caret stays where it is while they type.
    fn show(&mut self, model: &LandingModel, locale: Locale) -> DomResult<()> {
        let mistaken = |phone: bool| match &model.notice {
            Some(Notice::Mistake(Mistake::Phone(_))) => phone,
            Some(Notice::Mistake(_)) => !phone,
            _ => false,
        };
        self.phone.show(&model.phone, mistaken(true));
        if let Some(amount) = &mut self.amount {
            amount.show(&model.amount, mistaken(false));
        }
        if self.country.value() != model.country.calling_code() {
            self.country.set_value(model.country.calling_code());
        }
        self.remember.set_checked(model.remember);
        flag(&self.pay, "disabled", model.busy);
        flag(&self.open_app, "disabled", model.busy);
        self.forget.show(model.kept.is_some(), |kept| {
            when(*kept, || button("button", "link", "forget", text::forget(locale)))
        })
    }
}

/// The amount: a field within an open-amount sticker's bounds (returned too, to follow the
/// model), or what the till presents (or, sending again, what the customer saw before).
fn amount_part(
    model: &LandingModel,
    locale: Locale,
    info: &StickerInfo,
) -> DomResult<(Option<El>, Option<HtmlInputElement>)> {
    if let Some(open) = &info.open {
        let input = el("input")?
            .id("amount-input")
            .attr("type", "text")
            .attr("inputmode", "decimal")
            .attr("autocomplete", "off")
            .attr("aria-describedby", "amount-bounds")
            .done_as::<HtmlInputElement>();
        let field = el("div")?
            .class("field")
            .child(el("label")?.attr("for", "amount-input").text(text::amount_label(locale)))
            .node(&input)
            .child(
                el("p")?.class("hint").id("amount-bounds").text(&text::bounds(open.min, open.max, locale)),
            );
        return Ok((Some(field), Some(input)));
    }
    let amount = info
        .presented
        .as_ref()
        .map(|p| p.amount)
        .or_else(|| model.amount_to_pay().ok().flatten())
        .map(|amount| format_money(amount, locale))
        .unwrap_or_default();
    let description = info.presented.as_ref().and_then(|p| p.description.as_deref()).unwrap_or_default();
    let to_pay = el("div")?
        .class("to-pay")
        .child(el("p")?.class("label").text(text::to_pay(locale)))
        .child(el("p")?.class("amount").id("amount").text(&amount))
        .child(el("p")?.class("description").text(description));
    Ok((Some(to_pay), None))
}

/// The payment, in `locale`: sent, approve in the app (the time left goes in `countdown`), and
/// how it ended.
fn status(payment: &LandingPayment, locale: Locale, step: Step, countdown: &Countdown) -> DomResult<El> {
    let (step_name, tone) = match step {
        Step::Sending => ("sending", "waiting"),
        Step::Approve => ("approve", "waiting"),
        Step::OpenApp => ("open-app", "waiting"),
        Step::Finishing => ("finishing", "success"),
        Step::Cancelling => ("cancelling", "waiting"),
        Step::Paid => ("paid", "success"),
        Step::Refunded => ("refunded", "waiting"),
        Step::Declined => ("declined", "failure"),
        Step::Expired => ("expired", "failure"),
        Step::Cancelled => ("cancelled", "failure"),
        Step::Failed => ("failed", "failure"),
    };
    let (headline, line) = text::step(step, locale);
    let amount = format_money(payment.amount, locale);
    let description = payment.description.as_deref().unwrap_or_default();
    // The masked number the request went to, after "We sent the payment request to".
    let phone = payment
        .phone
        .as_deref()
        .filter(|_| step == Step::Approve)
        .map(|phone| format!(" {phone}."))
        .unwrap_or_default();
    let redirect = match payment.redirect_url.as_deref().filter(|_| step == Step::OpenApp) {
        Some(url) => Some(
            el("a")?
                .class("primary button")
                .id("open-the-app")
                .attr("href", url)
                .text(text::open_the_app(locale)),
        ),
        None => None,
    };
    let send_again =
        when(step.can_send_again(), || button("button", "primary", "send-again", text::send_again(locale)))?;
    Ok(el("section")?
        .class("status card")
        .attr("data-step", step_name)
        .attr("data-tone", tone)
        .child(el("p")?.class("amount").id("amount").text(&amount))
        .child(el("p")?.class("description").text(description))
        .child(
            el("div")?
                .attr("role", "status")
                .attr("aria-live", "polite")
                .attr("aria-atomic", "true")
                .child(el("h2")?.class("headline").id("status").text(headline))
                .child(el("p")?.class("line").text(line).text(&phone)),
        )
        .part(&countdown.shown)
        .child(redirect)
        .child(send_again))
}

/// A button of `kind` (`button` or `submit`).
fn button(kind: &str, class: &str, id: &str, label: &str) -> DomResult<El> {
    Ok(el("button")?.attr("type", kind).class(class).id(id).text(label))
}
