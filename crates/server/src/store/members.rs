//! Loyalty members' names on sales: forgotten on request (`kasse-server loyalty forget`), from
//! the payments and from the tills' stored live events that showed them.

use super::backend::on;
use super::statement::query;
use super::{Store, StoreError};

/// What forgetting one member's name touched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Forgotten {
    /// Payments that named them.
    pub payments: u64,
    /// Stored till events that showed a sale naming them.
    pub till_events: u64,
}

/// How a sale's member looks in a stored till event once their name is forgotten.
const UNNAMED: &str = "\"is\":\"member\",\"name\":null";

impl Store {
    /// Forgets the member `name` wherever a sale names them: the payments keep that their
    /// customer was a member, without the name, and the stored till events (which a browser
    /// reconnecting replays) show the sale without it.
    pub async fn forget_member(&self, name: &str) -> Result<Forgotten, StoreError> {
        // The events hold the sale as JSON: the name is there exactly as serde_json wrote it.
        let shown = format!("\"is\":\"member\",\"name\":{}", serde_json::Value::from(name));
        on!(self.db().await?.conn(), |db| {
            let payments = query("UPDATE payments SET member_name = NULL WHERE member_name = $1")
                .bind(name)
                .execute(&mut *db)
                .await?
                .rows_affected();
            // Exact text compared as text, not a LIKE pattern, whose escapes the two databases read
            // differently (a name with a quote or a backslash is written with backslashes).
            let till_events = query(
                "UPDATE till_events SET payload = REPLACE(payload, $1, $2) WHERE REPLACE(payload, $1, $2) <> payload",
            )
            .bind(shown.as_str())
            .bind(UNNAMED)
                    .execute(&mut *db)
                    .await?
                    .rows_affected();
            Ok(Forgotten { payments, till_events })
        })
    }
}

#[cfg(test)]
mod tests {
    use kasse_api::Loyalty;

    use super::*;
    use crate::store::fixtures;

    #[tokio::test]
    async fn a_members_name_is_forgotten_on_their_sales_and_in_the_events_that_showed_them_and_nowhere_else()
    {
        for store in crate::store::testing::stores().await {
            let kari = r#"Kari "Kaja" Nordmann\Berg"#;
            for (reference, name) in [("a", kari), ("b", kari), ("c", "Ola Nordmann")] {
                let mut row = fixtures::row(reference, "");
                row.loyalty = Some(Loyalty::Member { name: Some(name.into()) });
                store
                    .insert_sale(&row, fixtures::create(&format!("{reference}-create")), None)
                    .await
                    .unwrap();
                let shown =
                    serde_json::json!({"type": "sale", "sale": {"loyalty": {"is": "member", "name": name}}});
                store.insert_till_event("till-1", &shown.to_string(), 1).await.unwrap();
            }
            let forgotten = store.forget_member(kari).await.unwrap();
            assert_eq!(forgotten, Forgotten { payments: 2, till_events: 2 });
            assert_eq!(
                store.payment("a").await.unwrap().unwrap().loyalty,
                Some(Loyalty::Member { name: None })
            );
            let ola = Some(Loyalty::Member { name: Some("Ola Nordmann".into()) });
            assert_eq!(store.payment("c").await.unwrap().unwrap().loyalty, ola);
            let events = store.till_events_after("till-1", 0, 10).await.unwrap();
            let text: Vec<&str> = events.iter().map(|(_, payload)| payload.as_str()).collect();
            assert!(text.iter().all(|p| !p.contains("Kari")), "{text:?}");
            assert_eq!(text.iter().filter(|p| p.contains("Ola Nordmann")).count(), 1);
            assert_eq!(store.forget_member(kari).await.unwrap(), Forgotten::default(), "once");
        }
    }
}
