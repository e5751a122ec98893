//! `/pair`: a browser becomes a till (or its customer display) by typing the one-time code the
//! manager got from `kasse-server till pair`. The server answers with a session cookie the page
//! never sees (HttpOnly).

use kasse_api::Role;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use crate::components::leave::leave_for;

use crate::api;
use crate::state::till::Failure;

/// The pairing form, pre-filled from `?code=` when a link carries it.
#[component]
pub fn PairPage() -> impl IntoView {
    let query = use_query_map();
    let code = RwSignal::new(query.read_untracked().get("code").unwrap_or_default());
    let busy = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);

    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        problem.set(None);
        spawn_local(async move {
            let refusal = match api::pair(&code.get_untracked()).await {
                Ok(session) => {
                    let to = match session.role {
                        Role::Till => "/till".to_owned(),
                        Role::Display => format!("/display/{}", session.till.id),
                    };
                    // The display is a bundle of its own; the till reloads as itself.
                    leave_for(&to);
                    None
                }
                Err(Failure::Refused(p)) => Some(p.sentence().to_owned()),
                Err(Failure::NoAnswer) => Some("No answer from the server. Try again.".to_owned()),
            };
            problem.set(refusal);
            busy.set(false);
        });
    };

    view! {
        <main class="page narrow pair">
            <p class="brand">"kasse"</p>
            <h1>"Pair this browser"</h1>
            <p>"Type the pairing code the manager gave you. It works once, for ten minutes."</p>
            <form on:submit=submit>
                <label for="pairing-code">"Pairing code"</label>
                <input
                    id="pairing-code"
                    name="code"
                    autocomplete="off"
                    autocapitalize="characters"
                    spellcheck="false"
                    placeholder="ABCD-EFGH"
                    required
                    prop:value=move || code.get()
                    on:input=move |e| code.set(event_target_value(&e))
                />
                <button type="submit" class="primary" id="pair" disabled=move || busy.get()>"Pair"</button>
            </form>
            {move || problem.get().map(|text| view! { <p class="notice" role="alert">{text}</p> })}
        </main>
    }
}
