//! Phone numbers as the platform wants them: MSISDN, digits only, country code first
//! (`4791234567`), for the three countries kasse serves. Shared by the till (the cashier types the
//! customer's number) and the sticker landing page (the customer types their own), and checked
//! again by the server, so every side refuses the same mistakes with the same words.

use serde::{Deserialize, Serialize};

/// The countries whose numbers kasse accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Country {
    /// Norway, +47.
    No,
    /// Denmark, +45.
    Dk,
    /// Finland, +358.
    Fi,
}

impl Country {
    /// Every country, Norway first.
    pub const ALL: [Self; 3] = [Self::No, Self::Dk, Self::Fi];

    /// The international calling code, without `+`.
    pub const fn calling_code(self) -> &'static str {
        match self {
            Self::No => "47",
            Self::Dk => "45",
            Self::Fi => "358",
        }
    }

    /// The country a store's currency belongs to.
    pub const fn of_currency(currency: crate::Currency) -> Self {
        match currency {
            crate::Currency::Nok => Self::No,
            crate::Currency::Dkk => Self::Dk,
            crate::Currency::Eur => Self::Fi,
        }
    }
}

/// A valid mobile number in MSISDN form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Msisdn(String);

/// Why a typed number is not a phone number kasse can send a payment to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing was typed.
    #[error("Type a phone number.")]
    Empty,
    /// Something other than digits, spaces, `+`, `-`, `.` or brackets.
    #[error("A phone number has only digits.")]
    NotDigits,
    /// A `+` or `00` prefix with a country kasse does not serve.
    #[error("Only Norwegian (+47), Danish (+45) and Finnish (+358) numbers can pay here.")]
    UnknownCountry,
    /// Fewer digits than a mobile number of the country has.
    #[error("The number is too short.")]
    TooShort,
    /// More digits than a mobile number of the country has.
    #[error("The number is too long.")]
    TooLong,
    /// Not a mobile number of the country (the app runs on mobile numbers).
    #[error("That is not a mobile number.")]
    NotMobile,
}

impl Msisdn {
    /// Reads a number as a person types it: `+47 912 34 567`, `0047 91234567`, `91234567` (in
    /// `country`), `040 123 4567` (Finnish, with its leading 0).
    pub fn parse(input: &str, country: Country) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let mut digits = String::with_capacity(trimmed.len());
        let mut international = false;
        for c in trimmed.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if digits.is_empty() && !international => international = true,
                ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
                _ => return Err(PhoneError::NotDigits),
            }
        }
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        if !international && digits.starts_with("00") {
            digits.drain(..2);
            international = true;
        }
        let (country, national) = if international {
            let country = Country::ALL
                .into_iter()
                .find(|c| digits.starts_with(c.calling_code()))
                .ok_or(PhoneError::UnknownCountry)?;
            (country, digits[country.calling_code().len()..].to_owned())
        } else {
            (country, digits)
        };
        let national = check_national(country, &national)?;
        Ok(Self(format!("{}{national}", country.calling_code())))
    }

    /// The digits, as the platform takes them.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number for people, the middle hidden: `+47 ••• •• 567`.
    pub fn masked(&self) -> String {
        let code = Country::ALL.into_iter().find(|c| self.0.starts_with(c.calling_code()));
        let (prefix, national) = match code {
            Some(c) => (c.calling_code(), &self.0[c.calling_code().len()..]),
            None => ("", self.0.as_str()),
        };
        let shown = national.len().saturating_sub(3);
        format!("+{prefix} {}{}", "•".repeat(shown), &national[shown..])
    }
}

impl std::fmt::Display for Msisdn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The national significant number, checked for the country's mobile numbers.
fn check_national(country: Country, national: &str) -> Result<String, PhoneError> {
    match country {
        // Norway: 8 digits, mobile numbers start with 4 or 9.
        Country::No => fixed_length(national, 8, b"49"),
        // Denmark: 8 digits; no number starts with 0 or 1.
        Country::Dk => fixed_length(national, 8, b"23456789"),
        // Finland: a trunk 0 when written nationally, then 7 to 10 digits. Mobiles are 04x and
        // 050; 05 followed by any other digit is a landline's area code (Kotka, 05 234 5678).
        Country::Fi => {
            let national = national.strip_prefix('0').unwrap_or(national);
            match national.len() {
                0..=6 => Err(PhoneError::TooShort),
                11.. => Err(PhoneError::TooLong),
                _ if !(national.starts_with('4') || national.starts_with("50")) => Err(PhoneError::NotMobile),
                _ => Ok(national.to_owned()),
            }
        }
    }
}

fn fixed_length(national: &str, length: usize, mobile_starts: &[u8]) -> Result<String, PhoneError> {
    match national.len() {
        n if n < length => Err(PhoneError::TooShort),
        n if n > length => Err(PhoneError::TooLong),
        _ if !national.bytes().next().is_some_and(|b| mobile_starts.contains(&b)) => {
            Err(PhoneError::NotMobile)
        }
        _ => Ok(national.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &str, country: Country) -> Result<String, PhoneError> {
        Msisdn::parse(input, country).map(|m| m.as_str().to_owned())
    }

    #[test]
    fn numbers_as_people_type_them_become_msisdns() {
        assert_eq!(parsed("912 34 567", Country::No), Ok("4791234567".into()));
        assert_eq!(parsed("+47 912 34 567", Country::Dk), Ok("4791234567".into()));
        assert_eq!(parsed("0047-91234567", Country::Fi), Ok("4791234567".into()));
        assert_eq!(parsed("20 03 18 01", Country::Dk), Ok("4520031801".into()));
        assert_eq!(parsed("040 123 4567", Country::Fi), Ok("358401234567".into()));
        assert_eq!(parsed("+358 40 1234567", Country::No), Ok("358401234567".into()));
        assert_eq!(parsed("(+45) 20.03.18.01", Country::No), Ok("4520031801".into()));
    }

    #[test]
    fn finnish_mobiles_are_04x_and_050_and_other_05_numbers_are_landlines() {
        for (typed, msisdn) in [
            ("040 123 4567", "358401234567"),
            ("044 987 6543", "358449876543"),
            ("045 1234567", "358451234567"),
            ("0457 123 4567", "3584571234567"),
            ("050 123 4567", "358501234567"),
            ("+358 50 1234567", "358501234567"),
        ] {
            assert_eq!(parsed(typed, Country::Fi), Ok(msisdn.into()), "{typed}");
        }
        for landline in ["05 234 5678", "+358 5 234 5678", "051 234 5678", "055 123 4567", "059 876 5432"] {
            assert_eq!(parsed(landline, Country::Fi), Err(PhoneError::NotMobile), "{landline}");
        }
    }

    #[test]
    fn each_mistake_has_its_own_sentence() {
        assert_eq!(parsed("  ", Country::No), Err(PhoneError::Empty));
        assert_eq!(parsed("9123 456", Country::No), Err(PhoneError::TooShort));
        assert_eq!(parsed("912345678", Country::No), Err(PhoneError::TooLong));
        assert_eq!(parsed("9123abcd", Country::No), Err(PhoneError::NotDigits));
        assert_eq!(parsed("+46 70 123 45 67", Country::No), Err(PhoneError::UnknownCountry));
        assert_eq!(parsed("22 22 22 22", Country::No), Err(PhoneError::NotMobile));
        assert_eq!(parsed("09 1234567", Country::Fi), Err(PhoneError::NotMobile));
        assert_eq!(parsed("+47 9+1234567", Country::No), Err(PhoneError::NotDigits));
        let sentences: std::collections::HashSet<_> = [
            PhoneError::Empty,
            PhoneError::NotDigits,
            PhoneError::UnknownCountry,
            PhoneError::TooShort,
            PhoneError::TooLong,
            PhoneError::NotMobile,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(sentences.len(), 6);
    }

    #[test]
    fn every_valid_number_fits_the_platforms_msisdn_pattern() {
        for (input, country) in [
            ("91234567", Country::No),
            ("20031801", Country::Dk),
            ("0401234567", Country::Fi),
            ("4012345678", Country::Fi),
            ("4012345", Country::Fi),
        ] {
            let msisdn = parsed(input, country).unwrap();
            assert!(
                (10..=15).contains(&msisdn.len()) && msisdn.bytes().all(|b| b.is_ascii_digit()),
                "{msisdn}"
            );
        }
    }

    #[test]
    fn a_masked_number_shows_only_its_country_and_last_three_digits() {
        let m = Msisdn::parse("91234567", Country::No).unwrap();
        assert_eq!(m.masked(), "+47 •••••567");
    }
}
