//! Every adapter against the mock ministries over real HTTP: every record served
//! comes out once, normalised or rejected, under each kind of fault; incremental
//! pulls return exactly what changed.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use adapter_core::{Adapter, ClientConfig, ClientError, Cursor, Feed, Record, pull_to_end};
use adapter_mcs::McsAdapter;
use adapter_mef::MefAdapter;
use adapter_moeys::MoeysAdapter;
use adapter_moh::MohAdapter;
use adapter_moi::MoiAdapter;
use mock_ministries::{FaultSettings, Ministry, MockServer, Scale, Truth};
use schema::Period;

async fn mock() -> MockServer {
    e2e::start_mock(Scale::Small, 7).await
}

/// Quick timeouts and backoff, so fault tests take seconds.
fn quick() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        max_attempts: 5,
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(1500),
        breaker_threshold: 20,
        breaker_cooldown: Duration::from_millis(500),
        ..ClientConfig::default()
    }
}

/// What a full pull of one feed gave: normalised ids (with their records), rejected ids.
#[derive(Debug, Default)]
struct Pulled {
    items: Vec<(String, Record)>,
    /// Each item's raw payload, by source id.
    raw: std::collections::BTreeMap<String, serde_json::Value>,
    rejected: Vec<Option<String>>,
    cursor: Option<Cursor>,
}

impl Pulled {
    fn item_ids(&self) -> BTreeSet<String> {
        self.items.iter().map(|(id, _)| id.clone()).collect()
    }
    fn rejected_ids(&self) -> BTreeSet<String> {
        self.rejected.iter().flatten().cloned().collect()
    }
    /// Every source record came out exactly once, as an item or a rejection.
    fn assert_each_once(&self, served: u64, what: &str) {
        assert_eq!(
            (self.items.len() + self.rejected.len()) as u64,
            served,
            "{what}: records served vs out"
        );
        assert_eq!(
            self.item_ids().len(),
            self.items.len(),
            "{what}: an item came out twice"
        );
        assert!(
            self.rejected.iter().all(Option::is_some),
            "{what}: a rejection without its source id"
        );
        assert_eq!(
            self.rejected_ids().len(),
            self.rejected.len(),
            "{what}: a rejection came out twice"
        );
        assert!(
            self.item_ids().is_disjoint(&self.rejected_ids()),
            "{what}: both normalised and rejected"
        );
    }
}

async fn pull<A: Adapter>(adapter: &A, feed: &Feed, cursor: Cursor) -> Result<Pulled, A::Error> {
    let mut out = Pulled::default();
    let end = pull_to_end(adapter, feed, cursor, |page| {
        for f in page.items {
            out.raw.insert(f.source_id.clone(), f.raw);
            out.items.push((f.source_id, f.record));
        }
        out.rejected
            .extend(page.rejections.into_iter().map(|r| r.source_id));
    })
    .await?;
    out.cursor = Some(end);
    Ok(out)
}

fn invalid_ids(list: &[mock_ministries::InvalidRecord]) -> BTreeSet<String> {
    list.iter().map(|r| r.id.clone()).collect()
}

fn current_period(truth: &Truth) -> Period {
    Period::parse(&truth.current_period).expect("period")
}

#[tokio::test]
async fn every_record_comes_out_once_normalised_or_rejected() {
    let mock = mock().await;
    let base = mock.base_url();
    let truth = mock.truth().clone();

    let moi = pull(
        &MoiAdapter::new(&base, quick())
            .expect("moi")
            .with_page_size(700),
        &Feed::AdminUnits,
        Cursor::full(),
    )
    .await
    .expect("moi pull");
    moi.assert_each_once(truth.counts.moi_units, "moi units");
    assert_eq!(
        moi.rejected_ids(),
        invalid_ids(&truth.invalid.moi_units),
        "moi rejections are the planted invalid units"
    );

    let mcs = pull(
        &McsAdapter::new(&base, quick())
            .expect("mcs")
            .with_page_size(300),
        &Feed::Officers,
        Cursor::full(),
    )
    .await
    .expect("mcs pull");
    mcs.assert_each_once(truth.counts.mcs_officers, "mcs officers");
    assert_eq!(mcs.rejected_ids(), invalid_ids(&truth.invalid.mcs_officers));

    let moh = MohAdapter::new(&base, None, quick())
        .expect("moh")
        .with_page_size(40);
    let facilities = pull(&moh, &Feed::Facilities, Cursor::full())
        .await
        .expect("facilities");
    facilities.assert_each_once(truth.counts.moh_facilities, "moh facilities (level 4)");
    let practitioners = pull(&moh, &Feed::Practitioners, Cursor::full())
        .await
        .expect("practitioners");
    practitioners.assert_each_once(truth.counts.moh_practitioners, "practitioners");
    assert_eq!(
        practitioners.rejected_ids(),
        invalid_ids(&truth.invalid.moh_practitioners)
    );
    let roles = pull(&moh, &Feed::PractitionerRoles, Cursor::full())
        .await
        .expect("roles");
    roles.assert_each_once(truth.counts.moh_practitioner_roles, "practitioner roles");
    assert_eq!(
        roles.rejected_ids(),
        invalid_ids(&truth.invalid.moh_practitioner_roles)
    );

    let moeys = MoeysAdapter::new(&base, quick())
        .expect("moeys")
        .with_batch_size(250);
    let schools = pull(&moeys, &Feed::Schools, Cursor::full())
        .await
        .expect("schools");
    schools.assert_each_once(truth.counts.moeys_schools, "schools");
    let teachers = pull(&moeys, &Feed::Teachers, Cursor::full())
        .await
        .expect("teachers");
    teachers.assert_each_once(truth.counts.moeys_teachers, "teachers");
    assert_eq!(
        teachers.rejected_ids(),
        invalid_ids(&truth.invalid.moeys_teachers)
    );

    // A facility whose commune code is malformed is kept, unplaced, not rejected:
    // dropping it would lose a real site and every link to it.
    for (pulled, invalid) in [
        (&facilities, &truth.invalid.moh_org_units),
        (&schools, &truth.invalid.moeys_schools),
    ] {
        for bad in invalid {
            let (_, record) = pulled
                .items
                .iter()
                .find(|(id, _)| *id == bad.id)
                .expect("kept, unplaced");
            let Record::Facility(f) = record else {
                panic!("{} is not a facility", bad.id)
            };
            assert_eq!(f.admin_unit_code, None, "{}: {}", bad.id, bad.reason);
        }
        assert!(pulled.rejected.is_empty());
    }

    let period = current_period(&truth);
    let mef = MefAdapter::new(&base, quick(), vec![period])
        .expect("mef")
        .with_page_size(500);
    let paid = pull(&mef, &Feed::Payroll(period), Cursor::full())
        .await
        .expect("payroll");
    paid.assert_each_once(truth.counts.mef_payroll[&truth.current_period], "payroll");
    assert_eq!(paid.rejected_ids(), invalid_ids(&truth.invalid.mef_payroll));
    mock.stop().await;
}

#[tokio::test]
async fn a_payroll_month_not_published_is_told_from_a_failure() {
    let mock = mock().await;
    let current = current_period(mock.truth());
    assert_eq!(current.to_string(), "2025-12");
    // The month in progress is open but empty; the one after it is not there (404).
    let (open, later) = (
        Period::parse("2026-01").expect("period"),
        Period::parse("2026-02").expect("period"),
    );
    let config = ClientConfig {
        max_attempts: 2,
        ..quick()
    };
    let mef = MefAdapter::new(&mock.base_url(), config, vec![current, open, later]).expect("mef");
    for (month, answer) in [(open, "is empty"), (later, "answered 404")] {
        let err = pull(&mef, &Feed::Payroll(month), Cursor::full())
            .await
            .expect_err("not published");
        assert!(mef.not_published(&err), "{month}: {err}");
        assert!(
            matches!(&err, adapter_mef::MefError::NotPublished { period, answer: a, .. } if *period == month && *a == answer),
            "{month}: {err}"
        );
    }
    // A published month read while the ministry fails is a failure.
    mock.set_faults(
        Ministry::Mef,
        FaultSettings {
            error_rate: 1.0,
            ..FaultSettings::default()
        },
    )
    .expect("faults");
    let err = pull(&mef, &Feed::Payroll(current), Cursor::full())
        .await
        .expect_err("the ministry is down");
    assert!(!mef.not_published(&err), "{err}");
    assert!(err.to_string().contains("503"), "{err}");
    // And once it is back, the month reads in full.
    mock.clear_faults();
    let paid = pull(&mef, &Feed::Payroll(current), Cursor::full())
        .await
        .expect("payroll");
    assert_eq!(
        (paid.items.len() + paid.rejected.len()) as u64,
        mock.truth().counts.mef_payroll["2025-12"]
    );
    mock.stop().await;
}

/// Pulls the MCS roll under `faults` and checks the result is the same as without.
async fn mcs_under(
    mock: &MockServer,
    faults: FaultSettings,
    config: ClientConfig,
) -> (Pulled, Duration) {
    mock.set_faults(Ministry::Mcs, faults).expect("faults");
    let started = Instant::now();
    let adapter = McsAdapter::new(&mock.base_url(), config)
        .expect("mcs")
        .with_page_size(400);
    let pulled = pull(&adapter, &Feed::Officers, Cursor::full())
        .await
        .expect("pull recovers");
    mock.clear_faults();
    pulled.assert_each_once(mock.truth().counts.mcs_officers, "mcs under faults");
    (pulled, started.elapsed())
}

#[tokio::test]
async fn retries_recover_from_5xx_429_hangs_truncated_bodies_and_repeated_pages() {
    let mock = mock().await;
    let baseline = pull(
        &McsAdapter::new(&mock.base_url(), quick()).expect("mcs"),
        &Feed::Officers,
        Cursor::full(),
    )
    .await
    .expect("baseline");
    let expected = baseline.item_ids();

    let (p, _) = mcs_under(
        &mock,
        FaultSettings {
            fail_next: 3,
            ..FaultSettings::default()
        },
        quick(),
    )
    .await;
    assert_eq!(p.item_ids(), expected, "after 503s");
    let (p, took) = mcs_under(
        &mock,
        FaultSettings {
            throttle_next: 2,
            ..FaultSettings::default()
        },
        quick(),
    )
    .await;
    assert_eq!(p.item_ids(), expected, "after 429s");
    assert!(
        took >= Duration::from_secs(2),
        "Retry-After: 1 was honoured twice ({took:?})"
    );
    let (p, took) = mcs_under(
        &mock,
        FaultSettings {
            hang_next: 1,
            ..FaultSettings::default()
        },
        quick(),
    )
    .await;
    assert_eq!(p.item_ids(), expected, "after a hang");
    assert!(
        took < Duration::from_secs(20),
        "the hang was cut by the timeout ({took:?})"
    );
    let (p, _) = mcs_under(
        &mock,
        FaultSettings {
            truncate_next: 2,
            ..FaultSettings::default()
        },
        quick(),
    )
    .await;
    assert_eq!(p.item_ids(), expected, "after truncated bodies");
    let (p, _) = mcs_under(
        &mock,
        FaultSettings {
            repeat_next: 2,
            ..FaultSettings::default()
        },
        quick(),
    )
    .await;
    assert_eq!(p.item_ids(), expected, "after repeated pages");
    let (p, _) = mcs_under(
        &mock,
        FaultSettings {
            error_rate: 0.2,
            latency_ms: 5,
            ..FaultSettings::default()
        },
        quick(),
    )
    .await;
    assert_eq!(p.item_ids(), expected, "with 20% of answers 503");

    // The streamed CSV export recovers from a body cut off mid-way, and FHIR from 503s.
    let moeys = MoeysAdapter::new(&mock.base_url(), quick())
        .expect("moeys")
        .with_batch_size(300);
    mock.set_faults(
        Ministry::Moeys,
        FaultSettings {
            truncate_next: 1,
            fail_next: 1,
            ..FaultSettings::default()
        },
    )
    .expect("faults");
    let teachers = pull(&moeys, &Feed::Teachers, Cursor::full())
        .await
        .expect("teachers recover");
    teachers.assert_each_once(
        mock.truth().counts.moeys_teachers,
        "teachers after a truncated export",
    );
    let moh = MohAdapter::new(&mock.base_url(), None, quick())
        .expect("moh")
        .with_page_size(50);
    mock.set_faults(
        Ministry::Moh,
        FaultSettings {
            fail_next: 2,
            repeat_next: 1,
            ..FaultSettings::default()
        },
    )
    .expect("faults");
    let practitioners = pull(&moh, &Feed::Practitioners, Cursor::full())
        .await
        .expect("practitioners recover");
    practitioners.assert_each_once(
        mock.truth().counts.moh_practitioners,
        "practitioners under faults",
    );
    mock.stop().await;
}

#[tokio::test]
async fn other_4xx_is_not_retried_and_the_breaker_opens_then_closes() {
    let mock = mock().await;
    // A page that does not exist (a 404) fails at once: no retry on other 4xx.
    let client = adapter_core::MinistryClient::new(schema::Ministry::Mcs, quick()).expect("client");
    let started = Instant::now();
    let err = client
        .get_bytes(&format!("{}/api/no-such-thing", mock.base_url()))
        .await
        .expect_err("404");
    assert!(
        matches!(err, ClientError::Status { status: 404, .. }),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "a 404 is not retried"
    );

    let config = ClientConfig {
        max_attempts: 2,
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_millis(800),
        ..quick()
    };
    let adapter = McsAdapter::new(&mock.base_url(), config).expect("mcs");
    mock.set_faults(
        Ministry::Mcs,
        FaultSettings {
            error_rate: 1.0,
            ..FaultSettings::default()
        },
    )
    .expect("faults");
    for _ in 0..2 {
        let _ = adapter
            .fetch_page(&Feed::Officers, &Cursor::full())
            .await
            .expect_err("the ministry is down");
    }
    assert!(
        adapter.client().breaker().is_open(),
        "three failed attempts open the circuit"
    );
    let started = Instant::now();
    let err = adapter
        .fetch_page(&Feed::Officers, &Cursor::full())
        .await
        .expect_err("open circuit");
    assert!(err.to_string().contains("circuit open"), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "an open circuit fails fast"
    );
    // The ministry comes back; after the cool-down a trial request closes the circuit.
    mock.clear_faults();
    tokio::time::sleep(Duration::from_millis(900)).await;
    let page = adapter
        .fetch_page(&Feed::Officers, &Cursor::full())
        .await
        .expect("half-open trial succeeds");
    assert!(!page.is_empty());
    assert!(!adapter.client().breaker().is_open());
    mock.stop().await;
}

fn updated_at(record: &Record, raw: &serde_json::Value) -> Option<chrono::DateTime<chrono::Utc>> {
    match record {
        // Gazetteer units carry their change time only in the source's payload.
        Record::AdminUnit(_) => raw["updated_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc)),
        Record::Payroll(_) => None,
        Record::Staff(r) => r.updated_at,
        Record::Facility(r) => r.updated_at,
        Record::Role(r) => r.updated_at,
    }
}

/// Pulls `feed` in full, has the mock change 5% of `ministry`'s records, pulls again
/// from the stored cursor, and checks the second pull returned the changed records and
/// nothing else but what the source's filter semantics re-send: records stamped at or
/// after `since` (inclusive filters re-send the previous newest; DHIS2's overlap
/// re-sends its window).
async fn check_incremental<A: Adapter>(
    mock: &MockServer,
    adapter: &A,
    ministry: Ministry,
    feeds: &[(Feed, &str)],
) {
    let mut fulls = Vec::new();
    for (feed, _) in feeds {
        fulls.push(
            pull(adapter, feed, Cursor::full())
                .await
                .expect("full pull"),
        );
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mutation = mock.mutate(ministry, 0.05).expect("mutate");
    for ((feed, kind), full) in feeds.iter().zip(&fulls) {
        let cursor = full
            .cursor
            .clone()
            .expect("cursor")
            .next_pull(chrono::Duration::zero());
        let since = cursor.since;
        let again = pull(adapter, feed, cursor).await.expect("incremental pull");
        let served: BTreeSet<String> = full
            .item_ids()
            .union(&full.rejected_ids())
            .cloned()
            .collect();
        let changed: BTreeSet<String> = mutation
            .changed
            .get(*kind)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|id| served.contains(id))
            .collect();
        assert!(
            !changed.is_empty(),
            "{kind}: the mock changed nothing this feed serves"
        );
        let got: BTreeSet<String> = again
            .item_ids()
            .union(&again.rejected_ids())
            .cloned()
            .collect();
        assert!(
            got.is_superset(&changed),
            "{kind}: missed {:?}",
            changed.difference(&got).collect::<Vec<_>>()
        );
        // Anything else re-sent must be a record already stamped inside the window.
        let window_start =
            since.expect("an incremental pull has a since") - chrono::Duration::minutes(5);
        for id in got.difference(&changed) {
            let stamped = full
                .items
                .iter()
                .find(|(i, _)| i == id)
                .and_then(|(_, r)| updated_at(r, &full.raw[id]));
            assert!(
                stamped.is_some_and(|t| t >= window_start),
                "{kind}: {id} was re-sent but had not changed (stamped {stamped:?}, since {since:?})"
            );
        }
        assert!(
            got.len() < served.len() / 2,
            "{kind}: an incremental pull is not a full one"
        );
    }
}

#[tokio::test]
async fn an_incremental_pull_returns_exactly_the_changed_records() {
    let mock = mock().await;
    let base = mock.base_url();
    let moi = MoiAdapter::new(&base, quick())
        .expect("moi")
        .with_page_size(2000);
    check_incremental(
        &mock,
        &moi,
        Ministry::Moi,
        &[(Feed::AdminUnits, "moi_units")],
    )
    .await;
    let mcs = McsAdapter::new(&base, quick())
        .expect("mcs")
        .with_page_size(500);
    check_incremental(
        &mock,
        &mcs,
        Ministry::Mcs,
        &[(Feed::Officers, "mcs_officers")],
    )
    .await;
    let moeys = MoeysAdapter::new(&base, quick())
        .expect("moeys")
        .with_batch_size(500);
    check_incremental(
        &mock,
        &moeys,
        Ministry::Moeys,
        &[
            (Feed::Schools, "moeys_schools"),
            (Feed::Teachers, "moeys_teachers"),
        ],
    )
    .await;
    let moh = MohAdapter::new(&base, None, quick())
        .expect("moh")
        .with_page_size(100);
    check_incremental(
        &mock,
        &moh,
        Ministry::Moh,
        &[
            (Feed::Facilities, "moh_org_units"),
            (Feed::Practitioners, "moh_practitioners"),
            (Feed::PractitionerRoles, "moh_practitioner_roles"),
        ],
    )
    .await;
    mock.stop().await;
}
