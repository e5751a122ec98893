//! Money as the platform counts it: an integer number of minor units (øre, cents) and a currency.
//!
//! There is no float anywhere near an amount. Formatting for people lives in the web app, which
//! knows the locale; this module only guarantees that an amount is well formed.

use serde::{Deserialize, Serialize};

/// The currencies a Vipps MobilePay sales unit can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    /// Norwegian krone.
    Nok,
    /// Danish krone.
    Dkk,
    /// Euro (Finland).
    Eur,
}

impl Currency {
    /// The ISO 4217 code, as the platform writes it.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Nok => "NOK",
            Self::Dkk => "DKK",
            Self::Eur => "EUR",
        }
    }

    /// Parses an ISO 4217 code (exact, upper case).
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "NOK" => Some(Self::Nok),
            "DKK" => Some(Self::Dkk),
            "EUR" => Some(Self::Eur),
            _ => None,
        }
    }

    /// The smallest amount the platform accepts for one payment, in minor units
    /// (NOK 1.00; DKK and EUR one øre or cent).
    pub const fn minimum_payment(self) -> i64 {
        match self {
            Self::Nok => 100,
            Self::Dkk | Self::Eur => 1,
        }
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The largest amount of one payment, in minor units (the platform's limit: 650 000.00).
pub const MAX_PAYMENT_MINOR: i64 = 65_000_000;

/// An amount of money in minor units of its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units: 12_350 NOK is kr 123,50.
    pub value: i64,
    /// The currency the value is counted in.
    pub currency: Currency,
}

/// Why an amount cannot be charged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Below the platform's minimum for the currency.
    #[error("the amount is below the smallest payment ({minimum} minor units of {currency})")]
    TooSmall {
        /// The currency of the rejected amount.
        currency: Currency,
        /// The minimum, in minor units.
        minimum: i64,
    },
    /// Above the platform's maximum for one payment.
    #[error("the amount is above the largest payment of {MAX_PAYMENT_MINOR} minor units")]
    TooLarge,
}

impl Money {
    /// An amount of `value` minor units of `currency`.
    pub const fn new(value: i64, currency: Currency) -> Self {
        Self { value, currency }
    }

    /// Nothing, in `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// Checks that this amount may be asked of a customer in one payment.
    pub fn check_payable(self) -> Result<Self, MoneyError> {
        let minimum = self.currency.minimum_payment();
        if self.value < minimum {
            return Err(MoneyError::TooSmall { currency: self.currency, minimum });
        }
        if self.value > MAX_PAYMENT_MINOR {
            return Err(MoneyError::TooLarge);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_integer_minor_units_with_an_upper_case_currency_on_the_wire() {
        let json = serde_json::to_string(&Money::new(12_350, Currency::Nok)).unwrap();
        assert_eq!(json, r#"{"value":12350,"currency":"NOK"}"#);
        let back: Money = serde_json::from_str(r#"{"currency":"DKK","value":1}"#).unwrap();
        assert_eq!(back, Money::new(1, Currency::Dkk));
    }

    #[test]
    fn a_decimal_amount_is_refused_when_parsing() {
        assert!(serde_json::from_str::<Money>(r#"{"value":12.5,"currency":"NOK"}"#).is_err());
    }

    #[test]
    fn the_platform_minimum_depends_on_the_currency() {
        assert!(Money::new(99, Currency::Nok).check_payable().is_err());
        assert!(Money::new(100, Currency::Nok).check_payable().is_ok());
        assert!(Money::new(1, Currency::Eur).check_payable().is_ok());
        assert!(Money::new(0, Currency::Dkk).check_payable().is_err());
    }

    #[test]
    fn more_than_the_platform_maximum_is_refused() {
        assert!(Money::new(MAX_PAYMENT_MINOR, Currency::Nok).check_payable().is_ok());
        assert_eq!(
            Money::new(MAX_PAYMENT_MINOR + 1, Currency::Nok).check_payable(),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn currency_codes_round_trip() {
        for c in [Currency::Nok, Currency::Dkk, Currency::Eur] {
            assert_eq!(Currency::from_code(c.code()), Some(c));
        }
        assert_eq!(Currency::from_code("SEK"), None);
    }
}
