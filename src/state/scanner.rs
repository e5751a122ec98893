//! What a keyboard-wedge scanner types. A scanner "types" the code it read as a burst of keys
//! into the focused field, usually ending with Enter (and some add a tab or other control
//! characters): the code is what is left once those are gone.
//!
//! On the till's keypad screen nothing is focused for it, and the keys go to the keypad, where
//! digits make the amount and Enter shows a QR code: a scan there would type the digits of the
//! customer's code into the amount and start a sale for it. [`KeyBursts`] tells a person's keys
//! from a scanner's: the keys are held until a pause ends their burst, and a burst with other
//! characters than digits, or more digits than an amount has, never reaches the keypad.

use kasse_api::MAX_PAYMENT_MINOR;

use super::keypad::Key;

/// The shortest text that can be a personal QR code (the platform's minimum is 5 characters).
const SHORTEST: usize = 5;

/// The longest pause, in milliseconds, between two keys of one burst. A scanner types its keys a
/// few milliseconds apart (a wireless one sometimes some tens); a person's keys are further apart
/// than this but for the odd quick pair, and a burst of a person's digits is read as digits
/// anyway. Generous, because a scan cut in two by a pause would have its tail read as typing.
pub const BURST_GAP_MS: u32 = 100;

/// How long after a scanner's burst its Enter may still come: a wireless scanner's Enter can lag
/// the code (as can a test driver's). A lone Enter this soon after a burst that could only be a
/// scan ends that scan, never starts a sale for the amount typed before it.
pub const SCAN_ENTER_MS: u32 = 1_000;

/// The most digits an amount can have (the largest payment's, in minor units).
const AMOUNT_DIGITS: usize = MAX_PAYMENT_MINOR.ilog10() as usize + 1;

/// What a burst of keys at the keypad comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    /// A person's keys: pressed on the keypad, in order.
    Keys(Vec<Key>),
    /// A person's keys (perhaps none), then Enter: pressed, then a QR sale is started.
    Enter(Vec<Key>),
    /// A scanner's burst, ended by Enter: the text it typed. It is not an amount.
    Scan(String),
}

/// The keys typed at the keypad screen, read in bursts (see the module's documentation).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyBursts {
    /// The burst's characters, as typed.
    text: String,
    /// The burst's keys as keypad keys (digits, delete, clear), in order.
    keys: Vec<Key>,
    /// When the burst's last key came, in milliseconds; `None` while there is no burst.
    last_ms: Option<f64>,
    /// A burst that could only be a scan, ended by a pause before its Enter came: its text, and
    /// when its last key came ([`SCAN_ENTER_MS`]).
    late_scan: Option<(String, f64)>,
}

impl KeyBursts {
    /// A key (a `KeyboardEvent.key`) pressed at `at_ms`. Returns what a burst came to when this
    /// key ends one: Enter ends the burst it belongs to, and a key after a pause ends the one
    /// before it. Keys that are neither characters nor keypad keys (Shift, which a scanner
    /// presses for capitals; arrows, Tab) are left out.
    pub fn key(&mut self, key: &str, at_ms: f64) -> Option<Typed> {
        let keypad = Key::from_keyboard(key);
        let character = single_char(key);
        if key != "Enter" && keypad.is_none() && character.is_none() {
            return None;
        }
        let before = self.settle(at_ms);
        if key == "Enter" {
            if self.is_scan() {
                let text = std::mem::take(self).text;
                return Some(Typed::Scan(text));
            }
            if before.is_none()
                && !self.holding()
                && let Some((text, last)) = self.late_scan.take()
                && at_ms - last <= f64::from(SCAN_ENTER_MS)
            {
                return Some(Typed::Scan(text));
            }
            let mut keys = match before {
                Some(Typed::Keys(keys)) => keys,
                _ => Vec::new(),
            };
            keys.append(&mut std::mem::take(self).keys);
            return Some(Typed::Enter(keys));
        }
        if let Some(c) = character {
            self.text.push(c);
        }
        self.keys.extend(keypad);
        self.last_ms = Some(at_ms);
        // Someone typed on: whatever Enter comes next is theirs, not a late scan's.
        self.late_scan = None;
        before
    }

    /// The burst held, once `at_ms` is a pause after its last key: a person's keys, to press. A
    /// scanner's burst that ended without Enter is no amount either: it is kept a moment for a
    /// late Enter ([`SCAN_ENTER_MS`]), then dropped.
    pub fn settle(&mut self, at_ms: f64) -> Option<Typed> {
        let last = self.last_ms?;
        if at_ms - last < f64::from(BURST_GAP_MS) {
            return None;
        }
        let scan = self.is_scan();
        let (text, keys) = (std::mem::take(&mut self.text), std::mem::take(&mut self.keys));
        self.last_ms = None;
        if scan {
            self.late_scan = Some((text, last));
            None
        } else {
            Some(Typed::Keys(keys))
        }
    }

    /// Whether keys are held, waiting for a pause (or Enter) to end their burst.
    pub const fn holding(&self) -> bool {
        self.last_ms.is_some()
    }

    /// Whether the burst held cannot be a person typing an amount: it has characters other than
    /// digits and the decimal separators a person types in an amount (which the keypad passes
    /// over: "12,50" is typed as 1, 2, 5, 0), or more digits than an amount has.
    fn is_scan(&self) -> bool {
        let mut digits = 0;
        for c in self.text.chars() {
            match c {
                '0'..='9' => digits += 1,
                ',' | '.' => {}
                _ => return true,
            }
        }
        digits > AMOUNT_DIGITS
    }
}

/// The character a key types, if it types one (`a`, `/`, `7`; not `Enter` or `Shift`).
fn single_char(key: &str) -> Option<char> {
    let mut chars = key.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_control() => Some(c),
        _ => None,
    }
}

/// The scanned code without the control characters a scanner adds, or `None` if nothing that
/// could be a code is left.
pub fn clean(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !c.is_control()).collect();
    let code = code.trim();
    (code.chars().count() >= SHORTEST).then(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `keys` to `bursts`, `gap_ms` apart from `start_ms`, collecting what they come to.
    fn feed(bursts: &mut KeyBursts, keys: &[&str], start_ms: f64, gap_ms: f64) -> Vec<Typed> {
        let mut at = start_ms;
        let mut out = Vec::new();
        for key in keys {
            out.extend(bursts.key(key, at));
            at += gap_ms;
        }
        out
    }

    /// The keys a scanner sends for `text` (Shift before capitals), then Enter.
    fn scanned(text: &str) -> Vec<String> {
        let mut keys = Vec::new();
        for c in text.chars() {
            if c.is_ascii_uppercase() {
                keys.push("Shift".to_owned());
            }
            keys.push(c.to_string());
        }
        keys.push("Enter".to_owned());
        keys
    }

    #[test]
    fn a_scan_ending_in_enter_is_a_scan_not_keys() {
        let code = "https://qr.vipps.no/28/2/01/031/4791234567?v=1";
        let keys = scanned(code);
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut bursts = KeyBursts::default();
        assert_eq!(feed(&mut bursts, &keys, 1_000.0, 8.0), [Typed::Scan(code.to_owned())]);
        assert!(!bursts.holding());
        assert_eq!(bursts.settle(10_000.0), None, "nothing left over");

        let mut bursts = KeyBursts::default();
        let digits: Vec<String> = "7038010069307".chars().map(String::from).chain(["Enter".into()]).collect();
        let digits: Vec<&str> = digits.iter().map(String::as_str).collect();
        assert_eq!(
            feed(&mut bursts, &digits, 0.0, 5.0),
            [Typed::Scan("7038010069307".into())],
            "more digits than an amount has"
        );
    }

    #[test]
    fn a_persons_digits_are_pressed_after_a_pause_and_enter_presses_them_then_starts() {
        let mut bursts = KeyBursts::default();
        assert_eq!(feed(&mut bursts, &["4", "2"], 0.0, 30.0), [], "held while the burst may go on");
        assert!(bursts.holding());
        assert_eq!(bursts.settle(100.0), None, "not a pause yet");
        assert_eq!(bursts.settle(130.0), Some(Typed::Keys(vec![Key::Digit(4), Key::Digit(2)])));
        assert_eq!(bursts.settle(500.0), None);
        // Slowly, one key at a time: each is pressed once the next comes or the pause is over.
        assert_eq!(bursts.key("5", 1_000.0), None);
        assert_eq!(bursts.key("Backspace", 1_200.0), Some(Typed::Keys(vec![Key::Digit(5)])));
        assert_eq!(bursts.key("Enter", 1_400.0), Some(Typed::Enter(vec![Key::Backspace])));
        // Quickly: digits and Enter in one burst.
        assert_eq!(
            feed(&mut bursts, &["1", "0", "0", "Enter"], 2_000.0, 20.0),
            [Typed::Enter(vec![Key::Digit(1), Key::Digit(0), Key::Digit(0)])]
        );
        assert_eq!(bursts.key("Enter", 3_000.0), Some(Typed::Enter(Vec::new())), "Enter alone");
    }

    #[test]
    fn a_scanners_burst_without_enter_is_dropped_and_keys_that_type_nothing_are_left_out() {
        let mut bursts = KeyBursts::default();
        assert_eq!(feed(&mut bursts, &["a", "b", "1", "2"], 0.0, 5.0), []);
        assert_eq!(bursts.settle(200.0), None, "no amount, no scan");
        assert!(!bursts.holding());
        assert_eq!(feed(&mut bursts, &["Shift", "Tab", "ArrowLeft", "F5"], 1_000.0, 5.0), []);
        assert!(!bursts.holding(), "nothing held");
        assert_eq!(bursts.key("Escape", 2_000.0), None);
        assert_eq!(bursts.settle(2_100.0), Some(Typed::Keys(vec![Key::Clear])));
    }

    #[test]
    fn a_cashier_typing_an_amount_with_its_decimal_comma_quickly_keeps_every_digit() {
        let mut bursts = KeyBursts::default();
        // 1, then 2 and the numpad's comma a moment apart, then 5 0: 12,50.
        let mut pressed = Vec::new();
        for (key, at) in [("1", 0.0), ("2", 150.0), (",", 210.0), ("5", 400.0), ("0", 460.0)] {
            if let Some(Typed::Keys(keys)) = bursts.key(key, at) {
                pressed.extend(keys);
            }
        }
        if let Some(Typed::Keys(keys)) = bursts.settle(1_000.0) {
            pressed.extend(keys);
        }
        assert_eq!(pressed, [1, 2, 5, 0].map(Key::Digit), "the amount is 12,50, not 1,50");
    }

    #[test]
    fn a_scans_enter_that_comes_late_still_ends_the_scan_and_starts_no_sale() {
        let code = "https://qr.vipps.no/28/2/01/031/4791234567?v=1";
        let keys = scanned(code);
        let keys: Vec<&str> = keys[..keys.len() - 1].iter().map(String::as_str).collect();
        let mut bursts = KeyBursts::default();
        assert_eq!(feed(&mut bursts, &keys, 0.0, 5.0), []);
        assert_eq!(bursts.settle(1_000.0), None, "held for its Enter");
        assert_eq!(bursts.key("Enter", 1_100.0), Some(Typed::Scan(code.to_owned())));
        // Too late, or after the cashier typed on: the Enter is the cashier's.
        assert_eq!(feed(&mut bursts, &keys, 5_000.0, 5.0), []);
        assert_eq!(bursts.key("Enter", 7_000.0), Some(Typed::Enter(Vec::new())), "two seconds on");
        assert_eq!(feed(&mut bursts, &keys, 10_000.0, 5.0), []);
        assert_eq!(bursts.key("4", 10_500.0), None);
        assert_eq!(
            bursts.key("Enter", 10_550.0),
            Some(Typed::Enter(vec![Key::Digit(4)])),
            "the cashier typed"
        );
    }

    #[test]
    fn a_scanners_line_endings_tabs_and_group_separators_are_dropped() {
        let code = "https://qr.vipps.no/28/2/01/031/4791234567?v=1";
        assert_eq!(clean(&format!("{code}\r\n")).as_deref(), Some(code));
        assert_eq!(clean(&format!("\t{code}\u{1d}")).as_deref(), Some(code));
    }

    #[test]
    fn nothing_or_almost_nothing_is_not_a_code() {
        assert_eq!(clean(""), None);
        assert_eq!(clean("\r\n"), None);
        assert_eq!(clean("abcd"), None);
        assert_eq!(clean("abcde").as_deref(), Some("abcde"));
    }
}
