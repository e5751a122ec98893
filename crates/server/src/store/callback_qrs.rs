//! The callback stickers the QR tools put up (migrated beacons, new callback QRs), and the till
//! each one reaches.

use super::backend::StoreRow;
use super::statement::query;

use super::backend::on;
use super::names::{Named, decode};
use super::{Store, StoreError};

/// What a callback sticker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CallbackQrKind {
    /// A printed MobilePay PoS beacon, migrated with `qr migrate`.
    Beacon,
    /// A merchant callback QR made with `qr callback create`.
    Callback,
}

impl CallbackQrKind {
    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Beacon => "beacon",
            Self::Callback => "callback",
        }
    }
}

impl Named for CallbackQrKind {
    const WHAT: &'static str = "kind of callback sticker";
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn from_name(name: &str) -> Option<Self> {
        [Self::Beacon, Self::Callback].into_iter().find(|k| k.as_str() == name)
    }
}

/// A callback sticker the QR tools put up, and the till its check-ins reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackQrRow {
    /// The sales unit it belongs to.
    pub msn: String,
    /// Its id at the platform (a migrated beacon's id in lower case).
    pub merchant_qr_id: String,
    /// Beacon or callback QR.
    pub kind: CallbackQrKind,
    /// The till a check-in there reaches; `None` for none yet.
    pub till_id: Option<String>,
    /// What the app shows after a scan.
    pub location_description: String,
}

const CALLBACK_QR_COLUMNS: &str = "msn, merchant_qr_id, kind, till_id, location_description";

/// A row of `callback_qrs`; a value that cannot be read is an error naming its column.
fn callback_qr_from(row: &impl StoreRow) -> Result<CallbackQrRow, sqlx::Error> {
    Ok(CallbackQrRow {
        msn: row.read("msn")?,
        merchant_qr_id: row.read("merchant_qr_id")?,
        kind: decode(row, "kind")?,
        till_id: row.read("till_id")?,
        location_description: row.read("location_description")?,
    })
}

impl Store {
    /// The callback sticker `merchant_qr_id` of sales unit `msn`. A GUID beacon id is found
    /// however it is spelled: the platform sends it in lower case, and so it is kept.
    pub async fn callback_qr(
        &self,
        msn: &str,
        merchant_qr_id: &str,
    ) -> Result<Option<CallbackQrRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(&format!(
                "SELECT {CALLBACK_QR_COLUMNS} FROM callback_qrs WHERE msn = $1 AND merchant_qr_id IN ($2, $3) \
                 ORDER BY merchant_qr_id = $4 DESC LIMIT 1"
            ))
            .bind(msn)
            .bind(merchant_qr_id)
            .bind(merchant_qr_id.to_ascii_lowercase())
            .bind(merchant_qr_id)
            .fetch_optional(&mut *db)
            .await?;
            Ok(row.as_ref().map(callback_qr_from).transpose()?)
        })
    }

    /// Every callback sticker the QR tools put up, by sales unit and id.
    pub async fn callback_qrs(&self) -> Result<Vec<CallbackQrRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(&format!(
                "SELECT {CALLBACK_QR_COLUMNS} FROM callback_qrs ORDER BY msn, merchant_qr_id"
            ))
            .fetch_all(&mut *db)
            .await?;
            Ok(rows.iter().map(callback_qr_from).collect::<Result<_, _>>()?)
        })
    }

    /// Records a callback sticker, or what changed about it (its till, kind or location).
    pub async fn save_callback_qr(&self, qr: &CallbackQrRow, now: i64) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(
                "INSERT INTO callback_qrs (msn, merchant_qr_id, kind, till_id, location_description, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (msn, merchant_qr_id) DO UPDATE SET kind = excluded.kind, \
                 till_id = excluded.till_id, location_description = excluded.location_description, \
                 updated_at = excluded.updated_at",
            )
            .bind(&qr.msn)
            .bind(&qr.merchant_qr_id)
            .bind(qr.kind.as_str())
            .bind(&qr.till_id)
            .bind(&qr.location_description)
            .bind(now)
            .bind(now)
            .execute(&mut *db)
            .await?;
            Ok(())
        })
    }

    /// Forgets a callback sticker. Returns whether there was one.
    pub async fn delete_callback_qr(&self, msn: &str, merchant_qr_id: &str) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let done = query("DELETE FROM callback_qrs WHERE msn = $1 AND merchant_qr_id IN ($2, $3)")
                .bind(msn)
                .bind(merchant_qr_id)
                .bind(merchant_qr_id.to_ascii_lowercase())
                .execute(&mut *db)
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_callback_sticker_is_found_however_its_guid_is_spelled_and_saving_it_again_updates_it() {
        for store in crate::store::testing::stores().await {
            let beacon = CallbackQrRow {
                msn: "123456".into(),
                merchant_qr_id: "27072f82-c4b6-49cd-9838-10f21d87496e".into(),
                kind: CallbackQrKind::Beacon,
                till_id: Some("till-1".into()),
                location_description: "Kasse 1".into(),
            };
            store.save_callback_qr(&beacon, 1).await.unwrap();
            let upper = beacon.merchant_qr_id.to_uppercase();
            assert_eq!(store.callback_qr("123456", &upper).await.unwrap(), Some(beacon.clone()));
            assert_eq!(
                store.callback_qr("234567", &beacon.merchant_qr_id).await.unwrap(),
                None,
                "per sales unit"
            );
            let moved = CallbackQrRow { till_id: Some("till-2".into()), ..beacon.clone() };
            store.save_callback_qr(&moved, 2).await.unwrap();
            assert_eq!(store.callback_qrs().await.unwrap(), [moved]);
            assert!(store.delete_callback_qr("123456", &upper).await.unwrap());
            assert!(!store.delete_callback_qr("123456", &upper).await.unwrap(), "gone once");
        }
    }
}
