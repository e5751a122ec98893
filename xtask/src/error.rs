//! The one error type of xtask: a human-readable message that gains context as it travels up.
//!
//! Nothing here is ever matched on; every error ends as a line on stderr and a non-zero exit
//! code, so a message (with enough context to act on) is all an error needs to be.

use std::fmt;

/// A failure, described for the person at the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error {
    /// The full message, outermost context first.
    message: String,
}

impl Error {
    /// An error with the given message.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `Result` with [`Error`] as the default error.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds context to any error that can be displayed, turning it into an [`Error`].
pub(crate) trait Context<T> {
    /// Prefixes the error with `what` (computed only on failure), as in `reading Cargo.lock: ...`.
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|error| Error::new(format!("{}: {error}", what())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_puts_the_outer_description_first() {
        let failed: Result<(), String> = Err("file not found".to_owned());
        let error = failed.context(|| "reading Cargo.lock".to_owned());
        assert_eq!(error, Err(Error::new("reading Cargo.lock: file not found")));
    }

    #[test]
    fn context_is_not_computed_on_success() {
        let fine: Result<u8, String> = Ok(7);
        let value = fine.context(|| unreachable!("only built on failure"));
        assert_eq!(value, Ok(7));
    }
}
