//! A roster: who the head of a health centre or school says actually serves there in a
//! month, person by person, present or absent.
//!
//! A submission arrives as JSON from a ministry app or a district's system. It is read
//! here whole, and every fault is reported at once with the entry's index and the
//! field, so a site can fix its list in one round instead of one error at a time.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{CivilServantId, Name, NationalId, ParseError, Period, Sex, text};

/// Most entries one roster may list: more than the largest hospital's staff.
pub const MAX_ROSTER_ENTRIES: usize = 5_000;
const MAX_ROLE_CHARS: usize = 100;
const MAX_NOTE_CHARS: usize = 500;

/// A site's roster for one month, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterSubmission {
    pub period: Period,
    pub entries: Vec<RosterEntry>,
}

/// One person on a roster. A person is named by their civil-servant id where they have
/// one, otherwise by national id or by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterEntry {
    pub civil_servant_id: Option<CivilServantId>,
    pub national_id: Option<NationalId>,
    pub name_km: Option<Name>,
    pub name_latin: Option<Name>,
    pub sex: Option<Sex>,
    pub role: Option<String>,
    pub present: bool,
    pub note: Option<String>,
}

/// One fault of a submission: the entry (none for the submission's own fields), the
/// field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub index: Option<usize>,
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub(crate) fn top(field: &str, reason: impl Into<String>) -> Self {
        Self {
            index: None,
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    fn entry(index: usize, field: &str, reason: impl Into<String>) -> Self {
        Self {
            index: Some(index),
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

const SUBMISSION_FIELDS: [&str; 2] = ["period", "entries"];
const ENTRY_FIELDS: [&str; 8] = [
    "civil_servant_id",
    "national_id",
    "name_km",
    "name_latin",
    "sex",
    "role",
    "present",
    "note",
];

impl RosterSubmission {
    /// Reads a submission's JSON body. `latest` is the latest month a roster may be
    /// for (the current one): a site reports who serves, not who will.
    pub fn parse(body: &Value, latest: Period) -> Result<Self, Vec<FieldError>> {
        let Some(object) = body.as_object() else {
            return Err(vec![FieldError::top(
                "body",
                "must be a JSON object with `period` and `entries`",
            )]);
        };
        let mut errors = Vec::new();
        for key in object.keys() {
            if !SUBMISSION_FIELDS.contains(&key.as_str()) {
                errors.push(FieldError::top(
                    key,
                    "is not a field of a roster (expected `period` and `entries`)",
                ));
            }
        }
        let period = match object.get("period") {
            None | Some(Value::Null) => {
                errors.push(FieldError::top("period", "is required (YYYY-MM)"));
                None
            }
            Some(Value::String(s)) => match Period::parse(s) {
                Ok(p) if p > latest => {
                    errors.push(FieldError::top(
                        "period",
                        format!("is after the current month {latest}"),
                    ));
                    None
                }
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(FieldError::top("period", e.reason));
                    None
                }
            },
            Some(_) => {
                errors.push(FieldError::top("period", "must be a string (YYYY-MM)"));
                None
            }
        };
        let entries = match object.get("entries") {
            Some(Value::Array(items)) if items.len() > MAX_ROSTER_ENTRIES => {
                errors.push(FieldError::top(
                    "entries",
                    format!(
                        "lists {} people; a roster lists at most {MAX_ROSTER_ENTRIES}",
                        items.len()
                    ),
                ));
                Vec::new()
            }
            Some(Value::Array(items)) => read_entries(items, &mut errors),
            None | Some(Value::Null) => {
                errors.push(FieldError::top(
                    "entries",
                    "is required (a list, empty when nobody serves)",
                ));
                Vec::new()
            }
            Some(_) => {
                errors.push(FieldError::top("entries", "must be a list"));
                Vec::new()
            }
        };
        match period {
            Some(period) if errors.is_empty() => Ok(Self { period, entries }),
            _ => Err(errors),
        }
    }
}

fn read_entries(items: &[Value], errors: &mut Vec<FieldError>) -> Vec<RosterEntry> {
    let mut entries = Vec::with_capacity(items.len());
    // Where each id was first listed: one person listed twice is a mistake to fix.
    let mut csids: std::collections::HashMap<String, usize> = Default::default();
    let mut nids: std::collections::HashMap<String, usize> = Default::default();
    for (index, item) in items.iter().enumerate() {
        let Some(object) = item.as_object() else {
            errors.push(FieldError::entry(index, "entry", "must be a JSON object"));
            continue;
        };
        let before = errors.len();
        let entry = read_entry(index, object, errors);
        if let Some(c) = &entry.civil_servant_id
            && let Some(first) = csids.insert(c.to_string(), index)
        {
            errors.push(FieldError::entry(
                index,
                "civil_servant_id",
                format!("the same civil-servant id is also listed at entry {first}"),
            ));
            csids.insert(c.to_string(), first);
        }
        if let Some(n) = &entry.national_id
            && let Some(first) = nids.insert(n.to_string(), index)
        {
            errors.push(FieldError::entry(
                index,
                "national_id",
                format!("the same national id is also listed at entry {first}"),
            ));
            nids.insert(n.to_string(), first);
        }
        if errors.len() == before {
            entries.push(entry);
        }
    }
    entries
}

fn read_entry(
    index: usize,
    object: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> RosterEntry {
    for key in object.keys() {
        if !ENTRY_FIELDS.contains(&key.as_str()) {
            errors.push(FieldError::entry(
                index,
                key,
                "is not a field of a roster entry",
            ));
        }
    }
    let civil_servant_id = optional(
        index,
        object,
        "civil_servant_id",
        errors,
        CivilServantId::parse,
    );
    let national_id = optional(index, object, "national_id", errors, NationalId::parse);
    let name_km = optional(index, object, "name_km", errors, Name::parse);
    let name_latin = optional(index, object, "name_latin", errors, Name::parse);
    let sex = optional(index, object, "sex", errors, Sex::parse);
    let role = optional(index, object, "role", errors, |s| {
        bounded_text(s, MAX_ROLE_CHARS)
    });
    let note = optional(index, object, "note", errors, |s| {
        bounded_text(s, MAX_NOTE_CHARS)
    });
    let present = match object.get("present") {
        Some(Value::Bool(b)) => *b,
        None | Some(Value::Null) => {
            errors.push(FieldError::entry(
                index,
                "present",
                "is required: true when the person serves here this month, false when absent",
            ));
            false
        }
        Some(_) => {
            errors.push(FieldError::entry(index, "present", "must be true or false"));
            false
        }
    };
    let named = |name: &str| matches!(object.get(name), Some(v) if !v.is_null());
    if !named("civil_servant_id") && !named("national_id") && !named("name_km") {
        errors.push(FieldError::entry(
            index,
            "name_km",
            "is needed when neither civil_servant_id nor national_id is given",
        ));
    }
    RosterEntry {
        civil_servant_id,
        national_id,
        name_km,
        name_latin,
        sex,
        role,
        present,
        note,
    }
}

/// An entry's optional string field, read with `parse`; null is the same as absent.
fn optional<T>(
    index: usize,
    object: &Map<String, Value>,
    name: &str,
    errors: &mut Vec<FieldError>,
    parse: impl Fn(&str) -> Result<T, ParseError>,
) -> Option<T> {
    match object.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => parse(s)
            .map_err(|e| errors.push(FieldError::entry(index, name, e.reason)))
            .ok(),
        Some(_) => {
            errors.push(FieldError::entry(index, name, "must be a string"));
            None
        }
    }
}

/// Free text a person typed: normalised, not empty, at most `max` characters.
fn bounded_text(input: &str, max: usize) -> Result<String, ParseError> {
    ParseError::refuse_nul("text", input)?;
    let s = text::normalize(input);
    if s.is_empty() {
        return Err(ParseError::new(
            "text",
            "is empty (leave the field out instead)",
        ));
    }
    if s.chars().count() > max {
        return Err(ParseError::new(
            "text",
            format!("is longer than {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(ParseError::new("text", "contains control characters"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn latest() -> Period {
        Period::parse("2025-12").expect("period")
    }

    fn errors_of(body: Value) -> Vec<(Option<usize>, String)> {
        RosterSubmission::parse(&body, latest())
            .expect_err("refused")
            .into_iter()
            .map(|e| (e.index, e.field))
            .collect()
    }

    #[test]
    fn a_good_roster_reads_with_khmer_digits_and_every_kind_of_name() {
        let body = json!({
            "period": "២០២៥-១២",
            "entries": [
                {"civil_servant_id": "០១២៣៤៥៦៧៨៩", "name_km": "សុខ ដារ៉ា", "sex": "ស្រី", "role": "ឆ្មប", "present": true},
                {"national_id": "010203040", "name_km": "ចាន់ ថា", "present": false, "note": "ឈប់សម្រាកលំហែមាតុភាព"},
                {"name_km": "កែវ សុភា", "name_latin": "Keo Sophea", "sex": "male", "present": true}
            ]
        });
        let r = RosterSubmission::parse(&body, latest()).expect("valid");
        assert_eq!(r.period.to_string(), "2025-12");
        assert_eq!(r.entries.len(), 3);
        assert_eq!(
            r.entries[0]
                .civil_servant_id
                .as_ref()
                .map(ToString::to_string),
            Some("0123456789".to_owned())
        );
        assert_eq!(r.entries[0].sex, Some(Sex::Female));
        assert!(!r.entries[1].present);
        assert_eq!(
            r.entries[2].name_latin.as_ref().map(Name::as_str),
            Some("Keo Sophea")
        );
    }

    #[test]
    fn an_empty_roster_is_a_roster() {
        let r = RosterSubmission::parse(&json!({"period": "2025-11", "entries": []}), latest())
            .expect("valid");
        assert!(r.entries.is_empty());
    }

    #[test]
    fn every_bad_entry_is_named_by_index_and_field() {
        let errors = errors_of(json!({
            "period": "2025-12",
            "entries": [
                {"civil_servant_id": "12", "present": true},
                {"name_km": "សុខ ដារ៉ា", "present": "yes"},
                {"name_km": "សុខ ដារ៉ា", "sex": "x", "present": true},
                {"present": true},
                {"name_km": "សុខ ដារ៉ា", "present": true, "salary": 10},
                {"national_id": "ABC", "present": true},
                {"name_km": 5, "present": true},
                "not an object",
                {"name_km": "   ", "present": true}
            ]
        }));
        for expected in [
            (Some(0), "civil_servant_id"),
            (Some(1), "present"),
            (Some(2), "sex"),
            (Some(3), "name_km"),
            (Some(4), "salary"),
            (Some(5), "national_id"),
            (Some(6), "name_km"),
            (Some(7), "entry"),
            (Some(8), "name_km"),
        ] {
            assert!(
                errors.contains(&(expected.0, expected.1.to_owned())),
                "{expected:?} missing from {errors:?}"
            );
        }
    }

    #[test]
    fn one_person_listed_twice_is_refused_at_the_second_listing() {
        let errors = errors_of(json!({"period": "2025-12", "entries": [
            {"civil_servant_id": "0123456789", "present": true},
            {"civil_servant_id": "0123456789", "present": false},
            {"national_id": "010203040", "present": true},
            {"national_id": "010203040", "name_km": "ចាន់ ថា", "present": true}
        ]}));
        assert_eq!(
            errors,
            vec![
                (Some(1), "civil_servant_id".to_owned()),
                (Some(3), "national_id".to_owned())
            ]
        );
    }

    #[test]
    fn the_submission_itself_must_be_well_formed() {
        let cases = [
            (json!([]), "body"),
            (json!({"entries": []}), "period"),
            (json!({"period": "2025-13", "entries": []}), "period"),
            (json!({"period": "2026-01", "entries": []}), "period"),
            (json!({"period": 202512, "entries": []}), "period"),
            (json!({"period": "2025-12"}), "entries"),
            (json!({"period": "2025-12", "entries": {}}), "entries"),
            (
                json!({"period": "2025-12", "entries": [], "facility": "x"}),
                "facility",
            ),
        ];
        for (body, field) in cases {
            let errors = errors_of(body.clone());
            assert!(
                errors.contains(&(None, field.to_owned())),
                "{body}: {errors:?}"
            );
        }
    }

    #[test]
    fn a_roster_longer_than_any_site_is_refused() {
        let entries: Vec<Value> = (0..=MAX_ROSTER_ENTRIES)
            .map(|i| json!({"name_km": format!("ក {i}"), "present": true}))
            .collect();
        let errors = errors_of(json!({"period": "2025-12", "entries": entries}));
        assert_eq!(errors, vec![(None, "entries".to_owned())]);
    }

    #[test]
    fn a_nul_in_any_text_of_an_entry_is_refused_naming_the_field() {
        let errors = RosterSubmission::parse(
            &json!({"period": "2025-12", "entries": [
                {"name_km": "ក\u{0}ខ", "present": true},
                {"name_km": "ក", "role": "ឆ្មប\u{0}", "present": true},
                {"name_km": "ខ", "note": "\u{0}", "present": true},
                {"civil_servant_id": "0123456789\u{0}", "present": true},
                {"national_id": "010203040\u{0}", "present": true}
            ]}),
            latest(),
        )
        .expect_err("refused");
        let got: Vec<(Option<usize>, &str, &str)> = errors
            .iter()
            .map(|e| (e.index, e.field.as_str(), e.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(0), "name_km", crate::NUL_RULE),
                (Some(1), "role", crate::NUL_RULE),
                (Some(2), "note", crate::NUL_RULE),
                (Some(3), "civil_servant_id", crate::NUL_RULE),
                (Some(4), "national_id", crate::NUL_RULE),
            ]
        );
        // A period with a NUL is refused too.
        let errors = errors_of(json!({"period": "2025-12\u{0}", "entries": []}));
        assert_eq!(errors, vec![(None, "period".to_owned())]);
    }

    #[test]
    fn notes_and_roles_are_bounded() {
        let errors = errors_of(json!({"period": "2025-12", "entries": [
            {"name_km": "ក", "present": true, "note": "x".repeat(501)},
            {"name_km": "ខ", "present": true, "role": ""}
        ]}));
        assert_eq!(
            errors,
            vec![(Some(0), "note".to_owned()), (Some(1), "role".to_owned())]
        );
    }
}
