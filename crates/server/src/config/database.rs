//! The database URL: which databases the server can open, and how a URL is shown without its
//! password.
//!
//! The server keeps its data in SQLite (`sqlite:PATH`) or PostgreSQL (`postgres://…` or
//! `postgresql://…`); nothing else is a database it can open. A PostgreSQL URL may carry a
//! password, from `KASSE_DATABASE_URL` (as a secrets manager hands it over) or written into the
//! file, so a URL is never shown as written: [`redacted_database_url`] puts `***` where its
//! password is, and problems and `Config`'s `Debug` show it that way.

use url::Url;

/// What stands in for a password.
const MASK: &str = "***";

/// Whether `url` names a database the server can open: SQLite, `sqlite:` and a path (or
/// `:memory:`), or PostgreSQL, a `postgres://` or `postgresql://` URL.
pub(super) fn is_database_url(url: &str) -> bool {
    if crate::store::is_postgres(url) {
        return Url::parse(url).is_ok();
    }
    // `sqlite://PATH` and `sqlite:PATH` alike; without a path it would be a database in memory
    // that is gone when the server stops, which no one writes on purpose (`sqlite::memory:` does).
    url.strip_prefix("sqlite:").is_some_and(|path| !path.trim_start_matches('/').trim().is_empty())
}

/// `url` as it may be shown in problems and logs: its password, in the userinfo
/// (`postgres://kasse:***@db/kasse`) or as a `password=` parameter, replaced by `***`. It works
/// on the text, not on a parsed URL, so even what is not a URL at all (a refused value) loses
/// what looks like a password; where it cannot tell, it hides too much rather than too little.
pub fn redacted_database_url(url: &str) -> String {
    redact_password_parameters(&redact_userinfo(url))
}

/// `scheme://user:***@rest`. The userinfo ends at the last `@`, as a password written without
/// percent-encoding may hold `@`, `/`, `?` or `#` itself.
fn redact_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, after)) = rest.rsplit_once('@') else { return url.to_owned() };
    let Some((user, _password)) = userinfo.split_once(':') else { return url.to_owned() };
    format!("{scheme}://{user}:{MASK}@{after}")
}

/// Every `password=VALUE` (any case; in a query, or in libpq's `key=value` form) with `***` for
/// its value. A value ends at `&`, `;`, `#` or white space, or, when quoted, at its closing quote.
fn redact_password_parameters(text: &str) -> String {
    const KEY: &str = "password=";
    // ASCII lower-casing keeps every byte where it was.
    let lower = text.to_ascii_lowercase();
    let mut shown = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(found) = lower.get(from..).and_then(|rest| rest.find(KEY)) {
        let value_start = from + found + KEY.len();
        let value = text.get(value_start..).unwrap_or_default();
        let length = match value.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                value.get(1..).and_then(|quoted| quoted.find(quote)).map_or(value.len(), |end| end + 2)
            }
            _ => value.find(['&', ';', '#', ' ', '\t', '\n']).unwrap_or(value.len()),
        };
        shown.push_str(text.get(from..value_start).unwrap_or_default());
        shown.push_str(MASK);
        from = value_start + length;
    }
    shown.push_str(text.get(from..).unwrap_or_default());
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_and_postgres_urls_are_databases_and_nothing_else_is() {
        for url in [
            "sqlite://data/kasse.db",
            "sqlite:///var/lib/kasse/kasse.db",
            "sqlite:kasse.db",
            "sqlite::memory:",
            "sqlite://my data/kasse.db",
            "postgres://kasse:pw@db.example.no:5432/kasse",
            "postgresql://kasse@db/kasse?sslmode=require",
            "postgres:///kasse?host=/run/postgresql",
        ] {
            assert!(is_database_url(url), "{url}");
        }
        for url in [
            "",
            "data/kasse.db",
            "sqlite:",
            "sqlite://",
            "sqlite:///",
            "mysql://kasse:pw@db/kasse",
            "postgres:kasse",
            "postgres://kasse:pw@db:port/kasse",
            "SQLITE://data/kasse.db",
            "host=db user=kasse password=pw",
        ] {
            assert!(!is_database_url(url), "{url}");
        }
    }

    #[test]
    fn a_password_is_shown_as_stars_wherever_it_is_written() {
        let cases = [
            ("sqlite://data/kasse.db", "sqlite://data/kasse.db"),
            ("postgres://kasse@db/kasse", "postgres://kasse@db/kasse"),
            ("postgres://kasse:hunter2@db:5432/kasse", "postgres://kasse:***@db:5432/kasse"),
            ("postgresql://kasse:p%40ss@db/kasse", "postgresql://kasse:***@db/kasse"),
            ("postgres://kasse:p@ss/w?rd#x@db/kasse", "postgres://kasse:***@db/kasse"),
            ("mysql://root:hunter2@db/kasse", "mysql://root:***@db/kasse"),
            (
                "postgres://kasse@db/kasse?password=hunter2&sslmode=require",
                "postgres://kasse@db/kasse?password=***&sslmode=require",
            ),
            ("postgres://db/kasse?PassWord=hunter2", "postgres://db/kasse?PassWord=***"),
            ("host=db password='hunter 2' user=kasse", "host=db password=*** user=kasse"),
            ("host=db password=hunter2", "host=db password=***"),
            ("password=\"unclosed", "password=***"),
        ];
        for (url, shown) in cases {
            assert_eq!(redacted_database_url(url), shown, "{url}");
        }
    }
}
