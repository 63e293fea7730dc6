//! The world's calendar: it follows the clock unless given a date, and a world as of
//! another month is the same world moved in time.

use chrono::{Datelike, Duration, FixedOffset, NaiveDate, Utc};
use mock_ministries::{MockConfig, Scale};
use serde_json::Value;

use crate::harness::{as_of, start_with};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

/// The last full month before today in Cambodia, `YYYY-MM`.
fn last_full_month() -> String {
    let today = Utc::now()
        .with_timezone(&FixedOffset::east_opt(7 * 3600).expect("UTC+7"))
        .date_naive();
    let first = today.with_day(1).expect("first of the month");
    let last_month = first - Duration::days(1);
    format!("{:04}-{:02}", last_month.year(), last_month.month())
}

#[tokio::test]
async fn a_world_follows_the_clock_unless_given_a_date() {
    let before = last_full_month();
    let mock = start_with(MockConfig {
        scale: Scale::Small,
        seed: 5,
        as_of: None,
        linkage_noise: false,
    })
    .await;
    let after = last_full_month();
    let current = mock.server.truth().current_period.clone();
    assert!(
        current == before || current == after,
        "current period {current}, today's last full month {after}"
    );
    assert_eq!(mock.server.truth().periods.last(), Some(&current));
    assert_eq!(mock.server.truth().periods.len(), 24);
    let items = mock.payroll(&current).await;
    assert_eq!(
        Some(&(items.len() as u64)),
        mock.server.truth().counts.mef_payroll.get(&current)
    );
    mock.server.stop().await;

    let pinned = start_with(MockConfig {
        scale: Scale::Small,
        seed: 5,
        as_of: Some(date(2030, 3, 31)),
        linkage_noise: false,
    })
    .await;
    assert_eq!(pinned.server.truth().current_period, "2030-02");
    assert_eq!(pinned.server.truth().periods[0], "2028-03");
    pinned.server.stop().await;
}

/// The officers of the roll as served, and their `modified_at` read as a time.
async fn roll(mock: &crate::harness::Mock) -> Vec<(Value, chrono::DateTime<FixedOffset>)> {
    mock.mcs_officers("")
        .await
        .into_iter()
        .map(|mut o| {
            let t = o["modified_at"].take();
            let t = chrono::DateTime::parse_from_rfc3339(t.as_str().expect("modified_at"))
                .expect("an RFC 3339 time");
            (o, t)
        })
        .collect()
}

#[tokio::test]
async fn a_world_a_year_on_is_the_same_world_moved_a_year() {
    let (now, later) = tokio::join!(
        start_with(MockConfig {
            scale: Scale::Small,
            seed: 9,
            as_of: Some(as_of()),
            linkage_noise: false,
        }),
        start_with(MockConfig {
            scale: Scale::Small,
            seed: 9,
            as_of: Some(date(2027, 1, 2)),
            linkage_noise: false,
        }),
    );
    let (a, b) = (now.server.truth(), later.server.truth());
    assert_eq!(
        (a.current_period.as_str(), b.current_period.as_str()),
        ("2025-12", "2026-12")
    );
    assert_eq!(
        (a.periods[0].as_str(), b.periods[0].as_str()),
        ("2024-01", "2025-01")
    );
    assert_eq!(a.facts.paid_not_on_roll, b.facts.paid_not_on_roll);
    assert_eq!(a.counts.mcs_officers, b.counts.mcs_officers);
    for (p, q) in a.periods.iter().zip(&b.periods) {
        assert_eq!(
            a.counts.mef_payroll[p], b.counts.mef_payroll[q],
            "{p} and {q}"
        );
    }
    let moved: Vec<_> = a
        .facts
        .on_roll_not_paid
        .iter()
        .map(|f| f.last_paid_period.clone())
        .collect();
    let later_periods: Vec<_> = b
        .facts
        .on_roll_not_paid
        .iter()
        .map(|f| {
            let p = f.last_paid_period.clone().expect("last paid");
            let i = b
                .periods
                .iter()
                .position(|q| *q == p)
                .expect("a period served");
            Some(a.periods[i].clone())
        })
        .collect();
    assert_eq!(moved, later_periods);

    let (items_a, items_b) = tokio::join!(now.payroll("2025-12"), later.payroll("2026-12"));
    assert_eq!(items_a, items_b, "the current payroll is the same lines");

    // The same officers, each modified a year (2025-12-01 to 2026-12-01) later.
    let (roll_a, roll_b) = tokio::join!(roll(&now), roll(&later));
    assert_eq!(roll_a.len(), roll_b.len());
    for ((o, t), (p, u)) in roll_a.iter().zip(&roll_b) {
        assert_eq!(o, p);
        assert_eq!(*u - *t, Duration::days(365), "{}", o["officer_id"]);
    }
    let newest = roll_b.iter().map(|(_, t)| *t).max().expect("officers");
    assert!(newest.date_naive() < date(2027, 1, 2), "{newest}");
    tokio::join!(now.server.stop(), later.server.stop());
}

#[tokio::test]
async fn the_month_in_progress_is_open_and_empty_and_later_ones_are_not_found() {
    let mock = start_with(MockConfig {
        scale: Scale::Small,
        seed: 3,
        as_of: Some(as_of()),
        linkage_noise: false,
    })
    .await;
    assert_eq!(mock.server.truth().current_period, "2025-12");
    let open = mock.json("/api/payroll/2026-01?page=1&size=100").await;
    assert_eq!(
        open,
        serde_json::json!({"period": "2026-01", "items": [], "page": 1, "total_pages": 0})
    );
    for later in ["2026-02", "2027-01"] {
        let response = mock.get(&format!("/api/payroll/{later}")).await;
        assert_eq!(response.status(), 404, "{later}");
    }
    assert_eq!(mock.get("/api/payroll/2023-12").await.status(), 404);
    assert_eq!(mock.get("/api/payroll/2024-01").await.status(), 200);
    mock.server.stop().await;
}
