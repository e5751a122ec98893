//! `/admin`: the manager's back office, a bundle of its own (`bin/admin.rs`). Each section is a
//! route drawn inside one frame: who is signed in, the sections, the language. A browser with no
//! manager's session is sent to pairing; a till's browser is told it needs a manager's code.

mod day;
mod devices;
mod health;
mod sale;
mod sales;
mod stickers;

use kasse_api::ManagerSession;
use leptos::prelude::*;

use crate::api;
use crate::components::leave::Leave;
use crate::components::locale::{LanguageSwitcher, tr, use_locale};
use crate::i18n::{admin as texts, common};
use crate::state::till::Failure;

/// A section of the back office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Paired devices, and pairing new ones.
    Devices,
    /// The sales of any till and day.
    Sales,
    /// One sale (its reference in the path), and what can be done with it.
    Sale,
    /// A day's figures, printable, and its sales as CSV.
    EndOfDay,
    /// The QR stickers, and their sheets.
    Stickers,
    /// The platform and what waits for it.
    Health,
}

impl Section {
    const fn path(self) -> &'static str {
        match self {
            Self::Devices => "/admin",
            Self::Sales | Self::Sale => "/admin/sales",
            Self::EndOfDay => "/admin/day",
            Self::Stickers => "/admin/stickers",
            Self::Health => "/admin/health",
        }
    }
}

/// The back office at `section`, once the manager's session is read.
#[component]
pub fn AdminPage(
    /// The section shown.
    section: Section,
) -> impl IntoView {
    let locale = use_locale();
    let session = LocalResource::new(api::admin::session);
    view! {
        <Suspense fallback=move || view! { <p class="loading">{common::loading(locale.get())}</p> }>
            {move || Suspend::new(async move {
                match session.await {
                    Ok(session) => view! { <Frame session section/> }.into_any(),
                    Err(Failure::Refused(problem)) if problem.status == 401 => {
                        view! { <Leave path="/pair"/> }.into_any()
                    }
                    Err(failure) => {
                        let sentence = match failure {
                            Failure::Refused(problem) if problem.status == 403 => {
                                texts::not_a_manager(locale.get_untracked()).to_owned()
                            }
                            Failure::Refused(problem) => common::problem(&problem, locale.get_untracked()),
                            Failure::NoAnswer => common::no_answer(locale.get_untracked()).to_owned(),
                        };
                        view! {
                            <main class="page narrow">
                                <h1>{tr(texts::cannot_load)}</h1>
                                <p>{sentence}</p>
                                <p><a href="/pair" rel="external">{tr(common::to_pairing)}</a></p>
                            </main>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Who is signed in, the sections, and the section shown.
#[component]
fn Frame(session: ManagerSession, section: Section) -> impl IntoView {
    let locale = use_locale();
    // A manager of one store sees only it: its name is the first store's.
    let store_name = session.manager.store.as_ref().and(session.stores.first()).map(|s| s.name.clone());
    let who = move || {
        let of = store_name.clone().unwrap_or_else(|| texts::every_store(locale.get()).to_owned());
        format!("{} ({of})", session.manager.name)
    };
    // A sale's page is within the sales.
    let shown = if section == Section::Sale { Section::Sales } else { section };
    let mark = move |tab: Section| (tab == shown).then_some("page");
    let stores = StoredValue::new(session.stores);
    let manages_every_store = session.manager.store.is_none();
    view! {
        <main class="page admin">
            <header class="page-bar">
                <p class="brand">"kasse"</p>
                <p class="signed-in" id="signed-in">{tr(texts::signed_in_as)} " " <strong>{who}</strong></p>
                <LanguageSwitcher/>
            </header>
            <nav class="tabs admin-nav" aria-label=tr(texts::sections)>
                <a href=Section::Devices.path() id="nav-devices" aria-current=mark(Section::Devices)>
                    {tr(texts::nav_devices)}
                </a>
                <a href=Section::Sales.path() id="nav-sales" aria-current=mark(Section::Sales)>
                    {tr(texts::nav_sales)}
                </a>
                <a href=Section::EndOfDay.path() id="nav-day" aria-current=mark(Section::EndOfDay)>
                    {tr(texts::nav_day)}
                </a>
                <a href=Section::Stickers.path() id="nav-stickers" aria-current=mark(Section::Stickers)>
                    {tr(texts::nav_stickers)}
                </a>
                <a href=Section::Health.path() id="nav-health" aria-current=mark(Section::Health)>
                    {tr(texts::nav_health)}
                </a>
            </nav>
            {match section {
                Section::Devices => view! { <devices::Devices stores manages_every_store/> }.into_any(),
                Section::Sales => view! { <sales::Sales stores/> }.into_any(),
                Section::Sale => view! { <sale::Sale stores/> }.into_any(),
                Section::EndOfDay => view! { <day::EndOfDayView/> }.into_any(),
                Section::Stickers => view! { <stickers::Stickers stores/> }.into_any(),
                Section::Health => view! { <health::Health/> }.into_any(),
            }}
        </main>
    }
}

/// A failure in the reader's language.
fn failure_sentence(failure: &Failure, locale: crate::i18n::Locale) -> String {
    match failure {
        Failure::Refused(problem) => common::problem(problem, locale),
        Failure::NoAnswer => common::no_answer(locale).to_owned(),
    }
}
