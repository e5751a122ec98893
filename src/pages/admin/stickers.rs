//! The stickers section: every sticker of the manager's tills and stores as the platform has them
//! (migrated MobilePay beacons too), each printable on its own, a till's or all of them on a
//! sheet in the store's language (or one chosen), and a new callback sticker put up for a till.
//! A sheet opens on a page of its own (the server's), ready to print.

use kasse_api::{AdminStickers, StickerSheetQuery, StickerSummary, StoreSummary};
use leptos::prelude::*;

use super::failure_sentence;
use crate::api;
use crate::components::locale::{tr, use_locale};
use crate::i18n::{Locale, admin as texts, common};
use crate::state::admin::sheet_url;

/// The section.
#[component]
pub fn Stickers(stores: StoredValue<Vec<StoreSummary>>) -> impl IntoView {
    let locale = use_locale();
    // Empty: each store's own.
    let language = RwSignal::new(String::new());
    let loaded = LocalResource::new(api::admin::stickers);
    // What a put-up answered with, newer than what was loaded.
    let answered = RwSignal::new(None::<AdminStickers>);
    // The address of a sheet of a till's stickers, or of one, or of all; in the language chosen.
    let query = move |till: Option<String>, sticker: Option<String>| {
        let language = language.get();
        sheet_url(&StickerSheetQuery { till, sticker, language: (!language.is_empty()).then_some(language) })
    };
    let print = Callback::new(move |(till, sticker)| query(till, sticker));
    view! {
        <section class="stickers" aria-labelledby="stickers-heading">
            <h1 id="stickers-heading">{tr(texts::stickers_heading)}</h1>
            <p class="day-note">{tr(texts::stickers_note)}</p>
            <div class="filters day-actions">
                <div class="field">
                    <label for="sheet-language">{tr(texts::sheet_language)}</label>
                    <select id="sheet-language" on:change=move |e| language.set(event_target_value(&e))>
                        <option value="">{tr(texts::store_language)}</option>
                        <option value="nb">"Norsk"</option>
                        <option value="da">"Dansk"</option>
                        <option value="fi">"Suomi"</option>
                        <option value="en">"English"</option>
                    </select>
                </div>
                <a class="button secondary" id="print-all" href=move || query(None, None) target="_blank" rel="external">
                    {tr(texts::print_all)}
                </a>
            </div>
            <Transition fallback=move || view! { <p class="loading">{common::loading(locale.get())}</p> }>
                {move || Suspend::new(async move {
                    let stickers = match answered.get() {
                        Some(newer) => Ok(newer),
                        None => loaded.await,
                    };
                    match stickers {
                        Ok(stickers) => view! { <List stickers print/> }.into_any(),
                        Err(failure) => view! {
                            <p class="notice" role="alert">{failure_sentence(&failure, locale.get_untracked())}</p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
            <PutUp stores answered/>
        </section>
    }
}

/// The stickers, each with a link that prints it, and those not up yet.
#[component]
fn List(stickers: AdminStickers, print: Callback<(Option<String>, Option<String>), String>) -> impl IntoView {
    let locale = use_locale();
    let AdminStickers { stickers, missing } = stickers;
    let empty = stickers.is_empty();
    let rows = move || stickers.iter().map(|sticker| row(sticker, print, locale.get())).collect_view();
    let missing = move || {
        let locale = locale.get();
        (!missing.is_empty()).then(|| {
            view! {
                <div class="notice" id="stickers-missing">
                    <p>{texts::not_up_yet(locale)}</p>
                    <ul>
                        {missing
                            .iter()
                            .map(|m| view! { <li data-id=m.id.clone()><code>{m.id.clone()}</code> ": " {m.why.clone()}</li> })
                            .collect_view()}
                    </ul>
                </div>
            }
        })
    };
    view! {
        {missing}
        <Show when=move || !empty fallback=move || view! { <p class="empty" id="no-stickers">{tr(texts::no_stickers)}</p> }>
            <div class="table-scroll" role="region" aria-labelledby="stickers-caption" tabindex="0">
                <table class="sales" id="stickers">
                    <caption id="stickers-caption">{tr(texts::stickers_caption)}</caption>
                    <thead>
                        <tr>
                            <th scope="col">{tr(texts::col_sticker)}</th>
                            <th scope="col">{tr(texts::col_id)}</th>
                            <th scope="col">{tr(texts::col_leads_to)}</th>
                            <th scope="col"><span class="visually-hidden">{tr(texts::print_one)}</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows.clone()}</tbody>
                </table>
            </div>
        </Show>
    }
}

/// One sticker's row: what it is, its id, where a scan leads, and printing it (and its till's).
fn row(
    sticker: &StickerSummary,
    print: Callback<(Option<String>, Option<String>), String>,
    locale: Locale,
) -> impl IntoView + use<> {
    let (id, till) = (sticker.id.clone(), sticker.till.clone());
    // With its till: another store's sticker may have the same id.
    let one = {
        let (id, till) = (id.clone(), till.clone());
        move || print.run((till.clone(), Some(id.clone())))
    };
    let whole_till = till.clone().map(|till| {
        let href = move || print.run((Some(till.clone()), None));
        view! {
            <a class="details-link print-till" href=href target="_blank" rel="external">{texts::print_till(locale)}</a>
        }
    });
    let context = format!(" {} {}", sticker.title, sticker.id);
    view! {
        <tr data-id=sticker.id.clone() data-kind=sticker.kind.as_str() data-till=till.clone().unwrap_or_default()>
            <th scope="row">{sticker.title.clone()} <span class="muted">" · " {texts::sticker_kind(sticker.kind, locale)}</span></th>
            <td><code>{id}</code></td>
            <td class="target">{sticker.target.clone()}</td>
            <td>
                <a class="details-link print-one" href=one target="_blank" rel="external">
                    {texts::print_one(locale)}
                    <span class="visually-hidden">{context}</span>
                </a>
                " "
                {whole_till}
            </td>
        </tr>
    }
}

/// Puts up a callback sticker for a till.
#[component]
fn PutUp(stores: StoredValue<Vec<StoreSummary>>, answered: RwSignal<Option<AdminStickers>>) -> impl IntoView {
    let locale = use_locale();
    let tills: Vec<(String, String)> = stores.with_value(|stores| {
        stores
            .iter()
            .flat_map(|s| s.tills.iter().map(move |t| (t.id.clone(), format!("{} · {}", t.name, s.name))))
            .collect()
    });
    let till = RwSignal::new(tills.first().map(|(id, _)| id.clone()).unwrap_or_default());
    let id = RwSignal::new(String::new());
    let put_up = Action::new_local(move |(till, id): &(String, String)| {
        let request = kasse_api::NewCallbackSticker {
            till: till.clone(),
            id: (!id.trim().is_empty()).then(|| id.trim().to_owned()),
        };
        async move { api::admin::put_up_sticker(&request).await }
    });
    Effect::new(move || {
        if let Some(Ok(stickers)) = put_up.value().get() {
            answered.set(Some(stickers));
            id.set(String::new());
        }
    });
    let said = move || {
        let locale = locale.get();
        match put_up.value().get() {
            Some(Ok(_)) => Some(view! { <p class="said" role="status" id="put-up-said">{texts::put_up_done(locale)}</p> }.into_any()),
            Some(Err(failure)) => Some(
                view! { <p class="notice" role="alert" id="put-up-said">{failure_sentence(&failure, locale)}</p> }
                    .into_any(),
            ),
            None => None,
        }
    };
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        put_up.dispatch_local((till.get_untracked(), id.get_untracked()));
    };
    let options =
        tills.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view();
    view! {
        <section class="detail-section" aria-labelledby="put-up-heading">
            <h2 id="put-up-heading">{tr(texts::put_up_heading)}</h2>
            <form class="pair-form" on:submit=submit>
                <div class="field">
                    <label for="sticker-till">{tr(texts::col_till)}</label>
                    <select id="sticker-till" prop:value=move || till.get() on:change=move |e| till.set(event_target_value(&e))>
                        {options}
                    </select>
                </div>
                <div class="field">
                    <label for="sticker-id">{tr(texts::sticker_id)}</label>
                    <input
                        id="sticker-id"
                        type="text"
                        autocomplete="off"
                        maxlength="128"
                        prop:value=move || id.get()
                        on:input=move |e| id.set(event_target_value(&e))
                    />
                </div>
                <button type="submit" class="primary" id="put-up" disabled=move || put_up.pending().get()>
                    {tr(texts::put_up)}
                </button>
            </form>
            {said}
        </section>
    }
}
