//! A store's secrets: where the file says they live, and reading them from there.
//!
//! Secrets never live in the configuration file. A store names an environment variable or a file
//! for each (or names nothing and gets its default variable), and only the place is ever shown:
//! the values are held as `kasse_vipps::Secret`, whose `Debug` and `Display` print `***`, and no
//! error here carries one.

use std::fmt;
use std::path::PathBuf;

use kasse_vipps::Secret;

/// Where a secret comes from. This, never the value, is what logs and `check-config` show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file whose content, without its trailing newline, is the secret.
    File(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "the environment variable {name}"),
            Self::File(path) => write!(f, "the file {}", path.display()),
        }
    }
}

/// Why a secret could not be read. It never holds the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is not set.
    #[error("is not set")]
    Unset,
    /// The variable or file holds nothing.
    #[error("is empty")]
    Empty,
    /// The file could not be read.
    #[error("cannot be read ({0})")]
    Unreadable(String),
}

/// Where a store's two secrets came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSources {
    /// Where `client_secret` came from.
    pub client_secret: SecretSource,
    /// Where the subscription key came from.
    pub subscription_key: SecretSource,
}

/// Reads a secret from where it lives. Errors say why, never what.
pub(super) fn read_secret(
    from: &SecretSource,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, SecretError> {
    let value = match from {
        SecretSource::Env(name) => env(name).ok_or(SecretError::Unset)?,
        SecretSource::File(path) => {
            std::fs::read_to_string(path).map_err(|e| SecretError::Unreadable(e.to_string()))?
        }
    };
    // Files written by `echo` or an editor end in a newline that is not part of the secret.
    let value = value.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(SecretError::Empty);
    }
    Ok(Secret::new(value))
}

/// `KASSE_STORE_<ID>_<FIELD>`: where a store's secret is read from when the file names no place.
pub(crate) fn default_variable(store: &str, field: &str) -> String {
    format!("KASSE_STORE_{}_{}", store.to_ascii_uppercase().replace('-', "_"), field.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stores_default_variable_is_its_id_in_capitals_with_underscores() {
        assert_eq!(
            default_variable("oslo-sentrum", "client_secret"),
            "KASSE_STORE_OSLO_SENTRUM_CLIENT_SECRET"
        );
    }

    #[test]
    fn a_secret_loses_its_trailing_newline_and_an_empty_one_is_refused() {
        let env = |name: &str| (name == "SET").then(|| "s3cr3t\r\n".to_owned());
        let secret = read_secret(&SecretSource::Env("SET".to_owned()), &env).unwrap();
        assert_eq!(secret.expose(), "s3cr3t");
        assert_eq!(
            read_secret(&SecretSource::Env("UNSET".to_owned()), &env).unwrap_err(),
            SecretError::Unset
        );
        let empty = |_: &str| Some("\n".to_owned());
        assert_eq!(read_secret(&SecretSource::Env("X".to_owned()), &empty).unwrap_err(), SecretError::Empty);
    }
}
