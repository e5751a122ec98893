//! QR API tests: redirect and callback QRs, the MobilePay beacon migration, the personal-QR exchange, check-ins.
//!
//! Raw HTTP where status, content type and error body are the point; the typed client where the
//! point is that `kasse_vipps::qr` and the client's QR methods round-trip. The codes the simulator
//! hands out are followed the way a phone camera would: GET the content URL, without following
//! the redirect, and see where it leads.

use kasse_sim::FaultKnobs;
use kasse_vipps::qr::{
    CallbackQrImage, MerchantCallbackMobilePayPutRequest, MerchantCallbackPutRequest,
    MerchantRedirectQrRequest, NEVER_EXPIRES, QrImageFormat, RedirectQrFormat,
};
use kasse_vipps::webhooks::{USER_CHECKED_IN, UserCheckedIn};

use super::*;

/// The Danish demo customer, whose personal QR is a MobilePay token.
const METTE: &str = "4520031801";

/// A merchant page, as a redirect QR's target.
const SHOP: &str = "https://shop.example.no/q/kasse-1";

impl TestSim {
    /// A QR API call with `Accept` (when given) and a JSON body (when given).
    async fn qr_call(
        &self,
        method: Method,
        path: &str,
        accept: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.authed(method, path).await;
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        if let Some(body) = body {
            request = request.header(header::CONTENT_TYPE, "application/json").body(body.to_string());
        }
        self.send(request).await
    }

    /// Creates a redirect QR over raw HTTP and returns the answer, asking for the code's content.
    async fn create_redirect(&self, id: &str, redirect_url: &str) -> Answer {
        let body = json!({ "id": id, "redirectUrl": redirect_url });
        self.qr_call(Method::POST, "qr/v1/merchant-redirect", Some("text/targetUrl"), Some(&body)).await
    }

    /// Follows a printed code's content as a phone camera does, without following the redirect.
    async fn scan(&self, content: &str) -> Answer {
        let camera = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        self.send(camera.get(content)).await
    }

    /// An unauthenticated GET, as of an image link.
    async fn fetch(&self, url: &str) -> Answer {
        self.send(self.http.get(url)).await
    }

    /// The phone page of `customer`.
    async fn phone(&self, customer: &str) -> String {
        let page = self.fetch(self.url(&format!("sim/phone?customer={customer}")).as_str()).await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert!(!html.contains("<script"), "the phone page has no scripts");
        html
    }
}

impl Answer {
    /// Asserts this is a `QrErrorResponse` for `status`, and returns it.
    fn qr_problem(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.content_type(), "application/problem+json");
        let problem = self.json();
        for field in ["type", "title", "detail", "instance"] {
            assert!(problem[field].as_str().is_some_and(|v| !v.is_empty()), "{field} missing: {problem}");
        }
        let kind = problem["type"].as_str().unwrap();
        assert!(kind.starts_with("https://datatracker.ietf.org/doc/html/rfc"), "{problem}");
        assert!(problem["instance"].as_str().unwrap().starts_with("00-"), "a trace id: {problem}");
        assert_eq!(problem.get("extraDetails"), None, "the QR API has no error codes: {problem}");
        problem
    }

    /// Asserts this is a 400 `QrErrorResponse` naming `field` in `invalidParams`.
    fn invalid_param(&self, field: &str) -> Value {
        let problem = self.qr_problem(400);
        assert_eq!(problem["title"], "One or more validation errors occurred.");
        let names: Vec<_> = problem["invalidParams"].as_array().unwrap().iter().map(|p| &p["name"]).collect();
        assert_eq!(names, [field], "{problem}");
        problem
    }

    /// Asserts this is the exchange endpoints' error body for `status`, and returns it.
    fn exchange_problem(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        assert_eq!(self.content_type(), "application/problem+json");
        let problem = self.json();
        assert_eq!(problem["status"], status, "{problem}");
        assert!(problem["title"].is_string() && problem["detail"].is_string(), "{problem}");
        problem
    }

    /// Asserts this is the exchange endpoints' 400 body naming `field` in `extraDetails`.
    fn exchange_refusal(&self, field: &str) -> Value {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{}", self.text());
        assert_eq!(self.content_type(), "application/problem+json");
        let problem = self.json();
        assert_eq!((problem["title"].as_str(), problem["status"].as_u64()), (Some("Bad request"), Some(400)));
        assert!(problem["detail"].is_string(), "{problem}");
        assert_eq!(problem["extraDetails"][0]["name"], field, "{problem}");
        problem
    }
}

/// The PNG's width and height, after checking its magic bytes.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let png = image::load_from_memory(bytes).unwrap();
    (png.width(), png.height())
}

/// The value of `attribute` in the first tag after `marker` in `html`.
fn attribute_after<'a>(html: &'a str, marker: &str, attribute: &str) -> &'a str {
    let rest = &html[html.find(marker).unwrap_or_else(|| panic!("no {marker} in {html}"))..];
    let start = rest.find(&format!("{attribute}=\"")).unwrap() + attribute.len() + 2;
    &rest[start..start + rest[start..].find('"').unwrap()]
}

// ------------------------------------------------------------------------------------------------
// Merchant redirect QRs
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_redirect_qr_leads_to_its_target_and_a_put_retargets_the_same_printed_code() {
    let sim = spawn_sim().await;
    let created = sim.create_redirect("billboard_1", SHOP).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    assert_eq!(created.content_type(), "application/json");
    let body = created.json();
    assert_eq!(body["id"], "billboard_1");
    assert_eq!(body["redirectUrl"], SHOP);
    assert_eq!(body["expiresIn"], NEVER_EXPIRES);
    let content = body["url"].as_str().unwrap().to_owned();
    assert!(content.starts_with(sim.url("sim/r/").as_str()), "{content}");

    let scanned = sim.scan(&content).await;
    assert_eq!(scanned.status, StatusCode::FOUND);
    assert_eq!(scanned.headers[header::LOCATION], SHOP);

    let moved = json!({ "redirectUrl": "https://shop.example.no/q/kasse-2" });
    let put = sim
        .qr_call(Method::PUT, "qr/v1/merchant-redirect/billboard_1", Some("text/targetUrl"), Some(&moved))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    assert_eq!(put.json()["url"], content.as_str(), "the printed code stays the same");
    assert_eq!(put.json()["redirectUrl"], "https://shop.example.no/q/kasse-2");
    let rescanned = sim.scan(&content).await;
    assert_eq!(rescanned.headers[header::LOCATION], "https://shop.example.no/q/kasse-2");

    let listed = sim.qr_call(Method::GET, "qr/v1/merchant-redirect", Some("text/targetUrl"), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
    let read =
        sim.qr_call(Method::GET, "qr/v1/merchant-redirect/billboard_1", Some("text/targetUrl"), None).await;
    assert_eq!(read.json(), put.json());

    // The same id again is a conflict whose body names it.
    let again = sim.create_redirect("billboard_1", SHOP).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.content_type(), "application/json");
    assert_eq!(again.json(), json!({ "id": "billboard_1" }));
}

#[tokio::test]
async fn a_deleted_redirect_qr_is_gone_for_good_even_when_its_id_is_used_again() {
    let sim = spawn_sim().await;
    let old =
        sim.create_redirect("vending machine 122", SHOP).await.json()["url"].as_str().unwrap().to_owned();
    let path = "qr/v1/merchant-redirect/vending%20machine%20122";
    let deleted = sim.qr_call(Method::DELETE, path, None, None).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text());
    assert!(deleted.body.is_empty());

    sim.qr_call(Method::GET, path, Some("image/*"), None).await.qr_problem(404);
    sim.qr_call(Method::DELETE, path, None, None).await.qr_problem(404);
    let update = json!({ "redirectUrl": SHOP });
    sim.qr_call(Method::PUT, path, Some("image/*"), Some(&update)).await.qr_problem(404);
    assert_eq!(sim.scan(&old).await.status, StatusCode::NOT_FOUND);

    let recreated = sim.create_redirect("vending machine 122", SHOP).await;
    assert_eq!(recreated.status, StatusCode::OK);
    let new = recreated.json()["url"].as_str().unwrap().to_owned();
    assert_ne!(new, old, "old prints never work again");
    assert_eq!(sim.scan(&old).await.status, StatusCode::NOT_FOUND);
    assert_eq!(sim.scan(&new).await.status, StatusCode::FOUND);
}

#[tokio::test]
async fn the_accept_header_picks_an_svg_a_png_of_the_asked_size_or_the_codes_content() {
    let sim = spawn_sim().await;
    let content = sim.create_redirect("till-3", SHOP).await.json()["url"].as_str().unwrap().to_owned();
    let path = "qr/v1/merchant-redirect/till-3";

    for accept in ["image/*", "image/svg+xml"] {
        let read = sim.qr_call(Method::GET, path, Some(accept), None).await;
        assert_eq!(read.status, StatusCode::OK, "{accept}: {}", read.text());
        let image = sim.fetch(read.json()["url"].as_str().unwrap()).await;
        assert_eq!(image.status, StatusCode::OK);
        assert_eq!(image.content_type(), "image/svg+xml", "{accept}");
        assert!(image.text().starts_with("<svg") && image.text().ends_with("</svg>"), "{accept}");
    }

    let png = sim
        .send(sim.authed(Method::GET, path).await.header("Accept", "image/png").header("Size", "300"))
        .await;
    assert_eq!(png.status, StatusCode::OK, "{}", png.text());
    let image = sim.fetch(png.json()["url"].as_str().unwrap()).await;
    assert_eq!(image.content_type(), "image/png");
    assert_eq!(png_size(&image.body), (300, 300));
    let default = sim.qr_call(Method::GET, path, Some("image/png"), None).await;
    assert_eq!(png_size(&sim.fetch(default.json()["url"].as_str().unwrap()).await.body), (1024, 1024));

    let text = sim.qr_call(Method::GET, path, Some("text/targetUrl"), None).await;
    assert_eq!(text.json()["url"], content.as_str());

    // Accept is required, and only the spec's four values will do.
    for accept in ["*/*", "application/json", "image/jpeg"] {
        let refused = sim.qr_call(Method::GET, path, Some(accept), None).await;
        assert_eq!(refused.qr_problem(415)["title"], "Unsupported Media Type", "{accept}");
        let body = json!({ "id": "till-4", "redirectUrl": SHOP });
        sim.qr_call(Method::POST, "qr/v1/merchant-redirect", Some(accept), Some(&body)).await.qr_problem(415);
    }
    let too_small = sim.authed(Method::GET, path).await.header("Accept", "image/png").header("Size", "99");
    sim.send(too_small).await.invalid_param("Size");
}

#[tokio::test]
async fn a_redirect_qr_breaking_the_specs_field_rules_is_a_400_naming_the_field() {
    let sim = &spawn_sim().await;
    let post = |body: Value| async move {
        sim.qr_call(Method::POST, "qr/v1/merchant-redirect", Some("image/*"), Some(&body)).await
    };
    post(json!({ "id": "a/b", "redirectUrl": SHOP })).await.invalid_param("Id");
    post(json!({ "id": "x".repeat(129), "redirectUrl": SHOP })).await.invalid_param("Id");
    let problem = post(json!({ "id": "x", "redirectUrl": "http://shop.example.no/q" }))
        .await
        .invalid_param("RedirectUrl");
    assert!(
        problem["invalidParams"][0]["reason"].as_str().unwrap().contains("must match the regular expression")
    );
    post(json!({ "id": "x", "redirectUrl": "https://shop.example.no/(1)" }))
        .await
        .invalid_param("RedirectUrl");
    post(json!({ "id": "x", "redirectUrl": SHOP, "ttl": 299 })).await.invalid_param("Ttl");
    post(json!({ "id": "x", "redirectUrl": SHOP, "ttl": 2_147_483_648_i64 })).await.invalid_param("Ttl");
    // kasse's landing page runs on this machine during development: plain http to it is fine.
    let local = post(json!({ "id": "local", "redirectUrl": "http://127.0.0.1:8080/q/kasse-1" })).await;
    assert_eq!(local.status, StatusCode::OK, "{}", local.text());
    // Non-ASCII letters, spaces, + and % are all allowed in an id.
    let nordic = post(json!({ "id": "Blåbær kiosk+1%", "redirectUrl": SHOP })).await;
    assert_eq!(nordic.status, StatusCode::OK, "{}", nordic.text());
}

#[tokio::test]
async fn a_redirect_qr_with_a_ttl_disappears_when_the_platforms_clock_passes_it() {
    let sim = spawn_sim().await;
    let body = json!({ "id": "flyer", "redirectUrl": SHOP, "ttl": 300 });
    let created =
        sim.qr_call(Method::POST, "qr/v1/merchant-redirect", Some("text/targetUrl"), Some(&body)).await;
    assert_eq!(created.json()["expiresIn"], 300);
    let content = created.json()["url"].as_str().unwrap().to_owned();

    sim.handle.advance_clock(chrono::Duration::seconds(290));
    let read = sim.qr_call(Method::GET, "qr/v1/merchant-redirect/flyer", Some("image/*"), None).await;
    let left = read.json()["expiresIn"].as_i64().unwrap();
    assert!((0..=10).contains(&left), "{left}");
    assert_eq!(sim.scan(&content).await.status, StatusCode::FOUND);

    let advanced =
        sim.send(sim.http.post(sim.url("sim/control/clock")).json(&json!({ "advanceSeconds": 10 }))).await;
    assert_eq!(advanced.status, StatusCode::NO_CONTENT);
    sim.qr_call(Method::GET, "qr/v1/merchant-redirect/flyer", Some("image/*"), None).await.qr_problem(404);
    let listed = sim.qr_call(Method::GET, "qr/v1/merchant-redirect", Some("image/*"), None).await;
    assert_eq!(listed.json(), json!([]));
    assert_eq!(sim.scan(&content).await.status, StatusCode::NOT_FOUND);
    // Its id is free again.
    assert_eq!(sim.create_redirect("flyer", SHOP).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_typed_client_manages_redirect_qrs_and_reads_their_errors() {
    let sim = spawn_sim().await;
    let client = sim.client();
    let request =
        MerchantRedirectQrRequest { id: "kasse-1".into(), redirect_url: SHOP.into(), ttl: Some(3_600) };
    let created = client.create_redirect_qr(&request, RedirectQrFormat::TargetUrl, None).await.unwrap();
    assert_eq!((created.id.as_str(), created.redirect_url.as_str()), ("kasse-1", SHOP));
    assert_eq!(created.expires_in, Some(3_600));
    assert_eq!(sim.scan(&created.url).await.headers[header::LOCATION], SHOP);

    let png = client.get_redirect_qr("kasse-1", RedirectQrFormat::Png, Some(200)).await.unwrap();
    assert_eq!(png_size(&sim.fetch(&png.url).await.body), (200, 200));
    let listed = client.list_redirect_qrs(RedirectQrFormat::Svg, None).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(sim.fetch(&listed[0].url).await.content_type(), "image/svg+xml");

    let moved = client
        .update_redirect_qr("kasse-1", "https://shop.example.no/q/other", RedirectQrFormat::TargetUrl, None)
        .await
        .unwrap();
    assert_eq!(moved.url, created.url);
    assert_eq!(sim.scan(&created.url).await.headers[header::LOCATION], "https://shop.example.no/q/other");

    let conflict = client.create_redirect_qr(&request, RedirectQrFormat::TargetUrl, None).await.unwrap_err();
    assert_eq!(conflict.status(), Some(409));
    let bad = MerchantRedirectQrRequest { redirect_url: "http://shop.example.no".into(), ..request.clone() };
    let Err(kasse_vipps::Error::Rejected { status: 400, problem }) =
        client.create_redirect_qr(&bad, RedirectQrFormat::Svg, None).await
    else {
        panic!("an http:// target must be refused");
    };
    assert_eq!(problem.field_errors().next().map(|d| d.name.as_str()), Some("RedirectUrl"));

    client.delete_redirect_qr("kasse-1").await.unwrap();
    let gone = client.get_redirect_qr("kasse-1", RedirectQrFormat::Svg, None).await.unwrap_err();
    assert_eq!(gone.status(), Some(404));
    assert!(!gone.outcome_unknown());
}

#[tokio::test]
async fn redirect_qrs_belong_to_their_sales_unit_and_need_no_merchant_serial_number_header() {
    let sim = spawn_sim().await;
    assert_eq!(sim.create_redirect("shared-id", SHOP).await.status, StatusCode::OK);
    // Another unit may use the same id; it does not see the first unit's QR.
    let other = sim.handle.config().sales_unit("234567").unwrap().clone();
    let theirs = sim.client_for(&other);
    assert!(theirs.list_redirect_qrs(RedirectQrFormat::Svg, None).await.unwrap().is_empty());
    let request = MerchantRedirectQrRequest { id: "shared-id".into(), redirect_url: SHOP.into(), ttl: None };
    theirs.create_redirect_qr(&request, RedirectQrFormat::Svg, None).await.unwrap();

    // The header is optional on redirect QRs: the credentials name the unit.
    let token = sim.token().await;
    let bare = sim
        .http
        .get(sim.url("qr/v1/merchant-redirect"))
        .bearer_auth(token)
        .header("Ocp-Apim-Subscription-Key", sim.unit.subscription_key.expose())
        .header("Accept", "text/targetUrl");
    let listed = sim.send(bare).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
    // Without a token it is the gateway's 401.
    let anonymous = sim.http.get(sim.url("qr/v1/merchant-redirect")).header("Accept", "image/*");
    sim.send(anonymous).await.problem(401);
}

// ------------------------------------------------------------------------------------------------
// Merchant callback QRs and the MobilePay migration
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_callback_qr_is_put_read_in_either_image_format_renamed_and_deleted() {
    let sim = spawn_sim().await;
    let path = "qr/v1/merchant-callback/till-1";
    let put = sim.qr_call(Method::PUT, path, None, Some(&json!({ "locationDescription": "Kasse 1" }))).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    assert!(put.body.is_empty());

    let read = sim.qr_call(Method::GET, path, None, None).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.content_type(), "application/json");
    let qr = read.json();
    assert_eq!(qr["merchantSerialNumber"], "123456");
    assert_eq!(qr["merchantQrId"], "till-1");
    assert_eq!(qr["locationDescription"], "Kasse 1");
    let content = qr["qrContent"].as_str().unwrap().to_owned();
    assert!(content.starts_with(sim.url("sim/c/").as_str()), "{content}");
    let svg = sim.fetch(qr["qrImageUrl"].as_str().unwrap()).await;
    assert_eq!(svg.content_type(), "image/svg+xml", "SVG is the default");

    let png =
        sim.qr_call(Method::GET, &format!("{path}?QrImageFormat=PNG&QrImageSize=200"), None, None).await;
    let image = sim.fetch(png.json()["qrImageUrl"].as_str().unwrap()).await;
    assert_eq!(image.content_type(), "image/png");
    assert_eq!(png_size(&image.body), (200, 200));
    // The guide spells the parameters with a small q; both work.
    let lower = sim.qr_call(Method::GET, &format!("{path}?qrImageFormat=png"), None, None).await;
    assert_eq!(png_size(&sim.fetch(lower.json()["qrImageUrl"].as_str().unwrap()).await.body), (1024, 1024));
    sim.qr_call(Method::GET, &format!("{path}?QrImageFormat=JPEG"), None, None)
        .await
        .invalid_param("QrImageFormat");
    sim.qr_call(Method::GET, &format!("{path}?QrImageSize=2001"), None, None)
        .await
        .invalid_param("QrImageSize");

    // PUT again: only the description changes, never the printed code.
    let renamed =
        sim.qr_call(Method::PUT, path, None, Some(&json!({ "locationDescription": "Kasse 2" }))).await;
    assert_eq!(renamed.status, StatusCode::OK);
    let after = sim.qr_call(Method::GET, "qr/v1/merchant-callback", None, None).await.json();
    assert_eq!(after.as_array().unwrap().len(), 1);
    assert_eq!(
        (after[0]["locationDescription"].as_str(), after[0]["qrContent"].as_str()),
        (Some("Kasse 2"), Some(content.as_str()))
    );

    let long = json!({ "locationDescription": "x".repeat(37) });
    sim.qr_call(Method::PUT, path, None, Some(&long)).await.invalid_param("LocationDescription");

    let deleted = sim.qr_call(Method::DELETE, path, None, None).await;
    assert_eq!(deleted.status, StatusCode::OK);
    sim.qr_call(Method::GET, path, None, None).await.qr_problem(404);
    sim.qr_call(Method::DELETE, path, None, None).await.qr_problem(404);
    assert_eq!(sim.fetch(qr["qrImageUrl"].as_str().unwrap()).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn callback_qrs_need_the_merchant_serial_number_header() {
    let sim = spawn_sim().await;
    let token = sim.token().await;
    let request = sim
        .http
        .put(sim.url("qr/v1/merchant-callback/till-1"))
        .bearer_auth(token)
        .header("Ocp-Apim-Subscription-Key", sim.unit.subscription_key.expose())
        .json(&json!({ "locationDescription": "Kasse 1" }));
    sim.send(request).await.invalid_param("Merchant-Serial-Number");
}

#[tokio::test]
async fn a_qr_call_with_a_merchant_serial_number_not_of_the_credentials_is_a_403_in_the_qr_shape() {
    let sim = spawn_sim().await;
    let token = sim.token().await;
    let as_unit = |method: Method, path: &str, msn: &str| {
        sim.http
            .request(method, sim.url(path))
            .bearer_auth(&token)
            .header("Ocp-Apim-Subscription-Key", sim.unit.subscription_key.expose())
            .header("Merchant-Serial-Number", msn)
            .header(header::ACCEPT, "image/*")
    };
    for msn in ["234567", "999999"] {
        let redirect = sim.send(as_unit(Method::GET, "qr/v1/merchant-redirect", msn)).await;
        assert_eq!(redirect.qr_problem(403)["title"], "Forbidden");
        let body = json!({ "locationDescription": "Kasse 1" });
        let callback = as_unit(Method::PUT, "qr/v1/merchant-callback/till-1", msn).json(&body);
        sim.send(callback).await.qr_problem(403);
        let exchange = as_unit(Method::POST, "qr/v1/exchange", msn).json(&json!({ "qrCode": "x" }));
        sim.send(exchange).await.exchange_problem(403);
    }
    assert!(sim.client().list_callback_qrs(CallbackQrImage::default()).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_typed_client_manages_callback_qrs() {
    let sim = spawn_sim().await;
    let client = sim.client();
    client.put_callback_qr("till-1", &MerchantCallbackPutRequest::at("Kasse 1")).await.unwrap();
    client.put_callback_qr("till-2", &MerchantCallbackPutRequest::at("Kasse 2")).await.unwrap();
    let listed = client.list_callback_qrs(CallbackQrImage::default()).await.unwrap();
    let ids: Vec<_> = listed.iter().filter_map(|qr| qr.merchant_qr_id.as_deref()).collect();
    assert_eq!(ids, ["till-1", "till-2"]);
    let png = CallbackQrImage { format: QrImageFormat::Png, size: Some(150) };
    let one = client.get_callback_qr("till-2", png).await.unwrap();
    assert_eq!(one.location_description.as_deref(), Some("Kasse 2"));
    assert_eq!(png_size(&sim.fetch(one.qr_image_url.as_deref().unwrap()).await.body), (150, 150));

    client.delete_callback_qr("till-1").await.unwrap();
    assert_eq!(client.get_callback_qr("till-1", png).await.unwrap_err().status(), Some(404));
    let err =
        client.put_callback_qr("till-3", &MerchantCallbackPutRequest::at("x".repeat(37))).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
}

#[tokio::test]
async fn a_mobilepay_beacon_migrates_once_per_sales_unit_and_is_a_conflict_for_any_other() {
    let sim = spawn_sim().await;
    let beacon = "100000000000042";
    let path = format!("qr/v1/merchant-callback/mobilepay/{beacon}");
    let first =
        sim.qr_call(Method::PUT, &path, None, Some(&json!({ "locationDescription": "Kasse 1" }))).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    // Running the migration again is harmless and updates the name.
    let again =
        sim.qr_call(Method::PUT, &path, None, Some(&json!({ "locationDescription": "Disken" }))).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());

    // It is now a callback QR whose merchantQrId is the beaconId.
    let listed = sim.client().list_callback_qrs(CallbackQrImage::default()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].merchant_qr_id.as_deref(), Some(beacon));
    assert_eq!(listed[0].location_description.as_deref(), Some("Disken"));

    // Another sales unit cannot take the same printed beacon.
    let other = sim.handle.config().sales_unit("234567").unwrap().clone();
    let theirs = sim.client_for(&other);
    let request = MerchantCallbackMobilePayPutRequest { location_description: "Kasse 1".into() };
    let conflict = theirs.put_mobilepay_qr(beacon, &request).await.unwrap_err();
    assert_eq!(conflict.status(), Some(409));
    let Err(kasse_vipps::Error::Rejected { problem, .. }) = theirs.put_mobilepay_qr(beacon, &request).await
    else {
        panic!("a conflict");
    };
    assert!(problem.detail.unwrap_or_default().contains(beacon), "the 409 body names the beacon");
    let raw = sim
        .send(
            sim.http
                .put(sim.url(&path))
                .bearer_auth(theirs_token(&sim, &other).await)
                .header("Ocp-Apim-Subscription-Key", other.subscription_key.expose())
                .header("Merchant-Serial-Number", &other.msn)
                .json(&json!({ "locationDescription": "Kasse 1" })),
        )
        .await;
    assert_eq!(raw.status, StatusCode::CONFLICT);
    assert_eq!(raw.json(), json!({ "id": beacon }));
    // A GUID beacon of theirs is fine.
    theirs.put_mobilepay_qr("27072f82-c4b6-49cd-9838-10f21d87496e", &request).await.unwrap();

    let long = json!({ "locationDescription": "x".repeat(37) });
    sim.qr_call(Method::PUT, &path, None, Some(&long)).await.invalid_param("LocationDescription");
    let not_a_beacon = json!({ "locationDescription": "Kasse 1" });
    sim.qr_call(Method::PUT, "qr/v1/merchant-callback/mobilepay/kasse-1", None, Some(&not_a_beacon))
        .await
        .invalid_param("beaconId");
}

#[tokio::test]
async fn a_migrated_beacon_cannot_be_renamed_through_the_ordinary_callback_put() {
    let sim = spawn_sim().await;
    let client = sim.client();
    let beacon = "27072f82-c4b6-49cd-9838-10f21d87496e";
    let migration = MerchantCallbackMobilePayPutRequest { location_description: "Kasse 1".into() };
    client.put_mobilepay_qr(beacon, &migration).await.unwrap();

    let rename = json!({ "locationDescription": "Somewhere else" });
    for id in [beacon.to_owned(), beacon.to_uppercase()] {
        let answer =
            sim.qr_call(Method::PUT, &format!("qr/v1/merchant-callback/{id}"), None, Some(&rename)).await;
        assert_eq!(answer.status, StatusCode::CONFLICT, "{id}: {}", answer.text());
        assert_eq!(answer.json(), json!({ "id": id }));
    }
    let listed = client.list_callback_qrs(CallbackQrImage::default()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].location_description.as_deref(), Some("Kasse 1"), "the beacon is unchanged");
    // The migration endpoint itself may rename it.
    client
        .put_mobilepay_qr(
            beacon,
            &MerchantCallbackMobilePayPutRequest { location_description: "Disken".into() },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn another_sales_unit_cannot_take_a_guid_beacon_by_changing_its_case() {
    let sim = spawn_sim().await;
    let ours = sim.client();
    let other = sim.handle.config().sales_unit("234567").unwrap().clone();
    let theirs = sim.client_for(&other);
    let request = MerchantCallbackMobilePayPutRequest { location_description: "Kasse 1".into() };
    let beacon = "27072F82-C4B6-49CD-9838-10F21D87496E";
    ours.put_mobilepay_qr(beacon, &request).await.unwrap();

    for spelling in
        [beacon.to_owned(), beacon.to_lowercase(), "27072f82-C4B6-49cd-9838-10F21D87496e".to_owned()]
    {
        let conflict = theirs.put_mobilepay_qr(&spelling, &request).await.unwrap_err();
        assert_eq!(conflict.status(), Some(409), "{spelling}");
    }
    // It is one beacon, kept (and sent in check-ins) in lower case; its own unit may put it again.
    ours.put_mobilepay_qr(&beacon.to_lowercase(), &request).await.unwrap();
    let listed = ours.list_callback_qrs(CallbackQrImage::default()).await.unwrap();
    let ids: Vec<_> = listed.iter().filter_map(|qr| qr.merchant_qr_id.as_deref()).collect();
    assert_eq!(ids, [beacon.to_lowercase().as_str()]);
    assert!(theirs.list_callback_qrs(CallbackQrImage::default()).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_injected_fault_of_the_qr_api_answers_in_the_qr_apis_own_shapes() {
    let sim = spawn_sim().await;
    let token = sim.token().await;
    let call = |method: Method, path: &str| {
        sim.http
            .request(method, sim.url(path))
            .bearer_auth(&token)
            .header("Ocp-Apim-Subscription-Key", sim.unit.subscription_key.expose())
            .header(header::ACCEPT, "image/*")
    };
    for status in [500, 503] {
        let knobs = FaultKnobs { error_rate: 1.0, error_status: Some(status), ..FaultKnobs::default() };
        sim.handle.set_faults(knobs).unwrap();
        sim.send(call(Method::GET, "qr/v1/merchant-redirect")).await.qr_problem(status);
        let exchange = call(Method::POST, "qr/v1/exchange").json(&json!({ "qrCode": "x" }));
        let problem = sim.send(exchange).await.exchange_problem(status);
        assert_eq!(problem.get("extraDetails"), None, "{problem}");
    }
    sim.handle.set_faults(FaultKnobs { throttle_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let throttled = sim.send(call(Method::GET, "qr/v1/merchant-callback")).await;
    throttled.qr_problem(429);
    assert_eq!(throttled.headers[header::RETRY_AFTER], "1");
}

/// An access token for `unit`.
async fn theirs_token(sim: &TestSim, unit: &SalesUnit) -> String {
    let answer =
        sim.token_call(&unit.client_id, unit.client_secret.expose(), unit.subscription_key.expose()).await;
    answer.json()["access_token"].as_str().unwrap().to_owned()
}

// ------------------------------------------------------------------------------------------------
// Personal-QR exchange
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_norwegian_clear_text_and_a_danish_tokenized_personal_qr_exchange_to_their_numbers() {
    let sim = spawn_sim().await;
    let customers = &sim.handle.config().customers;
    let kari = customers.iter().find(|c| c.phone_number == KARI).unwrap().personal_qr();
    let mette = customers.iter().find(|c| c.phone_number == METTE).unwrap().personal_qr();
    assert_eq!(kari, format!("https://qr.vipps.no/28/2/01/031/{KARI}?v=1"));
    assert!(!mette.contains(METTE) && !mette.contains(&METTE[2..]), "a MobilePay code is a token: {mette}");
    for c in customers {
        if !c.phone_number.starts_with("47") {
            assert!(!c.personal_qr().contains(&c.phone_number), "{}", c.personal_qr());
        }
    }

    let exchange = |qr: &str| {
        let body = json!({ "qrCode": qr, "requestedData": ["MSISDN"] });
        let sim = &sim;
        async move { sim.qr_call(Method::POST, "qr/v1/exchange", None, Some(&body)).await }
    };
    let norwegian = exchange(&kari).await;
    assert_eq!(norwegian.status, StatusCode::OK, "{}", norwegian.text());
    assert_eq!(norwegian.json(), json!({ "msisdn": KARI, "version": "1.0" }));
    let danish = exchange(&mette).await.json();
    assert_eq!((danish["msisdn"].as_str(), danish["version"].as_str()), (Some(METTE), Some("2.0")));
    assert!(danish["timestamp"].is_i64(), "{danish}");
    exchange("https://qr.vipps.no/p/not-a-real-token").await.exchange_refusal("qrCode");
    exchange("").await.exchange_refusal("qrCode");
    let no_code = sim.qr_call(Method::POST, "qr/v1/exchange", None, Some(&json!({}))).await;
    no_code.exchange_refusal("qrCode");

    // The typed client, and a payment to the tokenized code reaching Mette's phone.
    let client = sim.client();
    assert_eq!(client.exchange_personal_qr(&mette).await.unwrap().msisdn, METTE);
    assert_eq!(client.exchange_personal_qr("junk").await.unwrap_err().status(), Some(400));
    let request = CreatePaymentRequest {
        customer: Some(Customer::personal_qr(&mette)),
        user_flow: UserFlow::PushMessage,
        qr_format: None,
        ..qr_request("mette-scan-1", 2_500)
    };
    client.create_payment(&request, "key-mette-1").await.unwrap();
    assert!(sim.phone(METTE).await.contains("data-reference=\"mette-scan-1\""));
}

// ------------------------------------------------------------------------------------------------
// Check-ins and the phone page
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn scanning_a_callback_sticker_on_the_phone_sends_a_signed_check_in_whose_token_lasts_fifteen_minutes()
{
    let sim = spawn_sim().await;
    let client = sim.client();
    let mut receiver = Receiver::start().await;
    let request = RegisterRequest { url: receiver.url.to_string(), events: vec![USER_CHECKED_IN.into()] };
    let registration = client.register_webhook(&request).await.unwrap();
    client.put_callback_qr("till-1", &MerchantCallbackPutRequest::at("Kasse 1")).await.unwrap();

    // The sticker is on Kari's phone page, with a Scan button.
    let html = sim.phone(KARI).await;
    assert!(html.contains("Stickers nearby"), "{html}");
    let action = attribute_after(&html, "data-merchant-qr-id=\"till-1\"", "action").to_owned();
    assert!(html.contains("Kaffebrenneriet") && html.contains("Kasse 1"), "{html}");
    let camera = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let scanned = sim.send(camera.post(sim.url(&action)).form(&[("customer", KARI)])).await;
    assert_eq!(scanned.status, StatusCode::SEE_OTHER);
    let back = scanned.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(back.starts_with(&format!("/sim/phone?customer={KARI}")), "{back}");
    let phone = sim.fetch(sim.url(&back).as_str()).await.text();
    assert!(phone.contains("Checked in at Kaffebrenneriet Grünerløkka, Kasse 1"), "{phone}");

    let delivery = receiver.next_verified(&registration.secret).await;
    assert_eq!(delivery.answered, StatusCode::OK);
    let body = delivery.json();
    let keys: Vec<_> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 4, "{body}");
    let event: UserCheckedIn = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!((event.msn.as_str(), event.merchant_qr_id.as_str()), ("123456", "till-1"));
    assert_eq!(event.customer_token.len(), 64, "{}", event.customer_token);
    assert!(
        event.customer_token.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)),
        "base64: {}",
        event.customer_token
    );
    let initiated = chrono::DateTime::parse_from_rfc3339(&event.initiated_at).unwrap();
    assert!((chrono::Utc::now() - initiated.to_utc()).num_seconds().abs() < 60, "{}", event.initiated_at);

    // The token names Kari to this sales unit only.
    let exchanged = client.exchange_customer_token(&event.customer_token).await.unwrap();
    assert_eq!(exchanged.msisdn, KARI);
    assert!(exchanged.timestamp.is_some());
    let other = sim.handle.config().sales_unit("234567").unwrap().clone();
    let elsewhere = sim.client_for(&other).exchange_customer_token(&event.customer_token).await.unwrap_err();
    assert_eq!(elsewhere.status(), Some(400));

    // A push payment with the token reaches Kari's phone.
    let request = CreatePaymentRequest {
        customer: Some(Customer::customer_token(&event.customer_token)),
        user_flow: UserFlow::PushMessage,
        qr_format: None,
        ..qr_request("checked-in-1", 4_900)
    };
    client.create_payment(&request, "key-checked-in-1").await.unwrap();
    assert!(sim.phone(KARI).await.contains("data-reference=\"checked-in-1\""));
    assert!(!sim.phone(OLA).await.contains("checked-in-1"), "not on Ola's phone");

    // Fifteen minutes after the scan the token is worthless.
    sim.handle.advance_clock(chrono::Duration::minutes(14));
    assert_eq!(client.exchange_customer_token(&event.customer_token).await.unwrap().msisdn, KARI);
    sim.handle.advance_clock(chrono::Duration::minutes(1));
    let body = json!({ "customer": { "customerToken": event.customer_token }, "requestedData": ["MSISDN"] });
    let expired = sim.qr_call(Method::POST, "qr/v1/exchange/customer", None, Some(&body)).await;
    expired.exchange_refusal("customer.customerToken");
    let missing = sim.qr_call(Method::POST, "qr/v1/exchange/customer", None, Some(&json!({}))).await;
    missing.exchange_refusal("customer");

    // And a payment can no longer be pushed with it.
    let late = CreatePaymentRequest {
        customer: Some(Customer::customer_token(&event.customer_token)),
        user_flow: UserFlow::PushMessage,
        qr_format: None,
        ..qr_request("checked-in-2", 4_900)
    };
    let refused = client.create_payment(&late, "key-checked-in-2").await.unwrap_err();
    assert_eq!((refused.status(), refused.error_code()), (Some(400), Some(4050)), "{refused}");
}

#[tokio::test]
async fn a_push_payment_with_a_token_nobody_checked_in_with_is_refused_with_4050() {
    let sim = spawn_sim().await;
    let request = CreatePaymentRequest {
        customer: Some(Customer::customer_token("bm90IGEgcmVhbCBjaGVjay1pbg==")),
        user_flow: UserFlow::PushMessage,
        qr_format: None,
        ..qr_request("no-check-in-1", 4_900)
    };
    let refused = sim.client().create_payment(&request, "key-no-check-in-1").await.unwrap_err();
    assert_eq!((refused.status(), refused.error_code()), (Some(400), Some(4050)), "{refused}");
}

#[tokio::test]
async fn a_long_living_push_to_a_checked_in_customer_stays_on_their_phone_after_the_check_in_is_forgotten() {
    let sim = spawn_sim().await;
    let client = sim.client();
    let mut receiver = Receiver::start().await;
    let request = RegisterRequest { url: receiver.url.to_string(), events: vec![USER_CHECKED_IN.into()] };
    let registration = client.register_webhook(&request).await.unwrap();
    client.put_callback_qr("till-1", &MerchantCallbackPutRequest::at("Kasse 1")).await.unwrap();
    let action =
        attribute_after(&sim.phone(KARI).await, "data-merchant-qr-id=\"till-1\"", "action").to_owned();
    sim.send(sim.http.post(sim.url(&action)).form(&[("customer", KARI)])).await;
    let event: UserCheckedIn =
        serde_json::from_slice(&receiver.next_verified(&registration.secret).await.body).unwrap();

    let mut body = serde_json::to_value(CreatePaymentRequest {
        customer: Some(Customer::customer_token(&event.customer_token)),
        user_flow: UserFlow::PushMessage,
        qr_format: None,
        ..qr_request("checked-in-long", 4_900)
    })
    .unwrap();
    body["expiresAt"] = json!((chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339());
    body["receipt"] = receipt(4_900);
    assert_eq!(sim.post("epayment/v1/payments", "key-1", &body).await.status, StatusCode::CREATED);

    // Sixteen minutes on, the check-in is gone: its token is worthless, also at the exchange...
    sim.handle.advance_clock(chrono::Duration::minutes(16));
    let exchanged = json!({ "customer": { "customerToken": event.customer_token } });
    sim.qr_call(Method::POST, "qr/v1/exchange/customer", None, Some(&exchanged))
        .await
        .exchange_refusal("customer.customerToken");
    // ...but the payment made with it is still Kari's, and nobody else's.
    assert!(sim.phone(KARI).await.contains("data-reference=\"checked-in-long\""));
    assert!(!sim.phone(OLA).await.contains("checked-in-long"));
}

#[tokio::test]
async fn a_migrated_beacon_scanned_on_the_phone_checks_in_with_the_beacon_id() {
    let sim = spawn_sim().await;
    let client = sim.client();
    let mut receiver = Receiver::start().await;
    let request = RegisterRequest { url: receiver.url.to_string(), events: vec![USER_CHECKED_IN.into()] };
    let registration = client.register_webhook(&request).await.unwrap();
    let beacon = "27072f82-c4b6-49cd-9838-10f21d87496e";
    let migration = MerchantCallbackMobilePayPutRequest { location_description: "Kasse 1".into() };
    client.put_mobilepay_qr(beacon, &migration).await.unwrap();

    let html = sim.phone(METTE).await;
    let action = attribute_after(&html, &format!("data-merchant-qr-id=\"{beacon}\""), "action").to_owned();
    let page = sim.send(sim.http.post(sim.url(&action)).form(&[("customer", METTE)])).await;
    assert!(page.text().contains("Checked in at"), "{}", page.text());

    let event: UserCheckedIn =
        serde_json::from_slice(&receiver.next_verified(&registration.secret).await.body).unwrap();
    assert_eq!(event.merchant_qr_id, beacon);
    assert_eq!(client.exchange_customer_token(&event.customer_token).await.unwrap().msisdn, METTE);
}

#[tokio::test]
async fn the_phone_shows_the_customers_own_qr_code_and_redirect_stickers_lead_to_the_merchant() {
    let sim = spawn_sim().await;
    let html = sim.phone(METTE).await;
    let mette = sim.handle.config().customers.iter().find(|c| c.phone_number == METTE).unwrap().personal_qr();
    assert!(html.contains("<svg role=\"img\" aria-label=\"Personal QR code of Mette Hansen\""), "{html}");
    assert!(html.contains(&format!("<code>{mette}</code>")), "{html}");
    assert!(!html.contains("<?xml"), "inline SVG has no XML declaration");

    sim.create_redirect("window-sticker", SHOP).await;
    let html = sim.phone(METTE).await;
    let link = attribute_after(&html, "data-redirect-id=\"window-sticker\"", "href").to_owned();
    let scanned = sim.scan(sim.url(&link).as_str()).await;
    assert_eq!(scanned.status, StatusCode::FOUND);
    assert_eq!(scanned.headers[header::LOCATION], SHOP);

    // A callback sticker scanned with a real camera opens a page to pick who checks in.
    sim.client().put_callback_qr("till-9", &MerchantCallbackPutRequest::at("Kasse <9>")).await.unwrap();
    let qr = sim.client().get_callback_qr("till-9", CallbackQrImage::default()).await.unwrap();
    let page = sim.fetch(qr.qr_content.as_deref().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(text.contains("Kasse &lt;9&gt;") && !text.contains("<script"), "{text}");
    assert!(text.contains(&format!("<option value=\"{KARI}\"")), "{text}");
    assert_eq!(sim.fetch(sim.url("sim/c/no-such-sticker").as_str()).await.status, StatusCode::NOT_FOUND);
}
