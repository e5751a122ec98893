//! The Check-in API, black-box over HTTP: `POST /point-of-sale/v1/loyalty-check-in` validated as
//! its spec says, for Norwegian sales units only, recorded for the control API and shown on the
//! customer's phone.

use kasse_sim::LoyaltyCheckInRecord;
use kasse_vipps::check_in::LoyaltyCheckIn;

use super::*;

const PATH: &str = "point-of-sale/v1/loyalty-check-in";

impl TestSim {
    /// A raw loyalty check-in of `body` with the NOK unit's credentials.
    async fn loyalty(&self, body: &Value) -> Answer {
        let request = self.authed(Method::POST, PATH).await;
        self.send(request.header(header::CONTENT_TYPE, "application/json").body(body.to_string())).await
    }

    /// The control API's loyalty check-ins.
    async fn recorded_loyalty_check_ins(&self) -> Vec<LoyaltyCheckInRecord> {
        let answer = self.send(self.http.get(self.url("sim/control/loyalty-check-ins"))).await;
        assert_eq!(answer.status, StatusCode::OK);
        serde_json::from_slice(&answer.body).unwrap()
    }
}

impl Answer {
    /// Asserts this is the Check-in API's `ErrorResponse` for a 400, and returns it.
    fn check_in_problem(&self) -> Value {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{}", self.text());
        assert_eq!(self.content_type(), "application/problem+json");
        let problem = self.json();
        for field in ["type", "title", "detail", "instance"] {
            assert!(problem[field].as_str().is_some_and(|v| !v.is_empty()), "{field}: {problem}");
        }
        problem
    }
}

#[tokio::test]
async fn a_loyalty_check_in_is_recorded_and_shown_on_the_customers_phone() {
    let sim = spawn_sim().await;
    let member = LoyaltyCheckIn { phone_number: KARI.to_owned(), is_member: true };
    sim.client().loyalty_check_in(&member).await.unwrap();
    let raw = sim.loyalty(&json!({ "phoneNumber": OLA, "isMember": false })).await;
    assert_eq!(raw.status, StatusCode::OK);
    assert!(raw.json().as_str().is_some_and(|id| !id.is_empty()), "a JSON string id: {}", raw.text());

    let recorded = sim.recorded_loyalty_check_ins().await;
    let rows: Vec<_> =
        recorded.iter().map(|r| (r.msn.as_str(), r.phone_number.as_str(), r.is_member)).collect();
    assert_eq!(rows, [("123456", KARI, true), ("123456", OLA, false)]);
    assert_eq!(sim.handle.loyalty_check_ins(), recorded);
    let wire = sim.send(sim.http.get(sim.url("sim/control/loyalty-check-ins"))).await.json();
    let keys: Vec<_> = wire[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["at", "isMember", "msn", "phoneNumber"]);

    let phone = |customer| sim.send(sim.http.get(sim.url(&format!("sim/phone?customer={customer}"))));
    let kari = phone(KARI).await.text();
    assert!(kari.contains("Checked in at Kaffebrenneriet Grünerløkka: member"), "{kari}");
    let ola = phone(OLA).await.text();
    assert!(ola.contains("Checked in at Kaffebrenneriet Grünerløkka: not a member"), "{ola}");

    // The app stops showing it after 15 minutes; the record stays.
    sim.handle.advance_clock(chrono::Duration::minutes(15));
    assert!(!phone(KARI).await.text().contains("Checked in at"));
    assert_eq!(sim.handle.loyalty_check_ins().len(), 2);
}

#[tokio::test]
async fn a_bad_number_or_a_missing_membership_is_a_400_naming_the_field_and_nothing_is_recorded() {
    let sim = spawn_sim().await;
    let danish = sim.loyalty(&json!({ "phoneNumber": "4520031801", "isMember": true })).await;
    let problem = danish.check_in_problem();
    assert_eq!(problem["invalidParams"][0]["name"], "phoneNumber", "{problem}");
    assert_eq!(problem["invalidParams"].as_array().unwrap().len(), 1, "{problem}");

    let missing = sim.loyalty(&json!({ "phoneNumber": KARI })).await.check_in_problem();
    assert_eq!(missing["invalidParams"][0]["name"], "isMember", "{missing}");

    let typed = LoyaltyCheckIn { phone_number: "479123456".to_owned(), is_member: false };
    let refused = sim.client().loyalty_check_in(&typed).await.unwrap_err();
    assert_eq!(refused.status(), Some(400));
    assert!(!refused.outcome_unknown());

    assert!(sim.recorded_loyalty_check_ins().await.is_empty());
}

#[tokio::test]
async fn a_sales_unit_outside_norway_is_refused_as_the_api_is_vipps_only() {
    let sim = spawn_sim().await;
    let danish_unit = sim.handle.config().sales_unit("234567").unwrap().clone();
    let body = LoyaltyCheckIn { phone_number: KARI.to_owned(), is_member: true };
    let refused = sim.client_for(&danish_unit).loyalty_check_in(&body).await.unwrap_err();
    assert_eq!(refused.status(), Some(400), "{refused}");
    assert!(refused.to_string().contains("Norway"), "{refused}");
    assert!(sim.handle.loyalty_check_ins().is_empty());

    let anonymous = sim.send(sim.http.post(sim.url(PATH)).json(&json!({ "phoneNumber": KARI }))).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
