#![allow(clippy::unwrap_used)]
//! Hand-written payroll lines and pages, read without HTTP.

use adapter_core::{Feed, Record};
use schema::{Ministry, Period};
use serde_json::json;

use crate::{item_source_id, payroll_entry, read_envelope};

fn period() -> Period {
    Period::parse("2024-01").unwrap()
}

#[test]
fn payroll_lines_in_the_forms_written() {
    let cases = [
        (
            json!({"officer_id": "1000123456", "ministry": "MOEYS", "budget_unit": "BU-0102", "status": "paid"}),
            "1000123456",
            "MOEYS",
            "BU-0102",
            "paid",
        ),
        (
            json!({"officer_id": "១០០០១២៣៤៥៦", "ministry": "moh", "budget_unit": " 12 ", "status": "suspended"}),
            "1000123456",
            "MOH",
            "12",
            "suspended",
        ),
        (
            json!({"officer_id": 1000123456, "ministry": "MEF"}),
            "1000123456",
            "MEF",
            "",
            "",
        ),
        (
            json!({"officer_id": "1000-123-456", "ministry": "MCS", "budget_unit": null, "status": "", "extra": 1}),
            "1000123456",
            "MCS",
            "",
            "",
        ),
    ];
    for (item, officer, ministry, budget_unit, status) in cases {
        let fetched = payroll_entry(period(), item.clone()).unwrap();
        assert_eq!(fetched.source_id, officer);
        assert_eq!(fetched.raw, item, "the raw line is kept as it came");
        let Record::Payroll(entry) = fetched.record else {
            panic!("not a payroll entry")
        };
        assert_eq!(entry.period, period());
        assert_eq!(entry.civil_servant_id.as_str(), officer);
        assert_eq!(entry.ministry.as_str(), ministry);
        assert_eq!(entry.budget_unit, budget_unit);
        assert_eq!(entry.status, status);
    }
}

#[test]
fn unreadable_lines_are_rejected_naming_the_field() {
    let cases = [
        (
            json!({"ministry": "MOH"}),
            "officer_id: is missing or empty",
            None,
        ),
        (
            json!({"officer_id": "  ", "ministry": "MOH"}),
            "officer_id: is missing or empty",
            None,
        ),
        (
            json!({"officer_id": "12ab56", "ministry": "MOH"}),
            "officer_id: must contain only digits",
            Some("12ab56"),
        ),
        (
            json!({"officer_id": "123", "ministry": "MOH"}),
            "officer_id: has 3 digits",
            Some("123"),
        ),
        (
            json!({"officer_id": "1000123456"}),
            "ministry: is missing or empty",
            Some("1000123456"),
        ),
        (
            json!({"officer_id": "1000123456", "ministry": "Health Ministry"}),
            "ministry: is not a ministry code",
            Some("1000123456"),
        ),
        (
            json!({"officer_id": true, "ministry": "M"}),
            "officer_id: is missing or empty; ministry:",
            None,
        ),
        (
            json!(["1000123456", "MOH"]),
            "line: is not a JSON object",
            None,
        ),
        (json!(null), "line: is not a JSON object", None),
    ];
    for (item, reason, source_id) in cases {
        let r = payroll_entry(period(), item.clone()).unwrap_err();
        assert!(
            r.reason().starts_with(reason),
            "{item}: {:?} does not start with {reason:?}",
            r.reason()
        );
        assert_eq!(r.source_id.as_deref(), source_id, "{item}");
        assert_eq!(r.ministry, Ministry::Mef);
        assert_eq!(r.feed, Feed::Payroll(period()));
        assert_eq!(r.raw, item);
    }
}

#[test]
fn a_page_must_be_for_the_month_asked() {
    let body = |p: &str| format!(r#"{{"period":"{p}","items":[],"page":1,"total_pages":0}}"#);
    assert!(read_envelope(body("2024-01").as_bytes(), period()).is_ok());
    assert!(
        read_envelope(body("2024-02").as_bytes(), period())
            .unwrap_err()
            .contains("period 2024-02, not 2024-01")
    );
    assert!(
        read_envelope(body("January").as_bytes(), period())
            .unwrap_err()
            .contains("YYYY-MM")
    );
    assert!(
        read_envelope(
            br#"{"period":"2024-01","page":1,"total_pages":1}"#,
            period()
        )
        .unwrap_err()
        .contains("items")
    );
    assert!(read_envelope(b"<html>busy</html>", period()).is_err());
}

#[test]
fn the_guard_id_is_the_normalised_officer_id() {
    assert_eq!(
        item_source_id(&json!({"officer_id": "១០០០ ១២៣ ៤៥៦"})).as_deref(),
        Some("1000123456")
    );
    assert_eq!(
        item_source_id(&json!({"officer_id": "x1"})).as_deref(),
        Some("x1")
    );
    assert_eq!(item_source_id(&json!({})), None);
}

#[test]
fn feeds_are_the_configured_periods_once_each() {
    use adapter_core::Adapter;
    let (a, b) = (period(), Period::parse("2024-02").unwrap());
    let adapter = crate::MefAdapter::new(
        "http://mef.example/",
        adapter_core::ClientConfig::default(),
        vec![a, b, a],
    )
    .unwrap();
    assert_eq!(adapter.feeds(), [Feed::Payroll(a), Feed::Payroll(b)]);
    assert_eq!(
        adapter.url(a, 3),
        "http://mef.example/api/payroll/2024-01?page=3&size=1000"
    );
    assert!(
        crate::MefAdapter::new(
            "mef.example",
            adapter_core::ClientConfig::default(),
            vec![a]
        )
        .is_err()
    );
}

#[test]
fn the_default_period_is_the_month_before_cambodias_today() {
    use adapter_core::{Adapter, Clock};
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert_eq!(
        crate::month_before(day("2026-12-02")),
        Some(Period::parse("2026-11").unwrap())
    );
    assert_eq!(
        crate::month_before(day("2027-01-31")),
        Some(Period::parse("2026-12").unwrap())
    );
    assert_eq!(crate::month_before(day("1990-01-15")), None);
    let at = |t: &str| {
        Clock::Fixed(
            chrono::DateTime::parse_from_rfc3339(t)
                .unwrap()
                .with_timezone(&chrono::Utc),
        )
    };
    // 2027-12-31T18:00Z is already 2028-01-01 in Phnom Penh: December has closed.
    for (now, month) in [
        ("2027-12-31T16:59:59Z", "2027-11"),
        ("2027-12-31T18:00:00Z", "2027-12"),
    ] {
        let adapter = crate::MefAdapter::new(
            "http://mef.example",
            adapter_core::ClientConfig::default(),
            crate::Periods::LastMonth(at(now)),
        )
        .unwrap();
        assert_eq!(
            adapter.feeds(),
            [Feed::Payroll(Period::parse(month).unwrap())],
            "{now}"
        );
    }
}

#[test]
fn only_a_month_not_published_is_not_a_failure() {
    use adapter_core::Adapter;
    let adapter = crate::MefAdapter::new(
        "http://mef.example",
        adapter_core::ClientConfig::default(),
        vec![period()],
    )
    .unwrap();
    let not_published = crate::MefError::NotPublished {
        period: period(),
        url: adapter.url(period(), 1),
        answer: "answered 404",
    };
    assert!(adapter.not_published(&not_published));
    assert_eq!(
        not_published.to_string(),
        "mef: the payroll of 2024-01 is not published yet \
         (http://mef.example/api/payroll/2024-01?page=1&size=1000 answered 404)"
    );
    let unreadable = crate::MefError::Page {
        url: adapter.url(period(), 1),
        cause: "not JSON".to_owned(),
    };
    assert!(!adapter.not_published(&unreadable));
}

#[test]
fn a_line_with_a_nul_is_rejected_naming_the_field() {
    let r = payroll_entry(
        period(),
        json!({"officer_id": "1000123456", "ministry": "MOH", "status": "pa\u{0}id"}),
    )
    .unwrap_err();
    assert_eq!(r.problems[0].what, "status");
    assert_eq!(r.problems[0].reason, schema::NUL_RULE);
    assert_eq!(r.source_id.as_deref(), Some("1000123456"));
}
