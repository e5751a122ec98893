//! Loyalty by consent: whether the customer of an approved payment is a member of the store's
//! loyalty programme, from the phone number they chose to share.
//!
//! A store with loyalty asks the platform for the customer's phone number with each payment
//! (ePayment `profile.scope`), and the app asks the customer whether to share it. Only if they
//! did does the approved payment carry a `sub`, which Userinfo turns into the number; this
//! module looks that number up in the store's member list: a CSV file the merchant keeps, read
//! at each lookup, or the merchant's loyalty system, asked by a signed callback. Nothing here
//! keeps the number: the sale keeps only whether the customer is a member, and a member's name.

use std::path::Path;
use std::time::Duration;

use kasse_api::{Country, Currency, Loyalty, Msisdn};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{LoyaltyConfig, MemberList};

/// How long the merchant's loyalty system has to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Why a customer could not be looked up.
#[derive(Debug, thiserror::Error)]
pub enum LoyaltyError {
    /// The member list could not be read.
    #[error("the member list {path} could not be read: {reason}")]
    List {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The merchant's loyalty system did not answer as agreed.
    #[error("the loyalty system at {url} {reason}")]
    Callback {
        /// Where it was asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// What kasse posts to a merchant's loyalty system.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberQuestion<'a> {
    /// The customer's phone number, MSISDN (`4791234567`).
    phone_number: &'a str,
    /// The store's id in kasse's configuration.
    store: &'a str,
}

/// What a merchant's loyalty system answers.
#[derive(Debug, Deserialize)]
struct MemberAnswer {
    member: bool,
    #[serde(default)]
    name: Option<String>,
}

/// Looks members up for every store.
#[derive(Debug, Clone)]
pub struct Members {
    http: reqwest::Client,
}

impl Members {
    /// The lookups' HTTP client, which gives merchants' loyalty systems [`ANSWER_WITHIN`].
    pub fn new() -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(ANSWER_WITHIN)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kasse/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http })
    }

    /// Whether `phone` (MSISDN digits, as Userinfo gives it) is a member of store `store`'s
    /// programme, whose currency says which country its numbers are from.
    pub async fn look_up(
        &self,
        store: &str,
        currency: Currency,
        loyalty: &LoyaltyConfig,
        phone: &str,
    ) -> Result<Loyalty, LoyaltyError> {
        match &loyalty.members {
            MemberList::File(path) => {
                let text = tokio::fs::read(path).await.map_err(|e| LoyaltyError::List {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                find_in_list(&text, path, Country::of_currency(currency), phone)
            }
            MemberList::Callback { url, secret } => self.ask(url, secret.expose(), store, phone).await,
        }
    }

    /// Asks the merchant's loyalty system, signed as the platform signs its webhooks.
    async fn ask(&self, url: &Url, secret: &str, store: &str, phone: &str) -> Result<Loyalty, LoyaltyError> {
        let failed = |reason: String| LoyaltyError::Callback { url: url.to_string(), reason };
        let body = serde_json::to_vec(&MemberQuestion { phone_number: phone, store })
            .map_err(|e| failed(e.to_string()))?;
        let answer = crate::signed_post::post(&self.http, url, secret, chrono::Utc::now(), body)
            .await
            .map_err(failed)?;
        if !answer.status().is_success() {
            return Err(failed(format!("answered {}", answer.status())));
        }
        let answer: MemberAnswer = answer
            .json()
            .await
            .map_err(|e| failed(format!("answered something other than {{\"member\": …}}: {e}")))?;
        Ok(if answer.member { Loyalty::Member { name: answer.name } } else { Loyalty::NotMember })
    }
}

/// Finds `phone` in a member list: CSV with a header line, a `phone_number` column (or `phone`)
/// and an optional `name` column, separated by commas or, as Danish and Finnish spreadsheets
/// save them, semicolons. A number in the list may be written as people write them (`+47 912 34
/// 567`, `0047…`, or as dialled in the store's `country`, `040 123 4567` in Finland).
pub fn find_in_list(
    text: &[u8],
    path: &Path,
    country: Country,
    phone: &str,
) -> Result<Loyalty, LoyaltyError> {
    let unreadable = |reason: String| LoyaltyError::List { path: path.display().to_string(), reason };
    let header = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let delimiter = if header.contains(&b';') && !header.contains(&b',') { b';' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).trim(csv::Trim::All).flexible(true).from_reader(text);
    // Read as bytes and decoded leniently: a spreadsheet may save names in Windows-1252, and a
    // name it cannot spell must not hide a member.
    let text = |field: &[u8]| String::from_utf8_lossy(field).trim_start_matches('\u{feff}').to_owned();
    let headers: Vec<String> =
        reader.byte_headers().map_err(|e| unreadable(e.to_string()))?.iter().map(text).collect();
    let column =
        |names: &[&str]| headers.iter().position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)));
    let number = column(&["phone_number", "phone", "phoneNumber"])
        .ok_or_else(|| unreadable("it has no phone_number column".to_owned()))?;
    let name = column(&["name"]);
    for record in reader.byte_records() {
        let record = record.map_err(|e| unreadable(e.to_string()))?;
        if record.get(number).is_some_and(|listed| same_number(&text(listed), country, phone)) {
            let name = name.and_then(|i| record.get(i)).map(text).filter(|n| !n.is_empty());
            return Ok(Loyalty::Member { name });
        }
    }
    Ok(Loyalty::NotMember)
}

/// Whether `listed`, as a merchant wrote it, is the MSISDN `phone`: read as a till reads a
/// typed number, with the store's `country` for one written without its calling code. What is
/// no phone number matches nothing.
fn same_number(listed: &str, country: Country, phone: &str) -> bool {
    Msisdn::parse(listed, country).is_ok_and(|number| number.as_str() == phone)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str =
        "phone_number,name\n+47 912 34 567,Kari Nordmann\n98765432,\n0045 20 03 18 01,Mette Hansen\n";

    fn look(phone: &str) -> Loyalty {
        find_in_list(LIST.as_bytes(), Path::new("members.csv"), Country::No, phone).unwrap()
    }

    #[test]
    fn a_member_is_found_however_the_merchant_wrote_the_number_and_named_if_the_list_names_them() {
        assert_eq!(look("4791234567"), Loyalty::Member { name: Some("Kari Nordmann".into()) });
        assert_eq!(look("4798765432"), Loyalty::Member { name: None }, "a local number, no name");
        assert_eq!(look("4520031801"), Loyalty::Member { name: Some("Mette Hansen".into()) });
        assert_eq!(look("4799999999"), Loyalty::NotMember);
        // A Danish number written locally is not a Norwegian one.
        assert_eq!(look("4520031802"), Loyalty::NotMember);
    }

    #[test]
    fn a_list_without_a_phone_column_is_an_error_not_an_empty_list() {
        let e = find_in_list(b"name\nKari\n", Path::new("m.csv"), Country::No, "4791234567").unwrap_err();
        assert!(e.to_string().contains("phone_number"), "{e}");
    }

    #[test]
    fn a_spreadsheets_byte_order_mark_and_windows_1252_names_do_not_hide_a_member() {
        let list = b"\xef\xbb\xbfphone_number;name\n91234567;Kari S\xf8rby\n";
        let found = find_in_list(list, Path::new("m.csv"), Country::No, "4791234567").unwrap();
        assert!(matches!(found, Loyalty::Member { name: Some(name) } if name.starts_with("Kari S")));
    }

    #[test]
    fn a_finnish_list_saved_with_semicolons_and_local_numbers_is_read() {
        let list = "phone_number;name\n040 123 4567;Aino Virtanen\n";
        let found = find_in_list(list.as_bytes(), Path::new("m.csv"), Country::Fi, "358401234567").unwrap();
        assert_eq!(found, Loyalty::Member { name: Some("Aino Virtanen".into()) });
    }

    #[test]
    fn numbers_match_whole_never_in_part() {
        assert!(!same_number("1234567", Country::No, "4791234567"));
        assert!(!same_number("", Country::No, "47"));
        assert!(same_number("+4791234567", Country::Dk, "4791234567"));
        assert!(
            !same_number("+91234567", Country::No, "4791234567"),
            "written internationally: no country added"
        );
        assert!(!same_number("not a number", Country::No, "4791234567"));
    }
}
