//! The gateway's commands: serve the API, migrate the database, sync the ministries,
//! mint development tokens, print the OpenAPI spec, verify the audit chain. The
//! `interop-gateway` binary (crate `interop-gateway`) parses them, adds `demo` (which
//! brings the mock ministries, kept out of this library), and runs them with
//! [`block_on`] and [`execute`]; the end-to-end tests run the very same command line.

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::Error;
use crate::auth::issue_hs256_for;
use crate::config::Settings;
use crate::progress::TerminalProgress;
use crate::startup::Application;
use clap::{Args, Subcommand};
use schema::AdminCode;
use schema::Ministry;
use store::{AuditHead, AuditVerdict, Store};
use sync::SyncEngine;

/// The options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// A TOML settings file, read over the built-in defaults (environment variables
    /// GATEWAY__SECTION__KEY override both).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

/// The gateway's commands (the binary adds `demo`).
#[derive(Debug, Subcommand)]
pub enum Command {
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
        /// The ministry the client is that ministry's own system for (`mcs`, `moh`,
        /// `moeys`, `mef`, `moi`): it then sees only that ministry's corrections.
        #[arg(long)]
        ministry: Option<String>,
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
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
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

/// Runs a command's future on the runtime the commands need: actix's system over a
/// multi-threaded runtime (a sync reads the next page on one thread while it writes
/// the current one on another).
pub fn block_on<F: Future>(command: F) -> F::Output {
    actix_web::rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
    .block_on(command)
}

/// Loads the settings (`config` over the defaults, then the environment; exit 2 when
/// they cannot be read), starts the logs, and runs `command` with them, printing its
/// error (exit 1).
pub async fn execute<C, F, E>(config: Option<&Path>, command: C) -> ExitCode
where
    C: FnOnce(Settings) -> F,
    F: Future<Output = Result<ExitCode, E>>,
    E: std::fmt::Display,
{
    let settings = match Settings::load(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("interop-gateway: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&settings);
    match command(settings).await {
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

/// The store `settings` name (not migrated).
pub fn store_of(settings: &Settings) -> Result<Store, Error> {
    Ok(Store::connect(
        settings.database.url.expose(),
        settings.database.database_name(),
        settings.database.pool_size,
    )?)
}

/// Runs one of the gateway's commands.
pub async fn run(command: Command, settings: Settings) -> Result<ExitCode, Error> {
    match command {
        Command::Serve { bind } => serve(&settings, bind).await,
        Command::Migrate => migrate(&settings).await,
        Command::Sync { ministry, full } => sync_command(&settings, ministry, full).await,
        Command::Reconcile => reconcile(&settings).await,
        Command::Token {
            sub,
            scope,
            jurisdiction,
            ministry,
            ttl,
        } => token(&settings, &sub, &scope, jurisdiction, ministry, &ttl),
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
        settings.ministries.sources()?,
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
            let m = Ministry::parse(&m).map_err(|e| Error::InvalidArgument {
                name: "--ministry",
                reason: e.reason,
            })?;
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
    ministry: Option<String>,
    ttl: &str,
) -> Result<ExitCode, Error> {
    let ministry = ministry
        .map(|m| schema::Ministry::parse_name(&m))
        .transpose()
        .map_err(|e| Error::InvalidArgument {
            name: "--ministry",
            reason: e.reason,
        })?;
    let jurisdiction = jurisdiction
        .map(|j| AdminCode::parse(&j))
        .transpose()
        .map_err(|e| Error::InvalidArgument {
            name: "--jurisdiction",
            reason: e.reason,
        })?;
    let ttl = parse_ttl(ttl)?;
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    println!(
        "{}",
        issue_hs256_for(
            &settings.auth,
            sub,
            &scopes,
            jurisdiction.as_ref(),
            ministry,
            ttl
        )?
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

/// A head as `audit head` prints it: `<entry> <hash>`, and a time that is not checked.
fn parse_head(s: &str) -> Result<AuditHead, Error> {
    let bad = || Error::InvalidArgument {
        name: "--anchor",
        reason: format!("{s:?}: give an entry number and its hash, as `audit head` prints them"),
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
    let bad = || Error::InvalidArgument {
        name: "--ttl",
        reason: format!("{s:?}: use a number with s, m, h or d, like 1h"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ttl_is_a_number_with_a_unit() {
        let cases = [("90s", 90), ("5m", 300), (" 1h ", 3600), ("2d", 172_800)];
        for (given, secs) in cases {
            assert_eq!(
                parse_ttl(given).expect(given),
                Duration::from_secs(secs),
                "{given}"
            );
        }
        for bad in ["", "h", "1", "1w", "-1h", "1.5h"] {
            let err = parse_ttl(bad).expect_err(bad);
            assert!(
                matches!(err, Error::InvalidArgument { name: "--ttl", .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_head_is_an_entry_and_its_hash_the_time_unchecked() {
        let hash = "AB".repeat(32);
        let head = parse_head(&format!("42 {hash} 2025-12-01T00:00:00Z")).expect("head");
        assert_eq!(
            (head.seq, head.hash.as_str()),
            (42, "ab".repeat(32).as_str())
        );
        assert_eq!(head.at, None);
        let bad_heads = [
            String::new(),
            "42".to_owned(),
            format!("-1 {hash}"),
            format!("42 {}", &hash[1..]),
            format!("x {hash}"),
            "42 not-a-hash".to_owned(),
        ];
        for bad in bad_heads.iter().map(String::as_str) {
            let err = parse_head(bad).expect_err(bad);
            assert!(err.to_string().starts_with("--anchor: "), "{bad}: {err}");
        }
    }
}
