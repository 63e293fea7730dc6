//! The raw-record archive: every record a source sent, valid or not, as received.

use std::borrow::Cow;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use schema::Ministry;
use serde_json::Value;
use tokio_postgres::types::Json;

use super::{Column, Duplicates, OnConflict, Outcome, Table, each, last_of_each};
use crate::{StoreError, storable};

/// A record as a source sent it, kept whether it was valid or not.
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub ministry: Ministry,
    /// What kind of record the source sent (`officer`, `organisation_unit`, ...).
    pub record_type: String,
    /// The source's id for it, when the record had a readable one.
    pub source_id: Option<String>,
    pub payload: Value,
    pub fetched_at: DateTime<Utc>,
    /// Why the record was rejected (each problem's field, rule and value); none for a
    /// valid record.
    pub rejection: Option<Vec<schema::ParseError>>,
    /// The place the record names, when it reads as a gazetteer code: who may see the
    /// rejection (see [`crate::Store::list_rejections`]).
    pub place: Option<schema::AdminCode>,
    /// The sync run that received it.
    pub run_id: Option<i64>,
}

/// What a record is kept under: the source's id, or without one a hash of the payload.
fn source_key(r: &RawRecord) -> String {
    r.source_id.clone().unwrap_or_else(|| {
        use sha2::Digest;
        format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(r.payload.to_string().as_bytes()))
        )
    })
}

/// A rejection's reason anyone may read: each problem's field and rule, no value.
fn value_free_reason(problems: &[schema::ParseError]) -> String {
    let parts: Vec<String> = problems
        .iter()
        .map(|p| storable::text(&p.to_string()).into_owned())
        .collect();
    if parts.is_empty() {
        "unreadable record".to_owned()
    } else {
        parts.join("; ")
    }
}

/// Problems as jsonb takes them: a NUL in any of their texts stood in for.
fn storable_problems(problems: &[schema::ParseError]) -> Vec<schema::ParseError> {
    problems
        .iter()
        .map(|p| schema::ParseError {
            what: storable::text(&p.what).into_owned(),
            reason: storable::text(&p.reason).into_owned(),
            value: p.value.as_deref().map(|v| storable::text(v).into_owned()),
        })
        .collect()
}

/// The payload as jsonb takes it: jsonb takes no NUL, so such a payload goes with a
/// stand-in for each, and whole, as received, beside it ([`original_payload`]).
fn storable_payload(r: &RawRecord) -> Cow<'_, Value> {
    if storable::has_nul(&r.payload) {
        Cow::Owned(storable::without_nul(&r.payload))
    } else {
        Cow::Borrowed(&r.payload)
    }
}

/// The payload exactly as received, kept only when jsonb could not take it so.
fn original_payload(r: &RawRecord) -> Option<Vec<u8>> {
    storable::has_nul(&r.payload).then(|| serde_json::to_vec(&r.payload).unwrap_or_default())
}

/// A record sent again replaces the copy held under the same key, whatever it held.
pub(super) static RAW_RECORDS: Table<RawRecord> = Table {
    name: "raw_records",
    columns: &[
        Column::key("ministry", "text", |rows| {
            each(rows, |r| r.ministry.as_str())
        }),
        Column::key("record_type", "text", |rows| {
            each(rows, |r| r.record_type.as_str())
        }),
        Column::key("source_key", "text", |rows| {
            each(rows, |r| storable::text(&source_key(r)).into_owned())
        }),
        Column::carried("source_id", "text", |rows| {
            each(rows, |r| {
                r.source_id
                    .as_deref()
                    .map(|s| storable::text(s).into_owned())
            })
        }),
        Column::carried("payload", "jsonb", |rows| {
            each(rows, |r| Json(storable_payload(r)))
        }),
        Column::carried("fetched_at", "timestamptz", |rows| {
            each(rows, |r| r.fetched_at)
        }),
        Column::carried("valid", "bool", |rows| {
            each(rows, |r| r.rejection.is_none())
        }),
        Column::carried("rejection_reason", "text", |rows| {
            each(rows, |r| r.rejection.as_deref().map(value_free_reason))
        }),
        Column::carried("run_id", "bigint", |rows| each(rows, |r| r.run_id)),
        Column::carried("rejection_problems", "jsonb", |rows| {
            each(rows, |r| {
                r.rejection.as_deref().map(|p| Json(storable_problems(p)))
            })
        }),
        Column::carried("place", "text", |rows| {
            each(rows, |r| r.place.as_ref().map(schema::AdminCode::as_str))
        }),
        Column::carried("payload_original", "bytea", |rows| {
            each(rows, original_payload)
        }),
    ],
    on_conflict: OnConflict::Replace,
    duplicates: Duplicates::NoneSent,
    outcome: Outcome::RowCount,
    identifiers_of: None,
    statement: OnceLock::new(),
};

/// Keeps `records`, the last of each key; returns how many rows were written.
pub(crate) async fn write(
    client: &impl GenericClient,
    records: &[RawRecord],
) -> Result<u64, StoreError> {
    let keyed: Vec<(String, &RawRecord)> = records.iter().map(|r| (source_key(r), r)).collect();
    let rows: Vec<&RawRecord> = last_of_each(&keyed, |(k, r)| {
        (r.ministry, r.record_type.clone(), k.clone())
    })
    .into_iter()
    .map(|(_, r)| *r)
    .collect();
    RAW_RECORDS.write(client, &rows).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(source_id: Option<&str>, payload: Value) -> RawRecord {
        RawRecord {
            ministry: Ministry::Moh,
            record_type: "worker".into(),
            source_id: source_id.map(str::to_owned),
            payload,
            fetched_at: DateTime::<Utc>::UNIX_EPOCH,
            rejection: None,
            place: None,
            run_id: None,
        }
    }

    #[test]
    fn a_record_is_kept_under_its_id_or_its_payload_hash() {
        assert_eq!(source_key(&record(Some("w-1"), json!({}))), "w-1");
        let a = source_key(&record(None, json!({"n": 1})));
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64, "{a}");
        assert_eq!(a, source_key(&record(None, json!({"n": 1}))));
        assert_ne!(a, source_key(&record(None, json!({"n": 2}))));
    }

    #[test]
    fn a_payload_with_a_nul_is_stood_in_for_and_kept_as_received() {
        let clean = record(Some("a"), json!({"name": "Sok"}));
        assert!(matches!(storable_payload(&clean), Cow::Borrowed(_)));
        assert_eq!(original_payload(&clean), None);
        let nul = record(Some("b"), json!({"name": "So\u{0}k"}));
        assert_eq!(*storable_payload(&nul), json!({"name": "So\u{FFFD}k"}));
        assert_eq!(
            original_payload(&nul).unwrap(),
            serde_json::to_vec(&nul.payload).unwrap()
        );
    }

    #[test]
    fn a_reason_names_fields_and_rules_without_values() {
        assert_eq!(value_free_reason(&[]), "unreadable record");
        let problems = [
            schema::ParseError::new("sex", "is not M or F").with_value("secret\u{0}"),
            schema::ParseError::new("birth_date", "is in the future"),
        ];
        let reason = value_free_reason(&problems);
        assert!(!reason.contains("secret"), "{reason}");
        assert!(reason.contains("sex") && reason.contains("; "), "{reason}");
        let stored = storable_problems(&problems);
        assert_eq!(stored[0].value.as_deref(), Some("secret\u{FFFD}"));
    }
}
