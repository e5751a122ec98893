//! Profile sharing and the Userinfo API, black-box over HTTP: a payment that asks for
//! `profile.scope`, the phone's question, `profile.sub` once the customer shares, and what
//! `GET /vipps-userinfo-api/userinfo/{sub}` answers to whom.

use kasse_vipps::epayment::ProfileRequest;

use super::*;

impl TestSim {
    /// Creates a QR payment that asks for `scope` (if any) and returns its pay page's token.
    async fn create_asking(&self, reference: &str, scope: Option<&str>) -> String {
        let request = CreatePaymentRequest {
            profile: scope.map(|s| ProfileRequest { scope: Some(s.to_owned()) }),
            ..qr_request(reference, 1_000)
        };
        let created = self.client().create_payment(&request, &create_key(reference)).await.unwrap();
        token_of(&created.redirect_url.unwrap())
    }

    /// Kari approves the payment behind `token` on its pay page, answering the profile question
    /// with `share` (`yes`, `no`, or left out).
    async fn kari_approves(&self, token: &str, share: Option<&str>) {
        let mut form = vec![("action", "approve"), ("customer", KARI)];
        form.extend(share.map(|s| ("share", s)));
        let answer = self.send(self.http.post(self.url(&format!("sim/pay/{token}"))).form(&form)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        assert!(answer.text().contains("Approved"), "{}", answer.text());
    }

    /// The `sub` of Kari, as the simulator derives it.
    fn kari_sub(&self) -> String {
        self.handle.config().customer(KARI).unwrap().sub()
    }

    /// An unauthenticated page of the simulator, as text.
    async fn page(&self, path: &str) -> String {
        let page = self.send(self.http.get(self.url(path))).await;
        assert_eq!(page.status, StatusCode::OK);
        page.text()
    }
}

#[tokio::test]
async fn a_customer_who_shares_is_named_by_profile_sub_and_userinfo_answers_only_what_was_shared() {
    let sim = spawn_sim().await;
    let token = sim.create_asking("profile-0001", Some("phoneNumber")).await;
    let before = sim.client().get_payment("profile-0001").await.unwrap();
    assert_eq!(before.profile.sub, None, "no sub before the customer approves");

    sim.kari_approves(&token, Some("yes")).await;
    let payment = sim.client().get_payment("profile-0001").await.unwrap();
    assert_eq!(payment.profile.sub, Some(sim.kari_sub()));
    let sub = payment.profile.sub.unwrap();
    assert_eq!(sub.len(), 36, "UUID-shaped: {sub}");

    let info = sim.client().userinfo(&sub).await.unwrap();
    assert_eq!((info.sub.as_str(), info.phone_number.as_deref()), (sub.as_str(), Some(KARI)));
    assert_eq!((info.name, info.given_name, info.family_name), (None, None, None));
    let raw = sim.get(&format!("vipps-userinfo-api/userinfo/{sub}")).await;
    assert_eq!(raw.json(), json!({ "sub": sub, "phone_number": KARI }), "nothing not shared, not even null");

    // A second payment asking for the name adds it, for this merchant only.
    let token = sim.create_asking("profile-0002", Some("name")).await;
    sim.kari_approves(&token, Some("yes")).await;
    let info = sim.client().userinfo(&sub).await.unwrap();
    assert_eq!(info.phone_number.as_deref(), Some(KARI));
    assert_eq!(info.name.as_deref(), Some("Kari Nordmann"));
    assert_eq!((info.given_name.as_deref(), info.family_name.as_deref()), (Some("Kari"), Some("Nordmann")));

    let other = sim.handle.config().sales_unit("234567").unwrap().clone();
    let elsewhere = sim.client_for(&other).userinfo(&sub).await.unwrap_err();
    assert_eq!(elsewhere.status(), Some(403), "another merchant's keys read nothing: {elsewhere}");
    let unknown = sim.get("vipps-userinfo-api/userinfo/00000000-0000-0000-0000-000000000000").await;
    unknown.problem(404);
}

#[tokio::test]
async fn a_customer_who_will_not_share_cannot_pay_and_nothing_asked_is_nothing_shared() {
    let sim = spawn_sim().await;
    // Saying no, or leaving the question, is refusing the consent screen: the payment fails.
    for (reference, share) in [("profile-no-01", Some("no")), ("profile-no-02", None)] {
        let token = sim.create_asking(reference, Some("phoneNumber name")).await;
        let mut form = vec![("action", "approve"), ("customer", KARI)];
        form.extend(share.map(|s| ("share", s)));
        let answer = sim.send(sim.http.post(sim.url(&format!("sim/pay/{token}"))).form(&form)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text());
        assert!(answer.text().contains("You did not agree to share"), "{}", answer.text());
        let payment = sim.client().get_payment(reference).await.unwrap();
        assert_eq!((payment.state, payment.profile.sub), (PaymentState::Aborted, None), "{reference}");
    }
    // Kari says yes, but nothing was asked: nothing is shared silently.
    let unasked = sim.create_asking("profile-no-03", None).await;
    sim.kari_approves(&unasked, Some("yes")).await;
    let empty = sim.create_asking("profile-no-04", Some(" ")).await;
    sim.kari_approves(&empty, Some("yes")).await;

    for reference in ["profile-no-03", "profile-no-04"] {
        let payment = sim.client().get_payment(reference).await.unwrap();
        assert_eq!(payment.state, PaymentState::Authorized);
        assert_eq!(payment.profile.sub, None, "{reference}");
        assert_eq!(sim.handle.payment("123456", reference).unwrap().profile.sub, None);
    }
    let refused = sim.get(&format!("vipps-userinfo-api/userinfo/{}", sim.kari_sub())).await;
    let problem = refused.problem(403);
    assert_eq!(problem["instance"], format!("/vipps-userinfo-api/userinfo/{}", sim.kari_sub()));

    // Approving through the handle shares only when told to.
    let token = sim.create_asking("profile-handle", Some("name")).await;
    assert!(!token.is_empty());
    sim.handle.answer_with_consent("123456", "profile-handle", Some(KARI), true, true).unwrap();
    let payment = sim.handle.payment("123456", "profile-handle").unwrap();
    assert_eq!(payment.profile.sub, Some(sim.kari_sub()));
}

#[tokio::test]
async fn the_pay_page_and_the_push_request_ask_above_the_buttons_with_nothing_preselected() {
    let sim = spawn_sim().await;
    let token = sim.create_asking("profile-page-1", Some("name phoneNumber")).await;
    let page = sim.page(&format!("sim/pay/{token}")).await;
    let question = "Kaffebrenneriet Grünerløkka asks for your name and your phone number.";
    let asked = page.find(question).unwrap_or_else(|| panic!("{page}"));
    assert!(asked < page.find("value=\"approve\"").unwrap(), "the question comes before the buttons");
    assert!(page.contains(r#"type="radio" name="share" value="yes" required"#), "{page}");
    assert!(page.contains(r#"type="radio" name="share" value="no" required"#), "{page}");
    assert!(page.contains("Share it") && page.contains("Don't share"), "{page}");
    assert!(!page.contains("checked"), "no answer is preselected: {page}");

    let plain = sim.create_qr_payment("profile-page-2", 1_000).await;
    let page = sim.page(&format!("sim/pay/{plain}")).await;
    assert!(!page.contains("name=\"share\""), "nothing asked, no question: {page}");
    assert!(page.contains(r#"name="action" value="approve""#), "{page}");

    let request = CreatePaymentRequest {
        customer: Some(Customer::phone_number(KARI)),
        user_flow: UserFlow::PushMessage,
        qr_format: None,
        profile: Some(ProfileRequest { scope: Some("email".to_owned()) }),
        ..qr_request("profile-push-1", 1_000)
    };
    sim.client().create_payment(&request, "key-profile-push-1").await.unwrap();
    let phone = sim.page(&format!("sim/phone?customer={KARI}")).await;
    let request = &phone[phone.find("data-reference=\"profile-push-1\"").unwrap()..];
    assert!(request.contains("Kaffebrenneriet Grünerløkka asks for your email address."), "{request}");
    assert!(request.contains("name=\"share\""), "{request}");
}
