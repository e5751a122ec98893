//! The amount keypad, cash-register style: digits fill in from the right, so typing `1 2 3 5 0`
//! reads kr 123,50. It never holds more than the platform's largest payment.

use kasse_api::MAX_PAYMENT_MINOR;

/// A key on the keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A digit, 0 to 9.
    Digit(u8),
    /// `00`.
    DoubleZero,
    /// Remove the last digit.
    Backspace,
    /// Start over.
    Clear,
}

impl Key {
    /// The key a keyboard key stands for (`0`–`9`, `Backspace`, `Delete`/`Escape` clear).
    pub fn from_keyboard(key: &str) -> Option<Self> {
        match key {
            "Backspace" => Some(Self::Backspace),
            "Delete" | "Escape" => Some(Self::Clear),
            _ => {
                let mut chars = key.chars();
                let (Some(c), None) = (chars.next(), chars.next()) else { return None };
                c.to_digit(10).and_then(|d| u8::try_from(d).ok()).map(Self::Digit)
            }
        }
    }
}

/// The amount being typed, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AmountEntry {
    minor: i64,
}

impl AmountEntry {
    /// The amount so far, in minor units.
    pub const fn minor(self) -> i64 {
        self.minor
    }

    /// True when nothing has been typed.
    pub const fn is_empty(self) -> bool {
        self.minor == 0
    }

    /// The entry after pressing `key`. A key that would go past the largest payment is ignored.
    #[must_use]
    pub fn press(self, key: Key) -> Self {
        let next = match key {
            Key::Digit(d) if d <= 9 => self.minor.checked_mul(10).and_then(|m| m.checked_add(i64::from(d))),
            Key::Digit(_) => None,
            Key::DoubleZero => self.minor.checked_mul(100),
            Key::Backspace => Some(self.minor / 10),
            Key::Clear => Some(0),
        };
        match next {
            Some(minor) if minor <= MAX_PAYMENT_MINOR => Self { minor },
            _ => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(keys: &[Key]) -> i64 {
        keys.iter().fold(AmountEntry::default(), |entry, key| entry.press(*key)).minor()
    }

    #[test]
    fn digits_fill_in_from_the_right_like_a_cash_register() {
        use Key::Digit as D;
        assert_eq!(typed(&[D(1), D(2), D(3), D(5), D(0)]), 12_350);
        assert_eq!(typed(&[D(4), D(9), Key::DoubleZero]), 4_900);
    }

    #[test]
    fn leading_zeros_are_nothing() {
        assert_eq!(typed(&[Key::Digit(0), Key::DoubleZero, Key::Digit(5)]), 5);
    }

    #[test]
    fn backspace_removes_the_last_digit_and_clear_starts_over() {
        use Key::Digit as D;
        assert_eq!(typed(&[D(1), D(2), D(3), Key::Backspace]), 12);
        assert_eq!(typed(&[D(1), D(2), Key::Clear, D(7)]), 7);
        assert_eq!(typed(&[Key::Backspace]), 0);
    }

    #[test]
    fn the_amount_cannot_grow_past_the_largest_payment() {
        let max = typed(&[Key::Digit(6), Key::Digit(5), Key::DoubleZero, Key::DoubleZero, Key::DoubleZero]);
        assert_eq!(max, MAX_PAYMENT_MINOR);
        let over =
            [Key::Digit(6), Key::Digit(5), Key::DoubleZero, Key::DoubleZero, Key::DoubleZero, Key::Digit(1)];
        assert_eq!(typed(&over), MAX_PAYMENT_MINOR);
    }

    #[test]
    fn keyboard_keys_map_to_keypad_keys() {
        assert_eq!(Key::from_keyboard("7"), Some(Key::Digit(7)));
        assert_eq!(Key::from_keyboard("Backspace"), Some(Key::Backspace));
        assert_eq!(Key::from_keyboard("Escape"), Some(Key::Clear));
        assert_eq!(Key::from_keyboard("a"), None);
        assert_eq!(Key::from_keyboard("F1"), None);
    }
}
