//! What a sale's page shows, at the till and in the back office alike: its amount and status,
//! its facts and amounts, what can still be done with it, and its event log at the platform. The
//! page around it says where the actions go (`act`) and keeps `model` as the server has it.

use kasse_api::{Money, Sale};
use leptos::prelude::*;

use crate::components::clock::offset_minutes_at;
use crate::components::locale::{tr, use_locale};
use crate::i18n::{
    admin as admin_texts, common, history as history_texts, pair as pair_texts, sale as texts, till,
};
use crate::pages::history::tone_name;
use crate::state::history::{clock, clock_with_seconds};
use crate::state::money::format_money;
use crate::state::sale_detail::{Action, PinRule, RefundPin, SaleDetail};

/// The sale `model` holds; each action the reader takes goes to `act`.
#[component]
pub fn SaleBody(
    model: RwSignal<SaleDetail>,
    act: impl Fn(Action) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let locale = use_locale();
    let sale = Memo::new(move |_| model.with(|m| m.sale.clone()));
    let money = move |value: Money| format_money(value, locale.get());
    let amount = move || money(sale.with(|s| s.amount));
    let status = move || sale.with(|s| s.status);
    let busy = move || model.with(SaleDetail::busy);
    let can_capture = move || model.with(SaleDetail::can_capture);
    let can_refund = move || model.with(SaleDetail::can_refund);

    view! {
            <h1 class="detail-heading" id="sale-heading">
                <span class="detail-kind">{tr(texts::heading)}</span>
                " "
                <span id="sale-amount">{amount}</span>
            </h1>
            <p class="detail-status" id="sale-status" data-status=move || status().as_str() data-tone=move || tone_name(status())>
                {move || till::headline(status(), locale.get())}
            </p>
            <Facts sale/>
            <section class="detail-section" aria-labelledby="amounts-heading">
                <h2 id="amounts-heading">{tr(texts::amounts)}</h2>
                <dl class="amounts">
                    <div data-amount="authorized">
                        <dt>{tr(texts::authorized)}</dt>
                        <dd>{move || money(sale.with(|s| s.authorized))}</dd>
                    </div>
                    <div data-amount="captured">
                        <dt>{tr(texts::captured)}</dt>
                        <dd>{move || money(sale.with(|s| s.captured))}</dd>
                    </div>
                    <div data-amount="cancelled">
                        <dt>{tr(texts::cancelled)}</dt>
                        <dd>{move || money(sale.with(|s| s.cancelled))}</dd>
                    </div>
                    <div data-amount="refunded">
                        <dt>{tr(texts::refunded)}</dt>
                        <dd>{move || money(sale.with(|s| s.refunded))}</dd>
                    </div>
                </dl>
            </section>
            <section class="detail-section detail-actions" aria-labelledby="actions-heading">
                <h2 id="actions-heading">{tr(texts::actions)}</h2>
                <Show when=can_capture>
                    <Capture model act/>
                </Show>
                <Show when=can_refund>
                    <Refund model act/>
                </Show>
                <Show when=move || !can_capture() && !can_refund()>
                    <p class="muted">{tr(texts::nothing_to_do)}</p>
                </Show>
                <button type="button" class="secondary" id="check-again" disabled=busy on:click=move |_| act(Action::CheckAgain)>
                    {tr(texts::check_again)}
                </button>
                <p class="sending" role="status">
                    {move || {
                        if model.with(|m| m.waiting) {
                            Some(texts::waiting(locale.get()))
                        } else {
                            busy().then(|| texts::sending(locale.get()))
                        }
                    }}
                </p>
                <Show when=move || model.with(|m| m.unsure)>
                    <p class="notice" role="status" id="unsure">{tr(texts::unsure)}</p>
                </Show>
                {move || model.with(|m| m.notice.as_ref().map(|n| common::notice(n, locale.get()))).map(|text| view! { <p class="notice" role="alert" id="refusal">{text}</p> })}
            </section>
            <Log model/>
    }
}

/// The sale's facts.
#[component]
fn Facts(sale: Memo<Sale>) -> impl IntoView {
    let locale = use_locale();
    let description = move || {
        sale.with(|s| s.description.clone()).unwrap_or_else(|| texts::no_description(locale.get()).to_owned())
    };
    let customer = move || {
        sale.with(|s| s.customer.as_ref().map(|c| common::identified(c, locale.get())))
            .unwrap_or_else(|| texts::no_customer(locale.get()).to_owned())
    };
    let loyalty = move || sale.with(|s| s.loyalty.as_ref().map(|l| common::loyalty(l, locale.get())));
    let started = move || {
        let at = sale.with(|s| s.created_at_ms);
        clock(at, offset_minutes_at(at), locale.get())
    };
    view! {
        <section class="detail-section" aria-labelledby="facts-heading">
            <h2 id="facts-heading" class="visually-hidden">{tr(texts::facts)}</h2>
            <dl class="facts">
                <div>
                    <dt>{tr(texts::description)}</dt>
                    <dd>{description}</dd>
                </div>
                <div>
                    <dt>{tr(texts::customer)}</dt>
                    <dd>{customer}</dd>
                </div>
                {move || loyalty().map(|text| view! {
                    <div class="loyalty">
                        <dt>{tr(texts::loyalty)}</dt>
                        <dd>{text}</dd>
                    </div>
                })}
                <div>
                    <dt>{tr(texts::flow)}</dt>
                    <dd>{move || history_texts::flow(sale.with(|s| s.flow), locale.get())}</dd>
                </div>
                <div>
                    <dt>{tr(texts::started)}</dt>
                    <dd>{started}</dd>
                </div>
                <div>
                    <dt>{tr(texts::reference)}</dt>
                    <dd><code id="sale-reference">{move || sale.with(|s| s.reference.clone())}</code></dd>
                </div>
            </dl>
        </section>
    }
}

/// Taking the reservation: all of it, part of it, or releasing the rest.
#[component]
fn Capture(
    model: RwSignal<SaleDetail>,
    act: impl Fn(Action) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let locale = use_locale();
    let left = move || model.with(SaleDetail::capturable);
    let busy = move || model.with(SaleDetail::busy);
    let mistake = move || model.with(|m| m.part_mistake).map(|m| texts::mistake(m, locale.get()));
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        act(Action::CapturePart);
    };
    view! {
        <div class="action-group" id="capture">
            <p class="muted">
                {tr(texts::still_reserved)} " "
                <strong id="capturable">{move || format_money(left(), locale.get())}</strong>
            </p>
            <button type="button" class="primary" id="capture-all" disabled=busy on:click=move |_| act(Action::CaptureAll)>
                {move || texts::capture_all_of(left(), locale.get())}
            </button>
            <form class="amount-form" on:submit=submit>
                <label for="capture-part">{tr(texts::part_label)}</label>
                <div class="amount-row">
                    <input
                        id="capture-part"
                        type="text"
                        inputmode="decimal"
                        autocomplete="off"
                        aria-invalid=move || mistake().map(|_| "true")
                        aria-describedby="capture-part-mistake"
                        prop:value=move || model.with(|m| m.part.clone())
                        on:input=move |e| model.update(|m| m.type_part(event_target_value(&e)))
                    />
                    <button type="submit" class="secondary" id="capture-part-submit" disabled=busy>
                        {tr(texts::capture_part)}
                    </button>
                </div>
                <p class="field-mistake" id="capture-part-mistake" aria-live="polite">{mistake}</p>
            </form>
            <button type="button" class="secondary" id="release" disabled=busy on:click=move |_| act(Action::Release)>
                {tr(texts::release)}
            </button>
        </div>
    }
}

/// Giving back some or all of what was taken.
#[component]
fn Refund(model: RwSignal<SaleDetail>, act: impl Fn(Action) + Copy + Send + Sync + 'static) -> impl IntoView {
    let locale = use_locale();
    let left = move || model.with(SaleDetail::refundable);
    let busy = move || model.with(SaleDetail::busy);
    let mistake = move || model.with(|m| m.refund_mistake).map(|m| texts::mistake(m, locale.get()));
    let pin_mistake = move || model.with(|m| m.pin_mistake).then(|| pair_texts::pin_malformed(locale.get()));
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        act(Action::Refund);
    };
    view! {
        <form class="action-group amount-form" id="refund-form" on:submit=submit>
            <label for="refund-amount">{tr(texts::refund_label)}</label>
            <p class="muted" id="refund-hint">
                {tr(texts::refund_hint)} " "
                <strong id="refundable">{move || format_money(left(), locale.get())}</strong>
            </p>
            {move || {
                model.with(|m| m.refund_pin).rule().map(|rule| pin_rule(rule, locale.get()))
            }}
            <div class="amount-row">
                <input
                    id="refund-amount"
                    type="text"
                    inputmode="decimal"
                    autocomplete="off"
                    aria-invalid=move || mistake().map(|_| "true")
                    aria-describedby="refund-hint refund-mistake"
                    prop:value=move || model.with(|m| m.refund.clone())
                    on:input=move |e| model.update(|m| m.type_refund(event_target_value(&e)))
                />
                <Show when=move || model.with(SaleDetail::refund_needs_pin)>
                    <label for="refund-pin" class="visually-hidden">{tr(texts::refund_pin)}</label>
                    <input
                        id="refund-pin"
                        class="pin"
                        type="password"
                        inputmode="numeric"
                        autocomplete="off"
                        maxlength="8"
                        placeholder=move || {
                            if model.with(|m| m.refund_pin == RefundPin::Manager) {
                                texts::manager_pin(locale.get())
                            } else {
                                admin_texts::pin(locale.get())
                            }
                        }
                        aria-invalid=move || model.with(|m| m.pin_mistake).then_some("true")
                        aria-describedby="refund-mistake"
                        prop:value=move || model.with(|m| m.pin.clone())
                        on:input=move |e| model.update(|m| m.type_pin(event_target_value(&e)))
                    />
                </Show>
                <button type="submit" class="secondary" id="refund" disabled=busy>
                    {tr(texts::refund)}
                </button>
            </div>
            <p class="field-mistake" id="refund-mistake" aria-live="polite">{mistake}{pin_mistake}</p>
        </form>
    }
}

/// The store's rule for refunds, in words: in the back office, when the sale's refunds would
/// come to more than its limit in all, the manager's PIN; at the till, for an earlier day's sale,
/// a manager's.
fn pin_rule(rule: PinRule, locale: crate::i18n::Locale) -> impl IntoView + use<> {
    let rule = match rule {
        PinRule::Manager => texts::manager_pin_needed(locale).to_owned(),
        PinRule::Always => texts::pin_always(locale).to_owned(),
        PinRule::Above(limit) => format!("{} {}", texts::pin_above(locale), format_money(limit, locale)),
    };
    view! { <p class="muted" id="refund-pin-rule">{rule}</p> }
}

/// The platform's event log of the sale, oldest first.
#[component]
fn Log(model: RwSignal<SaleDetail>) -> impl IntoView {
    let locale = use_locale();
    let log = Memo::new(move |_| model.with(|m| m.log.clone()));
    let entries = move || {
        let locale = locale.get();
        match log.get() {
            None => view! { <p class="muted" id="log-unavailable">{texts::log_unavailable(locale)}</p> }.into_any(),
            Some(events) if events.is_empty() => {
                view! { <p class="muted">{texts::log_empty(locale)}</p> }.into_any()
            }
            Some(events) => view! {
                <ol class="log" id="log">
                    {events
                        .into_iter()
                        .map(|event| {
                            let time = clock_with_seconds(event.at_ms, offset_minutes_at(event.at_ms), locale);
                            let name = texts::event_name(event.name, locale);
                            view! {
                                <li data-event=event.name.as_str() data-success=event.success.to_string() class:failed=!event.success>
                                    <time>{time}</time>
                                    <span class="log-name">{name}</span>
                                    <span class="log-amount">{format_money(event.amount, locale)}</span>
                                    {(!event.success).then(|| view! { <strong class="log-failed">{texts::failed_mark(locale)}</strong> })}
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            }
            .into_any(),
        }
    };
    view! {
        <section class="detail-section" aria-labelledby="log-heading">
            <h2 id="log-heading">{tr(texts::log_heading)}</h2>
            {entries}
        </section>
    }
}
