//! Profile sharing: what a customer consents to share when they approve a payment whose create
//! request asked for `profile.scope`, and the Userinfo API that reads it
//! (`specs/userinfo-api/swagger.yaml`): `GET /vipps-userinfo-api/userinfo/{sub}`.
//!
//! The phone asks the customer, naming the merchant and what it asks for; only a customer who
//! says yes is shared, and only with that sales unit. One who says no cannot pay: the payment
//! fails, as the platform's guide says. (The real app does not ask again a customer who agreed
//! before; the simulator always asks.) The approved payment's `profile.sub` then
//! names them, and the Userinfo API answers that unit's credentials with the consented fields
//! only: `phoneNumber` gives `phone_number`, `name` gives `name`, `given_name` and `family_name`.
//! The simulated customers have nothing else to share (no e-mail, address or birth date), so the
//! other scopes are asked and consented to, but add no field. A sub the simulator does not know
//! is a 404; a known one that never consented to this sales unit is a 403. Both are the plain
//! problem body of the platform's other APIs, the closest the simulator has to `UserinfoError`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kasse_vipps::userinfo::Userinfo;

use crate::Sim;
use crate::config::SimCustomer;
use crate::error::SimError;
use crate::http::{Msn, authenticate, json};
use crate::world::World;

/// The Userinfo API's route.
pub fn router() -> Router<Arc<Sim>> {
    Router::new().route("/vipps-userinfo-api/userinfo/{sub}", get(userinfo))
}

/// The scopes customers consented to share, by sales unit and `sub`.
#[derive(Debug, Default)]
pub struct Consents {
    granted: HashMap<(String, String), BTreeSet<String>>,
}

impl Consents {
    /// The customer `sub` shares `words` with the sales unit `msn`, on top of what they shared
    /// with it before.
    pub fn grant(&mut self, msn: &str, sub: &str, words: &[String]) {
        self.granted.entry((msn.to_owned(), sub.to_owned())).or_default().extend(words.iter().cloned());
    }

    /// What the customer `sub` shares with the sales unit `msn`, if anything.
    pub fn scope(&self, msn: &str, sub: &str) -> Option<&BTreeSet<String>> {
        self.granted.get(&(msn.to_owned(), sub.to_owned()))
    }
}

/// The words of a payment's `profile.scope` (space-separated, e.g. `name phoneNumber`), each
/// once and in the order asked; none for a missing or blank scope.
pub fn scope_words(scope: Option<&str>) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in scope.unwrap_or_default().split_whitespace() {
        if !words.iter().any(|w| w == word) {
            words.push(word.to_owned());
        }
    }
    words
}

/// What a payment asks the customer to share, as the app says it: `your name and your phone
/// number`. `None` when it asks for nothing.
pub fn asked_for(words: &[String]) -> Option<String> {
    let human: Vec<String> = words.iter().map(|w| human(w)).collect();
    match human.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        [rest @ .., last] => Some(format!("{} and {last}", rest.join(", "))),
    }
}

/// One scope word as the app names it; one the simulator has no words for, by its own name.
fn human(word: &str) -> String {
    match word {
        "phoneNumber" => "your phone number".to_owned(),
        "name" => "your name".to_owned(),
        "email" => "your email address".to_owned(),
        "address" => "your address".to_owned(),
        "birthDate" => "your date of birth".to_owned(),
        "nin" => "your national identity number".to_owned(),
        other => format!("your {other}"),
    }
}

/// What sharing comes to when `approver` approves a payment that asked for `scope`: their `sub`
/// and the words they share, if they said yes (`shares`) to a scope that was asked. Never
/// silently: with no scope asked nothing is shared, whatever `shares` says.
pub fn consent(
    scope: Option<&str>,
    approver: Option<&SimCustomer>,
    shares: bool,
) -> Option<(String, Vec<String>)> {
    let words = scope_words(scope);
    if !shares || words.is_empty() {
        return None;
    }
    approver.map(|customer| (customer.sub(), words))
}

/// `customer`'s data as the Userinfo API answers it to a sales unit they shared `scope` with.
fn shared_data(customer: &SimCustomer, scope: &BTreeSet<String>) -> Userinfo {
    let mut info =
        Userinfo { sub: customer.sub(), phone_number: None, name: None, given_name: None, family_name: None };
    if scope.contains("phoneNumber") {
        info.phone_number = Some(customer.phone_number.clone());
    }
    if scope.contains("name") {
        // The simulated customers have one given name and one surname: split at the first space.
        let (given, family) = match customer.name.split_once(' ') {
            Some((given, family)) => (given.to_owned(), Some(family.to_owned())),
            None => (customer.name.clone(), None),
        };
        info.name = Some(customer.name.clone());
        info.given_name = Some(given);
        info.family_name = family;
    }
    info
}

/// What `msn` may read of the customer `sub`: a 404 for a sub no customer has, a 403 for one who
/// never shared anything with this sales unit.
fn lookup(world: &World, msn: &str, sub: &str) -> Result<Userinfo, SimError> {
    let customer = world
        .config
        .customers
        .iter()
        .find(|c| c.sub() == sub)
        .ok_or_else(|| SimError::not_found("No user has this sub."))?;
    let scope = world.consents().scope(msn, sub).ok_or_else(|| {
        SimError::forbidden("This user has not consented to share any information with this merchant.")
    })?;
    Ok(shared_data(customer, scope))
}

/// `GET /vipps-userinfo-api/userinfo/{sub}`.
async fn userinfo(
    State(sim): State<Arc<Sim>>,
    Path(sub): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let world = sim.world();
    let answer = authenticate(&world, &headers, Msn::Optional, sim.clock.now())
        .and_then(|unit| lookup(&world, &unit.msn, &sub));
    drop(world);
    match answer {
        Ok(info) => json(StatusCode::OK, &info),
        Err(e) => e.at(uri.path()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use kasse_vipps::epayment::State;

    use super::*;

    fn words(scope: &str) -> Vec<String> {
        scope_words(Some(scope))
    }

    #[test]
    fn the_asked_scope_is_named_as_the_app_says_it() {
        assert_eq!(asked_for(&words("phoneNumber")).as_deref(), Some("your phone number"));
        assert_eq!(
            asked_for(&words("name  phoneNumber")).as_deref(),
            Some("your name and your phone number")
        );
        assert_eq!(
            asked_for(&words("email name shoeSize")).as_deref(),
            Some("your email address, your name and your shoeSize")
        );
        assert_eq!(asked_for(&words(" ")), None);
        assert_eq!(scope_words(None), Vec::<String>::new());
    }

    #[test]
    fn nothing_is_shared_without_a_yes_or_without_a_scope_asked() {
        let kari = SimCustomer::new("Kari Nordmann", "4791234567");
        assert_eq!(consent(Some("name"), Some(&kari), true), Some((kari.sub(), words("name"))));
        assert_eq!(consent(Some("name"), Some(&kari), false), None);
        assert_eq!(consent(None, Some(&kari), true), None);
        assert_eq!(consent(Some(""), Some(&kari), true), None);
        assert_eq!(consent(Some("name"), None, true), None);
    }

    #[test]
    fn only_the_consented_fields_are_answered_and_the_name_is_split_at_the_first_space() {
        let customer = SimCustomer::new("Anne Marie Berg", "4790000000");
        let scope: BTreeSet<String> = words("phoneNumber").into_iter().collect();
        let phone_only = shared_data(&customer, &scope);
        assert_eq!((phone_only.phone_number.as_deref(), phone_only.name), (Some("4790000000"), None));
        let scope: BTreeSet<String> = words("name").into_iter().collect();
        let named = shared_data(&customer, &scope);
        assert_eq!(named.phone_number, None);
        assert_eq!(named.given_name.as_deref(), Some("Anne"));
        assert_eq!(named.family_name.as_deref(), Some("Marie Berg"));
    }

    #[test]
    fn profile_sub_is_set_only_when_a_scope_was_asked_and_the_customer_shared_it() {
        let now = chrono::Utc::now();
        let mut world = World::new(crate::config::SimConfig::demo());
        let kari = world.config.customer("4791234567").unwrap().clone();
        let mut sub_of =
            |reference: &str, scope: Option<&str>, approver: Option<&str>, shares: bool| -> Option<String> {
                let mut body = serde_json::json!({
                    "amount": { "currency": "NOK", "value": 1000 },
                    "paymentMethod": { "type": "WALLET" },
                    "reference": reference,
                    "userFlow": "QR",
                });
                if let Some(scope) = scope {
                    body["profile"] = serde_json::json!({ "scope": scope });
                }
                world.create("123456", serde_json::from_value(body).unwrap(), None, None, now).unwrap();
                let approved = world.approve("123456", reference, approver, shares, now);
                let payment = world.payment("123456", reference).unwrap().view();
                // Refusing to share is refusing to pay: the payment fails.
                assert_eq!(approved.is_err(), payment.state == State::Aborted, "{reference}");
                payment.profile.sub
            };
        assert_eq!(sub_of("shared-01", Some("phoneNumber"), Some("4791234567"), true), Some(kari.sub()));
        assert_eq!(sub_of("refused-01", Some("phoneNumber"), Some("4791234567"), false), None);
        assert_eq!(sub_of("unasked-01", None, Some("4791234567"), true), None);
        assert_eq!(sub_of("nobody-001", Some("name"), None, true), None);
        assert_eq!(sub_of("stranger-1", Some("name"), Some("4700000000"), true), None);
        assert_eq!(world.payment("123456", "refused-01").unwrap().view().state, State::Aborted);
        let shared: Vec<_> = world.consents().scope("123456", &kari.sub()).unwrap().iter().cloned().collect();
        assert_eq!(shared, ["phoneNumber"], "only the yes was recorded");
    }

    #[test]
    fn consents_accumulate_per_sales_unit() {
        let mut consents = Consents::default();
        consents.grant("123456", "s", &words("name"));
        consents.grant("123456", "s", &words("phoneNumber"));
        let scope: Vec<_> = consents.scope("123456", "s").unwrap().iter().cloned().collect();
        assert_eq!(scope, ["name", "phoneNumber"]);
        assert!(consents.scope("234567", "s").is_none());
    }
}
