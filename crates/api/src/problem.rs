//! RFC 7807 `application/problem+json` bodies, as every kasse endpoint answers errors.

use serde::{Deserialize, Serialize};

/// An error answer. `detail` is a sentence a cashier or customer understands; `code` is stable
/// for programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type", default = "about_blank")]
    pub kind: String,
    /// A short summary that does not change between occurrences.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened this time, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A stable machine-readable code, e.g. `till-busy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

fn about_blank() -> String {
    "about:blank".to_owned()
}

impl Problem {
    /// The media type of a problem body.
    pub const CONTENT_TYPE: &'static str = "application/problem+json";

    /// A problem with a stable `code`, a `title` and a sentence for a person.
    pub fn new(status: u16, code: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://kasse.dev/problems/{code}"),
            title: title.to_owned(),
            status,
            detail: Some(detail.into()),
            code: Some(code.to_owned()),
        }
    }

    /// The sentence to show a person: the detail, or failing that the title.
    pub fn sentence(&self) -> &str {
        self.detail.as_deref().unwrap_or(&self.title)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.title, self.status, self.sentence())
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_serialises_as_rfc_7807() {
        let p = Problem::new(409, "till-busy", "Till busy", "Finish the current payment first.");
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["type"], "https://kasse.dev/problems/till-busy");
        assert_eq!(json["status"], 409);
        assert_eq!(json["detail"], "Finish the current payment first.");
    }

    #[test]
    fn a_foreign_problem_without_type_or_detail_still_parses() {
        let p: Problem = serde_json::from_str(r#"{"title":"Bad Request","status":400}"#).unwrap();
        assert_eq!(p.kind, "about:blank");
        assert_eq!(p.sentence(), "Bad Request");
    }
}
