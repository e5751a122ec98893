//! A manager's PIN as typed: chosen twice at the first pairing, typed once to confirm an action.

/// What is wrong with a PIN as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinMistake {
    /// Not 4 to 8 digits.
    Malformed,
    /// The two fields differ.
    Differs,
}

/// The PIN chosen in two fields, if it is one the server takes and both say the same.
pub fn chosen(pin: &str, again: &str) -> Result<String, PinMistake> {
    let pin = pin.trim();
    if !kasse_api::pin_is_well_formed(pin) {
        return Err(PinMistake::Malformed);
    }
    if pin != again.trim() {
        return Err(PinMistake::Differs);
    }
    Ok(pin.to_owned())
}

/// The PIN typed to confirm an action, if it could be one.
pub fn typed(pin: &str) -> Result<String, PinMistake> {
    let pin = pin.trim();
    if kasse_api::pin_is_well_formed(pin) { Ok(pin.to_owned()) } else { Err(PinMistake::Malformed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_chosen_by_typing_it_twice_alike() {
        assert_eq!(chosen("4711", " 4711 "), Ok("4711".to_owned()));
        assert_eq!(chosen("4711", "4712"), Err(PinMistake::Differs));
        assert_eq!(chosen("471", "471"), Err(PinMistake::Malformed));
        assert_eq!(chosen("47a1", "47a1"), Err(PinMistake::Malformed));
    }

    #[test]
    fn a_typed_pin_is_four_to_eight_digits() {
        assert_eq!(typed(" 12345678"), Ok("12345678".to_owned()));
        assert_eq!(typed("123456789"), Err(PinMistake::Malformed));
        assert_eq!(typed(""), Err(PinMistake::Malformed));
    }
}
