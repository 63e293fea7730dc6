//! `mock-ministries`: serves the five fake ministry systems on one port until Ctrl-C.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mock_ministries::{FaultSettings, Ministry, MockConfig, MockError, Scale};

/// Fake MoI, MCS, MoH, MoEYS and MEF systems for the interop gateway.
#[derive(Debug, Parser)]
#[command(name = "mock-ministries", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    bind: String,
    /// `small` (tests) or `full` (Cambodian scale).
    #[arg(long, default_value = "small")]
    scale: Scale,
    /// Seed of the generated world.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The day the world is as of (YYYY-MM-DD): its current payroll period is the
    /// last full month before it. Default: today in Cambodia (the world follows the
    /// clock); give a date for a world that does not change with the calendar.
    #[arg(long)]
    as_of: Option<chrono::NaiveDate>,
    /// Plant the linkage noise classes (records without ids and with variant
    /// spellings, mistyped officer ids, national id only, roll duplicates with
    /// variants, hard negatives) and their truth (the truth's `linkage`).
    #[arg(long)]
    linkage_noise: bool,
    /// Write the ground truth as JSON to this file.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Faults to start with, as the JSON of `POST /_control/faults`
    /// (`{"ministry":"mcs","error_rate":0.1}`); repeatable.
    #[arg(long = "fault")]
    faults: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
struct StartFault {
    ministry: Ministry,
    #[serde(flatten)]
    settings: FaultSettings,
}

async fn run(args: Args) -> Result<(), MockError> {
    let listener = TcpListener::bind(&args.bind)?;
    let config = MockConfig {
        scale: args.scale,
        seed: args.seed,
        as_of: args.as_of,
        linkage_noise: args.linkage_noise,
    };
    let server = mock_ministries::start(listener, config).await?;
    if let Some(path) = &args.truth {
        std::fs::write(path, serde_json::to_vec_pretty(server.truth())?)?;
    }
    for fault in &args.faults {
        let fault: StartFault = serde_json::from_str(fault)?;
        server.set_faults(fault.ministry, fault.settings)?;
    }
    println!("{}", server.base_url());
    eprintln!(
        "mock-ministries: the world as of {}: payroll up to {}",
        config.as_of_date(),
        server.truth().current_period
    );
    tokio::signal::ctrl_c().await?;
    server.stop().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mock-ministries: {e}");
            ExitCode::FAILURE
        }
    }
}
