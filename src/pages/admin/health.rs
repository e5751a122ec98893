//! The health section: whether each of the manager's stores reaches Vipps MobilePay and has its
//! updates (webhooks) registered, what is still waiting (payment changes the platform has not
//! answered, updates not yet acted on, payments in progress), and when the server last checked
//! its open payments. Read again with Refresh.

use kasse_api::{AdminHealth, UnitHealth};
use leptos::prelude::*;

use super::failure_sentence;
use crate::api;
use crate::components::clock::offset_minutes_at;
use crate::components::locale::{tr, use_locale};
use crate::i18n::{Locale, admin as texts, common, history as history_texts};
use crate::state::history::clock_with_seconds;

/// The section.
#[component]
pub fn Health() -> impl IntoView {
    let locale = use_locale();
    let loaded = LocalResource::new(api::admin::health);
    view! {
        <section class="health" aria-labelledby="health-heading">
            <h1 id="health-heading">{tr(texts::health)}</h1>
            <div class="filters">
                <button type="button" class="secondary" id="refresh" on:click=move |_| loaded.refetch()>
                    {tr(history_texts::refresh)}
                </button>
            </div>
            <Transition fallback=move || view! { <p class="loading">{common::loading(locale.get())}</p> }>
                {move || Suspend::new(async move {
                    match loaded.await {
                        Ok(health) => view! { <Report health/> }.into_any(),
                        Err(failure) => view! {
                            <p class="notice" role="alert">{failure_sentence(&failure, locale.get_untracked())}</p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// A time of day on this browser's clock.
fn at(at_ms: i64, locale: Locale) -> String {
    clock_with_seconds(at_ms, offset_minutes_at(at_ms), locale)
}

/// What the server said.
#[component]
fn Report(health: AdminHealth) -> impl IntoView {
    let locale = use_locale();
    let in_order = health.in_order();
    let AdminHealth { units, pending_writes, unprocessed_webhooks, sales_in_progress, reconciler, .. } =
        health;
    let summary =
        move || if in_order { texts::health_ok(locale.get()) } else { texts::health_not_ok(locale.get()) };
    let rows = move || units.iter().map(|unit| unit_card(unit, locale.get())).collect_view();
    let round = move || {
        let locale = locale.get();
        match reconciler {
            None => texts::reconciler_not_yet(locale).to_owned(),
            Some(round) if round.ok => at(round.at_ms, locale),
            Some(round) => format!("{}, {}", at(round.at_ms, locale), texts::reconciler_failed(locale)),
        }
    };
    view! {
        <p class="health-summary" id="health-summary" role="status" data-tone=if in_order { "success" } else { "failure" }>
            {summary}
        </p>
        <section class="units" id="units" aria-labelledby="units-heading">
            <h2 id="units-heading" class="visually-hidden">{tr(texts::units_caption)}</h2>
            {rows}
        </section>
        <section class="detail-section" aria-labelledby="waiting-heading">
            <h2 id="waiting-heading">{tr(texts::waiting_heading)}</h2>
            <dl class="facts waiting">
                <div data-waiting="writes">
                    <dt>{tr(texts::pending_writes)}</dt>
                    <dd id="pending-writes">{pending_writes}</dd>
                </div>
                <div data-waiting="webhooks">
                    <dt>{tr(texts::unprocessed_webhooks)}</dt>
                    <dd id="unprocessed-webhooks">{unprocessed_webhooks}</dd>
                </div>
                <div data-waiting="sales">
                    <dt>{tr(texts::sales_in_progress)}</dt>
                    <dd id="sales-in-progress">{sales_in_progress}</dd>
                </div>
                <div>
                    <dt>{tr(texts::reconciler)}</dt>
                    <dd id="reconciler">{round}</dd>
                </div>
            </dl>
        </section>
    }
}

/// One sales unit: its store, and how it stands with the platform.
fn unit_card(unit: &UnitHealth, locale: Locale) -> impl IntoView + use<> {
    let as_of =
        unit.checked_at_ms.map(|checked| format!(" ({} {})", texts::as_of(locale), at(checked, locale)));
    let platform = if unit.reachable {
        format!("{}{}", texts::reached(locale), as_of.unwrap_or_default())
    } else {
        let why = unit.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
        format!("{}{}{why}", texts::not_reached(locale), as_of.unwrap_or_default())
    };
    let webhooks = if unit.webhooks_registered {
        texts::registered(locale).to_owned()
    } else {
        let why = unit.webhook_error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default();
        format!("{} {}{why}", texts::not_registered(locale), unit.webhook_attempts)
    };
    let tone = |ok: bool| if ok { "success" } else { "failure" };
    let (heading, labelled_by) = (format!("unit-{}", unit.msn), format!("unit-{}", unit.msn));
    view! {
        <section class="detail-section unit" data-msn=unit.msn.clone() aria-labelledby=labelled_by>
            <h3 id=heading>{unit.store.clone()}</h3>
            <dl class="facts">
                <div>
                    <dt>{texts::col_msn(locale)}</dt>
                    <dd>{unit.msn.clone()}</dd>
                </div>
                <div>
                    <dt>{texts::col_platform(locale)}</dt>
                    <dd class="status" data-reachable=unit.reachable.to_string() data-tone=tone(unit.reachable)>{platform}</dd>
                </div>
                <div>
                    <dt>{texts::col_webhooks(locale)}</dt>
                    <dd class="status" data-registered=unit.webhooks_registered.to_string() data-tone=tone(unit.webhooks_registered)>
                        {webhooks}
                    </dd>
                </div>
            </dl>
        </section>
    }
}
