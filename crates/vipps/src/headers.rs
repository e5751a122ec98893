//! The names of the platform's HTTP headers (reference §1, §2, §5.1).

/// Subscription key of the sales unit.
pub const SUBSCRIPTION_KEY: &str = "Ocp-Apim-Subscription-Key";
/// Merchant serial number (sales unit).
pub const MSN: &str = "Merchant-Serial-Number";
/// Idempotency key of a state-changing call.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// Name of the system making the call.
pub const SYSTEM_NAME: &str = "Vipps-System-Name";
/// Version of the system making the call.
pub const SYSTEM_VERSION: &str = "Vipps-System-Version";
/// Name of the plugin making the call.
pub const SYSTEM_PLUGIN_NAME: &str = "Vipps-System-Plugin-Name";
/// Version of the plugin making the call.
pub const SYSTEM_PLUGIN_VERSION: &str = "Vipps-System-Plugin-Version";
/// Access Token API: the client id.
pub const CLIENT_ID: &str = "client_id";
/// Access Token API: the client secret.
pub const CLIENT_SECRET: &str = "client_secret";
/// Webhook delivery: the request date (RFC 1123).
pub const MS_DATE: &str = "x-ms-date";
/// Webhook delivery: base64 SHA-256 of the body.
pub const MS_CONTENT_SHA256: &str = "x-ms-content-sha256";
