//! The loop closed, end to end: sync every ministry from the mock, take in the sites'
//! rosters, let a reviewer explain some findings and confirm the real problems the
//! truth names, fetch the correction requests each ministry receives, let the mock
//! ministries' staff apply a share of them, and sync again: exactly the applied
//! requests are done and their findings resolved; the others stay open. A ministry's
//! system subscribed to the findings and corrections hears of each one once, though
//! its receiver fails or hangs on a share of the first attempts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use e2e::{TestApp, mock_engine, spawn_app, spawn_app_with, start_mock};
use mock_ministries::{CorrectionsApplied, Ministry, RosterPlan, Scale, Truth};
use serde_json::{Value, json};
use sync::Silent;

use crate::push::{Answer, Receiver, quick, subscribe, until};
use crate::rosters::{all_facilities, ids_by_identifier, planned_facility};

/// Of the requests the ministries receive, the share their staff apply.
const APPLIED_SHARE: f64 = 0.5;
/// Of the `on_roll_not_serving` findings, one in this many is explained as leave.
const EXPLAINED_ONE_IN: usize = 3;

async fn sync(app: &TestApp, mock: &mock_ministries::MockServer) {
    for (m, r) in mock_engine(&app.store, mock).sync_all(false, &Silent).await {
        r.unwrap_or_else(|e| panic!("sync {m}: {e}"));
    }
}

/// Submits every roster of `plan`, as the sites would.
async fn submit_rosters(app: &TestApp, plan: &RosterPlan) {
    let site = app.token("rosters:write facilities:read", None);
    let ids = ids_by_identifier(&all_facilities(app).await);
    let started = Instant::now();
    for r in &plan.submissions {
        let id = planned_facility(&ids, r);
        let res = app
            .http
            .post(app.url(&format!("/v1/facilities/{id}/rosters")))
            .bearer_auth(&site)
            .json(&json!({"period": plan.period, "entries": r.entries}))
            .send()
            .await
            .expect("post");
        let status = res.status().as_u16();
        let receipt: Value = res.json().await.expect("json");
        assert_eq!(status, 201, "{receipt}");
    }
    println!(
        "{} rosters submitted in {:?}",
        plan.submissions.len(),
        started.elapsed()
    );
}

async fn act(app: &TestApp, token: &str, id: &str, body: Value) {
    let res = app
        .http
        .post(app.url(&format!("/v1/discrepancies/{id}/actions")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let answer: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{body} on {id}: {answer}");
}

fn evidence(finding: &Value) -> &[Value] {
    finding["evidence"].as_array().map_or(&[], Vec::as_slice)
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The gateway's name of a truth's attribute field.
fn field_name(truth_field: &str) -> &str {
    match truth_field {
        "name" => "name_km",
        other => other,
    }
}

/// The findings the truth says are real problems, with the ministry that must fix
/// each: an attribute conflict is the sector ministry's (the roll holds the
/// person's own values), an assignment conflict the roll's (it places the officer
/// where the sector ministry does not see them).
fn real_problems(truth: &Truth, findings: &[Value]) -> Vec<(String, &'static str)> {
    let mut chosen = Vec::new();
    for f in findings {
        let id = str_of(&f["id"]).to_owned();
        let ev = evidence(f);
        match str_of(&f["kind"]) {
            "attribute_conflict" => {
                let planted = truth.facts.attribute_conflict.iter().find(|c| {
                    ev.iter().any(|e| {
                        e["source"] == c.source.as_str()
                            && e["record_id"] == c.record_id.as_str()
                            && e["field"] == field_name(&c.field)
                    }) && ev
                        .iter()
                        .any(|e| e["source"] == "mcs" && e["record_id"] == c.officer_id.as_str())
                });
                if let Some(c) = planted {
                    chosen.push((id, c.source.as_str()));
                }
            }
            "assignment_conflict" => {
                let planted = truth.facts.assignment_conflict.iter().any(|c| {
                    ev.iter()
                        .any(|e| e["source"] == "mcs" && e["record_id"] == c.officer_id.as_str())
                });
                if planted {
                    chosen.push((id, Ministry::Mcs.as_str()));
                }
            }
            _ => {}
        }
    }
    chosen
}

#[derive(Debug, Default)]
struct Tally {
    generated: usize,
    applied: usize,
    refused: usize,
    done: usize,
    open: usize,
    obsolete: usize,
    /// Done but not applied, or applied but not done.
    wrongly_marked: usize,
    /// Applied and done, yet its finding is not resolved.
    finding_unresolved: usize,
}

fn table(tallies: &BTreeMap<String, Tally>) -> String {
    let mut out = format!(
        "{:<8} {:>9} {:>7} {:>7} {:>5} {:>5} {:>8} {:>14} {:>18}\n",
        "ministry",
        "generated",
        "applied",
        "refused",
        "done",
        "open",
        "obsolete",
        "wrongly marked",
        "finding unresolved"
    );
    for (m, t) in tallies {
        out.push_str(&format!(
            "{m:<8} {:>9} {:>7} {:>7} {:>5} {:>5} {:>8} {:>14} {:>18}\n",
            t.generated,
            t.applied,
            t.refused,
            t.done,
            t.open,
            t.obsolete,
            t.wrongly_marked,
            t.finding_unresolved
        ));
    }
    out
}

/// The subscriber's receiver: a quarter of the events fail (500) on their first
/// attempt, one in sixteen hangs past the attempt's timeout on it, and one in sixteen
/// answers slowly; everything else is taken at once.
async fn flaky_receiver() -> Receiver {
    Receiver::start_keyed(|id, nth| match (id.chars().next(), nth) {
        (Some('0'..='3'), 1) => Answer::Status(500),
        (Some('4'), 1) => Answer::Hang,
        (Some('5'), _) => Answer::Slow(std::time::Duration::from_millis(200)),
        _ => Answer::Status(200),
    })
    .await
}

/// The events a receiver took (answered 2xx), as (type, subject id) by webhook id.
fn taken(receiver: &Receiver) -> Vec<(String, String, String)> {
    receiver
        .received()
        .into_iter()
        .filter(|r| r.answered.is_some_and(|s| (200..300).contains(&s)))
        .map(|r| {
            let body: Value = serde_json::from_str(&r.body).expect("an event is JSON");
            (
                r.id,
                str_of(&body["type"]).to_owned(),
                str_of(&body["data"]["id"]).to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn corrections_the_ministries_apply_are_marked_done_by_the_next_sync_and_no_others() {
    let mock = start_mock(Scale::Small, 23).await;
    let truth = mock.truth().clone();
    let app = spawn_app_with(|s| quick(s, 6, 20)).await;
    let receiver = flaky_receiver().await;
    subscribe(
        &app,
        &receiver.url,
        &["finding.opened", "finding.resolved", "correction.created"],
    )
    .await;
    sync(&app, &mock).await;
    submit_rosters(&app, &mock.roster_plan(0.3, 7)).await;

    let reader = app.token("reports:read staff:read:pii", None);
    let (findings, _) =
        e2e::collect_pages(&app, "/v1/discrepancies?status=open&limit=1000", &reader).await;

    // A district officer explains a share of the absences as leave, and confirms the
    // conflicts the truth says are real, naming the ministry that must fix each.
    let reviewer = app.token_for("district-officer", "findings:review", None);
    let absences: Vec<&Value> = findings
        .iter()
        .filter(|f| f["kind"] == "on_roll_not_serving")
        .collect();
    let mut explained = 0;
    for f in absences.iter().step_by(EXPLAINED_ONE_IN) {
        act(
            &app,
            &reviewer,
            str_of(&f["id"]),
            json!({"action": "explain", "reason": "on_leave", "note": "ច្បាប់ឈប់សម្រាកលំហែមាតុភាព"}),
        )
        .await;
        explained += 1;
    }
    let confirmed = real_problems(&truth, &findings);
    for (id, ministry) in &confirmed {
        act(
            &app,
            &reviewer,
            id,
            json!({"action": "confirm", "ministry": ministry}),
        )
        .await;
    }
    println!(
        "{} findings open; {explained} explained as leave, {} confirmed",
        findings.len(),
        confirmed.len()
    );
    assert!(explained > 0 && !confirmed.is_empty());

    // Each ministry fetches its open requests, and its staff apply a share of them.
    let corrections_reader = app.token("corrections:read staff:read:pii", None);
    let (generated, _) = e2e::collect_pages(
        &app,
        "/v1/corrections?status=open&limit=1000",
        &corrections_reader,
    )
    .await;
    let requests: Vec<Value> = generated
        .iter()
        .map(|c| {
            json!({
                "id": c["id"], "ministry": c["ministry"], "record_id": c["record_id"],
                "field": c["field"], "supported": c["supported"],
            })
        })
        .collect();
    let res = app
        .http
        .post(format!("{}/_control/corrections", mock.base_url()))
        .json(&json!({"corrections": requests, "share": APPLIED_SHARE, "seed": 7}))
        .send()
        .await
        .expect("apply");
    assert_eq!(res.status().as_u16(), 200);
    let answer: CorrectionsApplied = res.json().await.expect("answer");
    let truth_now: Truth = app
        .http
        .get(format!("{}/_control/truth", mock.base_url()))
        .send()
        .await
        .expect("truth")
        .json()
        .await
        .expect("truth JSON");
    let applied: BTreeSet<String> = truth_now
        .corrections_applied
        .iter()
        .map(|a| a.id.clone())
        .collect();
    assert_eq!(
        applied,
        answer.applied.iter().cloned().collect::<BTreeSet<_>>()
    );
    let refused: HashMap<&str, String> = answer
        .refused
        .iter()
        .map(|r| (r.id.as_str(), format!("{:?}", r.reason)))
        .collect();

    // The next (incremental) sync sees the changed records.
    sync(&app, &mock).await;
    let (after, _) = e2e::collect_pages(
        &app,
        "/v1/corrections?status=all&limit=1000",
        &corrections_reader,
    )
    .await;
    let (all_findings, _) =
        e2e::collect_pages(&app, "/v1/discrepancies?status=all&limit=1000", &reader).await;
    let finding_status: HashMap<&str, &str> = all_findings
        .iter()
        .map(|f| (str_of(&f["id"]), str_of(&f["status"])))
        .collect();
    let status_of: HashMap<&str, &Value> = after.iter().map(|c| (str_of(&c["id"]), c)).collect();

    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut wrong = Vec::new();
    for c in &generated {
        let id = str_of(&c["id"]);
        let t = tallies
            .entry(str_of(&c["ministry"]).to_owned())
            .or_default();
        t.generated += 1;
        let is_applied = applied.contains(id);
        t.applied += usize::from(is_applied);
        t.refused += usize::from(refused.contains_key(id));
        let now = status_of.get(id).copied().unwrap_or(&Value::Null);
        let status = str_of(&now["status"]);
        match status {
            "done" => t.done += 1,
            "open" => t.open += 1,
            "obsolete" => t.obsolete += 1,
            _ => {}
        }
        if (status == "done") != is_applied {
            t.wrongly_marked += 1;
            wrong.push(format!(
                "{id} {} {} {} applied={is_applied} now {status}: held {} supported {} ({})",
                c["ministry"],
                c["record_id"],
                c["field"],
                c["held"],
                c["supported"],
                refused.get(id).map_or("", String::as_str)
            ));
        }
        if is_applied
            && status == "done"
            && finding_status.get(str_of(&c["discrepancy_id"])) != Some(&"resolved")
        {
            t.finding_unresolved += 1;
            wrong.push(format!("{id}: done, its finding not resolved"));
        }
    }
    println!("{}", table(&tallies));
    for w in wrong.iter().take(20) {
        println!("  {w}");
    }

    // The subscriber heard of every finding opened and resolved and every request
    // created, each once, whatever its receiver did to the first attempts.
    let expected: BTreeSet<(String, String)> = all_findings
        .iter()
        .map(|f| ("finding.opened".to_owned(), str_of(&f["id"]).to_owned()))
        .chain(
            all_findings
                .iter()
                .filter(|f| f["status"] == "resolved")
                .map(|f| ("finding.resolved".to_owned(), str_of(&f["id"]).to_owned())),
        )
        .chain(
            after
                .iter()
                .map(|c| ("correction.created".to_owned(), str_of(&c["id"]).to_owned())),
        )
        .collect();
    until("every event taken by the subscriber", || {
        taken(&receiver).len() >= expected.len()
    })
    .await;
    let events = taken(&receiver);
    let heard: BTreeSet<(String, String)> = events
        .iter()
        .map(|(_, t, id)| (t.clone(), id.clone()))
        .collect();
    let webhook_ids: BTreeSet<&str> = events.iter().map(|(id, _, _)| id.as_str()).collect();
    let failed = receiver
        .received()
        .iter()
        .filter(|r| r.answered.is_none_or(|s| s >= 500))
        .count();
    println!(
        "subscriber: {} events taken once each ({} expected); {failed} attempts failed or hung",
        events.len(),
        expected.len()
    );
    assert_eq!(webhook_ids.len(), events.len(), "an event was taken twice");
    assert_eq!(
        heard, expected,
        "the events heard are the findings and requests"
    );
    assert_eq!(
        events.len(),
        expected.len(),
        "one event per finding change and request"
    );
    assert!(failed > 0, "the receiver failed some first attempts");

    let wrongly: usize = tallies.values().map(|t| t.wrongly_marked).sum();
    let unresolved: usize = tallies.values().map(|t| t.finding_unresolved).sum();
    assert_eq!(wrongly, 0, "wrongly marked\n{}", table(&tallies));
    assert_eq!(
        unresolved,
        0,
        "applied, done, finding open\n{}",
        table(&tallies)
    );
    let closing = tallies
        .values()
        .filter(|t| t.generated > 0 && t.applied > 0)
        .count();
    assert!(
        closing >= 2,
        "corrections generated and applied for at least two ministries\n{}",
        table(&tallies)
    );
    // The rest wait, open, for their ministry's staff.
    for t in tallies.values() {
        assert_eq!(
            t.open + t.done,
            t.generated,
            "nothing else settles\n{}",
            table(&tallies)
        );
    }
    app.stop().await;
    mock.stop().await;
}

/// A request is done when the ministry's record holds the supported value, not
/// merely when the record changed and the finding resolved: here the roll takes the
/// sector ministry's value (the finding resolves the other way) while every teacher
/// row changes for an unrelated reason (a position), so each request to MoEYS must
/// end obsolete.
#[tokio::test]
async fn a_request_is_not_done_when_its_finding_resolved_the_other_way_while_the_record_changed() {
    let mock = start_mock(Scale::Small, 23).await;
    let truth = mock.truth().clone();
    let app = spawn_app().await;
    sync(&app, &mock).await;
    let reader = app.token("reports:read staff:read:pii", None);
    let (findings, _) = e2e::collect_pages(
        &app,
        "/v1/discrepancies?kind=attribute_conflict&limit=1000",
        &reader,
    )
    .await;
    let reviewer = app.token("findings:review", None);
    let confirmed: Vec<_> = real_problems(&truth, &findings)
        .into_iter()
        .filter(|(_, m)| *m == "moeys")
        .collect();
    assert!(!confirmed.is_empty());
    for (id, ministry) in &confirmed {
        act(
            &app,
            &reviewer,
            id,
            json!({"action": "confirm", "ministry": ministry}),
        )
        .await;
    }
    let corrections_reader = app.token("corrections:read staff:read:pii", None);
    let (generated, _) = e2e::collect_pages(
        &app,
        "/v1/corrections?ministry=moeys&status=open&limit=1000",
        &corrections_reader,
    )
    .await;
    assert!(!generated.is_empty());

    // The roll's staff take the teachers' values instead; MoEYS changes every
    // teacher's position, but none of the fields it was asked to correct.
    let roll_side: Vec<Value> = generated
        .iter()
        .map(|c| {
            let officer = evidence(c)
                .iter()
                .find(|e| e["source"] == "mcs")
                .map(|e| e["record_id"].clone())
                .expect("the roll's record in the evidence");
            json!({"id": format!("roll-{}", str_of(&c["id"])), "ministry": "mcs",
                   "record_id": officer, "field": c["field"], "supported": c["held"]})
        })
        .collect();
    let answer = mock
        .apply_corrections(
            &serde_json::from_value::<Vec<mock_ministries::CorrectionRequest>>(json!(roll_side))
                .expect("requests"),
            1.0,
            1,
        )
        .expect("applied");
    assert!(answer.refused.is_empty(), "{answer:?}");
    mock.mutate(Ministry::Moeys, 1.0).expect("mutated");
    sync(&app, &mock).await;

    let (after, _) = e2e::collect_pages(
        &app,
        "/v1/corrections?ministry=moeys&status=all&limit=1000",
        &corrections_reader,
    )
    .await;
    let count = |s: &str| after.iter().filter(|c| c["status"] == s).count();
    println!(
        "moeys: {} generated; after the roll took the teachers' values: {} done, {} obsolete, {} open",
        generated.len(),
        count("done"),
        count("obsolete"),
        count("open")
    );
    assert_eq!(
        count("done"),
        0,
        "marked done though the teacher rows still hold the value they were asked to change"
    );
    assert_eq!(count("obsolete"), generated.len());
    app.stop().await;
    mock.stop().await;
}
