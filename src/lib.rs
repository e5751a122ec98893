//! kasse, the web app: the browser till, the customer display, and the landing page behind a
//! static sticker, rendered in the browser and talking only to the kasse server (`api`). Its
//! logic lives in `state`, free of the DOM and tested natively; `pages` and `components` wire
//! that logic to signals and markup. Two bundles share this library: the till's (`main.rs`, the
//! routes below) and the sticker landing page's own small one (`bin/landing.rs`), which a
//! customer's phone loads on a weak connection.

pub mod api;
pub mod components;
pub mod i18n;
pub mod pages;
pub mod state;

use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

/// The whole app, with its routes.
#[component]
pub fn App() -> impl IntoView {
    components::locale::provide_locale();
    view! {
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/") view=|| view! { <Redirect path="/till"/> }/>
                <Route path=path!("/till") view=pages::till::TillPage/>
                <Route path=path!("/till/history") view=pages::history::HistoryPage/>
                <Route path=path!("/till/sales/:reference") view=pages::sale::SalePage/>
                <Route path=path!("/display/:till") view=pages::display::DisplayPage/>
                <Route path=path!("/pair") view=pages::pair::PairPage/>
            </Routes>
        </Router>
    }
}
