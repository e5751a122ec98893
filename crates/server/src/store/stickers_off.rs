//! Open-amount stickers switched off: a row per sticker while it is off.

use super::backend::on;
use super::statement::query;
use super::{Store, StoreError};

impl Store {
    /// Whether the open-amount sticker `id` is switched off.
    pub async fn sticker_is_off(&self, id: &str) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let found = query("SELECT 1 FROM stickers_off WHERE sticker_id = $1")
                .bind(id)
                .fetch_optional(&mut *db)
                .await?;
            Ok(found.is_some())
        })
    }

    /// Switches the open-amount sticker `id` on or off (at `now`); whether that changed anything.
    pub async fn switch_sticker(&self, id: &str, on: bool, now: i64) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let done = if on {
                query("DELETE FROM stickers_off WHERE sticker_id = $1").bind(id).execute(&mut *db).await?
            } else {
                query("INSERT INTO stickers_off (sticker_id, since) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *db)
                    .await?
            };
            Ok(done.rows_affected() == 1)
        })
    }
}
