//! The devices section: every device paired with the manager's stores, unpairing one (with the
//! PIN), and a code, with its QR code, that pairs a new till, display or manager's device.

use kasse_api::{Device, DeviceKind, PairingCode, StoreSummary};
use leptos::prelude::*;

use super::failure_sentence;
use crate::api;
use crate::components::clock::offset_minutes_at;
use crate::components::locale::{tr, use_locale};
use crate::components::pin::PinField;
use crate::components::qr::QrCode;
use crate::i18n::{admin as texts, common, pair as pair_texts};
use crate::state::admin::{FormMistake, PairingForm, kind_from_choice, moment};
use crate::state::pin::{self, PinMistake};

/// The section.
#[component]
pub fn Devices(stores: StoredValue<Vec<StoreSummary>>, manages_every_store: bool) -> impl IntoView {
    let locale = use_locale();
    let listed = LocalResource::new(api::admin::devices);
    let said = RwSignal::new(None::<&'static str>);
    let unpaired = Callback::new(move |()| {
        said.set(Some(texts::unpaired(locale.get_untracked())));
        listed.refetch();
    });
    view! {
        <section class="devices" aria-labelledby="devices-heading">
            <h1 id="devices-heading">{tr(texts::devices_heading)}</h1>
            <p class="said" role="status" id="devices-said">{move || said.get()}</p>
            <Transition fallback=move || view! { <p class="loading">{common::loading(locale.get())}</p> }>
                {move || Suspend::new(async move {
                    match listed.await {
                        Ok(devices) => view! { <DeviceTable devices unpaired/> }.into_any(),
                        Err(failure) => view! {
                            <p class="notice" role="alert">{failure_sentence(&failure, locale.get_untracked())}</p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </section>
        <PairNew stores manages_every_store/>
    }
}

/// The devices, each with its unpairing.
#[component]
fn DeviceTable(devices: Vec<Device>, unpaired: Callback<()>) -> impl IntoView {
    let locale = use_locale();
    if devices.is_empty() {
        return view! { <p class="empty" id="no-devices">{tr(texts::no_devices)}</p> }.into_any();
    }
    // The device whose unpairing is being confirmed.
    let confirming = RwSignal::new(None::<String>);
    let rows = devices
        .into_iter()
        .map(|device| {
            let id = device.id.clone();
            let kind = device.kind;
            let of = device.of.clone();
            let asking = {
                let id = id.clone();
                Memo::new(move |_| confirming.with(|c| c.as_deref() == Some(id.as_str())))
            };
            let ask = {
                let id = id.clone();
                move |_| confirming.set(Some(id.clone()))
            };
            let context = format!(", {}", device.of);
            view! {
                <tr data-device=id.clone() data-kind=kind.as_str()>
                    <th scope="row">{move || texts::kind(kind, locale.get())}</th>
                    <td>{of}</td>
                    <td>{move || moment(device.paired_at_ms, offset_minutes_at, locale.get())}</td>
                    <td>{move || moment(device.last_seen_at_ms, offset_minutes_at, locale.get())}</td>
                    <td>
                        <button type="button" class="secondary unpair" aria-expanded=move || asking.get().to_string() on:click=ask>
                            {tr(texts::unpair)}
                            <span class="visually-hidden">{context}</span>
                        </button>
                    </td>
                </tr>
                {move || asking.get().then(|| view! { <Unpair id=id.clone() confirming unpaired/> })}
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll" role="region" aria-labelledby="devices-caption" tabindex="0">
            <table class="sales" id="devices">
                <caption id="devices-caption" class="visually-hidden">{tr(texts::devices_heading)}</caption>
                <thead>
                    <tr>
                        <th scope="col">{tr(texts::col_kind)}</th>
                        <th scope="col">{tr(texts::col_of)}</th>
                        <th scope="col">{tr(texts::col_paired)}</th>
                        <th scope="col">{tr(texts::col_last_seen)}</th>
                        <th scope="col">{tr(texts::col_actions)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The confirmation of one device's unpairing: the manager's PIN.
#[component]
fn Unpair(id: String, confirming: RwSignal<Option<String>>, unpaired: Callback<()>) -> impl IntoView {
    let locale = use_locale();
    let typed = RwSignal::new(String::new());
    let mistake = RwSignal::new(None::<String>);
    let revoke = Action::new_local(move |(id, pin): &(String, String)| {
        let (id, pin) = (id.clone(), pin.clone());
        async move { api::admin::revoke(&id, pin).await }
    });
    Effect::new(move |_| match revoke.value().get() {
        Some(Ok(_)) => {
            confirming.set(None);
            unpaired.run(());
        }
        Some(Err(failure)) => mistake.set(Some(failure_sentence(&failure, locale.get_untracked()))),
        None => {}
    });
    let submit = {
        let id = id.clone();
        move |event: leptos::ev::SubmitEvent| {
            event.prevent_default();
            match pin::typed(&typed.get_untracked()) {
                Ok(pin) => {
                    mistake.set(None);
                    revoke.dispatch_local((id.clone(), pin));
                }
                Err(PinMistake::Malformed | PinMistake::Differs) => {
                    mistake.set(Some(pair_texts::pin_malformed(locale.get_untracked()).to_owned()));
                }
            }
        }
    };
    let field = format!("unpair-pin-{id}");
    view! {
        <tr class="confirm-row">
            <td colspan="5">
                <form class="confirm" on:submit=submit>
                    <PinField id=field label=texts::pin value=typed narrow=true/>
                    <button type="submit" class="primary confirm-unpair" disabled=move || revoke.pending().get()>
                        {tr(texts::confirm_unpair)}
                    </button>
                    <button type="button" class="secondary" on:click=move |_| confirming.set(None)>
                        {tr(texts::cancel)}
                    </button>
                    {move || mistake.get().map(|m| view! { <p class="notice" role="alert">{m}</p> })}
                </form>
            </td>
        </tr>
    }
}

/// The form that makes a pairing code for a new device, and the code it made.
#[component]
fn PairNew(stores: StoredValue<Vec<StoreSummary>>, manages_every_store: bool) -> impl IntoView {
    let locale = use_locale();
    let (first_till, own_store) = stores.with_value(|stores| {
        let till = stores.iter().flat_map(|s| &s.tills).next().map(|t| t.id.clone()).unwrap_or_default();
        let store = if manages_every_store {
            String::new()
        } else {
            stores.first().map(|s| s.id.clone()).unwrap_or_default()
        };
        (till, store)
    });
    let form = RwSignal::new(PairingForm::new(&first_till, &own_store));
    let typed_pin = RwSignal::new(String::new());
    let mistake = RwSignal::new(None::<String>);
    let make = Action::new_local(move |request: &(kasse_api::PairingFor, String)| {
        let (pairing_for, pin) = request.clone();
        async move { api::admin::pairing_code(pairing_for, pin).await }
    });
    Effect::new(move |_| {
        if let Some(Err(failure)) = make.value().get() {
            mistake.set(Some(failure_sentence(&failure, locale.get_untracked())));
        }
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        match form.with_untracked(|f| f.request(&typed_pin.get_untracked())) {
            Ok(request) => {
                mistake.set(None);
                // Asked again for each code: a tablet left on the counter makes no more.
                typed_pin.set(String::new());
                make.dispatch_local(request);
            }
            Err(FormMistake::NoName) => {
                mistake.set(Some(texts::name_missing(locale.get_untracked()).to_owned()));
            }
            Err(FormMistake::Pin(_)) => {
                mistake.set(Some(pair_texts::pin_malformed(locale.get_untracked()).to_owned()));
            }
        }
    };
    let kind = move || form.with(|f| f.kind);
    let till_options = move || {
        stores.with_value(|stores| {
            stores
                .iter()
                .flat_map(|store| {
                    store
                        .tills
                        .iter()
                        .map(move |till| (till.id.clone(), format!("{} · {}", till.name, store.name)))
                })
                .map(|(id, label)| view! { <option value=id>{label}</option> })
                .collect_view()
        })
    };
    let store_options = move || {
        let every = manages_every_store.then(|| view! { <option value="">{tr(texts::every_store)}</option> });
        let each = stores.with_value(|stores| {
            stores
                .iter()
                .map(|s| view! { <option value=s.id.clone()>{s.name.clone()}</option> })
                .collect_view()
        });
        (every, each)
    };
    let made = move || make.value().get().and_then(Result::ok);
    view! {
        <section class="pair-new" aria-labelledby="pair-new-heading">
            <h2 id="pair-new-heading">{tr(texts::pair_heading)}</h2>
            <form class="pair-form" on:submit=submit>
                <div class="field">
                    <label for="new-kind">{tr(texts::pair_kind)}</label>
                    <select
                        id="new-kind"
                        prop:value=move || kind().as_str()
                        on:change=move |e| form.update(|f| f.kind = kind_from_choice(&event_target_value(&e)))
                    >
                        {DeviceKind::ALL
                            .into_iter()
                            .map(|k| view! { <option value=k.as_str()>{move || texts::kind(k, locale.get())}</option> })
                            .collect_view()}
                    </select>
                </div>
                {move || match kind() {
                    DeviceKind::Till | DeviceKind::Display => view! {
                        <div class="field">
                            <label for="new-till">{tr(texts::pair_till)}</label>
                            <select
                                id="new-till"
                                prop:value=move || form.with(|f| f.till.clone())
                                on:change=move |e| form.update(|f| f.till = event_target_value(&e))
                            >
                                {till_options}
                            </select>
                        </div>
                    }
                    .into_any(),
                    DeviceKind::Manager => view! {
                        <div class="field">
                            <label for="new-name">{tr(texts::pair_name)}</label>
                            <input
                                id="new-name"
                                autocomplete="off"
                                maxlength="60"
                                prop:value=move || form.with(|f| f.name.clone())
                                on:input=move |e| form.update(|f| f.name = event_target_value(&e))
                            />
                        </div>
                        <div class="field">
                            <label for="new-store">{tr(texts::pair_store)}</label>
                            <select
                                id="new-store"
                                prop:value=move || form.with(|f| f.store.clone())
                                on:change=move |e| form.update(|f| f.store = event_target_value(&e))
                            >
                                {store_options}
                            </select>
                        </div>
                    }
                    .into_any(),
                }}
                <div class="field">
                    <PinField id="new-pin-confirm" label=texts::pin value=typed_pin narrow=true/>
                </div>
                <button type="submit" class="primary" id="make-code" disabled=move || make.pending().get()>
                    {tr(texts::make_code)}
                </button>
            </form>
            {move || mistake.get().map(|m| view! { <p class="notice" role="alert">{m}</p> })}
            {move || made().map(|code| view! { <Made code/> })}
        </section>
    }
}

/// A code made: to type, or to scan.
#[component]
fn Made(code: PairingCode) -> impl IntoView {
    let locale = use_locale();
    let label = Signal::derive(move || texts::code_qr(locale.get()).to_owned());
    let url = code.url.clone();
    view! {
        <div class="made" role="status" id="code-made">
            <p>{tr(texts::code_made)}</p>
            <p class="code"><code id="new-code">{code.code}</code></p>
            <div class="code-qr"><QrCode text=Signal::derive(move || url.clone()) label/></div>
        </div>
    }
}
