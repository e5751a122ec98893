//! The end of day (`/api/admin/end-of-day`): the sales started on a day, summed per till, per
//! open-amount sticker and per store, as a shop closes its books: counts and sums per status,
//! what each way of paying took, what was taken and given back, and what is approved but neither
//! taken nor released yet. A sale counts on the day it started, with its money as it stands now
//! (a refund made today of last week's sale is in last week's figures).

use serde::{Deserialize, Serialize};

use crate::{Currency, Flow, Sale, SaleStatus, Total};

/// `GET /api/admin/end-of-day` (and `.csv`): the day, a date. Each store's day runs from that
/// date's midnight to the next in the store's own time (Finland's an hour ahead of Norway's and
/// Denmark's), whatever the clock of the browser asking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndOfDayQuery {
    /// The date as the date input writes it: `2026-12-05`.
    pub day: String,
}

/// The day's figures of every till a manager may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndOfDay {
    /// Each store, its tills within.
    pub stores: Vec<StoreDay>,
}

/// A store's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreDay {
    /// Our id for it.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its day's first moment in its own time (ms since the epoch)…
    pub since_ms: i64,
    /// …and the next day's: 23 or 25 hours later on the days the clocks change.
    pub until_ms: i64,
    /// Its tills' and open-amount stickers' figures together.
    pub figures: DayFigures,
    /// Each till's.
    pub tills: Vec<TillDay>,
    /// Each open-amount sticker's: what customers paid on its landing page, with no till.
    #[serde(default)]
    pub stickers: Vec<StickerDay>,
}

/// An open-amount sticker's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StickerDay {
    /// Its id.
    pub id: String,
    /// What its payments are for.
    pub description: String,
    /// Its figures.
    pub figures: DayFigures,
}

/// A till's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TillDay {
    /// Its id.
    pub id: String,
    /// What the cashier calls it.
    pub name: String,
    /// Its figures.
    pub figures: DayFigures,
}

/// What a flow took, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowTotal {
    /// How the customers paid.
    pub flow: Flow,
    /// The currency.
    pub currency: Currency,
    /// Sales of this flow that took money.
    pub count: u32,
    /// What they took, in minor units, before refunds.
    pub captured: i64,
}

/// Money taken and given back, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayMoney {
    /// The currency.
    pub currency: Currency,
    /// Taken, in minor units.
    pub captured: i64,
    /// Given back, in minor units.
    pub refunded: i64,
    /// Approved and neither taken nor released yet, in minor units: what a till that captures
    /// by hand still has to take (or release).
    pub open: i64,
    /// How many sales hold such an open amount.
    pub open_count: u32,
}

impl DayMoney {
    /// What the day took, refunds subtracted.
    pub const fn net(&self) -> i64 {
        self.captured - self.refunded
    }
}

/// One till's, or one store's, figures for a day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayFigures {
    /// How many sales were started.
    pub count: u32,
    /// Counts and sums per status and currency.
    pub by_status: Vec<Total>,
    /// What each way of paying took, per currency.
    pub by_flow: Vec<FlowTotal>,
    /// Taken, given back and still open, per currency.
    pub money: Vec<DayMoney>,
}

impl DayFigures {
    /// The figures of `sales`.
    pub fn of(sales: &[Sale]) -> Self {
        let mut by_flow: Vec<FlowTotal> = Vec::new();
        let mut money: Vec<DayMoney> = Vec::new();
        for sale in sales {
            let currency = sale.amount.currency;
            if sale.captured.value > 0 {
                match by_flow.iter_mut().find(|f| f.flow == sale.flow && f.currency == currency) {
                    Some(total) => {
                        total.count += 1;
                        total.captured += sale.captured.value;
                    }
                    None => by_flow.push(FlowTotal {
                        flow: sale.flow,
                        currency,
                        count: 1,
                        captured: sale.captured.value,
                    }),
                }
            }
            let index = money.iter().position(|m| m.currency == currency).unwrap_or_else(|| {
                money.push(DayMoney { currency, captured: 0, refunded: 0, open: 0, open_count: 0 });
                money.len() - 1
            });
            let day = &mut money[index];
            day.captured += sale.captured.value;
            day.refunded += sale.refunded.value;
            // Approved and not all taken: nothing yet, or part (a partial capture leaves the sale
            // Captured, and a refund of that part Refunded, with the rest still to take).
            let holds =
                matches!(sale.status, SaleStatus::Authorized | SaleStatus::Captured | SaleStatus::Refunded);
            let open = if holds { sale.capturable() } else { 0 };
            if open > 0 {
                day.open += open;
                day.open_count += 1;
            }
        }
        Self {
            count: u32::try_from(sales.len()).unwrap_or(u32::MAX),
            by_status: Total::of(sales),
            by_flow,
            money,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Money;

    fn sale(
        flow: Flow,
        status: SaleStatus,
        amount: i64,
        authorized: i64,
        captured: i64,
        refunded: i64,
    ) -> Sale {
        let nok = |value| Money::new(value, Currency::Nok);
        Sale {
            reference: format!("r-{amount}-{captured}"),
            till_id: "till-1".into(),
            sticker_id: None,
            amount: nok(amount),
            description: None,
            flow,
            customer: None,
            status,
            qr: None,
            expires_at_ms: None,
            authorized: nok(authorized),
            captured: nok(captured),
            cancelled: nok(0),
            refunded: nok(refunded),
            failure: None,
            created_at_ms: 0,
            loyalty: None,
        }
    }

    #[test]
    fn a_days_figures_add_up_what_was_taken_given_back_and_is_still_open_per_flow_and_currency() {
        let sales = [
            sale(Flow::Qr, SaleStatus::Captured, 10_000, 10_000, 10_000, 0),
            sale(Flow::Phone, SaleStatus::Captured, 4_200, 4_200, 4_200, 1_000),
            // Part taken by hand, the rest still open.
            sale(Flow::Qr, SaleStatus::Captured, 5_000, 5_000, 2_000, 0),
            sale(Flow::Phone, SaleStatus::Authorized, 1_500, 1_500, 0, 0),
            sale(Flow::Qr, SaleStatus::Declined, 700, 0, 0, 0),
            sale(Flow::Phone, SaleStatus::Refunded, 900, 900, 900, 900),
        ];
        let figures = DayFigures::of(&sales);
        assert_eq!(figures.count, 6);
        assert_eq!(
            figures.money,
            [DayMoney {
                currency: Currency::Nok,
                captured: 17_100,
                refunded: 1_900,
                open: 4_500,
                open_count: 2
            }]
        );
        assert_eq!(figures.money[0].net(), 15_200);
        assert_eq!(
            figures.by_flow,
            [
                FlowTotal { flow: Flow::Qr, currency: Currency::Nok, count: 2, captured: 12_000 },
                FlowTotal { flow: Flow::Phone, currency: Currency::Nok, count: 2, captured: 5_100 },
            ]
        );
        assert_eq!(figures.by_status, Total::of(&sales));
        assert_eq!(DayFigures::of(&[]), DayFigures::default());
    }
}
