//! The `interop-gateway` command line: serve the API, migrate the database, sync the
//! ministries, mint development tokens, print the OpenAPI spec, verify the audit
//! chain, or run the whole thing as a demo. (A library module, so the end-to-end tests
//! run the very same commands.)

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::Error;
use crate::auth::{Scope, issue_hs256};
use crate::config::Settings;
use crate::progress::TerminalProgress;
use crate::startup::Application;
use clap::{Parser, Subcommand};
use mock_ministries::{MockConfig, Scale};
use schema::AdminCode;
use schema::Ministry;
use store::{AuditHead, AuditVerdict, ScratchCluster, Store};
use sync::SyncEngine;

#[derive(Debug, Parser)]
#[command(
    name = "interop-gateway",
    version,
    about = "Cambodia's ministry interoperability gateway"
)]
struct Cli {
    /// A TOML settings file, read over the built-in defaults (environment variables
    /// GATEWAY__SECTION__KEY override both).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database and serve the API.
    Serve {
        /// Address to listen on (default: server.bind).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Pull the ministries' systems into the registry: incremental from the stored
    /// cursors unless --full. Sources come from `ministries.<code>.base_url`.
    Sync {
        /// One source: mcs, moh, moeys, moi or mef (default: every configured one).
        #[arg(long)]
        ministry: Option<String>,
        /// Pull everything, not only what changed since the last sync.
        #[arg(long)]
        full: bool,
    },
    /// Recompute every discrepancy over the whole registry now (a sync's own pass looks
    /// only at what it changed, after an incremental run).
    Reconcile,
    /// Print a development token signed with the configured HS256 secret.
    Token {
        /// The client the token is for (`sub`).
        #[arg(long)]
        sub: String,
        /// Space-separated scopes, e.g. "staff:read facilities:read".
        #[arg(long)]
        scope: String,
        /// A gazetteer code limiting the client to that area.
        #[arg(long)]
        jurisdiction: Option<String>,
        /// Lifetime: a number with s, m, h or d (default 1h).
        #[arg(long, default_value = "1h")]
        ttl: String,
    },
    /// Print the OpenAPI spec (JSON).
    Openapi,
    /// Audit log commands.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Start the mock ministries and a database (DATABASE_URL's server, the one on
    /// 127.0.0.1:5432, or a throwaway cluster), sync every ministry, and serve the
    /// registry, printing the docs URL and a ready-to-use token.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        /// The mock ministries' size: small (fast) or full (Cambodia's).
        #[arg(long, default_value = "small")]
        scale: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the whole hash chain and the signed checkpoints that anchor it (with
    /// audit.checkpoint_key); exit 1 naming the first broken entry.
    Verify {
        /// A head kept outside the system, as `audit head` printed it
        /// ("<entry> <hash> [time]"): the chain must reach that entry with that hash.
        #[arg(long, value_name = "HEAD")]
        anchor: Option<String>,
    },
    /// Print the chain's head (`<entry> <hash> <time>`) to keep outside the system: it
    /// anchors entries no checkpoint covers yet, and survives checkpoints deleted.
    Head {
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command line given to the process.
pub fn main() -> ExitCode {
    // A multi-threaded runtime: a sync reads the next page on one thread while it
    // writes the current one on another.
    actix_web::rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
    .block_on(async_main())
}

async fn async_main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("interop-gateway: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&settings);
    match run(cli.command, settings).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("interop-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log.filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn store_of(settings: &Settings) -> Result<Store, Error> {
    Ok(Store::connect(
        settings.database.url.expose(),
        settings.database.database_name(),
        settings.database.pool_size,
    )?)
}

async fn run(command: Command, settings: Settings) -> Result<ExitCode, Error> {
    match command {
        Command::Serve { bind } => serve(&settings, bind).await,
        Command::Migrate => migrate(&settings).await,
        Command::Sync { ministry, full } => sync_command(&settings, ministry, full).await,
        Command::Reconcile => reconcile(&settings).await,
        Command::Token {
            sub,
            scope,
            jurisdiction,
            ttl,
        } => token(&settings, &sub, &scope, jurisdiction, &ttl),
        Command::Openapi => {
            print!("{}", crate::openapi::spec_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify { anchor },
        } => audit_verify(&settings, anchor).await,
        Command::Audit {
            command: AuditCommand::Head { json },
        } => audit_head(&settings, json).await,
        Command::Demo { bind, scale } => demo(settings, &bind, &scale).await,
    }
}

/// `serve`: migrates the database, starts the periodic syncs when `sync.interval_seconds`
/// asks for them, and serves the API until stopped.
async fn serve(settings: &Settings, bind: Option<String>) -> Result<ExitCode, Error> {
    let bind = bind.unwrap_or_else(|| settings.server.bind.clone());
    let store = store_of(settings)?;
    store.migrate().await?;
    let app = Application::build(settings, TcpListener::bind(&bind)?).await?;
    if settings.sync.interval_seconds > 0 {
        app.syncs()
            .spawn_periodic(Duration::from_secs(settings.sync.interval_seconds));
    }
    tracing::info!(%bind, "serving; API docs at /docs");
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

/// `migrate`: applies the database migrations.
async fn migrate(settings: &Settings) -> Result<ExitCode, Error> {
    store_of(settings)?.migrate().await?;
    println!("database migrated");
    Ok(ExitCode::SUCCESS)
}

/// `sync`: pulls one ministry or every configured one, then prints the runs, the
/// reconciliation pass and the open findings; exits 1 when a run failed.
async fn sync_command(
    settings: &Settings,
    ministry: Option<String>,
    full: bool,
) -> Result<ExitCode, Error> {
    let store = store_of(settings)?;
    store.migrate().await?;
    let engine = std::sync::Arc::new(SyncEngine::new(
        store.clone(),
        crate::sources::from_settings(&settings.ministries)?,
    ));
    // The first SIGINT/SIGTERM stops the runs after their page, closed as
    // interrupted; a second one quits at once (the next run closes them then).
    let on_signal = tokio::spawn({
        let engine = std::sync::Arc::clone(&engine);
        async move {
            crate::startup::stop_signal().await;
            eprintln!("stopping after the pages being written (again to quit at once)");
            engine.stop();
            crate::startup::stop_signal().await;
            std::process::exit(130);
        }
    });
    let progress = TerminalProgress::new();
    let results = match ministry {
        Some(m) => {
            let m = Ministry::parse(&m)
                .map_err(|e| Error::Config(format!("--ministry: {}", e.reason)))?;
            vec![(m, engine.sync(m, full, &progress).await)]
        }
        None => engine.sync_all(full, &progress).await,
    };
    on_signal.abort();
    eprint!("{}", crate::progress::summary(&results));
    if let Some(pass) = engine.last_reconciliation() {
        eprint!("{}", crate::progress::pass(&pass));
    }
    eprint!(
        "{}",
        crate::progress::findings(&store.open_discrepancy_counts().await?)
    );
    if results.iter().any(|(_, r)| r.is_err()) {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// `reconcile`: recomputes every discrepancy and prints the pass and the open findings.
async fn reconcile(settings: &Settings) -> Result<ExitCode, Error> {
    let store = store_of(settings)?;
    store.migrate().await?;
    eprint!("{}", crate::progress::pass(&store.reconcile().await?));
    eprint!(
        "{}",
        crate::progress::findings(&store.open_discrepancy_counts().await?)
    );
    Ok(ExitCode::SUCCESS)
}

/// `token`: prints a development token signed with the configured HS256 secret.
fn token(
    settings: &Settings,
    sub: &str,
    scope: &str,
    jurisdiction: Option<String>,
    ttl: &str,
) -> Result<ExitCode, Error> {
    let jurisdiction = jurisdiction
        .map(|j| AdminCode::parse(&j))
        .transpose()
        .map_err(|e| Error::Config(format!("--jurisdiction: {}", e.reason)))?;
    let ttl = parse_ttl(ttl)?;
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    println!(
        "{}",
        issue_hs256(&settings.auth, sub, &scopes, jurisdiction.as_ref(), ttl)?
    );
    Ok(ExitCode::SUCCESS)
}

/// `audit verify`: checks the chain (against the checkpoints and any `--anchor`) and
/// prints the verdict; exits 1 when it is broken, warns when nothing but the links
/// could be checked.
async fn audit_verify(settings: &Settings, anchor: Option<String>) -> Result<ExitCode, Error> {
    let keys = settings.audit.checkpoint_keys()?;
    let given = anchor.as_deref().map(parse_head).transpose()?;
    let verdict = store_of(settings)?
        .verify_audit_chain_against(&keys, given.as_slice())
        .await?;
    println!("audit chain {verdict}");
    match verdict {
        AuditVerdict::Broken { .. } => return Ok(ExitCode::FAILURE),
        AuditVerdict::Intact { .. } if keys.is_empty() => eprintln!(
            "warning: no audit.checkpoint_key (GATEWAY__AUDIT__CHECKPOINT_KEY) is configured: \
             only the links (and any --anchor) were checked; a tail cut behind a checkpoint \
             cannot be detected without the key"
        ),
        AuditVerdict::Intact {
            entries,
            checkpointed,
        } if entries > checkpointed => eprintln!(
            "note: the {} entries after entry {checkpointed} are protected by the chain's links \
             alone until the next checkpoint (or a head kept elsewhere: `audit head`)",
            entries - checkpointed
        ),
        AuditVerdict::Intact { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `audit head`: prints the chain's head, as `<entry> <hash> <time>` or as JSON.
async fn audit_head(settings: &Settings, json: bool) -> Result<ExitCode, Error> {
    let head = store_of(settings)?.audit_head().await?;
    let at = head
        .at
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    if json {
        println!(
            "{}",
            serde_json::json!({"entry": head.seq, "hash": head.hash, "at": at})
        );
    } else {
        println!(
            "{} {} {}",
            head.seq,
            head.hash,
            at.as_deref().unwrap_or("-")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `demo`: a database, the mock ministries, a sync of every one and some rosters, then
/// the registry served with a read token printed beside the docs URL.
async fn demo(mut settings: Settings, bind: &str, scale: &str) -> Result<ExitCode, Error> {
    let scale: Scale = scale
        .parse()
        .map_err(|e| Error::Config(format!("--scale: {e}")))?;
    // Kept alive until the demo ends; dropping it stops and removes the cluster.
    let _cluster = demo_database(&mut settings).await?;
    let store = store_of(&settings)?;
    store.migrate().await?;
    let mock = demo_ministries(&mut settings, scale).await?;
    let engine = SyncEngine::new(
        store.clone(),
        crate::sources::from_settings(&settings.ministries)?,
    );
    let results = engine.sync_all(false, &TerminalProgress::new()).await;
    eprint!("{}", crate::progress::summary(&results));
    let rosters = demo_rosters(&store, &mock).await?;
    eprintln!(
        "{rosters} service sites submitted their roster for {}",
        mock.truth().current_period
    );
    eprint!(
        "{}",
        crate::progress::findings(&store.open_discrepancy_counts().await?)
    );
    demo_secrets(&mut settings);
    let listener = TcpListener::bind(bind).or_else(|_| TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let app = Application::build(&settings, listener).await?;
    demo_welcome(&settings, addr, &mock)?;
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

/// The demo's mock ministries, started on a free port, with every ministry's
/// `base_url` pointed at them and the payroll's period set to their current month.
async fn demo_ministries(
    settings: &mut Settings,
    scale: Scale,
) -> Result<mock_ministries::MockServer, Error> {
    eprintln!("starting the mock ministries ({scale} scale)");
    let mock = mock_ministries::start(
        TcpListener::bind("127.0.0.1:0")?,
        // The mock's world follows the clock, as the payroll's default month does.
        MockConfig {
            scale,
            seed: 42,
            as_of: None,
            linkage_noise: false,
        },
    )
    .await
    .map_err(|e| Error::Config(format!("mock ministries: {e}")))?;
    for m in [
        &mut settings.ministries.moi,
        &mut settings.ministries.mcs,
        &mut settings.ministries.moh,
        &mut settings.ministries.moeys,
        &mut settings.ministries.mef,
    ] {
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
    mock: &mock_ministries::MockServer,
) -> Result<(), Error> {
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
         curl -H \"Authorization: Bearer $TOKEN\" -H 'Accept: text/csv' 'http://{addr}/v1/reports/coverage?level=province&period={}'\n\n\
         Ctrl-C stops the demo.",
        mock.base_url(),
        read_scopes.join(" "),
        mock.truth().current_period,
    );
    Ok(())
}

/// The demo's rosters: what the heads of a tenth of the mock's service sites would
/// submit for the current month (some officers absent, some people nobody knows), so
/// the coverage report and the roster findings have something to show.
async fn demo_rosters(
    store: &store::Store,
    mock: &mock_ministries::MockServer,
) -> Result<usize, Error> {
    let plan = mock.roster_plan(0.1, 7);
    let period = schema::Period::parse(&plan.period).map_err(|e| Error::Config(e.to_string()))?;
    let keys: Vec<(String, String)> = plan
        .submissions
        .iter()
        .map(|r| {
            let system = match r.source {
                mock_ministries::Ministry::Moh => "moh:dhis2",
                _ => "moeys:school_code",
            };
            (system.to_owned(), r.record_id.clone())
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
            .map_err(|e| Error::Config(format!("demo roster: {e:?}")))?;
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
async fn demo_database(settings: &mut Settings) -> Result<Option<ScratchCluster>, Error> {
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
    let cluster = ScratchCluster::start().map_err(|e| {
        Error::Config(format!(
            "{e}\nThe demo needs PostgreSQL: set DATABASE_URL to a server, or install PostgreSQL's \
             server binaries (Debian/Ubuntu: apt-get install postgresql) so a throwaway cluster can be made."
        ))
    })?;
    settings.database.url = cluster.url().into();
    settings.database.name = String::new();
    Ok(Some(cluster))
}

/// A head as `audit head` prints it: `<entry> <hash>`, and a time that is not checked.
fn parse_head(s: &str) -> Result<AuditHead, Error> {
    let bad = || {
        Error::Config(format!(
            "--anchor {s:?}: give an entry number and its hash, as `audit head` prints them"
        ))
    };
    let mut fields = s.split_whitespace();
    let seq: i64 = fields
        .next()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(bad)?;
    let hash = fields
        .next()
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(bad)?
        .to_ascii_lowercase();
    Ok(AuditHead {
        seq,
        hash,
        at: None,
    })
}

fn parse_ttl(s: &str) -> Result<Duration, Error> {
    let bad = || {
        Error::Config(format!(
            "--ttl {s:?}: use a number with s, m, h or d, like 1h"
        ))
    };
    let (n, unit) = s.trim().split_at(s.trim().len().saturating_sub(1));
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(secs))
}
