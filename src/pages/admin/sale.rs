//! `/admin/sales/{reference}`: one sale of any till (or open-amount sticker) and day, as a till's
//! sale page shows it (its amounts, what can still be done, its event log), for a manager: a
//! refund above the store's limit asks for their PIN. The back office follows no till's live
//! events: the sale is read again after each action, and on "Check again".

use kasse_api::{AdminSale, StoreSummary};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::failure_sentence;
use crate::api;
use crate::components::locale::{tr, use_locale};
use crate::i18n::{admin as texts, common, sale as sale_texts};
use crate::pages::sale::SaleBody;
use crate::state::admin::{Place, place_names};
use crate::state::sale_detail::{Request, SaleDetail};
use crate::state::till::Failure;

/// How often a sale whose write waits for the platform is read again, and how many times.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
const POLLS: u32 = 30;

/// The section.
#[component]
pub fn Sale(stores: StoredValue<Vec<StoreSummary>>) -> impl IntoView {
    let locale = use_locale();
    let params = use_params_map();
    let loaded = LocalResource::new(move || {
        let reference = params.read().get("reference").unwrap_or_default();
        async move {
            let sale = api::admin::sale(&reference).await?;
            let log = api::admin::sale_log(&reference).await.ok();
            Ok::<_, Failure>((sale, log))
        }
    });
    view! {
        <section class="detail admin-sale" aria-labelledby="sale-heading">
            <p class="back"><a href="/admin/sales" id="back-to-sales">{tr(texts::back_to_sales)}</a></p>
            <Suspense fallback=move || view! { <p class="loading">{common::loading(locale.get())}</p> }>
                {move || Suspend::new(async move {
                    match loaded.await {
                        Ok((sale, log)) => view! { <Detail sale log stores/> }.into_any(),
                        Err(failure) => view! {
                            <h1 id="sale-heading">{tr(sale_texts::cannot_load)}</h1>
                            <p class="notice" role="alert">{failure_sentence(&failure, locale.get_untracked())}</p>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// A loaded sale and what the manager does with it.
#[component]
fn Detail(
    sale: AdminSale,
    log: Option<Vec<kasse_api::SaleEvent>>,
    stores: StoredValue<Vec<StoreSummary>>,
) -> impl IntoView {
    let AdminSale { sale, till, refund_pin_above } = sale;
    let place = Place::of(&sale);
    // A payment on an open-amount sticker's landing page was taken by no till.
    let taken_at = if matches!(place, Place::Sticker(_)) { texts::paid_on_sticker } else { texts::taken_at };
    let till_name = stores.with_value(|stores| {
        let unnamed = match &place {
            Place::Sticker(id) => id.clone(),
            _ => till,
        };
        place_names(stores).into_iter().find(|(p, _)| *p == place).map_or(unnamed, |(_, name)| name)
    });
    let reference = StoredValue::new(sale.reference.clone());
    let model = RwSignal::new(SaleDetail::new(sale, log, 0).with_refund_pin_above(refund_pin_above));

    // Reads the sale and its log again (after an action, or a request left unanswered).
    let reread = move || {
        spawn_local(async move {
            let Some(reference) = reference.try_get_value() else { return };
            if let Ok(shown) = api::admin::sale(&reference).await {
                model.try_update(|m| m.reread(shown.sale));
            }
            let log = api::admin::sale_log(&reference).await.ok();
            model.try_update(|m| m.set_log(log));
        });
    };
    // While a write waits for the platform, the sale is read again now and then until it shows
    // (the back office follows no live events), for a minute at most.
    let poll = move || {
        fn again(model: RwSignal<SaleDetail>, reference: StoredValue<String>, left: u32) {
            if left == 0 || !model.try_with_untracked(|m| m.waiting).unwrap_or(false) {
                model.try_update(SaleDetail::give_up_waiting);
                return;
            }
            set_timeout(
                move || {
                    spawn_local(async move {
                        let Some(name) = reference.try_get_value() else { return };
                        if let Ok(shown) = api::admin::sale(&name).await {
                            model.try_update(|m| m.reread(shown.sale));
                        }
                        // The page's own stored reference: nothing new is made each round.
                        again(model, reference, left - 1);
                    });
                },
                POLL_EVERY,
            );
        }
        again(model, reference, POLLS);
    };
    let act = move |action| {
        let Some(request) = model.try_update(|m| m.begin(action)).flatten() else { return };
        spawn_local(async move {
            let Some(reference) = reference.try_get_value() else { return };
            let answer = match request {
                Request::Capture(amount) => api::admin::capture(&reference, amount).await,
                Request::Release => api::admin::cancel(&reference).await,
                Request::Refund { amount, pin } => api::admin::refund(&reference, amount, pin).await,
                Request::Reconcile => api::admin::reconcile(&reference).await,
            };
            match answer {
                Ok(sale) => model.try_update(|m| m.answered(sale)),
                Err(failure) => model.try_update(|m| m.failed(failure)),
            };
            // The log after the action, and the sale as it settled when no answer came.
            reread();
            poll();
        });
    };
    view! {
        <div data-reference=move || model.with(|m| m.sale.reference.clone())>
            <p class="muted" id="sale-till">{tr(taken_at)} " " {till_name}</p>
            <SaleBody model act/>
        </div>
    }
}
