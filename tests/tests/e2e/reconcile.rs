//! The whole flow against the ground truth: sync every ministry from the mock, submit
//! the rosters the mock's service sites would send (absent officers, unknown people),
//! and compare the open discrepancies with what the mock planted, kind by kind.

use std::time::Instant;

use e2e::scoring::{self, KindScore};
use e2e::{mock_engine, start_mock};
use mock_ministries::{Ministry, Scale};
use serde_json::{Value, json};
use sync::Silent;

use crate::rosters::{all_facilities, ids_by_identifier, planned_facility};

async fn open_findings(app: &e2e::TestApp, token: &str) -> Vec<Value> {
    e2e::collect_pages(app, "/v1/discrepancies?limit=1000", token)
        .await
        .0
}

fn assert_scores(stage: &str, scores: &[KindScore]) {
    println!("{stage}\n{}", scoring::table(scores));
    for s in scores {
        assert!(
            s.expected > 0,
            "{stage}: the mock planted no {} to find",
            s.kind
        );
        assert!(
            s.precision() >= 0.99 && s.recall() >= 0.99,
            "{stage}: {} precision {:.4} recall {:.4}\n{}",
            s.kind,
            s.precision(),
            s.recall(),
            scoring::table(scores)
        );
    }
}

/// Submits every roster of `plan`, as the sites would; prints the latency.
async fn submit_rosters(app: &e2e::TestApp, plan: &mock_ministries::RosterPlan) {
    let site = app.token("rosters:write facilities:read", None);
    let ids = ids_by_identifier(&all_facilities(app).await);
    let mut latencies = Vec::new();
    for r in &plan.submissions {
        let id = planned_facility(&ids, r);
        let body = json!({"period": plan.period, "entries": r.entries});
        let started = Instant::now();
        let res = app
            .http
            .post(app.url(&format!("/v1/facilities/{id}/rosters")))
            .bearer_auth(&site)
            .json(&body)
            .send()
            .await
            .expect("post");
        latencies.push(started.elapsed());
        let status = res.status().as_u16();
        let receipt: Value = res.json().await.expect("json");
        assert_eq!(status, 201, "{receipt}");
        assert_eq!(receipt["counts"]["entries"], r.entries.len());
    }
    latencies.sort();
    println!(
        "{} rosters submitted; latency p50 {:?}, max {:?}",
        latencies.len(),
        latencies[latencies.len() / 2],
        latencies.last().expect("some")
    );
}

#[tokio::test]
async fn discrepancies_match_the_planted_truth_before_and_after_rosters() {
    let mock = start_mock(Scale::Small, 11).await;
    let truth = mock.truth().clone();
    let app = e2e::spawn_app().await;
    for (m, r) in mock_engine(&app.store, &mock)
        .sync_all(false, &Silent)
        .await
    {
        r.unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    let reader = app.token("reports:read staff:read:pii facilities:read", None);
    let found = open_findings(&app, &reader).await;
    assert_scores("after the sync", &scoring::score(&truth, None, &found));

    // Every finding says which sources disagree, and when they said it.
    for f in &found {
        let evidence = f["evidence"].as_array().expect("evidence");
        assert!(!evidence.is_empty(), "{f}");
        assert!(evidence.iter().all(|e| e["source"].is_string()), "{f}");
        assert!(f["first_seen"].is_string() && f["status"] == "open", "{f}");
    }

    // The sites' rosters.
    let plan = mock.roster_plan(0.3, 7);
    assert!(!plan.absent.is_empty() && !plan.unknown.is_empty());
    submit_rosters(&app, &plan).await;
    let found = open_findings(&app, &reader).await;
    assert_scores(
        "after the rosters",
        &scoring::score(&truth, Some(&plan), &found),
    );

    // A later sync leaves the roster findings standing: the full pass agrees with the
    // facility passes.
    for (m, r) in mock_engine(&app.store, &mock)
        .sync_all(false, &Silent)
        .await
    {
        r.unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    let again = open_findings(&app, &reader).await;
    assert_scores(
        "after a resync",
        &scoring::score(&truth, Some(&plan), &again),
    );
    app.stop().await;
}

#[tokio::test]
async fn the_pass_after_an_incremental_sync_looks_at_what_changed_and_agrees_with_a_country_pass() {
    let mock = start_mock(Scale::Small, 13).await;
    let app = e2e::spawn_app().await;
    let engine = mock_engine(&app.store, &mock);
    for (m, r) in engine.sync_all(false, &Silent).await {
        r.unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    let first = engine
        .last_reconciliation()
        .expect("a pass after the first sync");
    assert_eq!(
        first.people, None,
        "a first sync is judged country-wide: {first:?}"
    );
    submit_rosters(&app, &mock.roster_plan(0.3, 5)).await;

    // A change no pass has looked at yet (as if a sync's pass had failed): the next
    // pass must look back to where the last one cut, not to where its own sync began.
    let db = e2e::connect(&app.settings.database.name).await;
    let edited: uuid::Uuid = db
        .query_one(
            "UPDATE staff SET birth_date = birth_date + 1, version = nextval('record_version')
             WHERE id = (SELECT s.id FROM staff s
                         WHERE s.birth_date IS NOT NULL
                           AND EXISTS (SELECT 1 FROM source_reports r WHERE r.entity_id = s.id AND r.ministry = 'mcs')
                           AND EXISTS (SELECT 1 FROM source_reports r WHERE r.entity_id = s.id AND r.ministry IN ('moh', 'moeys'))
                         ORDER BY s.id LIMIT 1)
             RETURNING id",
            &[],
        )
        .await
        .expect("edit")
        .get(0);

    // Officers retire or move: findings open and resolve; routine edits change nothing.
    let moved = mock.transfer(0.04).expect("transfer");
    mock.mutate(Ministry::Moh, 0.02).expect("mutate");
    for (m, r) in engine.sync_all(false, &Silent).await {
        r.unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    let scoped = engine
        .last_reconciliation()
        .expect("a pass after the incremental sync");
    let people = scoped
        .people
        .expect("the incremental's pass looks at the people it changed");
    let registry: i64 = e2e::connect(&app.settings.database.name)
        .await
        .query_one("SELECT count(*) FROM staff", &[])
        .await
        .expect("count")
        .get(0);
    assert!(
        people >= moved.changed["mcs_officers"].len() as u64 && (people as i64) < registry / 5,
        "looked at {people} of {registry} people for {} changed officers",
        moved.changed["mcs_officers"].len()
    );
    assert!(
        scoped.opened > 0 && scoped.resolved > 0,
        "retirements and moves must open and resolve findings: {scoped:?}"
    );

    let conflict: i64 = db
        .query_one(
            "SELECT count(*) FROM discrepancies WHERE kind = 'attribute_conflict'
             AND resolved_at IS NULL AND $1 = ANY (staff_ids) AND subject LIKE '%:birth_date'",
            &[&edited],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(conflict, 1, "the edit made before the sync was looked at");

    // A country pass over the same registry finds nothing the scoped one missed, and
    // resolves nothing it left open.
    println!("scoped pass: {scoped:?}");
    let country = app.store.reconcile().await.expect("country pass");
    assert_eq!(
        (country.opened, country.resolved),
        (0, 0),
        "the country pass disagrees with the scoped pass {scoped:?}: {country:?}"
    );
    app.stop().await;
}

/// Who a staff record really is, by the truth: the roll officer (the first of a roll
/// duplicate's two ids), or nobody on the roll (`None`). A record the linkage truth
/// does not list carries its officer's own roll id, which the person holding it holds.
pub(crate) fn truth_officer(linkage: &mock_ministries::Linkage, side: &Value) -> Option<String> {
    let ministry = side["ministry"].as_str().expect("ministry");
    let id = side["source_id"].as_str().expect("source_id");
    let canonical = |officer: &str| -> String {
        linkage
            .roll_duplicates
            .iter()
            .find(|d| d.officer_ids.iter().any(|o| o == officer))
            .map_or_else(|| officer.to_owned(), |d| d.officer_ids[0].clone())
    };
    if ministry == Ministry::Mcs.as_str() {
        return Some(canonical(id));
    }
    if let Some(r) = linkage
        .records
        .iter()
        .find(|r| r.source.as_str() == ministry && r.record_id == id)
    {
        return r.officer_id.as_deref().map(canonical);
    }
    side["staff"]["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|s| s["ministry"] == Ministry::Mcs.as_str())
        .and_then(|s| s["source_id"].as_str())
        .map(canonical)
}

/// A district officer works through the queue as the truth says: each sector record
/// paired with a roll record or another sector record is the same person or not
/// (a sector record carrying another officer's id is paired with its own officer as
/// `distinct_officers`). The roll's own duplicates (two officer ids, one person) are
/// left for MCS, and so is a "same" that would join them through a sector record:
/// they stay possible duplicates.
/// Returns (same, different) decided.
async fn review_from_truth(
    app: &e2e::TestApp,
    linkage: &mock_ministries::Linkage,
) -> (usize, usize) {
    let reviewer = app.token("matches:review staff:read:pii", None);
    let (pending, _) = e2e::collect_pages(app, "/v1/matches?limit=1000", &reviewer).await;
    let (mut same, mut different) = (0, 0);
    let roll = Ministry::Mcs.as_str();
    for pair in &pending {
        let id = pair["id"].as_str().expect("id");
        let (status, pair) = app.get_json(&format!("/v1/matches/{id}"), &reviewer).await;
        assert_eq!(status, 200, "{pair}");
        if pair["status"] != "pending" {
            continue; // an earlier decision joined or parted its persons already
        }
        let (l, r) = (
            truth_officer(linkage, &pair["left"]),
            truth_officer(linkage, &pair["right"]),
        );
        let decision = if l.is_some() && l == r {
            "same"
        } else {
            "different"
        };
        // Joining two persons who each hold a roll record is joining the roll's own
        // duplicates: that is MCS's to settle, not a district's.
        let on_roll = |side: &str| {
            pair[side]["staff"]["sources"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x["ministry"] == roll))
        };
        if decision == "same" && on_roll("left") && on_roll("right") {
            continue;
        }
        let res = app
            .http
            .post(app.url(&format!("/v1/matches/{id}/decision")))
            .bearer_auth(&reviewer)
            .json(&json!({"decision": decision, "note": "checked against the truth"}))
            .send()
            .await
            .expect("decide");
        let status = res.status().as_u16();
        let body: Value = res.json().await.expect("json");
        assert_eq!(status, 200, "{body}");
        if decision == "same" {
            same += 1;
        } else {
            different += 1;
        }
    }
    (same, different)
}

/// The same flow on records as sector systems really hold them: ids missing or
/// mistyped, names in variant spellings, the roll's duplicates, look-alikes. The
/// matcher links what it can prove and queues the rest; once a district officer has
/// worked through the queue, the findings are the planted truth again (each decision
/// recomputing its two persons' findings at once), after the rosters too, and after
/// a resync (decisions hold).
#[tokio::test]
async fn on_messy_records_the_findings_match_the_truth_once_the_queue_is_reviewed() {
    let mock = e2e::start_mock_with(mock_ministries::MockConfig {
        linkage_noise: true,
        ..e2e::mock_config(Scale::Small, 11)
    })
    .await;
    let truth = mock.truth().clone();
    let linkage = truth
        .linkage
        .clone()
        .expect("a noisy world has its linkage truth");
    let app = e2e::spawn_app().await;
    let engine = mock_engine(&app.store, &mock);
    for (m, r) in engine.sync_all(false, &Silent).await {
        r.unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    let reader = app.token("reports:read staff:read:pii facilities:read", None);
    let before = scoring::score(&truth, None, &open_findings(&app, &reader).await);
    println!(
        "before the review (not asserted: queued pairs are two persons yet)\n{}",
        scoring::table(&before)
    );

    let (same, different) = review_from_truth(&app, &linkage).await;
    println!("reviewed: {same} same, {different} different");
    assert!(same > 0 && different > 0, "the queue holds both kinds");
    let found = open_findings(&app, &reader).await;
    // Nothing but the decisions ran: their own passes brought the findings to truth.
    assert_scores("after the review", &scoring::score(&truth, None, &found));

    let plan = mock.roster_plan(0.3, 7);
    submit_rosters(&app, &plan).await;
    assert_scores(
        "after the rosters",
        &scoring::score(&truth, Some(&plan), &open_findings(&app, &reader).await),
    );
    for (m, r) in engine.sync_all(false, &Silent).await {
        r.unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    assert_scores(
        "after a resync",
        &scoring::score(&truth, Some(&plan), &open_findings(&app, &reader).await),
    );
    app.stop().await;
}
