//! The terminal API's OpenAPI 3.1 document, made by utoipa from the handlers and types, and
//! served at `/terminal/v1/openapi.json`. The copy committed at `crates/server/openapi/terminal-v1.json`
//! must equal it (a unit test holds them together and, with `KASSE_UPDATE_OPENAPI=1`, rewrites it).
//!
//! Every operation answers errors as problems; rather than repeat them on each handler, the
//! [`Problems`] modifier adds them to every operation here.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use kasse_api::ProblemCode;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, Required, ResponseBuilder};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::terminal::wire;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kasse terminal API",
        version = "1.0.0",
        description = "A PoS system hands a kasse till a payment: the till asks the customer (QR code, \
            phone number, scanned personal QR, or a check-in at its sticker), and the PoS hears the \
            outcome by a signed callback (a `Callback` body, signed as Vipps MobilePay signs its \
            webhooks, with the integrator's callback secret), by waiting on `GET …/payments/{reference}?wait=30`, \
            or both. Authenticate with the integrator's API key as a bearer token. Every write takes an \
            `Idempotency-Key`: the same key with the same request finds what the first did; with another \
            request it is refused (409, `key-reused`). Amounts are integer minor units with their currency.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        super::tills,
        super::start_payment,
        super::till_payments,
        super::payment,
        super::cancel,
        super::capture,
        super::refund,
    ),
    components(schemas(wire::Callback, Problem)),
    tags(
        (name = "tills", description = "The tills a key may use."),
        (name = "payments", description = "Payments at tills: start, follow, cancel, capture, refund."),
    ),
    modifiers(&Problems, &IntegratorKey),
)]
struct TerminalApi;

/// The document, as served and committed.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut text = TerminalApi::openapi().to_pretty_json().unwrap_or_default();
        text.push('\n');
        text
    })
}

/// `GET /terminal/v1/openapi.json`.
pub(super) async fn served() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}

/// The `Idempotency-Key` header of every write.
pub(super) struct IdempotencyKey;

impl IntoParams for IdempotencyKey {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some(
                    "The PoS's name for this write, 1 to 100 visible ASCII characters: send the same one \
                     when retrying it.",
                ))
                .schema(Some(
                    ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(100)),
                ))
                .build(),
        ]
    }
}

/// An RFC 7807 problem, as every error is answered.
#[derive(ToSchema)]
#[allow(dead_code, reason = "only its schema is used")]
struct Problem {
    /// A URI naming the kind of problem.
    #[schema(rename = "type")]
    kind: String,
    /// A short summary.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What went wrong, in a sentence.
    detail: Option<String>,
    /// A stable code to act on.
    #[schema(schema_with = problem_code)]
    code: String,
}

/// Every problem code there is.
fn problem_code() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ProblemCode::ALL.iter().map(|code| code.as_str())))
        .into()
}

/// Adds the problems every operation may answer.
struct Problems;

impl Modify for Problems {
    fn modify(&self, openapi: &mut Document) {
        let problem = ContentBuilder::new()
            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem"))))
            .build();
        let answers = [
            ("400", "The request is malformed; `code` says how."),
            ("401", "No API key, an unknown one (`unauthorized`), or a revoked one (`key-revoked`)."),
            ("403", "The key may not act in that till's store."),
            ("404", "No such till or payment."),
            (
                "409",
                "The Idempotency-Key named another request (`key-reused`), or the payment cannot do that now (`till-busy`, `not-capturable`, …).",
            ),
            ("413", "The body is too large."),
            ("429", "Too many requests at once; `Retry-After` says when to try again."),
            ("500", "The server failed; try again."),
            ("502", "The payment platform refused; `detail` says why."),
            (
                "503",
                "The server cannot reach its database just now (restarting, failing over); send the same \
                 request again, with the same Idempotency-Key, after `Retry-After` seconds.",
            ),
        ];
        // The statuses that say when to come back.
        let retry_after = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
            .description(Some("Seconds to wait before sending the request again."))
            .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                for (status, description) in answers {
                    let mut response = ResponseBuilder::new()
                        .description(description)
                        .content(kasse_api::Problem::CONTENT_TYPE, problem.clone());
                    if matches!(status, "429" | "503") {
                        response = response.header("Retry-After", retry_after.clone());
                    }
                    let response = response.build();
                    operation.responses.responses.entry(status.to_owned()).or_insert(RefOr::T(response));
                }
                operation.security =
                    Some(vec![SecurityRequirement::new("integratorKey", Vec::<String>::new())]);
            }
        }
    }
}

/// The integrator's API key, as a bearer token.
struct IntegratorKey;

impl Modify for IntegratorKey {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "integratorKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The key `kasse-server integrator add` printed."))
                    .build(),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = "openapi/terminal-v1.json";

    #[test]
    fn the_committed_document_is_the_one_the_code_makes() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
        if std::env::var_os("KASSE_UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, document()).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == document(),
            "{COMMITTED} is not the document the code makes: run \
             `KASSE_UPDATE_OPENAPI=1 cargo test -p kasse-server --lib openapi` and commit it"
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_with_every_operation_secured_and_its_problems() {
        let document: serde_json::Value = serde_json::from_str(document()).unwrap();
        assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
        let paths = document["paths"].as_object().unwrap();
        assert_eq!(paths.len(), 6, "{:?}", paths.keys());
        for (path, item) in paths {
            for (method, operation) in item.as_object().unwrap() {
                assert_eq!(
                    operation["security"][0]["integratorKey"],
                    serde_json::json!([]),
                    "{method} {path}"
                );
                assert!(operation["responses"]["403"].is_object(), "{method} {path}");
                let unavailable = &operation["responses"]["503"];
                assert!(unavailable["headers"]["Retry-After"].is_object(), "{method} {path}: {unavailable}");
            }
        }
        let codes = &document["components"]["schemas"]["Problem"]["properties"]["code"]["enum"];
        assert!(codes.as_array().unwrap().contains(&serde_json::json!("key-revoked")));
    }
}
