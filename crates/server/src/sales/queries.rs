//! What a till reads: the till, its current sale, a sale, its history and its event log; and
//! what the back office reads of several tills and open-amount stickers at once.

use kasse_api::{
    History, HistoryQuery, Money, Sale, SaleEvent, SaleEventName, SaleStatus, Till, TillSnapshot, Total,
};
use kasse_vipps::epayment::PaymentEventName;

use super::search::Search;
use super::status::{refusal_sentence, sale_view};
use super::{SaleError, Sales};
use crate::store::{OperationKind, OperationRow, PaymentRow, SalesQuery};

/// The most sales one history page lists.
const HISTORY_LIMIT: i64 = 500;
/// The most sales one day's end counts: far beyond any shop's day, a bound all the same.
const DAY_LIMIT: i64 = 100_000;

impl Sales {
    /// Whether a cancel of the payment `reference` is recorded and not answered yet: the
    /// reconciler sends it again.
    pub async fn cancel_on_its_way(&self, reference: &str) -> Result<bool, SaleError> {
        let operations = self.inner.store.operations_for(reference).await?;
        Ok(super::writes::on_its_way(&operations, OperationKind::Cancel))
    }

    /// The till as the browser knows it.
    pub fn till_view(&self, till_id: &str) -> Result<Till, SaleError> {
        let till = self.till(till_id)?;
        let store = self.store_of(till)?;
        Ok(Till {
            id: till.id.clone(),
            name: till.name.clone(),
            store_name: store.name.clone(),
            loyalty: store.loyalty.is_some(),
            currency: store.currency,
        })
    }

    /// The till with its current (or last) sale and the newest event id.
    pub async fn snapshot(&self, till_id: &str) -> Result<TillSnapshot, SaleError> {
        let till = self.till_view(till_id)?;
        // Read the event id first: anything that happens after it is replayed by the stream.
        let last_event_id = self.inner.store.last_till_event_id(till_id).await?;
        let sale = self.inner.store.current_payment(till_id).await?.map(|row| sale_view(&row));
        let presented = self.presented(till_id).await?;
        let check_ins = self.open_check_ins(till_id).await?;
        let msn = &self.store_of(self.till(till_id)?)?.msn;
        Ok(TillSnapshot {
            till,
            sale,
            presented,
            check_ins,
            last_event_id: u64::try_from(last_event_id).unwrap_or(0),
            platform_reachable: self.inner.platform.health().reachable(msn),
        })
    }

    /// A sale by reference, if it belongs to `till_id`.
    pub async fn sale(&self, till_id: &str, reference: &str) -> Result<Sale, SaleError> {
        Ok(sale_view(&self.row_of_till(till_id, reference).await?))
    }

    /// What took the sale `reference`: the id of its till (empty for none), and of its sticker
    /// if a customer paid on a sticker's landing page.
    pub async fn taken_by(&self, reference: &str) -> Result<(String, Option<String>), SaleError> {
        let row = self.inner.store.payment(reference).await?;
        row.map(|row| (row.till_id, row.sticker_id)).ok_or_else(|| SaleError::NotFound(reference.to_owned()))
    }

    /// [`Sales::row_of_till`], with every operation of the payment, oldest first: what a till's
    /// write needs to know before it is recorded, read at once.
    pub(super) async fn row_of_till_with_operations(
        &self,
        till_id: &str,
        reference: &str,
    ) -> Result<(PaymentRow, Vec<OperationRow>), SaleError> {
        self.inner
            .store
            .payment_with_operations(reference)
            .await?
            .filter(|(row, _)| row.till_id == till_id)
            .ok_or_else(|| SaleError::NotFound(reference.to_owned()))
    }

    pub(super) async fn row_of_till(&self, till_id: &str, reference: &str) -> Result<PaymentRow, SaleError> {
        self.inner
            .store
            .payment(reference)
            .await?
            .filter(|row| row.till_id == till_id)
            .ok_or_else(|| SaleError::NotFound(reference.to_owned()))
    }

    /// A till's sales, newest first, with totals per status and currency.
    pub async fn history(&self, till_id: &str, query: &HistoryQuery) -> Result<History, SaleError> {
        self.history_of(&[till_id], &[], query).await
    }

    /// The sales of `tills` and of the open-amount `stickers` (the back office's: any number of
    /// them), newest first, at most [`HISTORY_LIMIT`] in all (`more` says when there were more),
    /// with the totals of those per status and currency.
    pub async fn history_of(
        &self,
        tills: &[&str],
        stickers: &[&str],
        query: &HistoryQuery,
    ) -> Result<History, SaleError> {
        let search = Search::read(query.search.as_deref().unwrap_or_default())?;
        self.known(tills, stickers)?;
        let rows = self
            .inner
            .store
            .sales(&SalesQuery {
                till_ids: tills,
                sticker_ids: stickers,
                since: query.since_ms.unwrap_or(0),
                until: query.until_ms.unwrap_or(i64::MAX),
                status: query.status,
                flow: query.flow,
                text: search.as_ref().map(Search::criteria),
                // One more than is shown, to know whether there are more.
                limit: HISTORY_LIMIT + 1,
            })
            .await?;
        let shown = usize::try_from(HISTORY_LIMIT).unwrap_or(usize::MAX);
        let more = rows.len() > shown;
        let sales: Vec<Sale> = rows.iter().take(shown).map(sale_view).collect();
        let totals = Total::of(&sales);
        Ok(History { sales, totals, more })
    }

    /// Every sale of `tills` and of the open-amount `stickers` started from `since` to before
    /// `until`, newest first: a day's, whole (at most [`DAY_LIMIT`]), for its end.
    pub async fn day_of(
        &self,
        tills: &[&str],
        stickers: &[&str],
        since: i64,
        until: i64,
    ) -> Result<Vec<Sale>, SaleError> {
        self.known(tills, stickers)?;
        let query = SalesQuery {
            till_ids: tills,
            sticker_ids: stickers,
            since,
            until,
            status: None,
            flow: None,
            text: None,
            limit: DAY_LIMIT,
        };
        Ok(self.inner.store.sales(&query).await?.iter().map(sale_view).collect())
    }

    /// Refuses a till or open-amount sticker the configuration does not have.
    fn known(&self, tills: &[&str], stickers: &[&str]) -> Result<(), SaleError> {
        for till_id in tills {
            self.till(till_id)?;
        }
        for id in stickers {
            self.inner.config.sticker(id).ok_or_else(|| SaleError::UnknownSticker((*id).to_owned()))?;
        }
        Ok(())
    }

    /// A sale's event log, as the platform recorded it.
    pub async fn events(&self, till_id: &str, reference: &str) -> Result<Vec<SaleEvent>, SaleError> {
        let row = self.row_of_till(till_id, reference).await?;
        if row.status() == SaleStatus::Creating || row.status() == SaleStatus::Failed {
            return Ok(Vec::new());
        }
        let events = self.client(&row.msn)?.payment_events(reference).await.map_err(|e| {
            tracing::warn!(%reference, error = %e, "could not read the event log");
            SaleError::Platform(refusal_sentence(&e))
        })?;
        let currency = row.currency;
        Ok(events
            .into_iter()
            .map(|e| SaleEvent {
                name: event_name(e.name),
                amount: Money::new(e.amount.value, currency),
                at_ms: e.timestamp.timestamp_millis(),
                success: e.success,
            })
            .collect())
    }
}

/// The platform's name for an event, in the contract's words.
const fn event_name(name: PaymentEventName) -> SaleEventName {
    match name {
        PaymentEventName::Created => SaleEventName::Created,
        PaymentEventName::Authorized => SaleEventName::Authorized,
        PaymentEventName::Captured => SaleEventName::Captured,
        PaymentEventName::Cancelled => SaleEventName::Cancelled,
        PaymentEventName::Refunded => SaleEventName::Refunded,
        PaymentEventName::Aborted => SaleEventName::Aborted,
        PaymentEventName::Expired => SaleEventName::Expired,
        PaymentEventName::Terminated => SaleEventName::Terminated,
    }
}
