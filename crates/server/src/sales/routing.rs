//! Which till a check-in at a callback sticker reaches.
//!
//! A callback sticker (a merchant callback QR, or a MobilePay beacon moved over by `qr migrate`)
//! reaches a till by one of two records: the configuration's `callback_qr` of the till, or a row
//! the QR tools saved in the database. When both name a till and the tills differ, nobody can know
//! which is meant, so the check-in reaches neither and the conflict is reported ([`conflicts`],
//! logged at start and shown by `qr callback list`); nothing picks one silently.

use std::fmt;

use serde::Serialize;

use crate::config::{Config, TillConfig};
use crate::store::{Store, StoreError};

/// Where a check-in at a callback sticker goes.
#[derive(Debug, Clone)]
pub enum Route<'a> {
    /// To this till.
    Till(&'a TillConfig),
    /// To no till: no record names one, or the one named is no till of the sticker's store.
    Nobody,
    /// To no till, because the configuration and the database name different ones.
    Conflict(Conflict),
}

/// A callback sticker the configuration and the database send to different tills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    /// The sales unit.
    pub msn: String,
    /// The sticker.
    pub merchant_qr_id: String,
    /// The till whose `callback_qr` it is in the configuration.
    pub configured: String,
    /// The till the QR tools saved for it.
    pub saved: String,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "callback sticker {} (MSN {}) is till {}'s callback_qr in the configuration, but the QR \
             tools sent it to till {}; a check-in there reaches neither till until one of them is \
             changed (edit callback_qr, or run `kasse-server qr callback create {}`)",
            self.merchant_qr_id, self.msn, self.configured, self.saved, self.configured
        )
    }
}

/// The till whose `callback_qr` is `merchant_qr_id` at the store of sales unit `msn`.
pub(crate) fn configured_till<'a>(
    config: &'a Config,
    msn: &str,
    merchant_qr_id: &str,
) -> Option<&'a TillConfig> {
    config.tills.iter().find(|t| {
        t.callback_qr.as_deref().is_some_and(|id| same_qr_id(id, merchant_qr_id))
            && config.store(&t.store).is_some_and(|s| s.msn == msn)
    })
}

/// Two spellings of one sticker id: equal, or the same GUID in another case (the platform keeps
/// a GUID beacon in lower case).
pub(crate) fn same_qr_id(a: &str, b: &str) -> bool {
    a == b || (is_guid(a) && a.eq_ignore_ascii_case(b))
}

/// `8-4-4-4-12` hexadecimal digits.
pub(crate) fn is_guid(id: &str) -> bool {
    let groups: Vec<_> = id.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Where a check-in at sticker `merchant_qr_id` of sales unit `msn` goes.
pub async fn route<'a>(
    config: &'a Config,
    store: &Store,
    msn: &str,
    merchant_qr_id: &str,
) -> Result<Route<'a>, StoreError> {
    let configured = configured_till(config, msn, merchant_qr_id);
    let saved = store.callback_qr(msn, merchant_qr_id).await?.and_then(|row| row.till_id);
    Ok(match (configured, saved) {
        (Some(till), Some(saved)) if till.id == saved => Route::Till(till),
        (Some(till), Some(saved)) => Route::Conflict(Conflict {
            msn: msn.to_owned(),
            merchant_qr_id: merchant_qr_id.to_owned(),
            configured: till.id.clone(),
            saved,
        }),
        (Some(till), None) => Route::Till(till),
        (None, Some(saved)) => config
            .till(&saved)
            .filter(|t| config.store(&t.store).is_some_and(|s| s.msn == msn))
            .map_or(Route::Nobody, Route::Till),
        (None, None) => Route::Nobody,
    })
}

/// Every callback sticker the configuration and the database send to different tills.
pub async fn conflicts(config: &Config, store: &Store) -> Result<Vec<Conflict>, StoreError> {
    let mut found = Vec::new();
    for row in store.callback_qrs().await? {
        if let Route::Conflict(conflict) = route(config, store, &row.msn, &row.merchant_qr_id).await? {
            found.push(conflict);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guid_is_one_sticker_in_any_case_and_other_ids_are_exact() {
        let guid = "27072f82-c4b6-49cd-9838-10f21d87496e";
        assert!(same_qr_id(guid, &guid.to_uppercase()));
        assert!(!same_qr_id("till-1", "TILL-1"));
        assert!(is_guid(guid) && !is_guid("100000000000001") && !is_guid("27072f82c4b649cd983810f21d87496e"));
    }
}
