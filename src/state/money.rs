//! Amounts for people: minor units formatted the way each of kasse's languages writes money.

use kasse_api::{Currency, Money};

/// The languages kasse speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    /// English.
    #[default]
    En,
    /// Norwegian Bokmål.
    Nb,
    /// Danish.
    Da,
    /// Finnish.
    Fi,
}

/// Formats `money` for `locale`: `NOK 1,234.50` (en), `kr 1 234,50` (nb), `1.234,50 kr.` (da),
/// `1 234,50 €` (fi). Spaces inside amounts are no-break spaces, so an amount never wraps.
pub fn format_money(money: Money, locale: Locale) -> String {
    const NBSP: &str = "\u{a0}";
    let negative = money.value < 0;
    let minor = money.value.unsigned_abs();
    let (whole, cents) = (minor / 100, minor % 100);
    let (group, decimal) = match locale {
        Locale::En => (",", "."),
        Locale::Nb | Locale::Fi => (NBSP, ","),
        Locale::Da => (".", ","),
    };
    let number = format!("{}{}{decimal}{cents:02}", if negative { "-" } else { "" }, grouped(whole, group));
    match (locale, money.currency) {
        (Locale::En, Currency::Eur) => format!("€{number}"),
        (Locale::En, currency) => format!("{currency}{NBSP}{number}"),
        (Locale::Nb, Currency::Nok) => format!("kr{NBSP}{number}"),
        (Locale::Da, Currency::Dkk) => format!("{number}{NBSP}kr."),
        (_, Currency::Eur) => format!("{number}{NBSP}€"),
        (_, currency) => format!("{number}{NBSP}{currency}"),
    }
}

/// `1234567` as `1,234,567` with `separator` between groups of three.
fn grouped(mut value: u64, separator: &str) -> String {
    let mut groups = Vec::new();
    loop {
        if value < 1000 {
            groups.push(value.to_string());
            break;
        }
        groups.push(format!("{:03}", value % 1000));
        value /= 1000;
    }
    groups.reverse();
    groups.join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(value: i64, currency: Currency, locale: Locale) -> String {
        format_money(Money::new(value, currency), locale).replace('\u{a0}', " ")
    }

    #[test]
    fn each_language_writes_money_its_own_way() {
        assert_eq!(show(123_450, Currency::Nok, Locale::En), "NOK 1,234.50");
        assert_eq!(show(123_450, Currency::Nok, Locale::Nb), "kr 1 234,50");
        assert_eq!(show(123_450, Currency::Dkk, Locale::Da), "1.234,50 kr.");
        assert_eq!(show(123_450, Currency::Eur, Locale::Fi), "1 234,50 €");
        assert_eq!(show(123_450, Currency::Eur, Locale::En), "€1,234.50");
    }

    #[test]
    fn small_and_large_amounts_keep_two_decimals_and_group_thousands() {
        assert_eq!(show(5, Currency::Nok, Locale::En), "NOK 0.05");
        assert_eq!(show(0, Currency::Nok, Locale::Nb), "kr 0,00");
        assert_eq!(show(65_000_000, Currency::Nok, Locale::En), "NOK 650,000.00");
        assert_eq!(show(100_000_000_000, Currency::Dkk, Locale::Da), "1.000.000.000,00 kr.");
    }

    #[test]
    fn a_negative_amount_keeps_its_sign() {
        assert_eq!(show(-1050, Currency::Nok, Locale::En), "NOK -10.50");
    }

    #[test]
    fn an_amount_never_wraps_inside() {
        assert!(!format_money(Money::new(123_450, Currency::Nok), Locale::Nb).contains(' '));
    }
}
