//! This browser's clock: the time now, and its offset from UTC at any moment (which the day's
//! bounds and the times shown are reckoned in).

/// Milliseconds since the epoch on this browser's clock.
pub(crate) fn now_ms() -> i64 {
    // Milliseconds since the epoch fit an i64 (and an f64 exactly) for the next 280 000 years.
    #[allow(clippy::cast_possible_truncation, reason = "a whole number of milliseconds")]
    let now = js_sys::Date::now() as i64;
    now
}

/// The browser's offset from UTC at `at_ms`, in minutes east (Oslo in summer: 120).
pub(crate) fn offset_minutes_at(at_ms: i64) -> i32 {
    #[allow(clippy::cast_precision_loss, reason = "epoch milliseconds are exact in an f64")]
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
    // Minutes, at most ±14 hours.
    #[allow(clippy::cast_possible_truncation, reason = "a whole number of minutes within ±840")]
    let offset = -(date.get_timezone_offset() as i32);
    offset
}
