//! `/pair`: a browser becomes a till (or its customer display, or a manager's back office) by
//! typing the one-time code the manager got from `kasse-server till pair` or the back office. The
//! server answers with a session cookie the page never sees (HttpOnly). A manager's first pairing
//! asks them to choose a PIN, typed twice, before the code is spent. A browser whose session ended
//! is sent here with `?reason=expired` or `?reason=revoked` (see `api`), and the page says so
//! above the form.

use kasse_api::{Paired, ProblemCode, Role};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use crate::api;
use crate::components::leave::leave_for;
use crate::components::locale::{LanguageSwitcher, tr, use_locale};
use crate::components::pin::PinField;
use crate::i18n::{common, pair as text};
use crate::state::pin::{self, PinMistake};
use crate::state::till::Failure;

/// The pairing form, pre-filled from `?code=` when a link carries it, saying first why the
/// browser is here when `?reason=` tells (its session expired or was revoked).
#[component]
pub fn PairPage() -> impl IntoView {
    let query = use_query_map();
    let code = RwSignal::new(query.read_untracked().get("code").unwrap_or_default());
    let reason = query.read_untracked().get("reason").unwrap_or_default();
    let busy = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    // Set when the server says the code is a manager's first: the PIN fields show.
    let choosing_pin = RwSignal::new(false);
    let new_pin = RwSignal::new(String::new());
    let new_pin_again = RwSignal::new(String::new());
    let locale = use_locale();

    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let pin = if choosing_pin.get_untracked() {
            match pin::chosen(&new_pin.get_untracked(), &new_pin_again.get_untracked()) {
                Ok(pin) => Some(pin),
                Err(mistake) => {
                    let sentence = match mistake {
                        PinMistake::Malformed => text::pin_malformed(locale.get_untracked()),
                        PinMistake::Differs => text::pins_differ(locale.get_untracked()),
                    };
                    problem.set(Some(sentence.to_owned()));
                    return;
                }
            }
        } else {
            None
        };
        busy.set(true);
        problem.set(None);
        spawn_local(async move {
            let refusal = match api::pair(&code.get_untracked(), pin.as_deref()).await {
                Ok(paired) => {
                    let to = match paired {
                        Paired::Device(session) => match session.role {
                            Role::Till => "/till".to_owned(),
                            Role::Display => format!("/display/{}", session.till.id),
                        },
                        Paired::Manager(_) => "/admin".to_owned(),
                    };
                    // The display and the back office are bundles of their own; the till reloads
                    // as itself.
                    leave_for(&to);
                    None
                }
                Err(Failure::Refused(p)) if p.code == Some(ProblemCode::PinRequired) => {
                    choosing_pin.set(true);
                    None
                }
                // The manager has a PIN already: the fields go, and Pair again pairs.
                Err(Failure::Refused(p)) if p.code == Some(ProblemCode::PinChosen) => {
                    choosing_pin.set(false);
                    Some(common::problem(&p, locale.get_untracked()))
                }
                // The server's 401 here means the code: say so as this page does.
                Err(Failure::Refused(p)) if p.status == 401 => {
                    Some(text::refused(locale.get_untracked()).to_owned())
                }
                Err(Failure::Refused(p)) => Some(common::problem(&p, locale.get_untracked())),
                Err(Failure::NoAnswer) => Some(common::no_answer(locale.get_untracked()).to_owned()),
            };
            problem.set(refusal);
            busy.set(false);
        });
    };

    view! {
        <main class="page narrow pair">
            <p class="brand">"kasse"</p>
            <LanguageSwitcher/>
            <h1>{tr(text::heading)}</h1>
            {move || {
                text::reason(&reason, locale.get())
                    .map(|why| view! { <p class="notice reason" role="status">{why}</p> })
            }}
            <p>{tr(text::line)}</p>
            <form on:submit=submit>
                <label for="pairing-code">{tr(text::code)}</label>
                <input
                    id="pairing-code"
                    name="code"
                    autocomplete="off"
                    autocapitalize="characters"
                    spellcheck="false"
                    placeholder="ABCD-EFGH"
                    required
                    prop:value=move || code.get()
                    on:input=move |e| {
                        code.set(event_target_value(&e));
                        // Another code may be a till's: its PIN fields wait for the server to ask.
                        choosing_pin.set(false);
                    }
                />
                {move || {
                    choosing_pin
                        .get()
                        .then(|| {
                            view! {
                                <div class="choose-pin" role="group" aria-labelledby="choose-pin-intro">
                                    <p id="choose-pin-intro">{tr(text::choose_pin)}</p>
                                    <PinField id="new-pin" label=text::new_pin value=new_pin new=true/>
                                    <PinField id="new-pin-again" label=text::new_pin_again value=new_pin_again new=true/>
                                </div>
                            }
                        })
                }}
                <button type="submit" class="primary" id="pair" disabled=move || busy.get()>{tr(text::pair)}</button>
            </form>
            {move || problem.get().map(|text| view! { <p class="notice" role="alert">{text}</p> })}
        </main>
    }
}
