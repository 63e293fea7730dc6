//! The audit log: who read personal data, hash-chained, never lost.

use e2e::spawn_app;
use serde_json::Value;
use store::AuditVerdict;

async fn audit_rows(
    store_url: &str,
    db: &str,
) -> Vec<(i64, String, String, String, String, i32, Vec<uuid::Uuid>)> {
    let mut config: tokio_postgres::Config = store_url.parse().expect("url");
    config.dbname(db);
    let (client, conn) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
        .query("SELECT seq, request_id, client, route, query, status, record_ids FROM audit_log ORDER BY seq", &[])
        .await
        .expect("query")
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6)))
        .collect()
}

async fn sql(db: &str, statement: &str) {
    let mut config: tokio_postgres::Config = e2e::database_server().parse().expect("url");
    config.dbname(db);
    let (client, conn) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
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

    let rows = audit_rows(e2e::database_server(), &db).await;
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
    let mut written = audit_rows(e2e::database_server(), &db).await.len();
    while written < 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        written = audit_rows(e2e::database_server(), &db).await.len();
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
    assert_eq!(
        audit_rows(e2e::database_server(), &db).await.len(),
        requests
    );
    assert_eq!(
        store.verify_audit_chain().await.expect("verify"),
        AuditVerdict::Intact {
            entries: requests as u64
        }
    );
}

#[tokio::test]
async fn an_edited_or_deleted_entry_breaks_the_chain_and_verify_names_it() {
    let app = spawn_app().await;
    let sample = app.load_sample(1).await;
    let db = app.settings.database.name.clone();
    let store = app.store.clone();
    let token = app.token("staff:read", None);
    for person in sample.staff.iter().take(6) {
        assert_eq!(
            app.get(&format!("/v1/staff/{}", person.id), Some(&token))
                .await
                .status(),
            200
        );
    }
    app.stop().await;
    assert_eq!(
        store.verify_audit_chain().await.expect("verify"),
        AuditVerdict::Intact { entries: 6 }
    );
    let cli = || {
        std::process::Command::new(crate::auth::e2e_bin())
            .args(["audit", "verify"])
            .env("GATEWAY__DATABASE__URL", e2e::database_server())
            .env("GATEWAY__DATABASE__NAME", &db)
            .env_remove("DATABASE_URL")
            .output()
            .expect("run interop-gateway audit verify")
    };
    let ok = cli();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact: 6 entries"));

    // The table refuses edits; a superuser bypassing the trigger is still caught.
    let mut config: tokio_postgres::Config = e2e::database_server().parse().expect("url");
    config.dbname(&db);
    let (client, conn) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    assert!(
        client
            .batch_execute("UPDATE audit_log SET client = 'x' WHERE seq = 2")
            .await
            .is_err()
    );
    sql(&db, "SET session_replication_role = replica; UPDATE audit_log SET client = 'someone-else' WHERE seq = 3").await;
    let verdict = store.verify_audit_chain().await.expect("verify");
    assert!(
        matches!(verdict, AuditVerdict::Broken { seq: 3, .. }),
        "{verdict:?}"
    );
    let broken = cli();
    assert!(!broken.status.success());
    assert!(
        String::from_utf8_lossy(&broken.stdout).contains("entry 3"),
        "{}",
        String::from_utf8_lossy(&broken.stdout)
    );

    sql(&db, "SET session_replication_role = replica; UPDATE audit_log SET client = 'test-client' WHERE seq = 3; DELETE FROM audit_log WHERE seq = 5").await;
    let verdict = store.verify_audit_chain().await.expect("verify");
    assert!(
        matches!(verdict, AuditVerdict::Broken { seq: 6, .. }),
        "a deletion is caught at the next entry: {verdict:?}"
    );
}
