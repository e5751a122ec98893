//! What a keyboard-wedge scanner types. A scanner "types" the code it read as a burst of keys
//! into the focused field, usually ending with Enter (and some add a tab or other control
//! characters): the code is what is left once those are gone.

/// The shortest text that can be a personal QR code (the platform's minimum is 5 characters).
const SHORTEST: usize = 5;

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
