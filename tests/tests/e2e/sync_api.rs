//! The sync and change-feed API, over HTTP, with the mock ministries behind it.

use std::time::Duration;

use e2e::{TestApp, collect_pages, spawn_app_with};
use mock_ministries::{Ministry as MockMinistry, MockServer, Scale};
use serde_json::Value;

async fn mock() -> MockServer {
    e2e::start_mock(Scale::Small, 5).await
}

async fn app_on(mock: &MockServer) -> TestApp {
    let base = mock.base_url();
    let period = mock.truth().current_period.clone();
    spawn_app_with(move |s| {
        for m in [
            &mut s.ministries.moi,
            &mut s.ministries.mcs,
            &mut s.ministries.moh,
            &mut s.ministries.moeys,
        ] {
            m.base_url = base.clone();
        }
        // MEF is left unconfigured on purpose.
        s.ministries.mef.periods = vec![period];
    })
    .await
}

/// Starts a run over HTTP and waits until it is recorded as finished.
async fn run_sync(app: &TestApp, token: &str, ministry: &str) -> Value {
    let latest = |runs: &Value| {
        runs["items"]
            .get(0)
            .and_then(|r| r["id"].as_i64())
            .unwrap_or(0)
    };
    let (_, before) = app
        .get_json(&format!("/v1/sync/runs?ministry={ministry}&limit=1"), token)
        .await;
    let res = app
        .http
        .post(app.url(&format!("/v1/sync/{ministry}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 202, "{:?}", res.text().await);
    for _ in 0..300 {
        let (_, runs) = app
            .get_json(&format!("/v1/sync/runs?ministry={ministry}&limit=1"), token)
            .await;
        if let Some(run) = runs["items"].get(0)
            && latest(&runs) > latest(&before)
            && run["status"] != "running"
        {
            return run.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the {ministry} run did not finish");
}

#[tokio::test]
async fn runs_rejections_and_starting_a_run() {
    let mock = mock().await;
    let app = app_on(&mock).await;
    let admin = app.token("sync:admin", None);
    let admin_pii = app.token("sync:admin staff:read:pii", None);

    let run = run_sync(&app, &admin, "moi").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["fetched"].as_u64(), Some(mock.truth().counts.moi_units));
    let run = run_sync(&app, &admin, "mcs").await;
    assert_eq!(
        run["rejected"].as_u64(),
        Some(mock.truth().invalid.mcs_officers.len() as u64)
    );
    let fetched = run["fetched"].as_i64().expect("fetched");
    let sum: i64 = ["inserted", "updated", "unchanged", "rejected"]
        .iter()
        .map(|k| run[k].as_i64().expect("count"))
        .sum();
    assert_eq!(fetched, sum, "the counts add up: {run}");

    let (items, _) = collect_pages(
        &app,
        &format!("/v1/sync/rejections?ministry=mcs&run={}&limit=7", run["id"]),
        &admin,
    )
    .await;
    let ids: std::collections::BTreeSet<String> = items
        .iter()
        .filter_map(|r| r["source_id"].as_str().map(str::to_owned))
        .collect();
    let planted: std::collections::BTreeSet<String> = mock
        .truth()
        .invalid
        .mcs_officers
        .iter()
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(
        ids, planted,
        "every planted invalid officer is in the quarantine, with its run"
    );
    assert!(
        items
            .iter()
            .all(|r| r["reason"].as_str().is_some_and(|s| !s.is_empty()))
    );
    assert!(
        items
            .iter()
            .all(|r| r["raw"].is_null() && r["raw_masked"] == true),
        "raw records are personal data"
    );
    let (_, clear) = app
        .get_json("/v1/sync/rejections?ministry=mcs&limit=1", &admin_pii)
        .await;
    assert!(clear["items"][0]["raw"].is_object(), "{clear}");

    // MEF has no base URL; an unknown ministry is a 400; other scopes are refused.
    let res = app
        .http
        .post(app.url("/v1/sync/mef"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<Value>().await.expect("json")["code"],
        "source_not_configured"
    );
    let res = app
        .http
        .post(app.url("/v1/sync/mot"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 400);
    let reader = app.token("staff:read facilities:read", None);
    assert_eq!(app.get("/v1/sync/runs", Some(&reader)).await.status(), 403);
    let res = app
        .http
        .post(app.url("/v1/sync/moi"))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 403);

    // While another process holds a source's sync lock, starting it is a 409.
    let lock = app
        .store
        .try_lock_source(schema::Ministry::Moeys)
        .await
        .expect("lock")
        .expect("free");
    let res = app
        .http
        .post(app.url("/v1/sync/moeys"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.expect("json")["code"],
        "sync_in_progress"
    );
    drop(lock);
    mock.stop().await;
}

#[tokio::test]
async fn the_change_feed_lists_every_change_in_order_and_then_exactly_the_new_ones() {
    let mock = mock().await;
    let app = app_on(&mock).await;
    let admin = app.token("sync:admin", None);
    for m in ["moi", "moh", "moeys", "mcs"] {
        assert_eq!(run_sync(&app, &admin, m).await["status"], "succeeded");
    }
    let reader = app.token("staff:read facilities:read", None);
    let (all, _) = collect_pages(&app, "/v1/changes?limit=1000", &reader).await;
    let versions: Vec<i64> = all
        .iter()
        .map(|c| c["version"].as_i64().expect("version"))
        .collect();
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing versions"
    );
    let staff = all.iter().filter(|c| c["type"] == "staff").count();
    let (_, staff_list) = app.get_json("/v1/staff?limit=1", &reader).await;
    assert!(
        staff_list["items"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    assert!(
        staff > 1000
            && all.iter().any(|c| c["type"] == "admin_unit")
            && all.iter().any(|c| c["type"] == "facility")
    );
    let last = *versions.last().expect("changes");

    // Nothing new: an empty page. Then the mock changes some officers; an incremental
    // sync, and the feed after `last` lists exactly those.
    let (_, empty) = app
        .get_json(&format!("/v1/changes?after={last}"), &reader)
        .await;
    assert_eq!(empty["items"].as_array().map(Vec::len), Some(0));
    let mutation = mock.mutate(MockMinistry::Mcs, 0.03).expect("mutate");
    assert_eq!(run_sync(&app, &admin, "mcs").await["status"], "succeeded");
    let (new, _) = collect_pages(
        &app,
        &format!("/v1/changes?after={last}&types=staff"),
        &reader,
    )
    .await;
    let invalid: Vec<String> = mock
        .truth()
        .invalid
        .mcs_officers
        .iter()
        .map(|r| r.id.clone())
        .collect();
    let expected = mutation.changed["mcs_officers"]
        .iter()
        .filter(|id| !invalid.contains(id))
        .count();
    assert_eq!(new.len(), expected, "exactly the changed officers: {new:?}");

    // Scopes and parameters.
    let staff_only = app.token("staff:read", None);
    let (status, body) = app
        .get_json("/v1/changes?types=facility", &staff_only)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("missing_scope"))
    );
    let (_, only_staff) = app.get_json("/v1/changes?limit=50", &staff_only).await;
    assert!(
        only_staff["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|c| c["type"] == "staff")
    );
    for (path, parameter) in [
        ("/v1/changes?after=-1", "after"),
        ("/v1/changes?types=people", "types"),
        ("/v1/changes?cursor=zz", "cursor"),
    ] {
        let (status, body) = app.get_json(path, &reader).await;
        assert_eq!(
            (status, body["parameter"].as_str()),
            (400, Some(parameter)),
            "{path}"
        );
    }
    // A jurisdiction sees the changes in its area only.
    let province = app.token("staff:read facilities:read", Some("12"));
    let (local, _) = collect_pages(&app, "/v1/changes?types=facility&limit=500", &province).await;
    for change in local.iter().take(20) {
        let id = change["id"].as_str().expect("id");
        let (status, facility) = app
            .get_json(&format!("/v1/facilities/{id}"), &province)
            .await;
        assert_eq!(status, 200);
        assert!(
            facility["admin_unit_code"]
                .as_str()
                .expect("code")
                .starts_with("12")
        );
    }
    assert!(local.len() < all.iter().filter(|c| c["type"] == "facility").count());
    mock.stop().await;
}
