//! The merchant's list of points of sale, as CSV (any common delimiter, with a header) or as
//! the MobilePay PoS API's JSON: each row's beacon, PoS name, sales unit and till.

use std::io::Read as _;
use std::path::Path;

use csv::StringRecord;
use serde_json::Value;

/// One row of the merchant's PoS list, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PosRow {
    /// Its place among the rows, from 1 (a CSV file's header is not a row).
    pub row: usize,
    /// The beacon's id: 15 digits or a GUID.
    pub beacon_id: Option<String>,
    /// The PoS name, which becomes the location the app shows after a scan.
    pub pos_name: Option<String>,
    /// The merchant serial number of its store.
    pub msn: Option<String>,
    /// The till it belongs to (our id for it).
    pub till: Option<String>,
}

/// Why the list could not be read at all. Nothing is done then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("cannot read {file}: {reason}")]
    Unreadable {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// Not JSON that kasse understands.
    #[error("{file} is not a JSON array of points of sale: {reason}")]
    BadJson {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// A CSV file without a column it needs.
    #[error(
        "{file} has no {column} column; the first line must name the columns, e.g. \
         beaconId,posName,msn,till"
    )]
    MissingColumn {
        /// The file.
        file: String,
        /// The column.
        column: &'static str,
    },
    /// A CSV line kasse cannot split into fields.
    #[error("{file}, line {line}: {reason}")]
    BadCsv {
        /// The file.
        file: String,
        /// The line, from 1.
        line: usize,
        /// Why.
        reason: String,
    },
    /// No rows at all.
    #[error("{0} lists no points of sale")]
    Empty(String),
}

/// Reads the merchant's PoS list: JSON if the file is `.json` or starts with `[`, else CSV.
pub fn read_pos_list(path: &Path) -> Result<Vec<PosRow>, InputError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| InputError::Unreadable { file: file.clone(), reason: e.to_string() })?;
    let text = String::from_utf8(bytes).map_err(|_| InputError::Unreadable {
        file: file.clone(),
        reason: "it is not UTF-8 text".to_owned(),
    })?;
    let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start_matches('\u{feff}').trim_start().starts_with('[');
    if json { parse_json(&text, &file) } else { parse_csv(&text, &file) }
}

/// The PoS rows of a JSON array of objects with `beaconId`, `posName` (or `name`, as the PoS API
/// called it), `msn` (or `merchantSerialNumber`) and `till`. Other fields are ignored; numbers are
/// read as their digits.
pub fn parse_json(text: &str, file: &str) -> Result<Vec<PosRow>, InputError> {
    let bad = |reason: String| InputError::BadJson { file: file.to_owned(), reason };
    let value: Value =
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| bad(e.to_string()))?;
    let Value::Array(entries) = value else { return Err(bad("the top level is not an array".to_owned())) };
    if entries.is_empty() {
        return Err(InputError::Empty(file.to_owned()));
    }
    Ok(entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let field = |names: &[&str]| {
                names.iter().find_map(|name| match entry.get(*name)? {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            PosRow {
                row: index + 1,
                beacon_id: field(&["beaconId", "beacon_id"]),
                pos_name: field(&["posName", "name", "pos_name"]),
                msn: field(&["msn", "merchantSerialNumber"]),
                till: field(&["till", "tillId", "till_id"]),
            }
        })
        .collect())
}

/// The PoS rows of a CSV file whose first line names the columns (`beaconId`, `posName` or `name`,
/// `msn`, `till`, in any order and case; others are ignored). Fields are separated by commas, or
/// by semicolons or tabs when the header is (as spreadsheets in Denmark and Finland save them),
/// and may be quoted with `"`. Lines with nothing but separators and blanks are skipped.
pub fn parse_csv(text: &str, file: &str) -> Result<Vec<PosRow>, InputError> {
    let text = text.trim_start_matches('\u{feff}');
    let records = split_csv(text).map_err(|(line, reason)| InputError::BadCsv {
        file: file.to_owned(),
        line,
        reason,
    })?;
    let mut records = records.into_iter().filter(|record| record.iter().any(|f| !f.trim().is_empty()));
    let Some(header) = records.next() else { return Err(InputError::Empty(file.to_owned())) };
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase())
        .collect();
    let column = |aliases: &[&str]| names.iter().position(|n| aliases.contains(&n.as_str()));
    let beacon = column(&["beaconid", "beacon"]);
    let pos_name = column(&["posname", "name"]);
    let msn = column(&["msn", "merchantserialnumber"]);
    let till = column(&["till", "tillid"]);
    let missing = |column: &'static str| InputError::MissingColumn { file: file.to_owned(), column };
    let beacon = beacon.ok_or_else(|| missing("beaconId"))?;
    let pos_name = pos_name.ok_or_else(|| missing("posName"))?;
    let rows: Vec<PosRow> = records
        .enumerate()
        .map(|(index, record)| {
            let field = |at: Option<usize>| {
                at.and_then(|i| record.get(i)).map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned)
            };
            PosRow {
                row: index + 1,
                beacon_id: field(Some(beacon)),
                pos_name: field(Some(pos_name)),
                msn: field(msn),
                till: field(till),
            }
        })
        .collect();
    if rows.is_empty() {
        return Err(InputError::Empty(file.to_owned()));
    }
    Ok(rows)
}

/// A line put after the text for [`split_csv`]: it comes back as a record of its own unless the
/// text ends inside a quoted field, which swallows it.
const END_OF_TEXT: &str = "kasse: end of text";

/// Splits CSV text into records with the [`csv`] crate (RFC 4180: a quote inside a quoted field is
/// doubled, and a quoted field may span lines), the delimiter being whichever of `,` `;` and tab
/// the first line that is not blank has most of. Rows may have fewer or more fields than the
/// header. A failure names the line the record starts on, and why.
fn split_csv(text: &str) -> Result<Vec<StringRecord>, (usize, String)> {
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| header.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let marked = text.as_bytes().chain(&b"\n"[..]).chain(END_OF_TEXT.as_bytes());
    // Cannot fail on UTF-8 text with rows of any length, but says where if it does.
    let mut records = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(marked)
        .into_records()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (e.position().map_or(1, |p| line_of(text, p)), e.to_string()))?;
    // The crate reads a quote left open to the end of the file without a word, which would make
    // the rest of a broken file one PoS name; the swallowed end line gives it away.
    match records.pop() {
        Some(open) if !open.iter().eq([END_OF_TEXT]) => {
            Err((open.position().map_or(1, |p| line_of(text, p)), "a quoted field is not closed".to_owned()))
        }
        _ => Ok(records),
    }
}

/// The line, from 1, of the record the crate read from `position`: the crate's own line number
/// counts the blank lines it skips before the record as the record's.
fn line_of(text: &str, position: &csv::Position) -> usize {
    let bytes = text.as_bytes();
    let from = usize::try_from(position.byte()).map_or(bytes.len(), |b| b.min(bytes.len()));
    let blank = bytes[from..].iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
    // A line more than the line breaks before it.
    bytes[..from + blank].split(|b| *b == b'\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::migrate::fixtures::row;

    #[test]
    fn csv_with_semicolons_quotes_a_bom_and_extra_columns_is_read_by_its_header() {
        let text = "\u{feff}posId;Name;BeaconId;MSN;Till\r\n\
                    p1;\"Kasse 1; ved døren\";100000000000001;123456;till-1\r\n\
                    \r\n\
                    p2;\"Kasse \"\"2\"\"\";27072F82-C4B6-49CD-9838-10F21D87496E;123456;\r\n";
        let rows = parse_csv(text, "pos.csv").unwrap();
        assert_eq!(
            rows,
            [
                row(1, "100000000000001", "Kasse 1; ved døren", "123456", "till-1"),
                row(2, "27072F82-C4B6-49CD-9838-10F21D87496E", "Kasse \"2\"", "123456", ""),
            ]
        );
    }

    #[test]
    fn a_csv_file_without_a_beacon_column_or_with_an_open_quote_is_refused_whole() {
        assert!(matches!(
            parse_csv("name,msn\nKasse 1,123456\n", "pos.csv"),
            Err(InputError::MissingColumn { column: "beaconId", .. })
        ));
        assert!(matches!(
            parse_csv("beaconId,posName\n100000000000001,\"Kasse 1\n", "pos.csv"),
            Err(InputError::BadCsv { line: 2, .. })
        ));
        assert!(matches!(parse_csv("beaconId,posName\n", "pos.csv"), Err(InputError::Empty(_))));
    }

    #[test]
    fn a_quoted_field_may_hold_the_delimiter_a_doubled_quote_and_a_line_break() {
        let text = "beaconId,posName,msn\n\
                    100000000000001,\"Kasse 1, \"\"ved\"\"\r\ndøren\",123456\n\
                    100000000000002,Kasse 2,123456";
        let rows = parse_csv(text, "pos.csv").unwrap();
        assert_eq!(
            rows,
            [
                row(1, "100000000000001", "Kasse 1, \"ved\"\r\ndøren", "123456", ""),
                row(2, "100000000000002", "Kasse 2", "123456", ""),
            ]
        );
    }

    #[test]
    fn tabs_separate_the_fields_when_they_separate_the_header() {
        let rows = parse_csv("beaconId\tposName\n100000000000001\tKasse 1, ved døren\n", "pos.csv").unwrap();
        assert_eq!(rows, [row(1, "100000000000001", "Kasse 1, ved døren", "", "")]);
    }

    #[test]
    fn a_bom_and_lines_without_content_before_the_header_and_between_rows_are_skipped() {
        let text = "\u{feff}\r\n   \r\n;;;\r\nbeaconId;posName\r\n;\r\n100000000000001;Kasse 1\r\n \t \r\n\
                    100000000000002;Kasse 2\r\n\r\n";
        let rows = parse_csv(text, "pos.csv").unwrap();
        assert_eq!(
            rows,
            [row(1, "100000000000001", "Kasse 1", "", ""), row(2, "100000000000002", "Kasse 2", "", "")],
            "the row numbers count the rows with content, from the first after the header"
        );
    }

    #[test]
    fn header_names_are_matched_without_case_blanks_or_punctuation_and_the_first_alias_wins() {
        let text = "Name, Beacon ID ,POS-name,Merchant Serial Number,Till_Id,Till\n\
                    Kasse 1,100000000000001,Kasse én,123456,till-1,till-2\n";
        let rows = parse_csv(text, "pos.csv").unwrap();
        assert_eq!(rows, [row(1, "100000000000001", "Kasse 1", "123456", "till-1")]);
    }

    #[test]
    fn a_row_may_have_fewer_or_more_fields_than_the_header_and_blank_fields_are_missing() {
        let text =
            "beaconId,posName,msn,till\n100000000000001,Kasse 1\n100000000000002,  ,123456,till-1,extra\n";
        let rows = parse_csv(text, "pos.csv").unwrap();
        assert_eq!(
            rows,
            [row(1, "100000000000001", "Kasse 1", "", ""), row(2, "100000000000002", "", "123456", "till-1")]
        );
    }

    #[test]
    fn a_quote_closed_at_the_very_end_of_the_file_is_not_an_open_one() {
        let rows = parse_csv("beaconId,posName\n100000000000001,\"Kasse \"\"1\"\"\"", "pos.csv").unwrap();
        assert_eq!(rows, [row(1, "100000000000001", "Kasse \"1\"", "", "")]);
    }

    #[test]
    fn a_quote_left_open_refuses_the_file_naming_the_line_its_row_starts_on() {
        let text = "beaconId,posName\r\n\"100000000000001\",\"Kasse\r\n1\"\r\n\r\n\r\n\
                    100000000000002,\"Kasse 2\"\"\r\n100000000000003,Kasse 3\r\n";
        let error = parse_csv(text, "pos.csv").unwrap_err();
        assert_eq!(
            error,
            InputError::BadCsv {
                file: "pos.csv".into(),
                line: 6,
                reason: "a quoted field is not closed".into()
            }
        );
        assert_eq!(error.to_string(), "pos.csv, line 6: a quoted field is not closed");
        let error = parse_csv("beaconId,posName\n\"", "pos.csv").unwrap_err();
        assert_eq!(error.to_string(), "pos.csv, line 2: a quoted field is not closed");
    }

    #[test]
    fn a_csv_file_without_a_pos_name_column_says_which_column_and_how_the_header_looks() {
        let error = parse_csv("beaconId;msn\n100000000000001;123456\n", "pos.csv").unwrap_err();
        assert_eq!(
            error.to_string(),
            "pos.csv has no posName column; the first line must name the columns, e.g. beaconId,posName,msn,till"
        );
        assert_eq!(parse_csv("\u{feff}\n ; \n", "pos.csv"), Err(InputError::Empty("pos.csv".into())));
    }

    #[test]
    fn json_takes_the_pos_apis_field_names_and_numbers() {
        let text = r#"[{"beaconId": 100000000000001, "name": "Kasse 1", "msn": 123456, "posId": "x"},
                       {"beaconId": "100000000000002", "posName": "Kasse 2", "till": "till-2"}]"#;
        let rows = parse_json(text, "pos.json").unwrap();
        assert_eq!(
            rows,
            [
                row(1, "100000000000001", "Kasse 1", "123456", ""),
                row(2, "100000000000002", "Kasse 2", "", "till-2")
            ]
        );
        assert!(matches!(parse_json("{}", "pos.json"), Err(InputError::BadJson { .. })));
    }
}
