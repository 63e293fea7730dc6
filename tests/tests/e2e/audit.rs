//! The audit log: who read personal data, hash-chained, never lost.

use e2e::{spawn_app, spawn_app_with};
use gateway::config::Settings;
use serde_json::Value;
use store::{AuditProblem, AuditVerdict, CheckpointFault, CheckpointKey, Store, Voucher};

async fn audit_rows(db: &str) -> Vec<(i64, String, String, String, String, i32, Vec<uuid::Uuid>)> {
    e2e::connect(db)
        .await
        .query("SELECT seq, request_id, client, route, query, status, record_ids FROM audit_log ORDER BY seq", &[])
        .await
        .expect("query")
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6)))
        .collect()
}

async fn sql(db: &str, statement: &str) {
    let client = e2e::connect(db).await;
    client.batch_execute(statement).await.expect("sql");
}

#[tokio::test]
async fn reading_staff_is_audited_with_client_route_ids_and_request_id() {
    let app = spawn_app().await;
    let sample = app.load_sample(1).await;
    let db = app.settings.database.name.clone();
    let token = app.token("staff:read facilities:read", None);
    let person = &sample.staff[4];
    let res = app
        .http
        .get(app.url(&format!("/v1/staff/{}", person.id)))
        .bearer_auth(&token)
        .header("X-Request-Id", "req-abc-123")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-request-id"], "req-abc-123");
    let list = app
        .get("/v1/staff?limit=5&employer=MOH", Some(&token))
        .await;
    let list_request_id = list.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    let listed: Value = list.json().await.expect("json");
    // Facilities carry no personal data: not audited.
    app.get("/v1/facilities", Some(&token)).await;
    app.stop().await;

    let rows = audit_rows(&db).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (seq, rid, client, route, _, status, ids) = &rows[0];
    assert_eq!(
        (*seq, rid.as_str(), client.as_str(), *status),
        (1, "req-abc-123", "test-client", 200)
    );
    assert_eq!(route, &format!("/v1/staff/{}", person.id));
    assert_eq!(ids, &vec![person.id]);
    let (_, rid, _, route, query, _, ids) = &rows[1];
    assert_eq!(rid, &list_request_id);
    assert_eq!(
        (route.as_str(), query.as_str()),
        ("/v1/staff", "limit=5&employer=MOH")
    );
    let listed_ids: Vec<uuid::Uuid> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").parse().expect("uuid"))
        .collect();
    assert_eq!(ids, &listed_ids);
}

#[tokio::test]
async fn entries_are_written_while_the_gateway_runs_not_only_when_it_stops() {
    let app = spawn_app().await;
    let sample = app.load_sample(1).await;
    let db = app.settings.database.name.clone();
    let token = app.token("staff:read", None);
    for person in sample.staff.iter().take(3) {
        let res = app
            .get(&format!("/v1/staff/{}", person.id), Some(&token))
            .await;
        assert_eq!(res.status(), 200);
    }
    // Entries wait at most audit.max_delay_ms for company; allow for a slow machine.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut written = audit_rows(&db).await.len();
    while written < 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        written = audit_rows(&db).await.len();
    }
    assert_eq!(
        written, 3,
        "the entries should be in the log with the gateway still up"
    );
    app.stop().await;
}

#[tokio::test]
async fn no_entry_is_lost_on_a_graceful_shutdown() {
    let app = spawn_app().await;
    let sample = app.load_sample(1).await;
    let db = app.settings.database.name.clone();
    let store = app.store.clone();
    let token = app.token("staff:read", None);
    let requests = 200;
    let mut handles = Vec::new();
    for i in 0..requests {
        let url = app.url(&format!(
            "/v1/staff/{}",
            sample.staff[i % sample.staff.len()].id
        ));
        let (http, token) = (app.http.clone(), token.clone());
        handles.push(tokio::spawn(async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("send")
                .status()
        }));
    }
    for h in handles {
        assert_eq!(h.await.expect("join"), 200);
    }
    app.stop().await;
    assert_eq!(audit_rows(&db).await.len(), requests);
    // The writer checkpointed the head after its final drain.
    assert_eq!(
        store.verify_audit_chain(&[key()]).await.expect("verify"),
        AuditVerdict::Intact {
            entries: requests as u64,
            checkpointed: requests as u64
        }
    );
}

/// The key test gateways sign checkpoints with, as the CLI builds it from settings.
fn key() -> CheckpointKey {
    e2e::test_settings("any")
        .audit
        .checkpoint_key()
        .expect("a valid key")
        .expect("a key is set")
}

/// A gateway that served `reads` staff records (one audit entry each) and stopped, so
/// its writer checkpointed the chain's head; its database, store and settings.
async fn audited(reads: usize) -> (String, Store, Settings) {
    let app = spawn_app().await;
    let sample = app.load_sample(1).await;
    let token = app.token("staff:read", None);
    for person in sample.staff.iter().take(reads) {
        let res = app
            .get(&format!("/v1/staff/{}", person.id), Some(&token))
            .await;
        assert_eq!(res.status(), 200);
    }
    let (db, store, settings) = (
        app.settings.database.name.clone(),
        app.store.clone(),
        app.settings.clone(),
    );
    app.stop().await;
    assert_eq!(
        store.verify_audit_chain(&[key()]).await.expect("verify"),
        AuditVerdict::Intact {
            entries: reads as u64,
            checkpointed: reads as u64
        }
    );
    (db, store, settings)
}

/// Runs `interop-gateway audit <args>` on database `db`, with the checkpoint key when
/// given; its exit status, stdout and stderr.
fn audit_cli(db: &str, key: Option<&str>, args: &[&str]) -> (bool, String, String) {
    let env: Vec<(&str, &str)> = key
        .map(|k| ("GATEWAY__AUDIT__CHECKPOINT_KEY", k))
        .into_iter()
        .collect();
    audit_cli_with(db, &env, args)
}

/// `audit <args>` on database `db` with `env` (and no other audit settings).
fn audit_cli_with(db: &str, env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(crate::auth::e2e_bin());
    cmd.arg("audit")
        .args(args)
        .env("GATEWAY__DATABASE__URL", e2e::database_server())
        .env("GATEWAY__DATABASE__NAME", db)
        .env_remove("DATABASE_URL")
        .env_remove("GATEWAY__AUDIT__CHECKPOINT_KEY")
        .env_remove("GATEWAY__AUDIT__RETIRED_CHECKPOINT_KEYS")
        .envs(env.iter().copied());
    let out = cmd.output().expect("run interop-gateway audit");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Tampers as a superuser would: past the append-only triggers.
async fn tamper(db: &str, statement: &str) {
    sql(
        db,
        &format!("SET session_replication_role = replica; {statement}"),
    )
    .await;
}

#[tokio::test]
async fn an_edited_entry_is_named_by_verify_and_the_cli() {
    let (db, store, _) = audited(6).await;
    let (ok, out, _) = audit_cli(&db, Some(e2e::CHECKPOINT_KEY), &["verify"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("intact: 6 entries; the newest signed checkpoint vouches for entry 6"),
        "{out}"
    );

    // The table refuses edits; a superuser bypassing the trigger is still caught.
    let client = e2e::connect(&db).await;
    assert!(
        client
            .batch_execute("UPDATE audit_log SET client = 'x' WHERE seq = 2")
            .await
            .is_err()
    );
    tamper(
        &db,
        "UPDATE audit_log SET client = 'someone-else' WHERE seq = 3",
    )
    .await;
    assert_eq!(
        store.verify_audit_chain(&[key()]).await.expect("verify"),
        AuditVerdict::Broken {
            seq: 3,
            problem: AuditProblem::Edited
        }
    );
    let (ok, out, _) = audit_cli(&db, Some(e2e::CHECKPOINT_KEY), &["verify"]);
    assert!(!ok);
    assert!(out.contains("BROKEN at entry 3: it was edited"), "{out}");
}

#[tokio::test]
async fn an_entry_deleted_in_the_middle_is_named() {
    let (db, store, _) = audited(6).await;
    tamper(&db, "DELETE FROM audit_log WHERE seq = 4").await;
    assert_eq!(
        store.verify_audit_chain(&[key()]).await.expect("verify"),
        AuditVerdict::Broken {
            seq: 4,
            problem: AuditProblem::Missing { next: 5 }
        }
    );
    let (ok, out, _) = audit_cli(&db, Some(e2e::CHECKPOINT_KEY), &["verify"]);
    assert!(!ok);
    assert!(out.contains("BROKEN at entry 4: it was deleted"), "{out}");
}

#[tokio::test]
async fn a_tail_cut_behind_a_checkpoint_is_reported_with_the_entries_cut() {
    let (db, store, _) = audited(6).await;
    // The newest two entries go: the links of what is left all hold.
    tamper(&db, "DELETE FROM audit_log WHERE seq > 4").await;
    assert_eq!(
        store.verify_audit_chain(&[key()]).await.expect("verify"),
        AuditVerdict::Broken {
            seq: 5,
            problem: AuditProblem::CutTail {
                last: 4,
                vouched: 6,
                by: Voucher::Checkpoint(1)
            }
        }
    );
    let (ok, out, _) = audit_cli(&db, Some(e2e::CHECKPOINT_KEY), &["verify"]);
    assert!(!ok);
    assert!(
        out.contains("BROKEN at entry 5: the tail was cut") && out.contains("entries 5 to 6"),
        "{out}"
    );
}

#[tokio::test]
async fn a_forged_checkpoint_is_reported_as_such() {
    let (db, store, _) = audited(3).await;
    // A forger who can write the table copies the key id, but cannot sign: here
    // claiming a longer chain than there is.
    tamper(
        &db,
        "INSERT INTO audit_checkpoints (seq, hash, at, algorithm, key_id, signature)
         SELECT 9, hash, now(), algorithm, key_id, repeat('ab', 32) FROM audit_checkpoints",
    )
    .await;
    assert_eq!(
        store.verify_audit_chain(&[key()]).await.expect("verify"),
        AuditVerdict::Broken {
            seq: 9,
            problem: AuditProblem::BadCheckpoint {
                checkpoint: 2,
                fault: CheckpointFault::BadSignature
            }
        }
    );
    let (ok, out, _) = audit_cli(&db, Some(e2e::CHECKPOINT_KEY), &["verify"]);
    assert!(!ok);
    assert!(
        out.contains("checkpoint 2") && out.contains("signature does not verify"),
        "{out}"
    );
    // Checked with another key, the genuine checkpoint is named as signed by another.
    let (ok, out, _) = audit_cli(&db, Some("some-other-checkpoint-key"), &["verify"]);
    assert!(!ok);
    assert!(
        out.contains("checkpoint 1") && out.contains("not a configured"),
        "{out}"
    );
}

#[tokio::test]
async fn verify_without_the_key_refuses_to_vouch_for_checkpoints_it_cannot_check() {
    let (db, store, _) = audited(2).await;
    assert!(store.verify_audit_chain(&[]).await.is_err());
    let (ok, out, err) = audit_cli(&db, None, &["verify"]);
    assert!(!ok, "{out}");
    assert!(err.contains("cannot be checked without the key"), "{err}");
}

#[tokio::test]
async fn checkpoints_are_taken_while_the_gateway_runs() {
    let app = spawn_app_with(|s| s.audit.checkpoint_interval_seconds = 1).await;
    let sample = app.load_sample(1).await;
    let token = app.token("staff:read", None);
    let checkpoints = || async {
        app.store
            .verify_audit_chain(&[key()])
            .await
            .expect("verify")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for (read, person) in sample.staff.iter().take(2).enumerate() {
        let path = format!("/v1/staff/{}", person.id);
        assert_eq!(app.get(&path, Some(&token)).await.status(), 200);
        // Each read is checkpointed within an interval or so; allow for a slow machine.
        let anchored = AuditVerdict::Intact {
            entries: read as u64 + 1,
            checkpointed: read as u64 + 1,
        };
        loop {
            let verdict = checkpoints().await;
            if verdict == anchored {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint while serving: {verdict:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    assert_eq!(
        checkpoints().await,
        AuditVerdict::Intact {
            entries: 2,
            checkpointed: 2
        }
    );
    app.stop().await;
}

#[tokio::test]
async fn audit_head_prints_the_head_to_keep_elsewhere() {
    let (db, store, _) = audited(3).await;
    let head = store.audit_head().await.expect("head");
    assert_eq!(head.seq, 3);
    let last = audit_rows(&db).await;
    assert_eq!(last.len(), 3);
    let (ok, out, _) = audit_cli(&db, None, &["head"]);
    assert!(ok, "{out}");
    let fields: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "{out}");
    assert_eq!(fields[0], "3");
    assert_eq!(fields[1], head.hash);
    assert_eq!(fields[1].len(), 64);
    let (ok, out, _) = audit_cli(&db, None, &["head", "--json"]);
    assert!(ok, "{out}");
    let json: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json["entry"], 3);
    assert_eq!(json["hash"], head.hash.as_str());
    assert!(
        json["at"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{json}"
    );
}

#[tokio::test]
async fn a_tail_cut_with_its_checkpoints_is_caught_against_a_head_kept_elsewhere() {
    let (db, _, _) = audited(6).await;
    let (ok, head, _) = audit_cli(&db, None, &["head"]);
    assert!(ok, "{head}");
    let (ok, out, _) = audit_cli(
        &db,
        Some(e2e::CHECKPOINT_KEY),
        &["verify", "--anchor", head.trim()],
    );
    assert!(ok, "{out}");
    // The limit of checkpoints kept beside the chain: deleted with the entries they
    // vouched for, the chain that is left looks whole.
    tamper(
        &db,
        "DELETE FROM audit_log WHERE seq > 4; DELETE FROM audit_checkpoints",
    )
    .await;
    let (ok, out, _) = audit_cli(&db, Some(e2e::CHECKPOINT_KEY), &["verify"]);
    assert!(
        ok && out.contains("intact: 4 entries; no checkpoint yet"),
        "{out}"
    );
    // The head copied elsewhere before catches it.
    let (ok, out, _) = audit_cli(
        &db,
        Some(e2e::CHECKPOINT_KEY),
        &["verify", "--anchor", head.trim()],
    );
    assert!(!ok);
    assert!(
        out.contains("BROKEN at entry 5: the tail was cut")
            && out.contains("the head given vouches for entry 6"),
        "{out}"
    );
    let (ok, _, err) = audit_cli(&db, None, &["verify", "--anchor", "6 not-a-hash"]);
    assert!(!ok && err.contains("--anchor"), "{err}");
}

#[tokio::test]
async fn after_a_key_change_the_retired_key_still_vouches_for_what_it_signed() {
    let (db, _, _) = audited(3).await;
    let new_key = "the-next-audit-checkpoint-key";
    let (ok, out, _) = audit_cli(&db, Some(new_key), &["verify"]);
    assert!(
        !ok && out.contains("not a configured checkpoint key"),
        "{out}"
    );
    let (ok, out, err) = audit_cli_with(
        &db,
        &[
            ("GATEWAY__AUDIT__CHECKPOINT_KEY", new_key),
            (
                "GATEWAY__AUDIT__RETIRED_CHECKPOINT_KEYS",
                e2e::CHECKPOINT_KEY,
            ),
        ],
        &["verify"],
    );
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("intact: 3 entries; the newest signed checkpoint vouches for entry 3"),
        "{out}"
    );
}
