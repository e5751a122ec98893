//! Judging a store's loyalty programme: one member list (a readable CSV file naming a phone
//! column, or the merchant's system at an https address with its secret), and the Check-in
//! API's screen, which only Norwegian stores have.

use std::path::Path;

use kasse_api::Currency;
use url::Url;

use super::super::raw::{RawStore, SecretRef};
use super::super::{ConfigProblem, LoyaltyConfig, MemberList};
use super::Judge;

impl Judge<'_> {
    /// A store's loyalty programme: a member list (a file, or the merchant's system), and the
    /// Check-in API's screen, which only Norwegian stores have.
    pub(super) fn loyalty(
        &mut self,
        raw: &RawStore,
        currency: Option<Currency>,
        callback_secret: Option<SecretRef>,
    ) -> Option<LoyaltyConfig> {
        let field = |name: &str| format!("[[stores]] {:?} {name}", raw.id);
        let members = match (&raw.loyalty_members, &raw.loyalty_callback) {
            (None, None) => {
                if callback_secret.is_some() {
                    self.problems.push(ConfigProblem::Invalid {
                        field: field("loyalty_callback_secret"),
                        value: "(set)".to_owned(),
                        expected: "it is the secret of loyalty_callback, which is not set",
                    });
                }
                if raw.loyalty_check_in {
                    self.problems.push(ConfigProblem::Invalid {
                        field: field("loyalty_check_in"),
                        value: "true".to_owned(),
                        expected: "it needs a member list: loyalty_members or loyalty_callback",
                    });
                }
                return None;
            }
            (Some(_), Some(callback)) => {
                self.problems.push(ConfigProblem::Invalid {
                    field: field("loyalty_callback"),
                    value: callback.clone(),
                    expected: "a store has one member list: loyalty_members (a file) or loyalty_callback, not both",
                });
                return None;
            }
            (Some(path), None) => {
                if let Err(why) = member_list_header(path) {
                    self.problems.push(ConfigProblem::Invalid {
                        field: field("loyalty_members"),
                        value: format!("{} ({why})", path.display()),
                        expected: "a CSV file of members that kasse can read, its header naming a phone_number column",
                    });
                }
                MemberList::File(path.clone())
            }
            (None, Some(callback)) => {
                let url = Url::parse(callback).ok().filter(|url| {
                    url.scheme() == "https"
                        || (url.scheme() == "http"
                            && url.host_str().is_some_and(|h| h == "localhost" || h == "127.0.0.1"))
                });
                if url.is_none() {
                    self.problems.push(ConfigProblem::Invalid {
                        field: field("loyalty_callback"),
                        value: callback.clone(),
                        expected: "an https:// URL (http:// only on this machine)",
                    });
                }
                let secret = self.secret(&raw.id, "loyalty_callback_secret", callback_secret, true);
                MemberList::Callback { url: url?, secret: secret?.0 }
            }
        };
        if raw.loyalty_check_in && currency != Some(Currency::Nok) {
            self.problems.push(ConfigProblem::Invalid {
                field: field("loyalty_check_in"),
                value: "true".to_owned(),
                expected: "the app's loyalty check-in screen is Vipps's, in Norway: NOK stores only",
            });
        }
        Some(LoyaltyConfig { members, check_in_screen: raw.loyalty_check_in })
    }
}

/// Whether the member list at `path` can be read and its header line names a `phone_number` (or
/// `phone`) column, commas or semicolons between: what each lookup needs of it.
fn member_list_header(path: &Path) -> Result<(), String> {
    // As the lookups read it: whatever the encoding, and with a spreadsheet's byte-order mark.
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&bytes);
    let header = text.lines().next().unwrap_or_default().trim_start_matches('\u{feff}');
    let named = header.split([',', ';']).map(|column| column.trim().trim_matches('"')).any(|column| {
        ["phone_number", "phone", "phoneNumber"].iter().any(|n| column.eq_ignore_ascii_case(n))
    });
    if named { Ok(()) } else { Err(format!("its first line is {header:?}")) }
}
