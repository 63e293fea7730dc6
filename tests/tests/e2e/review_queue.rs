//! The review queue against the mock ministries' noisy world and a real database:
//! pairs the matcher could not settle wait with each field's weight; a reviewer's
//! "different" keeps two persons apart and "same" joins them, through every later
//! sync, full or incremental; a split returns a record to a person of its own and
//! queues it again; a mistyped officer id that lands on another officer merges
//! nobody; the queue is paged by key and kept to a jurisdiction.

use std::collections::BTreeSet;

use mock_ministries::{MockServer, NoiseClass, Scale};
use schema::{AdminCode, LinkedBy, Ministry};
use store::{MatchDecision, MatchFilter, MatchKind, MatchStatus, Store, StoredMatch};
use sync::{Silent, SyncEngine};
use uuid::Uuid;

async fn noisy_mock() -> MockServer {
    let mut config = e2e::mock_config(Scale::Small, 11);
    config.linkage_noise = true;
    e2e::start_mock_with(config).await
}

async fn sync_all(engine: &SyncEngine, full: bool) {
    for (m, r) in engine.sync_all(full, &Silent).await {
        r.unwrap_or_else(|e| panic!("{m}: {e}"));
    }
}

/// The person holding a source record now.
async fn holder(db: &tokio_postgres::Client, ministry: &str, source_id: &str) -> Option<Uuid> {
    db.query_opt(
        "SELECT entity_id FROM source_reports
         WHERE entity_type = 'staff' AND ministry = $1 AND source_id = $2",
        &[&ministry, &source_id],
    )
    .await
    .expect("query")
    .and_then(|r| r.get(0))
}

async fn holders(db: &tokio_postgres::Client, m: &StoredMatch) -> (Option<Uuid>, Option<Uuid>) {
    (
        holder(db, m.left.ministry.as_str(), &m.left.source_id).await,
        holder(db, m.right.ministry.as_str(), &m.right.source_id).await,
    )
}

async fn every_pending(store: &Store, filter: &MatchFilter) -> Vec<StoredMatch> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_matches(filter, after, 500)
            .await
            .expect("list matches");
        all.extend(page.items);
        match page.next_after {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

fn pending() -> MatchFilter {
    MatchFilter {
        status: MatchStatus::Pending,
        ..MatchFilter::default()
    }
}

#[tokio::test]
async fn the_queue_keeps_decisions_and_splits_through_every_sync() {
    let mock = noisy_mock().await;
    let truth = mock.truth().clone();
    let (db_name, store) = e2e::fresh_database().await;
    let db = e2e::connect(&db_name).await;
    let engine = e2e::mock_engine(&store, &mock);
    sync_all(&engine, false).await;

    // Pairs wait with their score and every field's part in it, on two persons.
    let queue = every_pending(&store, &pending()).await;
    assert!(queue.len() >= 5, "pairs wait for review: {}", queue.len());
    for m in &queue {
        assert_eq!(m.fields.len(), 7, "{m:?}");
        assert!(m.fields.iter().any(|f| f.field == "name_km"), "{m:?}");
        assert!(m.decision.is_none());
        let (a, b) = holders(&db, m).await;
        assert!(a.is_some() && b.is_some() && a != b, "two persons: {m:?}");
    }
    let model: i64 = db
        .query_one("SELECT count(*) FROM match_models", &[])
        .await
        .expect("models")
        .get(0);
    assert_eq!(model, 1, "the trained model is written down");

    // A mistyped officer id that is another officer's merges nobody: the record stands
    // apart and waits as an identifier conflict.
    let typos: Vec<_> = truth
        .linkage
        .as_ref()
        .expect("the linkage truth")
        .records
        .iter()
        .filter(|r| r.class == NoiseClass::IdTypoOtherOfficer)
        .collect();
    assert!(!typos.is_empty());
    let mut conflicts = 0;
    for r in &typos {
        let written = r.written_officer_id.as_deref().expect("a written id");
        let record = holder(&db, r.source.as_str(), &r.record_id).await;
        let officer = holder(&db, "mcs", written).await;
        assert_ne!(
            record,
            officer,
            "{} {} is not merged into officer {written}",
            r.source.as_str(),
            r.record_id
        );
        let kinds: Vec<String> = db
            .query(
                "SELECT kind FROM match_pairs WHERE decision IS NULL
                   AND ((left_ministry = $1 AND left_source_id = $2
                         AND right_ministry = 'mcs' AND right_source_id = $3)
                     OR (right_ministry = $1 AND right_source_id = $2
                         AND left_ministry = 'mcs' AND left_source_id = $3))",
                &[&r.source.as_str(), &r.record_id, &written],
            )
            .await
            .expect("query")
            .iter()
            .map(|row| row.get(0))
            .collect();
        if kinds == ["identifier_conflict"] {
            conflicts += 1;
        }
    }
    assert!(
        conflicts * 10 >= typos.len() * 9,
        "the typos wait as identifier conflicts: {conflicts} of {}",
        typos.len()
    );

    // Two pairs of four persons: one said different, one said same (uncertain pairs
    // first, as a reviewer would take them).
    let mut candidates: Vec<&StoredMatch> = queue.iter().collect();
    candidates.sort_by_key(|m| m.kind != MatchKind::Uncertain.name());
    let mut chosen: Vec<StoredMatch> = Vec::new();
    let mut persons: BTreeSet<Uuid> = BTreeSet::new();
    for m in candidates {
        let (Some(a), Some(b)) = holders(&db, m).await else {
            continue;
        };
        if !persons.contains(&a) && !persons.contains(&b) {
            persons.extend([a, b]);
            chosen.push(m.clone());
        }
        if chosen.len() == 2 {
            break;
        }
    }
    assert_eq!(chosen.len(), 2, "two pairs of four persons to decide");
    let (apart, joined) = (chosen[0].clone(), chosen[1].clone());
    let decided = store
        .decide_match(
            apart.id,
            MatchDecision::Different,
            Some("two people"),
            "reviewer-1",
        )
        .await
        .expect("decide")
        .expect("the pair");
    assert_eq!(
        decided.decision.as_ref().map(|d| d.decision),
        Some(MatchDecision::Different)
    );
    assert!(matches!(
        store
            .decide_match(apart.id, MatchDecision::Same, None, "reviewer-2")
            .await,
        Err(store::StoreError::MatchDecided(_))
    ));
    let decided = store
        .decide_match(joined.id, MatchDecision::Same, None, "reviewer-1")
        .await
        .expect("decide")
        .expect("the pair");
    let (a, b) = holders(&db, &decided).await;
    assert_eq!(a, b, "same: one person");
    let person = store
        .get_staff(a.expect("a person"), None)
        .await
        .expect("staff")
        .expect("the person");
    assert!(
        person.staff.sources.iter().any(|p| matches!(
            &p.linked,
            Some(LinkedBy::Manual { by, .. }) if by == "reviewer-1"
        )),
        "the link is the reviewer's: {:?}",
        person.staff.sources
    );

    // Both survive a full sync and an incremental one.
    for full in [true, false] {
        if !full {
            mock.mutate(mock_ministries::Ministry::Moh, 0.05)
                .expect("mutate");
            mock.mutate(mock_ministries::Ministry::Moeys, 0.05)
                .expect("mutate");
        }
        sync_all(&engine, full).await;
        let (a, b) = holders(&db, &apart).await;
        assert!(a != b, "different stays two persons (full: {full})");
        let (a, b) = holders(&db, &joined).await;
        assert_eq!(a, b, "same stays one person (full: {full})");
        let apart_now = store.get_match(apart.id).await.expect("get").expect("pair");
        assert_eq!(
            apart_now.decision.map(|d| d.decision),
            Some(MatchDecision::Different)
        );
        let joined_now = store
            .get_match(joined.id)
            .await
            .expect("get")
            .expect("pair");
        assert_eq!(
            joined_now.decision.map(|d| d.decision),
            Some(MatchDecision::Same)
        );
    }

    // A decided pair is no possible duplicate; a pending one is.
    store.reconcile().await.expect("pass");
    let duplicates: Vec<String> = db
        .query(
            "SELECT evidence::text FROM discrepancies
             WHERE kind = 'possible_duplicate' AND resolved_at IS NULL",
            &[],
        )
        .await
        .expect("query")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!duplicates.iter().any(|e| e.contains(&apart.id.to_string())));
    assert!(
        !duplicates
            .iter()
            .any(|e| e.contains(&joined.id.to_string()))
    );
    // A finding is about two persons: every pending pair between two persons has one
    // (several source-record pairs between the same two persons share it).
    let person_pairs: Vec<Vec<Uuid>> = db
        .query(
            "SELECT staff_ids FROM discrepancies
             WHERE kind = 'possible_duplicate' AND resolved_at IS NULL",
            &[],
        )
        .await
        .expect("query")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let still = every_pending(&store, &pending()).await;
    let held = |m: &StoredMatch| {
        Some((
            m.left.staff.as_ref()?.staff.id,
            m.right.staff.as_ref()?.staff.id,
        ))
        .filter(|(a, b)| a != b)
    };
    let waiting = still
        .iter()
        .find_map(held)
        .expect("a pending pair of two persons");
    assert!(
        person_pairs
            .iter()
            .any(|ids| ids.contains(&waiting.0) && ids.contains(&waiting.1)),
        "a pending pair is a possible duplicate"
    );

    // Split the joined pair: the record returns to a person of its own, and the pair
    // waits again, never linked by the engine.
    let (person, _) = holders(&db, &joined).await;
    let person = person.expect("one person");
    let side = &joined.right;
    let outcome = store
        .split_staff(person, side.ministry, &side.source_id, "reviewer-1")
        .await
        .expect("split")
        .expect("the person");
    assert_ne!(outcome.detached_to, person);
    assert_eq!(
        holder(&db, side.ministry.as_str(), &side.source_id).await,
        Some(outcome.detached_to)
    );
    let requeued = outcome.match_id.expect("re-scored");
    let pair = store.get_match(requeued).await.expect("get").expect("pair");
    assert!(pair.decision.is_none(), "pending again: {pair:?}");
    for full in [true, false] {
        sync_all(&engine, full).await;
        assert_eq!(
            holder(&db, side.ministry.as_str(), &side.source_id).await,
            Some(outcome.detached_to),
            "a split pair is never linked again (full: {full})"
        );
        assert!(store.get_match(requeued).await.expect("get").is_some());
    }
    assert!(matches!(
        store
            .split_staff(outcome.detached_to, side.ministry, &side.source_id, "r")
            .await,
        Err(store::StoreError::LastRecord { .. })
    ));
    assert!(matches!(
        store
            .split_staff(outcome.detached_to, Ministry::Mcs, "0000000000", "r")
            .await,
        Err(store::StoreError::NotOnPerson { .. })
    ));
    mock.stop().await;
}

#[tokio::test]
async fn the_queue_is_paged_by_key_and_kept_to_a_jurisdiction() {
    let mock = noisy_mock().await;
    let (_db_name, store) = e2e::fresh_database().await;
    let engine = e2e::mock_engine(&store, &mock);
    sync_all(&engine, false).await;

    let all = every_pending(&store, &pending()).await;
    assert!(all.len() > 6, "{}", all.len());
    // Pages of three, each after the last key of the one before, cover the queue once.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_matches(&pending(), after, 3)
            .await
            .expect("page");
        assert!(page.items.len() <= 3);
        paged.extend(page.items.iter().map(|m| m.id));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let ids: Vec<Uuid> = all.iter().map(|m| m.id).collect();
    assert_eq!(paged, ids, "the pages are the queue, in key order, once");
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    // A province's jurisdiction: the pairs with either person inside it, and only those.
    let unit_of = |m: &StoredMatch, left: bool| {
        let side = if left { &m.left } else { &m.right };
        side.staff
            .as_ref()
            .and_then(|s| s.staff.admin_unit_code.as_ref())
            .map(|c| c.as_str().to_owned())
    };
    let province = all
        .iter()
        .find_map(|m| unit_of(m, true))
        .expect("a placed person")[..2]
        .to_owned();
    let within = MatchFilter {
        within: Some(AdminCode::parse(&province).expect("code")),
        ..pending()
    };
    let inside = every_pending(&store, &within).await;
    let inside_ids: BTreeSet<Uuid> = inside.iter().map(|m| m.id).collect();
    let in_province = |m: &StoredMatch| {
        [true, false]
            .into_iter()
            .any(|left| unit_of(m, left).is_some_and(|u| u.starts_with(&province)))
    };
    assert!(!inside.is_empty());
    for m in &all {
        assert_eq!(
            inside_ids.contains(&m.id),
            in_province(m),
            "pair {} inside province {province}",
            m.id
        );
    }
    assert!(
        inside.len() < all.len(),
        "another province's pairs are left out"
    );
    // The ministry and kind filters.
    let moh = MatchFilter {
        ministry: Some(Ministry::Moh),
        ..pending()
    };
    for m in every_pending(&store, &moh).await {
        assert!(m.left.ministry == Ministry::Moh || m.right.ministry == Ministry::Moh);
    }
    let conflicts = MatchFilter {
        kind: Some(MatchKind::IdentifierConflict),
        ..pending()
    };
    for m in every_pending(&store, &conflicts).await {
        assert_eq!(m.kind, "identifier_conflict");
    }
    mock.stop().await;
}
