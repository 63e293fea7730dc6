//! The sync engine against the mock ministries and a real database: every record
//! served is stored or rejected, a second run changes nothing, an incremental run
//! takes exactly the changes, and one person's records across ministries are linked.

use std::collections::BTreeMap;

use adapter_core::ClientConfig;
use mock_ministries::{Ministry as MockMinistry, MockConfig, MockServer, Scale};
use schema::{Ministry, PayPeriod};
use sync::{Silent, Sources, SyncEngine};

async fn mock() -> MockServer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    mock_ministries::start(
        listener,
        MockConfig {
            scale: Scale::Small,
            seed: 11,
        },
    )
    .await
    .expect("mock")
}

fn engine(store: &store::Store, mock: &MockServer) -> SyncEngine {
    let base = mock.base_url();
    let period = PayPeriod::parse(&mock.truth().current_period).expect("period");
    let c = ClientConfig::default;
    SyncEngine::new(
        store.clone(),
        Sources {
            moi: Some(adapter_moi::MoiAdapter::new(&base, c()).expect("moi")),
            mcs: Some(adapter_mcs::McsAdapter::new(&base, c()).expect("mcs")),
            moh: Some(adapter_moh::MohAdapter::new(&base, None, c()).expect("moh")),
            moeys: Some(adapter_moeys::MoeysAdapter::new(&base, c()).expect("moeys")),
            mef: Some(adapter_mef::MefAdapter::new(&base, c(), vec![period]).expect("mef")),
        },
    )
}

async fn sql_client(db: &str) -> tokio_postgres::Client {
    let mut config: tokio_postgres::Config = e2e::database_server().parse().expect("url");
    config.dbname(db);
    let (client, conn) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}

async fn count(db: &tokio_postgres::Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.expect(sql).get(0)
}

#[tokio::test]
async fn a_full_sync_stores_or_rejects_every_record_and_a_second_changes_nothing() {
    let mock = mock().await;
    let truth = mock.truth().clone();
    let (db_name, store) = e2e::fresh_database().await;
    let db = sql_client(&db_name).await;
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
    let db = sql_client(&db_name).await;
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
        }
    }
    mock.stop().await;
}

#[tokio::test]
async fn an_incremental_sync_updates_exactly_the_changed_records() {
    let mock = mock().await;
    let (db_name, store) = e2e::fresh_database().await;
    let db = sql_client(&db_name).await;
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
    mock.stop().await;
}
