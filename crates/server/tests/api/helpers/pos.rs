//! A PoS system as the terminal API's tests play it: an integrator added the way the operator's
//! tool adds one, a client that sends its key and checks every answer against the OpenAPI
//! document the server serves, and a callback endpoint of its own that records what kasse posts.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use kasse_server::ops::integrators::{Added, Integrators};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::mpsc;
use url::Url;

use super::{Answer, PATIENCE, TestApp, browser};

/// The terminal API's OpenAPI document, with every object schema closed (no property it does not
/// declare), so that an answer carrying an undocumented field fails too.
pub(crate) struct Contract {
    document: Value,
}

impl Contract {
    /// The document `app` serves.
    pub(crate) async fn served_by(app: &TestApp) -> Self {
        let answer = browser().get(format!("{}/terminal/v1/openapi.json", app.base)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let mut document: Value = answer.json().await.unwrap();
        close_objects(&mut document["components"]);
        Self { document }
    }

    /// The document's path template that `path` is an instance of.
    fn template_of(&self, path: &str) -> String {
        let path = path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        self.document["paths"]
            .as_object()
            .unwrap()
            .keys()
            .find(|template| {
                let parts: Vec<&str> = template.split('/').collect();
                parts.len() == segments.len()
                    && parts.iter().zip(&segments).all(|(t, s)| t.starts_with('{') || t == s)
            })
            .unwrap_or_else(|| panic!("{path} is not in the OpenAPI document"))
            .clone()
    }

    /// Checks an answer of `method path` against the document: its status is one the operation
    /// declares, its content type the declared one, and its body valid against the schema.
    pub(crate) fn check(&self, method: &str, path: &str, answer: &Answer) {
        let template = self.template_of(path);
        let operation = &self.document["paths"][&template][method.to_lowercase()];
        assert!(operation.is_object(), "{method} {template} is not in the OpenAPI document");
        let declared = &operation["responses"][answer.status.as_str()];
        assert!(
            declared.is_object(),
            "{method} {path} answered {} which the document does not declare: {}",
            answer.status,
            answer.body
        );
        let content_type = answer.header("content-type").unwrap_or_default();
        let content = declared["content"].as_object().unwrap();
        let (_, media) = content
            .iter()
            .find(|(declared, _)| content_type.starts_with(declared.as_str()))
            .unwrap_or_else(|| panic!("{method} {path} answered {content_type}, not {:?}", content.keys()));
        let root = serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.document["components"],
            "allOf": [media["schema"]],
        });
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&root)
            .unwrap_or_else(|e| panic!("the schema of {method} {template} {} compiles: {e}", answer.status));
        let body: Value =
            serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {}", answer.body));
        let errors: Vec<String> =
            validator.iter_errors(&body).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(
            errors.is_empty(),
            "{method} {path} answered {} against its schema:\n{}\n{}",
            answer.status,
            errors.join("\n"),
            answer.body
        );
    }
}

/// Marks every schema with `properties` as closed, all the way down.
fn close_objects(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// A PoS system using the terminal API with its key.
pub(crate) struct Pos<'a> {
    app: &'a TestApp,
    pub(crate) added: Added,
    contract: Arc<Contract>,
    http: reqwest::Client,
}

impl<'a> Pos<'a> {
    /// Adds an integrator for `stores` (with callbacks to `callback_url`), as
    /// `kasse-server integrator add` does.
    pub(crate) async fn add(
        app: &'a TestApp,
        name: &str,
        stores: &[&str],
        callback_url: Option<&Url>,
    ) -> Self {
        let integrators = Integrators::of_tools(&app.running.tools());
        let stores: Vec<String> = stores.iter().map(|s| (*s).to_owned()).collect();
        let added = integrators.add(name, &stores, callback_url.map(Url::as_str)).await.unwrap();
        Self::with(app, added).await
    }

    /// The PoS holding what `added` gave it.
    pub(crate) async fn with(app: &'a TestApp, added: Added) -> Self {
        Self { app, added, contract: Arc::new(Contract::served_by(app).await), http: browser() }
    }

    /// The same PoS presenting another key.
    pub(crate) fn with_key(&self, key: &str) -> Self {
        let mut added = self.added.clone();
        key.clone_into(&mut added.api_key);
        Self { app: self.app, added, contract: Arc::clone(&self.contract), http: self.http.clone() }
    }

    async fn send(&self, method: &str, path: &str, request: reqwest::RequestBuilder) -> Answer {
        let answer = self.app.send(request.bearer_auth(&self.added.api_key)).await;
        self.contract.check(method, path, &answer);
        answer
    }

    /// `GET {path}`, checked against the document.
    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, self.http.get(format!("{}{path}", self.app.base))).await
    }

    /// `POST {path}` with `body` and an Idempotency-Key, checked against the document.
    pub(crate) async fn post(&self, path: &str, key: &str, body: &Value) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.app.base))
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(body.to_string());
        self.send("POST", path, request).await
    }

    /// `POST {path}` with `body` and no Idempotency-Key.
    pub(crate) async fn post_without_key(&self, path: &str, body: &Value) -> Answer {
        let request = self.http.post(format!("{}{path}", self.app.base)).json(body);
        self.send("POST", path, request).await
    }
}

/// One callback as the PoS received it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// What the endpoint answered.
    pub(crate) answered: u16,
}

impl Received {
    /// The body, parsed.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The PoS's callback endpoint: answers with the statuses in `script` first (then 200), and
/// passes every delivery on.
pub(crate) struct CallbackEndpoint {
    pub(crate) url: Url,
    received: mpsc::UnboundedReceiver<Received>,
}

impl CallbackEndpoint {
    /// Listens on a free port; answers the first deliveries with `script`'s statuses.
    pub(crate) async fn start(script: &[u16]) -> Self {
        let (sender, received) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(script.to_vec()));
        let handler = move |headers: HeaderMap, body: Bytes| {
            let sender = sender.clone();
            let script = Arc::clone(&script);
            async move {
                let answered = {
                    let mut script = script.lock().unwrap();
                    if script.is_empty() { 200 } else { script.remove(0) }
                };
                let _ = sender.send(Received { headers, body, answered });
                AxumStatus::from_u16(answered).unwrap()
            }
        };
        let router = axum::Router::new().route("/pos/callbacks", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/pos/callbacks", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, received }
    }

    /// The next delivery.
    pub(crate) async fn next(&mut self) -> Received {
        tokio::time::timeout(PATIENCE, self.received.recv())
            .await
            .expect("a callback arrives in time")
            .expect("the endpoint runs")
    }

    /// Deliveries until one shows the payment `reference` with `status`; all of them.
    pub(crate) async fn until(&mut self, reference: &str, status: &str) -> Vec<Received> {
        let mut seen = Vec::new();
        loop {
            let delivery = self.next().await;
            let body = delivery.json();
            let done = body["payment"]["reference"] == reference && body["payment"]["status"] == status;
            seen.push(delivery);
            if done {
                return seen;
            }
        }
    }
}
