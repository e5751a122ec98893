//! Amounts for people: minor units formatted the way each of kasse's languages writes money, and
//! amounts read back the way people type them.

use kasse_api::{Currency, Money};

pub use super::locale::Locale;

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

/// Why a typed amount cannot be used. Each has its own sentence (`i18n::sale::mistake`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountMistake {
    /// Nothing typed.
    Empty,
    /// Letters, or digits and separators in no order that makes an amount.
    NotANumber,
    /// A minus sign.
    Negative,
    /// More than two decimals (`12,505`).
    TooManyDecimals,
    /// Zero.
    Zero,
    /// More than can be taken or given back.
    MoreThanLeft {
        /// What is left.
        left: Money,
    },
}

/// Reads an amount the cashier typed as a decimal: `12,50`, `12.50`, `12` and `1 234,50` or
/// `1.234,50` are all minor units (`1250`, `123450`). The decimal mark is the last comma or dot,
/// with at most two decimals; marks before it must group thousands. Nothing ambiguous is guessed:
/// `1.234` is refused (too many decimals) rather than read as a thousand. The amount must be
/// more than zero and at most `left`, whose currency it takes.
pub fn parse_amount(text: &str, left: Money) -> Result<Money, AmountMistake> {
    let typed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.is_empty() {
        return Err(AmountMistake::Empty);
    }
    if typed.starts_with(['-', '\u{2212}']) {
        return Err(AmountMistake::Negative);
    }
    if !typed.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '.') {
        return Err(AmountMistake::NotANumber);
    }
    let (whole, fraction) = match typed.rfind([',', '.']) {
        Some(at) => (&typed[..at], &typed[at + 1..]),
        None => (typed.as_str(), ""),
    };
    let mark = typed[whole.len()..].chars().next();
    if fraction.len() > 2 {
        return Err(AmountMistake::TooManyDecimals);
    }
    if fraction.contains([',', '.']) || (whole.is_empty() && fraction.is_empty()) {
        return Err(AmountMistake::NotANumber);
    }
    let whole_digits = whole_units(whole, mark).ok_or(AmountMistake::NotANumber)?;
    let cents = match fraction.len() {
        0 => 0,
        1 => i64::from(fraction.as_bytes()[0] - b'0') * 10,
        _ => i64::from(fraction.as_bytes()[0] - b'0') * 10 + i64::from(fraction.as_bytes()[1] - b'0'),
    };
    let too_much = AmountMistake::MoreThanLeft { left };
    let whole_value: i64 = if whole_digits.is_empty() {
        0
    } else {
        // More digits than an i64 holds is more than anything left.
        whole_digits.parse().map_err(|_| too_much)?
    };
    let minor = whole_value.checked_mul(100).and_then(|v| v.checked_add(cents)).ok_or(too_much)?;
    if minor == 0 {
        return Err(AmountMistake::Zero);
    }
    if minor > left.value {
        return Err(too_much);
    }
    Ok(Money::new(minor, left.currency))
}

/// The digits of a whole part, its thousands marks checked and removed: marks must all be the
/// same, differ from the decimal mark, and stand between groups of three (`1.234.567`).
fn whole_units(whole: &str, decimal: Option<char>) -> Option<String> {
    let Some(group) = whole.chars().find(|c| !c.is_ascii_digit()) else {
        return Some(whole.to_owned());
    };
    if Some(group) == decimal || whole.chars().any(|c| !c.is_ascii_digit() && c != group) {
        return None;
    }
    let groups: Vec<&str> = whole.split(group).collect();
    let first_ok = (1..=3).contains(&groups[0].len());
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
    (first_ok && rest_ok).then(|| groups.concat())
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

    const LEFT: Money = Money::new(10_000, Currency::Nok);

    fn parse(text: &str) -> Result<i64, AmountMistake> {
        parse_amount(text, LEFT).map(|m| m.value)
    }

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
    fn an_amount_can_be_typed_with_a_comma_a_dot_or_no_decimals() {
        assert_eq!(parse("12,50"), Ok(1250));
        assert_eq!(parse("12.50"), Ok(1250));
        assert_eq!(parse("12"), Ok(1200));
        assert_eq!(parse("12,5"), Ok(1250));
        assert_eq!(parse(" 0,05 "), Ok(5));
        assert_eq!(parse(",50"), Ok(50));
        assert_eq!(parse("12,"), Ok(1200));
        assert_eq!(parse_amount("40", LEFT), Ok(Money::new(4_000, Currency::Nok)));
    }

    #[test]
    fn thousands_may_be_grouped_the_way_each_language_writes_them() {
        let lots = Money::new(1_000_000_000, Currency::Nok);
        assert_eq!(parse_amount("1 234,50", lots).map(|m| m.value), Ok(123_450));
        assert_eq!(parse_amount("1\u{a0}234,50", lots).map(|m| m.value), Ok(123_450));
        assert_eq!(parse_amount("1.234,50", lots).map(|m| m.value), Ok(123_450));
        assert_eq!(parse_amount("1,234.50", lots).map(|m| m.value), Ok(123_450));
        assert_eq!(parse_amount("1,234,567.00", lots).map(|m| m.value), Ok(123_456_700));
    }

    #[test]
    fn more_than_two_decimals_is_refused_rather_than_guessed() {
        assert_eq!(parse("12,505"), Err(AmountMistake::TooManyDecimals));
        assert_eq!(parse("1.234"), Err(AmountMistake::TooManyDecimals), "a thousand or one and a bit?");
    }

    #[test]
    fn negatives_letters_and_nonsense_are_refused_each_with_its_own_mistake() {
        assert_eq!(parse("-5"), Err(AmountMistake::Negative));
        assert_eq!(parse("\u{2212}5"), Err(AmountMistake::Negative));
        assert_eq!(parse("12kr"), Err(AmountMistake::NotANumber));
        assert_eq!(parse("abc"), Err(AmountMistake::NotANumber));
        assert_eq!(parse("1e3"), Err(AmountMistake::NotANumber));
        assert_eq!(parse("+5"), Err(AmountMistake::NotANumber));
        assert_eq!(parse("."), Err(AmountMistake::NotANumber));
        assert_eq!(parse("1.2.3"), Err(AmountMistake::NotANumber));
        assert_eq!(parse("12.34,50"), Err(AmountMistake::NotANumber), "groups of three only");
        assert_eq!(parse("1.234.50"), Err(AmountMistake::NotANumber), "the same mark twice");
        assert_eq!(parse(""), Err(AmountMistake::Empty));
        assert_eq!(parse("   "), Err(AmountMistake::Empty));
        assert_eq!(parse("0,00"), Err(AmountMistake::Zero));
    }

    #[test]
    fn an_amount_above_what_is_left_is_refused_naming_what_is_left() {
        assert_eq!(parse("100"), Ok(10_000));
        assert_eq!(parse("100,01"), Err(AmountMistake::MoreThanLeft { left: LEFT }));
        assert_eq!(parse("99999999999999999999999"), Err(AmountMistake::MoreThanLeft { left: LEFT }));
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
