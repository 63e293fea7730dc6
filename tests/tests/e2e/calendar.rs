//! No time bombs: `interop-gateway sync` with its clock set a year ahead. Against
//! ministries still in today's world, the payroll month it asks for is not published
//! yet: that is reported, not failed. Against ministries a year on too, it is read.

use std::process::{Command, Output};

use adapter_core::Clock;
use chrono::{Months, NaiveDate};
use mock_ministries::{MockConfig, MockServer, Scale};

/// `interop-gateway sync ARGS` on database `db`, reading every ministry from `mock`,
/// taking `as_of` for today. (Waited for off the runtime, which serves the mock.)
async fn sync(db: &str, mock: &MockServer, as_of: NaiveDate, args: &[&str]) -> Output {
    let mut cmd = Command::new(crate::auth::e2e_bin());
    cmd.arg("sync")
        .args(args)
        .env("DATABASE_URL", e2e::database_server())
        .env("GATEWAY__DATABASE__NAME", db)
        .env("GATEWAY__MINISTRIES__AS_OF", as_of.to_string())
        .env("GATEWAY__LOG__FILTER", "warn");
    for m in ["MOI", "MCS", "MOH", "MOEYS", "MEF"] {
        cmd.env(
            format!("GATEWAY__MINISTRIES__{m}__BASE_URL"),
            mock.base_url(),
        );
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("run interop-gateway sync"))
        .await
        .expect("the sync's thread")
}

async fn payroll_lines(db: &str, period: &str) -> i64 {
    let client = e2e::connect(db).await;
    client
        .query_one(
            "SELECT count(*) FROM payroll_entries WHERE period = $1",
            &[&period],
        )
        .await
        .expect("count")
        .get(0)
}

async fn mock_as_of(as_of: NaiveDate) -> MockServer {
    e2e::start_mock_with(MockConfig {
        scale: Scale::Small,
        seed: 17,
        as_of: Some(as_of),
        linkage_noise: false,
    })
    .await
}

#[tokio::test]
async fn a_sync_a_year_ahead_reports_the_payroll_not_yet_available_then_reads_it() {
    let today = Clock::System.cambodia_today();
    let a_year_on = today + Months::new(12);
    let (db, store) = e2e::fresh_database().await;

    // The ministries as they are today; the gateway's clock a year on.
    let now = mock_as_of(today).await;
    let out = sync(&db, &now, a_year_on, &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sync failed:\n{stderr}");
    let month = adapter_mef::month_before(a_year_on)
        .expect("a period")
        .to_string();
    assert!(
        stderr.contains(&format!("payroll:{month}: not yet available")),
        "{stderr}"
    );
    assert!(!stderr.contains("FAILED"), "{stderr}");
    let runs = store.list_runs(None, None, 20).await.expect("runs");
    let run = |m: &str| {
        runs.iter()
            .find(|r| r.ministry == m)
            .unwrap_or_else(|| panic!("no {m} run"))
    };
    assert_eq!(
        (run("mef").status.as_str(), run("mef").fetched),
        ("succeeded", 0)
    );
    assert_eq!(run("mef").error, None);
    assert_eq!(
        run("mcs").fetched as u64,
        now.truth().counts.mcs_officers,
        "the other ministries synced"
    );
    assert_eq!(payroll_lines(&db, &month).await, 0);
    now.stop().await;

    // A year on, the ministries have published that month: the same sync reads it.
    let later = mock_as_of(a_year_on).await;
    assert_eq!(later.truth().current_period, month);
    let out = sync(&db, &later, a_year_on, &["--ministry", "mef"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sync failed:\n{stderr}");
    assert!(!stderr.contains("not yet available"), "{stderr}");
    let served = later.truth().counts.mef_payroll[&month];
    let invalid = later.truth().invalid.mef_payroll.len() as i64;
    assert_eq!(payroll_lines(&db, &month).await, served as i64 - invalid);
    later.stop().await;
}
