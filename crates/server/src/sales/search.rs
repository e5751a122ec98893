//! The history's one search field, read: what a cashier types to find a sale (a reference, a
//! PoS order id, an amount, the last digits of the customer's phone number) as the store's
//! criteria. A sale matches when any of them does.

use kasse_api::HistoryQuery;

use crate::store::SalesText;

/// Digits of a phone number the store keeps (the rest is masked before it is stored).
const PHONE_DIGITS_KEPT: usize = 3;

/// What a search text asks the store for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// The text, trimmed and lowercased: a reference or order id containing it matches.
    contains: String,
    /// The digits a phone number must end in, when the text is only a few digits.
    phone_ends: Option<String>,
    /// The amount in minor units, when the text reads as one.
    amount: Option<i64>,
}

/// Why a search text is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a search is at most {} characters", HistoryQuery::SEARCH_MAX)]
pub struct TooLong;

impl Search {
    /// The search `typed` asks for; `None` for an empty one (everything matches).
    pub fn read(typed: &str) -> Result<Option<Self>, TooLong> {
        let text = typed.trim();
        if text.chars().count() > HistoryQuery::SEARCH_MAX {
            return Err(TooLong);
        }
        if text.is_empty() {
            return Ok(None);
        }
        let digits_only = text.bytes().all(|b| b.is_ascii_digit());
        let phone_ends = (digits_only && text.len() <= PHONE_DIGITS_KEPT).then(|| text.to_owned());
        Ok(Some(Self { contains: text.to_lowercase(), phone_ends, amount: amount(text) }))
    }

    /// The store's criteria.
    pub fn criteria(&self) -> SalesText<'_> {
        SalesText { contains: &self.contains, phone_ends: self.phone_ends.as_deref(), amount: self.amount }
    }
}

/// An amount as people type one, in minor units: whole units (`125`), or units and one or two
/// decimals after a comma or a point (`125,5`, `125.50`); spaces between thousands are allowed.
/// Every currency kasse takes (NOK, DKK, EUR) has two decimals.
fn amount(text: &str) -> Option<i64> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (units, decimals) = match compact.split_once([',', '.']) {
        Some((units, decimals)) => (units, decimals),
        None => (compact.as_str(), ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if units.is_empty() || !all_digits(units) || !all_digits(decimals) || decimals.len() > 2 {
        return None;
    }
    let cents = match decimals.len() {
        0 => 0,
        1 => decimals.parse::<i64>().ok()? * 10,
        _ => decimals.parse::<i64>().ok()?,
    };
    units.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_search_finds_everything_and_a_long_one_is_refused() {
        assert_eq!(Search::read("  "), Ok(None));
        assert_eq!(Search::read(&"a".repeat(HistoryQuery::SEARCH_MAX)).map(|s| s.is_some()), Ok(true));
        assert_eq!(Search::read(&"a".repeat(HistoryQuery::SEARCH_MAX + 1)), Err(TooLong));
    }

    #[test]
    fn a_few_digits_are_a_phone_numbers_end_an_amount_and_part_of_a_reference() {
        let search = Search::read(" 567 ").unwrap().unwrap();
        assert_eq!(
            search.criteria(),
            SalesText { contains: "567", phone_ends: Some("567"), amount: Some(56_700) }
        );
        let longer = Search::read("4567").unwrap().unwrap();
        assert_eq!(longer.criteria().phone_ends, None, "only a number's last three digits are kept");
    }

    #[test]
    fn amounts_are_read_as_cashiers_type_them() {
        assert_eq!(amount("125"), Some(12_500));
        assert_eq!(amount("125,5"), Some(12_550));
        assert_eq!(amount("125.50"), Some(12_550));
        assert_eq!(amount("1 250,00"), Some(125_000));
        for not_an_amount in ["kasse-1a2b", "12,345", ",50", "1.2.3", "99999999999999999999"] {
            assert_eq!(amount(not_an_amount), None, "{not_an_amount}");
        }
    }

    #[test]
    fn a_reference_is_searched_without_regard_to_case() {
        let search = Search::read("KASSE-7F").unwrap().unwrap();
        assert_eq!(search.criteria().contains, "kasse-7f");
        assert_eq!((search.criteria().phone_ends, search.criteria().amount), (None, None));
    }
}
