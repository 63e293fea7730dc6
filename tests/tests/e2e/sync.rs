//! The sync engine against the mock ministries and a real database: every record
//! served is stored or rejected, a second run changes nothing, an incremental run
//! takes exactly the changes, and one person's records across ministries are linked.

use std::collections::BTreeMap;

use adapter_core::ClientConfig;
use mock_ministries::{Ministry as MockMinistry, MockServer, Scale};
use schema::Ministry;
use sync::{Silent, Sources, SyncEngine};

async fn mock() -> MockServer {
    e2e::start_mock(Scale::Small, 11).await
}

fn engine(store: &store::Store, mock: &MockServer) -> SyncEngine {
    e2e::mock_engine(store, mock)
}

async fn count(db: &tokio_postgres::Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.expect(sql).get(0)
}

#[tokio::test]
async fn a_full_sync_stores_or_rejects_every_record_and_a_second_changes_nothing() {
    let mock = mock().await;
    let truth = mock.truth().clone();
    let (db_name, store) = e2e::fresh_database().await;
    let db = e2e::connect(&db_name).await;
    let engine = engine(&store, &mock);

    let runs = engine.sync_all(false, &Silent).await;
    let mut by_ministry = BTreeMap::new();
    for (ministry, result) in runs {
        let summary = result.unwrap_or_else(|e| panic!("{ministry}: {e}"));
        by_ministry.insert(ministry, summary.totals);
    }
    // Each ministry's run counted exactly what the mock served (level-4 org units only
    // are facilities), and the raw archive holds every record, valid or not.
    let c = &truth.counts;
    let expected = [
        (Ministry::Moi, c.moi_units),
        (
            Ministry::Moh,
            c.moh_facilities + c.moh_practitioners + c.moh_practitioner_roles,
        ),
        (Ministry::Moeys, c.moeys_schools + c.moeys_teachers),
        (Ministry::Mcs, c.mcs_officers),
        (Ministry::Mef, c.mef_payroll[&truth.current_period]),
    ];
    for (ministry, served) in expected {
        let totals = by_ministry[&ministry];
        assert_eq!(totals.fetched, served, "{ministry}: fetched vs served");
        let raw = count(
            &db,
            &format!("SELECT count(*) FROM raw_records WHERE ministry = '{ministry}'"),
        )
        .await;
        assert_eq!(raw as u64, served, "{ministry}: every record kept raw");
        let rejected = count(
            &db,
            &format!(
                "SELECT count(*) FROM raw_records WHERE ministry = '{ministry}' AND NOT valid"
            ),
        )
        .await;
        assert_eq!(
            rejected as u64, totals.rejected,
            "{ministry}: rejections kept with their reason"
        );
        assert_eq!(
            totals.fetched,
            totals.inserted + totals.updated + totals.unchanged + totals.rejected
        );
    }
    assert_eq!(
        by_ministry[&Ministry::Mcs].rejected,
        truth.invalid.mcs_officers.len() as u64
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM raw_records WHERE NOT valid AND (rejection_reason IS NULL OR rejection_reason = '')").await,
        0,
        "every rejection says why"
    );
    let units = count(&db, "SELECT count(*) FROM admin_units").await;
    assert_eq!(
        units as u64,
        c.moi_units - truth.invalid.moi_units.len() as u64
    );
    let facilities = count(&db, "SELECT count(*) FROM facilities").await;
    assert_eq!(
        facilities as u64,
        c.moh_facilities + c.moeys_schools,
        "one registry facility per site"
    );
    let runs = count(
        &db,
        "SELECT count(*) FROM sync_runs WHERE status = 'succeeded'",
    )
    .await;
    assert_eq!(runs, 5);

    // Every table's versions stay where they are on a second run.
    let versions = "SELECT (SELECT coalesce(max(version), 0) FROM staff) + (SELECT coalesce(max(version), 0) FROM facilities)
                    + (SELECT coalesce(max(version), 0) FROM admin_units) + (SELECT coalesce(max(version), 0) FROM assignments)";
    let before = count(&db, versions).await;
    let staff_before = count(&db, "SELECT count(*) FROM staff").await;
    for (ministry, result) in engine.sync_all(true, &Silent).await {
        let totals = result.expect("second run").totals;
        assert_eq!(
            (totals.inserted, totals.updated),
            (0, 0),
            "{ministry}: a second run changes nothing"
        );
    }
    assert_eq!(count(&db, versions).await, before, "no version moved");
    assert_eq!(count(&db, "SELECT count(*) FROM staff").await, staff_before);
    mock.stop().await;
}

#[tokio::test]
async fn one_person_across_ministries_is_one_record_and_duplicates_are_not_merged() {
    let mock = mock().await;
    let truth = mock.truth().clone();
    let (db_name, store) = e2e::fresh_database().await;
    let db = e2e::connect(&db_name).await;
    engine(&store, &mock)
        .sync_all(false, &Silent)
        .await
        .into_iter()
        .for_each(|(m, r)| {
            r.unwrap_or_else(|e| panic!("{m}: {e}"));
        });
    let mut linked = 0;
    for person in &truth.same_person {
        let others: Vec<(&str, &String)> = [
            (
                "moh:fhir_practitioner",
                person.fhir_practitioner_id.as_ref(),
            ),
            ("moeys:teacher_id", person.emis_teacher_id.as_ref()),
        ]
        .into_iter()
        .filter_map(|(system, id)| id.map(|id| (system, id)))
        .collect();
        if others.is_empty() {
            continue;
        }
        let rows = db
            .query(
                "SELECT id FROM staff WHERE civil_servant_id = $1",
                &[&person.officer_id],
            )
            .await
            .expect("query");
        if rows.is_empty() {
            continue; // an officer whose roll record was planted invalid
        }
        let id: uuid::Uuid = rows[0].get(0);
        for (system, value) in others {
            let found: Vec<uuid::Uuid> = db
                .query("SELECT entity_id FROM source_identifiers WHERE entity_type = 'staff' AND system = $1 AND value = $2", &[&system, value])
                .await
                .expect("query")
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert_eq!(
                found,
                vec![id],
                "officer {} and {system} {value} are one person",
                person.officer_id
            );
            linked += 1;
        }
    }
    assert!(
        linked > 20,
        "the truth's sample links people across ministries ({linked})"
    );
    let mut duplicates = 0;
    for [a, b] in &truth.facts.possible_duplicate {
        let ids: Vec<uuid::Uuid> = db
            .query(
                "SELECT id FROM staff WHERE civil_servant_id = ANY($1)",
                &[&vec![a.clone(), b.clone()]],
            )
            .await
            .expect("query")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(ids.len() <= 2);
        if ids.len() == 2 {
            assert_ne!(
                ids[0], ids[1],
                "{a} and {b} look alike but stay two records"
            );
            let queued: Vec<String> = db
                .query(
                    "SELECT kind FROM match_pairs WHERE decision IS NULL
                       AND left_ministry = 'mcs' AND left_source_id = $1
                       AND right_ministry = 'mcs' AND right_source_id = $2",
                    &[a, b],
                )
                .await
                .expect("query")
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert_eq!(
                queued,
                ["distinct_officers"],
                "{a} and {b} wait for review as two officers on the roll"
            );
            duplicates += 1;
        }
    }
    assert!(duplicates > 0, "the truth's duplicates were synced");
    mock.stop().await;
}

#[tokio::test]
async fn an_incremental_sync_updates_exactly_the_changed_records() {
    let mock = mock().await;
    let (db_name, store) = e2e::fresh_database().await;
    let db = e2e::connect(&db_name).await;
    let engine = engine(&store, &mock);
    for (m, r) in engine.sync_all(false, &Silent).await {
        r.unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    let before = count(&db, "SELECT max(version) FROM staff").await;
    let mutation = mock.mutate(MockMinistry::Mcs, 0.02).expect("mutate");
    let changed: Vec<String> = mutation.changed["mcs_officers"].clone();
    let summary = engine
        .sync(Ministry::Mcs, false, &Silent)
        .await
        .expect("incremental");
    assert!(
        summary.totals.fetched < 200,
        "an incremental run reads the changes, not the roll ({})",
        summary.totals.fetched
    );
    let moved: Vec<String> = db
        .query(
            "SELECT civil_servant_id FROM staff WHERE version > $1 ORDER BY 1",
            &[&before],
        )
        .await
        .expect("query")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut expected: Vec<String> = changed
        .into_iter()
        .filter(|id| {
            !mock
                .truth()
                .invalid
                .mcs_officers
                .iter()
                .any(|bad| &bad.id == id)
        })
        .collect();
    expected.sort();
    assert_eq!(moved, expected, "exactly the changed officers moved");
    assert_eq!(summary.totals.updated as usize, expected.len());
    // A month's payroll is settled once pulled: an incremental sync does not read it
    // again (its API has no filter to ask for changes); a full one does.
    let payroll = engine
        .sync(Ministry::Mef, false, &Silent)
        .await
        .expect("mef");
    assert_eq!(payroll.totals.fetched, 0);
    let payroll = engine
        .sync(Ministry::Mef, true, &Silent)
        .await
        .expect("mef full");
    assert_eq!(
        payroll.totals.fetched,
        mock.truth().counts.mef_payroll[&mock.truth().current_period]
    );
    mock.stop().await;
}

/// The registry's content, without the times and versions that differ between runs.
async fn fingerprint(db: &tokio_postgres::Client) -> Vec<String> {
    let queries = [
        "SELECT md5(string_agg(concat_ws('|', id, civil_servant_id, national_id, birth_date, name_km, name_latin, sex,
             employer, grade, status, admin_unit_code, identifiers), ',' ORDER BY id)) FROM staff",
        "SELECT md5(string_agg(concat_ws('|', id, kind, name_km, admin_unit_code, status, managed_by, identifiers), ',' ORDER BY id)) FROM facilities",
        "SELECT md5(string_agg(concat_ws('|', id, staff_id, facility_id, admin_unit_code, role, source, start_date), ',' ORDER BY id)) FROM assignments",
        "SELECT md5(string_agg(concat_ws('|', code, kind, name_km, parent_code), ',' ORDER BY code)) FROM admin_units",
        "SELECT count(*)::text FROM raw_records",
    ];
    let mut out = Vec::new();
    for q in queries {
        out.push(
            db.query_one(q, &[])
                .await
                .expect(q)
                .get::<_, Option<String>>(0)
                .unwrap_or_default(),
        );
    }
    out
}

#[tokio::test]
async fn a_run_aborted_by_a_fault_resumes_to_the_state_of_an_uninterrupted_one() {
    let mock = mock().await;
    // The reference: an uninterrupted sync.
    let (ref_name, ref_store) = e2e::fresh_database().await;
    for (m, r) in engine(&ref_store, &mock).sync_all(false, &Silent).await {
        r.unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    let reference = fingerprint(&e2e::connect(&ref_name).await).await;

    // The same sync, with the roll going down for good in the middle of its pull.
    let (db_name, store) = e2e::fresh_database().await;
    let db = e2e::connect(&db_name).await;
    let quick = || adapter_core::ClientConfig {
        max_attempts: 2,
        min_backoff: std::time::Duration::from_millis(5),
        ..ClientConfig::default()
    };
    let base = mock.base_url();
    let flaky = SyncEngine::new(
        store.clone(),
        Sources::new().with(
            adapter_mcs::McsAdapter::new(&base, quick())
                .expect("mcs")
                .with_page_size(250),
        ),
    );
    let full = engine(&store, &mock);
    for m in [Ministry::Moi, Ministry::Moh, Ministry::Moeys] {
        full.sync(m, false, &Silent).await.expect("sync");
    }
    // Three pages go through, then every answer is a 503.
    mock.set_faults(
        MockMinistry::Mcs,
        mock_ministries::FaultSettings {
            error_rate: 0.0,
            ..Default::default()
        },
    )
    .expect("faults");
    let pages = std::sync::atomic::AtomicU32::new(0);
    struct FailAfter<'a>(&'a MockServer, &'a std::sync::atomic::AtomicU32);
    impl sync::Progress for FailAfter<'_> {
        fn page(&self, _: Ministry, _: &str, _: u64) {
            if self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 2 {
                self.0
                    .set_faults(
                        MockMinistry::Mcs,
                        mock_ministries::FaultSettings {
                            error_rate: 1.0,
                            ..Default::default()
                        },
                    )
                    .expect("faults");
            }
        }
        fn feed_done(&self, _: Ministry, _: &str) {}
    }
    let err = flaky
        .sync(Ministry::Mcs, false, &FailAfter(&mock, &pages))
        .await
        .expect_err("the roll went down");
    assert!(err.to_string().contains("503"), "{err}");
    let failed: (String, Option<String>) = {
        let r = db.query_one("SELECT status, error FROM sync_runs WHERE ministry = 'mcs' ORDER BY id DESC LIMIT 1", &[]).await.expect("run");
        (r.get(0), r.get(1))
    };
    assert_eq!(failed.0, "failed");
    assert!(
        failed.1.is_some_and(|e| e.contains("503")),
        "the run records its error"
    );
    let stored: i64 = db
        .query_one(
            "SELECT count(*) FROM raw_records WHERE ministry = 'mcs'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    // The page after the third was fetched while the third was written, so it may
    // have landed too; the fault stopped the run at the next fetch.
    let total = mock.truth().counts.mcs_officers;
    assert!(
        (750..=1000).contains(&stored) && stored % 250 == 0 && (stored as u64) < total,
        "the pages committed before the fault stay: {stored}"
    );

    // The roll comes back: the next run resumes from the stored cursor and the end
    // state is the uninterrupted one's.
    mock.clear_faults();
    let resumed = flaky
        .sync(Ministry::Mcs, false, &Silent)
        .await
        .expect("resumed");
    assert_eq!(
        resumed.totals.fetched,
        total - stored as u64,
        "it resumed, not restarted"
    );
    full.sync(Ministry::Mef, false, &Silent).await.expect("mef");
    assert_eq!(fingerprint(&db).await, reference);
    mock.stop().await;
}

#[tokio::test]
async fn two_syncs_of_one_source_never_run_at_once_and_a_failing_source_stops_no_other() {
    let mock = mock().await;
    let (db_name, store) = e2e::fresh_database().await;
    let db = e2e::connect(&db_name).await;
    let a = engine(&store, &mock);
    let b = engine(&store, &mock);
    mock.set_faults(
        MockMinistry::Moi,
        mock_ministries::FaultSettings {
            latency_ms: 40,
            ..Default::default()
        },
    )
    .expect("faults");
    let (first, second) = tokio::join!(a.sync(Ministry::Moi, false, &Silent), async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        b.sync(Ministry::Moi, false, &Silent).await
    });
    assert!(first.is_ok(), "{first:?}");
    assert!(
        matches!(second, Err(sync::SyncError::Busy(Ministry::Moi))),
        "{second:?}"
    );
    let units: i64 = db
        .query_one(
            "SELECT count(*) FROM raw_records WHERE ministry = 'moi'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(units as u64, mock.truth().counts.moi_units, "written once");

    // MoH is down: its run fails and is recorded; the other sources sync.
    mock.set_faults(
        MockMinistry::Moh,
        mock_ministries::FaultSettings {
            error_rate: 1.0,
            ..Default::default()
        },
    )
    .expect("faults");
    let quick = adapter_core::ClientConfig {
        max_attempts: 2,
        min_backoff: std::time::Duration::from_millis(5),
        ..ClientConfig::default()
    };
    let base = mock.base_url();
    // No gazetteer source: the others run without it.
    let sources = Sources::new()
        .with(adapter_moh::MohAdapter::new(&base, None, quick.clone()).expect("moh"))
        .with(adapter_moeys::MoeysAdapter::new(&base, quick.clone()).expect("moeys"))
        .with(adapter_mcs::McsAdapter::new(&base, quick).expect("mcs"));
    let results = SyncEngine::new(store.clone(), sources)
        .sync_all(false, &Silent)
        .await;
    let outcome: Vec<(Ministry, bool)> = results.iter().map(|(m, r)| (*m, r.is_ok())).collect();
    assert_eq!(
        outcome,
        vec![
            (Ministry::Moh, false),
            (Ministry::Moeys, true),
            (Ministry::Mcs, true)
        ]
    );
    let status: String = db
        .query_one(
            "SELECT status FROM sync_runs WHERE ministry = 'moh' ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await
        .expect("run")
        .get(0);
    assert_eq!(status, "failed");
    mock.stop().await;
}

#[tokio::test]
async fn a_sync_process_killed_with_sigkill_resumes_to_the_same_state() {
    let mock = mock().await;
    let (ref_name, ref_store) = e2e::fresh_database().await;
    for (m, r) in engine(&ref_store, &mock).sync_all(false, &Silent).await {
        r.unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    let reference = fingerprint(&e2e::connect(&ref_name).await).await;

    let (db_name, store) = e2e::fresh_database().await;
    let db = e2e::connect(&db_name).await;
    let full = engine(&store, &mock);
    for m in [Ministry::Moi, Ministry::Moh, Ministry::Moeys] {
        full.sync(m, false, &Silent).await.expect("sync");
    }
    // The roll answers slowly, so the process is killed in the middle of its pull.
    mock.set_faults(
        MockMinistry::Mcs,
        mock_ministries::FaultSettings {
            latency_ms: 150,
            ..Default::default()
        },
    )
    .expect("faults");
    let sync_process = || {
        std::process::Command::new(crate::auth::e2e_bin())
            .args(["sync", "--ministry", "mcs"])
            .env("GATEWAY__DATABASE__URL", e2e::database_server())
            .env("GATEWAY__DATABASE__NAME", &db_name)
            .env("GATEWAY__MINISTRIES__MCS__BASE_URL", mock.base_url())
            .env("GATEWAY__LOG__FILTER", "warn")
            .env_remove("DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start interop-gateway sync")
    };
    let mut child = sync_process();
    let total = mock.truth().counts.mcs_officers as i64;
    let mut stored = 0;
    for _ in 0..600 {
        stored = db
            .query_one(
                "SELECT count(*) FROM raw_records WHERE ministry = 'mcs'",
                &[],
            )
            .await
            .expect("count")
            .get(0);
        if stored >= 500 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert!(
        stored > 0 && stored < total,
        "killed in the middle ({stored} of {total})"
    );

    mock.clear_faults();
    let status = sync_process().wait().expect("second run");
    assert!(status.success());
    full.sync(Ministry::Mef, false, &Silent).await.expect("mef");
    assert_eq!(
        fingerprint(&db).await,
        reference,
        "the same end state as a sync never interrupted"
    );
    let runs: Vec<(String, Option<String>)> = db
        .query(
            "SELECT status, error FROM sync_runs WHERE ministry = 'mcs' ORDER BY id",
            &[],
        )
        .await
        .expect("runs")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        runs[0].0, "interrupted",
        "the next run closes the killed one"
    );
    assert!(
        runs[0]
            .1
            .as_deref()
            .is_some_and(|e| e.starts_with("interrupted"))
    );
    assert_eq!(runs[1].0, "succeeded");
    mock.stop().await;
}

#[tokio::test]
async fn a_run_left_running_is_closed_as_interrupted_by_the_next_run_of_its_source_only() {
    let (db_name, store) = e2e::fresh_database().await;
    let db = e2e::connect(&db_name).await;
    // Runs whose processes died: nothing closed them.
    let dead = store.start_run(Ministry::Mcs, false).await.expect("run");
    let other = store.start_run(Ministry::Moh, false).await.expect("run");
    // The next mcs run takes the source's lock, so the dead one is nobody's.
    let lock = store
        .try_lock_source(Ministry::Mcs)
        .await
        .expect("lock")
        .expect("free");
    let next = store.start_run(Ministry::Mcs, false).await.expect("run");
    lock.release().await.expect("release");
    let row = |id: i64| {
        let db = &db;
        async move {
            let r = db
                .query_one(
                    "SELECT status, finished_at IS NOT NULL, error FROM sync_runs WHERE id = $1",
                    &[&id],
                )
                .await
                .expect("run");
            (
                r.get::<_, String>(0),
                r.get::<_, bool>(1),
                r.get::<_, Option<String>>(2),
            )
        }
    };
    let (status, finished, error) = row(dead).await;
    assert_eq!((status.as_str(), finished), ("interrupted", true));
    assert!(error.is_some_and(|e| e.contains("stopped before it finished")));
    assert_eq!(
        row(other).await.0,
        "running",
        "another source's run is not touched"
    );
    assert_eq!(row(next).await.0, "running");
    store
        .finish_run(next, store::RunTotals::default(), store::RunEnd::Succeeded)
        .await
        .expect("finish");
    assert_eq!(row(next).await, ("succeeded".to_owned(), true, None));
}

#[tokio::test]
async fn a_stopped_engine_closes_its_run_as_interrupted_and_the_next_run_resumes_there() {
    let mock = mock().await;
    let total = mock.truth().counts.mcs_officers as i64;
    let (db_name, store) = e2e::fresh_database().await;
    let db = e2e::connect(&db_name).await;
    // Slow pages, so the run is stopped in the middle.
    mock.set_faults(
        MockMinistry::Mcs,
        mock_ministries::FaultSettings {
            latency_ms: 400,
            ..Default::default()
        },
    )
    .expect("faults");
    let first = std::sync::Arc::new(engine(&store, &mock));
    let running = tokio::spawn({
        let first = std::sync::Arc::clone(&first);
        async move { first.sync(Ministry::Mcs, false, &Silent).await }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    while count(
        &db,
        "SELECT count(*) FROM raw_records WHERE ministry = 'mcs'",
    )
    .await
        == 0
    {
        assert!(std::time::Instant::now() < deadline, "no page was stored");
        assert!(
            !running.is_finished(),
            "the run ended before it was stopped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    first.stop();
    let result = running.await.expect("task");
    assert!(
        matches!(result, Err(sync::SyncError::Interrupted(Ministry::Mcs))),
        "{result:?}"
    );
    let r = db
        .query_one(
            "SELECT status, finished_at IS NOT NULL, fetched FROM sync_runs WHERE ministry = 'mcs'",
            &[],
        )
        .await
        .expect("run");
    let (status, finished, stopped_at): (String, bool, i64) = (r.get(0), r.get(1), r.get(2));
    assert_eq!((status.as_str(), finished), ("interrupted", true));
    assert!(
        stopped_at > 0 && stopped_at < total,
        "stopped in the middle: {stopped_at} of {total}"
    );
    // A stopped engine starts nothing more.
    assert!(matches!(
        first.sync(Ministry::Mcs, false, &Silent).await,
        Err(sync::SyncError::Interrupted(_))
    ));

    mock.clear_faults();
    let resumed = engine(&store, &mock)
        .sync(Ministry::Mcs, false, &Silent)
        .await
        .expect("the next run");
    assert_eq!(
        stopped_at + resumed.totals.fetched as i64,
        total,
        "the next run reads exactly the pages the stopped one did not store"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM sync_runs WHERE ministry = 'mcs'").await,
        2,
        "a stopped engine recorded no run of its own after stopping"
    );
    mock.stop().await;
}

#[tokio::test]
async fn a_sync_process_sent_sigterm_closes_its_run_as_interrupted() {
    let mock = mock().await;
    let (db_name, _store) = e2e::fresh_database().await;
    let db = e2e::connect(&db_name).await;
    mock.set_faults(
        MockMinistry::Mcs,
        mock_ministries::FaultSettings {
            latency_ms: 400,
            ..Default::default()
        },
    )
    .expect("faults");
    let mut child = std::process::Command::new(crate::auth::e2e_bin())
        .args(["sync", "--ministry", "mcs"])
        .env("GATEWAY__DATABASE__URL", e2e::database_server())
        .env("GATEWAY__DATABASE__NAME", &db_name)
        .env("GATEWAY__MINISTRIES__MCS__BASE_URL", mock.base_url())
        .env("GATEWAY__LOG__FILTER", "warn")
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start interop-gateway sync");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    while count(
        &db,
        "SELECT count(*) FROM raw_records WHERE ministry = 'mcs'",
    )
    .await
        == 0
    {
        assert!(std::time::Instant::now() < deadline, "no page was stored");
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "the sync ended before the signal"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(sent.success());
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "sync did not stop");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    // It exits (a run that did not finish is not a success), having closed its run.
    assert_eq!(status.code(), Some(1), "{status}");
    let r = db
        .query_one(
            "SELECT status, finished_at IS NOT NULL, error, fetched FROM sync_runs WHERE ministry = 'mcs'",
            &[],
        )
        .await
        .expect("one run");
    let (status, finished, error, fetched): (String, bool, Option<String>, i64) =
        (r.get(0), r.get(1), r.get(2), r.get(3));
    assert_eq!((status.as_str(), finished), ("interrupted", true));
    assert!(error.is_some_and(|e| e.contains("shutting down")));
    assert!(fetched > 0, "the pages stored are counted");
    mock.stop().await;
}
