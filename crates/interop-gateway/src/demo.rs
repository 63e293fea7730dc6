//! `interop-gateway demo`: the mock ministries in-process, a database, a sync of
//! every ministry and some rosters, then the registry served with a read token printed
//! beside the docs URL, and the app with a sign-in link for each of three demo people
//! (a health-centre head, a district officer, a provincial officer). The only code
//! that links the mock ministries into the binary, and the only caller of the app's
//! demo sign-in; `serve` never reaches either.

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use gateway::app::demo::{DemoPerson, DemoSignIn};
use gateway::auth::{Scope, issue_hs256};
use gateway::cli::store_of;
use gateway::config::Settings;
use gateway::progress::{self, TerminalProgress};
use gateway::startup::Application;
use mock_ministries::{MockConfig, MockError, MockServer, Scale};
use schema::{AdminCode, FacilityKind};
use store::{FacilityFilter, MatchFilter, MatchStatus, ScratchCluster, StoreError};
use sync::SyncEngine;

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("--scale: {0}")]
    Scale(#[source] MockError),
    #[error("mock ministries: {0}")]
    MockMinistries(#[source] MockError),
    #[error(
        "{0}\nThe demo needs PostgreSQL: set DATABASE_URL to a server, or install PostgreSQL's \
         server binaries (Debian/Ubuntu: apt-get install postgresql) so a throwaway cluster can be made."
    )]
    NoDatabase(#[source] StoreError),
    #[error("demo roster: {0}")]
    Roster(String),
    #[error(transparent)]
    Gateway(#[from] gateway::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `demo`: a database, the mock ministries, a sync of every one and some rosters, then
/// the registry served with a read token printed beside the docs URL.
pub async fn run(mut settings: Settings, bind: &str, scale: &str) -> Result<ExitCode, DemoError> {
    let scale: Scale = scale.parse().map_err(DemoError::Scale)?;
    // Kept alive until the demo ends; dropping it stops and removes the cluster.
    let _cluster = demo_database(&mut settings).await?;
    let store = store_of(&settings)?;
    store.migrate().await?;
    let mock = demo_ministries(&mut settings, scale).await?;
    let engine = SyncEngine::new(store.clone(), settings.ministries.sources()?);
    let results = engine.sync_all(false, &TerminalProgress::new()).await;
    eprint!("{}", progress::summary(&results));
    let rosters = demo_rosters(&store, &mock).await?;
    eprintln!(
        "{rosters} service sites submitted their roster for {}",
        mock.truth().current_period
    );
    eprint!(
        "{}",
        progress::findings(&store.open_discrepancy_counts().await?)
    );
    demo_secrets(&mut settings);
    let people = DemoSignIn::new(demo_people(&store).await?)?;
    let listener = TcpListener::bind(bind).or_else(|_| TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let links: Vec<String> = people
        .links(&format!("http://{addr}"))
        .into_iter()
        .map(|(p, link)| {
            let area = p.jurisdiction.as_ref().map_or("", |c| c.as_str());
            format!(
                "    {} ({}, {area}):
      {link}",
                p.role, p.name
            )
        })
        .collect();
    let app = Application::build_with_demo_sign_in(&settings, listener, people).await?;
    demo_welcome(&settings, addr, &mock, &links)?;
    if settings.app.secure_cookies && !addr.ip().is_loopback() {
        // Browsers keep a Secure cookie from plain HTTP only on localhost.
        eprintln!(
            "note: the app's session cookie is Secure, which browsers keep over plain HTTP \
             only on localhost; to try the links from another device, use this machine's \
             address instead of {} and set GATEWAY__APP__SECURE_COOKIES=false for the demo.",
            addr.ip()
        );
    }
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

/// The demo's mock ministries, started on a free port, with every ministry's
/// `base_url` pointed at them and the payroll's period set to their current month.
async fn demo_ministries(settings: &mut Settings, scale: Scale) -> Result<MockServer, DemoError> {
    eprintln!("starting the mock ministries ({scale} scale)");
    let mock = mock_ministries::start(
        TcpListener::bind("127.0.0.1:0")?,
        // The mock's world follows the clock, as the payroll's default month does.
        MockConfig {
            scale,
            seed: 42,
            as_of: None,
            // Records that are hard to link, so the app's review queue has pairs.
            linkage_noise: true,
        },
    )
    .await
    .map_err(DemoError::MockMinistries)?;
    for m in settings.ministries.each_mut() {
        m.base_url = mock.base_url();
    }
    settings.ministries.mef.periods = vec![mock.truth().current_period.clone()];
    Ok(mock)
}

/// The demo's secrets: a token secret and an audit checkpoint key for this run, where
/// the settings give none.
fn demo_secrets(settings: &mut Settings) {
    if !settings.auth.hs256_secret.is_set() {
        settings.auth.hs256_secret = format!("demo-{}", uuid::Uuid::new_v4().simple()).into();
    }
    // The demo's chain is made afresh each run: a key for this run will do.
    if !settings.audit.checkpoint_key.is_set() {
        settings.audit.checkpoint_key = format!("demo-{}", uuid::Uuid::new_v4().simple()).into();
    }
}

/// Prints the demo's welcome: the docs and spec URLs, a read token valid 12 h, and
/// requests to try with it.
fn demo_welcome(
    settings: &Settings,
    addr: std::net::SocketAddr,
    mock: &MockServer,
    links: &[String],
) -> Result<(), DemoError> {
    let read_scopes: Vec<&str> = Scope::ALL
        .iter()
        .map(|s| s.as_str())
        .filter(|s| s.contains("read"))
        .collect();
    let token = issue_hs256(
        &settings.auth,
        "demo",
        &read_scopes,
        None,
        Duration::from_secs(12 * 3600),
    )?;
    println!(
        "\nInterop Gateway demo: the registry synced from the mock ministries at {}.\n\n  \
         API docs:  http://{addr}/docs/\n  Spec:      http://{addr}/openapi.json\n  \
         Token ({}), valid 12 h:\n\n{token}\n\n  Try:\n    \
         curl -H \"Authorization: Bearer $TOKEN\" 'http://{addr}/v1/staff?admin_unit=12&limit=5'\n    \
         curl -H \"Authorization: Bearer $TOKEN\" 'http://{addr}/v1/facilities?sector=health&limit=5'\n    \
         curl -H \"Authorization: Bearer $TOKEN\" 'http://{addr}/v1/discrepancies?kind=on_roll_not_serving&limit=5'\n    \
         curl -H \"Authorization: Bearer $TOKEN\" -H 'Accept: text/csv' 'http://{addr}/v1/reports/coverage?level=province&period={}'\n\n  \
         The app (http://{addr}/app/): open a link to sign in as that person \
         (links of this run only):\n{}\n\n\
         Ctrl-C stops the demo.",
        mock.base_url(),
        read_scopes.join(" "),
        mock.truth().current_period,
        links.join("\n"),
    );
    Ok(())
}

/// The demo's three people: a district officer of the district with the most pairs
/// waiting for review, the head of a health centre there, and an officer of its
/// province, with the scopes an identity provider would give them.
pub async fn demo_people(store: &store::Store) -> Result<Vec<DemoPerson>, DemoError> {
    let pending = store
        .list_matches(
            &MatchFilter {
                status: MatchStatus::Pending,
                ..MatchFilter::default()
            },
            None,
            1000,
        )
        .await?;
    let mut districts = std::collections::BTreeMap::<String, usize>::new();
    for m in &pending.items {
        if let Some(district) = m.admin_unit_code.as_deref().and_then(|c| c.get(..4)) {
            *districts.entry(district.to_owned()).or_default() += 1;
        }
    }
    // The busiest district that has a health centre, so the head and the officer
    // share it; any health centre when no pair waits.
    let mut by_pairs: Vec<(String, usize)> = districts.into_iter().collect();
    by_pairs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let centres = |admin_unit: Option<AdminCode>| FacilityFilter {
        kind: Some(FacilityKind::HealthCentre),
        admin_unit,
        ..FacilityFilter::default()
    };
    let mut busiest = None;
    let mut found = None;
    for code in by_pairs
        .iter()
        .filter_map(|(c, _)| AdminCode::parse(c).ok())
    {
        let page = store
            .list_facilities(&centres(Some(code.clone())), None, 1)
            .await?;
        if let Some(first) = page.items.into_iter().next() {
            busiest = Some(code);
            found = Some(first);
            break;
        }
    }
    if found.is_none() {
        found = store
            .list_facilities(&centres(None), None, 1)
            .await?
            .items
            .into_iter()
            .next();
    }
    let centre = found
        .ok_or_else(|| DemoError::Roster("the mock world has no health centre".to_owned()))?
        .facility;
    let commune = centre.admin_unit_code.clone();
    let district = busiest.or_else(|| {
        commune
            .as_ref()
            .and_then(|c| c.as_str().get(..4))
            .and_then(|c| AdminCode::parse(c).ok())
    });
    let province = district
        .as_ref()
        .and_then(|c| c.as_str().get(..2))
        .and_then(|c| AdminCode::parse(c).ok());
    let scopes = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
    Ok(vec![
        DemoPerson {
            role: "health-centre head".to_owned(),
            subject: "demo-site-head".to_owned(),
            name: "សុខ ចាន់ថា".to_owned(),
            scopes: scopes(&["rosters:write", "facilities:read"]),
            jurisdiction: commune,
            facility: Some(centre.id),
        },
        DemoPerson {
            role: "district officer".to_owned(),
            subject: "demo-district-officer".to_owned(),
            name: "ជា វណ្ណា".to_owned(),
            scopes: scopes(&[
                "findings:review",
                "matches:review",
                "reports:read",
                "staff:read",
                "facilities:read",
            ]),
            jurisdiction: district,
            facility: None,
        },
        DemoPerson {
            role: "provincial officer".to_owned(),
            subject: "demo-provincial-officer".to_owned(),
            name: "លី សុភាព".to_owned(),
            scopes: scopes(&["reports:read", "staff:read", "facilities:read"]),
            jurisdiction: province,
            facility: None,
        },
    ])
}

/// The demo's rosters: what the heads of a tenth of the mock's service sites would
/// submit for the current month (some officers absent, some people nobody knows), so
/// the coverage report and the roster findings have something to show.
async fn demo_rosters(store: &store::Store, mock: &MockServer) -> Result<usize, DemoError> {
    let plan = mock.roster_plan(0.1, 7);
    let period =
        schema::Period::parse(&plan.period).map_err(|e| DemoError::Roster(e.to_string()))?;
    let keys: Vec<(String, String)> = plan
        .submissions
        .iter()
        .map(|r| {
            let system = match r.source {
                mock_ministries::Ministry::Moh => schema::IdentifierSystem::MohDhis2,
                _ => schema::IdentifierSystem::MoeysSchoolCode,
            };
            (system.as_str().to_owned(), r.record_id.clone())
        })
        .collect();
    // A read inside a write transaction that is then rolled back: the lookup lives there.
    let ids = store
        .begin()
        .await?
        .lookup_identifiers("facility", &keys)
        .await?;
    let mut submitted = 0;
    for (r, key) in plan.submissions.iter().zip(&keys) {
        let Some(facility_id) = ids.get(key) else {
            continue;
        };
        let body = serde_json::json!({"period": plan.period, "entries": r.entries});
        let submission = schema::RosterSubmission::parse(&body, period)
            .map_err(|e| DemoError::Roster(format!("{e:?}")))?;
        store
            .submit_roster(store::NewRoster {
                facility_id: *facility_id,
                submission: &submission,
                client: "demo-sites",
                idempotency_key: None,
                request_hash: "demo",
            })
            .await?;
        submitted += 1;
    }
    Ok(submitted)
}

/// The demo's database: `database.url`'s server when it answers (in a database of its
/// own, made afresh each run: the demo syncs everything anyway), else a throwaway cluster.
async fn demo_database(settings: &mut Settings) -> Result<Option<ScratchCluster>, DemoError> {
    const DEMO_DB: &str = "interop_gateway_demo";
    if store::recreate_database(settings.database.url.expose(), DEMO_DB)
        .await
        .is_ok()
    {
        settings.database.name = DEMO_DB.to_owned();
        eprintln!(
            "using PostgreSQL at {}, database {DEMO_DB}",
            settings.database.url
        );
        return Ok(None);
    }
    eprintln!("no PostgreSQL answering at database.url; starting a throwaway cluster");
    let cluster = ScratchCluster::start().map_err(DemoError::NoDatabase)?;
    settings.database.url = cluster.url().into();
    settings.database.name = String::new();
    Ok(Some(cluster))
}
