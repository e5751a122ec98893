//! A JSON body posted to a merchant's own system (a PoS's callback URL, a loyalty system),
//! signed as the platform signs its webhooks (`kasse_vipps::signing`), so the merchant verifies
//! kasse's calls with the code that verifies the platform's.

use url::Url;

/// Posts `body` to `url`, signed with `secret` and dated `at`; the answer, whatever its status,
/// or why there was none.
pub(crate) async fn post(
    http: &reqwest::Client,
    url: &Url,
    secret: &str,
    at: chrono::DateTime<chrono::Utc>,
    body: Vec<u8>,
) -> Result<reqwest::Response, String> {
    let date = kasse_vipps::signing::http_date(at);
    let signed = kasse_vipps::signing::sign(secret, url, &date, &body).map_err(|e| e.to_string())?;
    http.post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("x-ms-date", signed.date)
        .header("x-ms-content-sha256", signed.content_sha256)
        .header(reqwest::header::AUTHORIZATION, signed.authorization)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))
}
