//! The store's bulk upserts: counts, versions, and rows left alone when unchanged.

use e2e::fresh_database;

async fn versions(store_db: &str, table: &str) -> Vec<(String, i64)> {
    let mut config: tokio_postgres::Config = e2e::database_server().parse().expect("url");
    config.dbname(store_db);
    let (client, conn) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let key = if table == "admin_units" {
        "code"
    } else {
        "id::text"
    };
    client
        .query(
            &format!("SELECT {key}, version FROM {table} ORDER BY 1"),
            &[],
        )
        .await
        .expect("query")
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn upserts_insert_then_change_only_what_changed() {
    let (db, store) = fresh_database().await;
    let sample = e2e::sample::sample_registry(2).expect("sample");
    let counts = store
        .upsert_admin_units(&sample.units)
        .await
        .expect("units");
    assert_eq!(
        (counts.inserted, counts.updated, counts.unchanged),
        (sample.units.len() as u64, 0, 0)
    );
    store
        .upsert_facilities(&sample.facilities)
        .await
        .expect("facilities");
    let counts = store.upsert_staff(&sample.staff).await.expect("staff");
    assert_eq!(counts.inserted, sample.staff.len() as u64);
    store
        .upsert_assignments(&sample.assignments)
        .await
        .expect("assignments");
    let before = versions(&db, "staff").await;

    // The same batch again changes nothing: no version moves.
    let again = store
        .upsert_staff(&sample.staff)
        .await
        .expect("staff again");
    assert_eq!(
        (again.inserted, again.updated, again.unchanged),
        (0, 0, sample.staff.len() as u64)
    );
    assert_eq!(versions(&db, "staff").await, before);
    let units_again = store
        .upsert_admin_units(&sample.units)
        .await
        .expect("units again");
    assert_eq!(units_again.unchanged, sample.units.len() as u64);
    let fac_again = store
        .upsert_facilities(&sample.facilities)
        .await
        .expect("facilities again");
    assert_eq!(fac_again.unchanged, sample.facilities.len() as u64);
    let asg_again = store
        .upsert_assignments(&sample.assignments)
        .await
        .expect("assignments again");
    assert_eq!(asg_again.unchanged, sample.assignments.len() as u64);

    // Two changed records: exactly those two move, to versions above every other.
    let mut batch = sample.staff.clone();
    batch[3].grade = Some("A2".to_owned());
    batch[10].name_latin = Some(schema::Name::parse("Renamed Person").expect("name"));
    // The same record twice in one batch (a page served twice) is taken once.
    batch.push(batch[3].clone());
    let changed = store.upsert_staff(&batch).await.expect("changed");
    assert_eq!((changed.inserted, changed.updated), (0, 2));
    let after = versions(&db, "staff").await;
    let max_before = before.iter().map(|(_, v)| *v).max().expect("max");
    let moved: Vec<&String> = after
        .iter()
        .zip(&before)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((id, _), _)| id)
        .collect();
    let mut expected = [
        sample.staff[3].id.to_string(),
        sample.staff[10].id.to_string(),
    ];
    expected.sort();
    assert_eq!(moved, expected.iter().collect::<Vec<_>>());
    assert!(
        after
            .iter()
            .filter(|(id, _)| expected.contains(id))
            .all(|(_, v)| *v > max_before)
    );
}

/// The gazetteer units and facilities staff records point to.
async fn load_places(store: &store::Store, sample: &e2e::sample::SampleRegistry) {
    store
        .upsert_admin_units(&sample.units)
        .await
        .expect("units");
    store
        .upsert_facilities(&sample.facilities)
        .await
        .expect("facilities");
}

#[tokio::test]
async fn a_pool_of_one_connection_upserts_staff_and_indexes_their_identifiers() {
    // upsert_staff writes identifiers on a second connection when it can have one.
    let (db, _) = fresh_database().await;
    let store = store::Store::connect(e2e::database_server(), Some(&db), 1).expect("connect");
    let sample = e2e::sample::sample_registry(1).expect("sample");
    load_places(&store, &sample).await;
    let counts = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        store.upsert_staff(&sample.staff),
    )
    .await
    .expect("a pool of one must not wait for a second connection")
    .expect("staff");
    assert_eq!(counts.inserted, sample.staff.len() as u64);
    let indexed: i64 = e2e::connect(&db)
        .await
        .query_one(
            "SELECT count(DISTINCT entity_id) FROM source_identifiers WHERE entity_type = 'staff'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(indexed, sample.staff.len() as i64);
}

#[tokio::test]
async fn a_staff_upsert_merges_the_search_entries_earlier_upserts_left_pending() {
    // New search-index entries wait in a pending list that every `q` search reads row
    // by row. An upsert merges the list while its own rows go in, so what an earlier
    // upsert left is merged, and at most the latest batch's entries wait.
    let (db, store) = fresh_database().await;
    let sample = e2e::sample::sample_registry(1).expect("sample");
    load_places(&store, &sample).await;
    let (earlier, latest) = sample.staff.split_at(sample.staff.len() / 2);
    store.upsert_staff(earlier).await.expect("earlier staff");
    store.upsert_staff(latest).await.expect("latest staff");
    let client = e2e::connect(&db).await;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        .await
        .expect("pgstattuple");
    let pending: i64 = client
        .query_one(
            "SELECT pending_tuples FROM pgstatginindex('staff_search')",
            &[],
        )
        .await
        .expect("gin stats")
        .get(0);
    assert!(
        pending <= latest.len() as i64,
        "{pending} rows' entries pending; the earlier {} should have been merged",
        earlier.len()
    );
    // Read through the index: merged entries and pending ones alike are found.
    client
        .batch_execute("SET enable_seqscan = off")
        .await
        .expect("set");
    let found: i64 = client
        .query_one(
            "SELECT count(*) FROM staff WHERE search LIKE '%' || $1 || '%'",
            &[&schema::text::match_key(earlier[3].name_km.as_str())],
        )
        .await
        .expect("search")
        .get(0);
    assert!(found >= 1, "the merged index still finds a name");
}

#[tokio::test]
async fn identifiers_are_indexed_for_linking_and_raw_records_are_kept() {
    let (db, store) = fresh_database().await;
    let sample = e2e::sample::sample_registry(1).expect("sample");
    load_places(&store, &sample).await;
    store.upsert_staff(&sample.staff).await.expect("staff");
    let mut config: tokio_postgres::Config = e2e::database_server().parse().expect("url");
    config.dbname(&db);
    let (client, conn) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let person = &sample.staff[2];
    let row = client
        .query_one(
            "SELECT entity_id FROM source_identifiers WHERE entity_type = 'staff' AND system = 'mcs:officer_id' AND value = $1",
            &[&person.civil_servant_id.as_ref().expect("csid").as_str()],
        )
        .await
        .expect("identifier indexed");
    assert_eq!(row.get::<_, uuid::Uuid>(0), person.id);
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM source_identifiers WHERE entity_type = 'facility'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, sample.facilities.len() as i64);

    let now = chrono::Utc::now();
    let raw = vec![
        store::RawRecord {
            ministry: schema::Ministry::Mcs,
            record_type: "officer".into(),
            source_id: Some("1000000001".into()),
            payload: serde_json::json!({"officer_id": "1000000001", "name_kh": "សុខ ចាន់ថា"}),
            fetched_at: now,
            rejection: None,
            place: None,
            run_id: None,
        },
        store::RawRecord {
            ministry: schema::Ministry::Mcs,
            record_type: "officer".into(),
            source_id: None,
            payload: serde_json::json!({"officer_id": "", "date_of_birth": "31/02/1985"}),
            fetched_at: now,
            rejection: Some(vec![
                schema::Date::parse("31/02/1985")
                    .expect_err("no such day")
                    .in_field("date_of_birth"),
            ]),
            place: None,
            run_id: None,
        },
    ];
    assert_eq!(store.put_raw_records(&raw).await.expect("raw"), 2);
    // Sent again, they replace their earlier copies instead of piling up.
    assert_eq!(store.put_raw_records(&raw).await.expect("raw again"), 2);
    let rows = client
        .query("SELECT valid, rejection_reason, payload->>'date_of_birth' FROM raw_records ORDER BY valid", &[])
        .await
        .expect("raw rows");
    assert_eq!(rows.len(), 2);
    assert!(!rows[0].get::<_, bool>(0));
    assert!(
        rows[0]
            .get::<_, Option<String>>(1)
            .expect("reason")
            .contains("date_of_birth")
    );
    assert_eq!(
        rows[0].get::<_, Option<String>>(2).as_deref(),
        Some("31/02/1985")
    );
}
