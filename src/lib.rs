//! kasse, the web app: the browser till, its history, the customer display and the landing page
//! behind a static sticker, rendered in the browser and talking only to the kasse server (`api`).
//! Its logic lives in `state`, free of the DOM and tested natively; `pages` and `components` wire
//! that logic to signals and markup.
//!
//! Each screen a device opens is its own bundle, so that none downloads what it never shows: the
//! till ([`App`], `main.rs`), its history and sale details ([`HistoryApp`], `bin/history.rs`),
//! the customer display ([`DisplayApp`], `bin/display.rs`), the manager's back office
//! ([`AdminApp`], `bin/admin.rs`), and the sticker landing page, which a customer's phone loads
//! on a weak connection (`bin/landing.rs`). Pages of different bundles
//! link to each other with full page loads (`components::leave`).

pub mod api;
pub mod components;
pub mod i18n;
pub mod pages;
pub mod state;

use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

/// The till: the sale screen and pairing.
#[component]
pub fn App() -> impl IntoView {
    components::locale::provide_locale();
    view! {
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/") view=|| view! { <Redirect path="/till"/> }/>
                <Route path=path!("/till") view=pages::till::TillPage/>
                <Route path=path!("/pair") view=pages::pair::PairPage/>
            </Routes>
        </Router>
    }
}

/// The till's history: today's sales and each sale's detail, refunds and event log.
#[component]
pub fn HistoryApp() -> impl IntoView {
    components::locale::provide_locale();
    view! {
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/till/history") view=pages::history::HistoryPage/>
                <Route path=path!("/till/sales/:reference") view=pages::sale::SalePage/>
            </Routes>
        </Router>
    }
}

/// The manager's back office: devices, the sales of any till and day (each with its page), the
/// end of day, the QR stickers, and the service's health.
#[component]
pub fn AdminApp() -> impl IntoView {
    use pages::admin::{AdminPage, Section};
    components::locale::provide_locale();
    view! {
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/admin") view=|| view! { <AdminPage section=Section::Devices/> }/>
                <Route path=path!("/admin/sales") view=|| view! { <AdminPage section=Section::Sales/> }/>
                <Route path=path!("/admin/sales/:reference") view=|| view! { <AdminPage section=Section::Sale/> }/>
                <Route path=path!("/admin/day") view=|| view! { <AdminPage section=Section::EndOfDay/> }/>
                <Route path=path!("/admin/stickers") view=|| view! { <AdminPage section=Section::Stickers/> }/>
                <Route path=path!("/admin/health") view=|| view! { <AdminPage section=Section::Health/> }/>
            </Routes>
        </Router>
    }
}

/// The customer display of a till.
#[component]
pub fn DisplayApp() -> impl IntoView {
    components::locale::provide_locale();
    view! {
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/display/:till") view=pages::display::DisplayPage/>
            </Routes>
        </Router>
    }
}
