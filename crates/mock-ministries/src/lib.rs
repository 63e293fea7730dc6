//! Fake versions of five Cambodian ministries' IT systems, for the interoperability
//! gateway's tests, demo and benchmarks: the Interior's gazetteer (MoI), the Civil
//! Service's HRMIS roll (MCS), Health's DHIS2 facilities and FHIR health workers
//! (MoH), Education's EMIS CSV exports (MoEYS) and Economy and Finance's payroll
//! (MEF). Each wire format is written here from the contract in DESIGN.md,
//! independently of the gateway's adapters, so a misreading cannot hide in both.
//!
//! The data is generated deterministically from a seed (the same seed and as-of date
//! give byte-identical responses) on a synthetic gazetteer, at a small or a Cambodian
//! scale, with Khmer names, the messy forms ministries really write, about 1%
//! invalid records per source, and planted cross-ministry discrepancies. The
//! [`Truth`] lists all of them, so a reconciliation can be scored. With
//! [`MockConfig::linkage_noise`], the sector records also carry the mess that makes
//! linking people hard (no ids and variant spellings, mistyped ids, roll duplicates,
//! look-alikes who must stay apart), with the truth of who each one really is. Faults
//! (latency, 503, 429, hangs, truncated bodies, repeated pages) are injected per
//! ministry on demand, and records can be mutated to exercise incremental pulls.
//!
//! A [`RosterPlan`] stands in for the heads of health facilities and schools who
//! submit monthly rosters of who actually serves there: the rosters, drawn from the
//! same world, with the absences and unknown people they plant, so the gateway's
//! roster intake can be scored like the ministries' feeds.
//!
//! The world follows the clock: its current payroll period is the last full month
//! before today (in Cambodia), and its records' update times lead up to it; a fixed
//! [`MockConfig::as_of`] date keeps it still, for reproducible tests.
//!
//! Start it in-process with [`start`], or run the `mock-ministries` binary.

mod clock;
mod config;
mod corrections;
mod error;
mod faults;
mod gazetteer;
mod khmer;
mod ministry;
mod mutate;
mod names;
mod random;
mod rosters;
mod server;
mod spelling;
mod truth;
mod vocabulary;
mod wire;
mod world;

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

use actix_web::dev::ServerHandle;
use actix_web::web;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{MockConfig, Scale};
pub use corrections::{
    AppliedCorrection, CorrectionRequest, CorrectionsApplied, RefusalReason, RefusedCorrection,
};
pub use error::MockError;
pub use faults::{FaultSettings, HANG_SECONDS};
pub use ministry::Ministry;
pub use mutate::Mutation;
pub use rosters::{AbsentOfficer, PlannedEntry, PlannedRoster, RosterPlan, UnknownPerson};
pub use spelling::Variant;
pub use truth::{
    AssignmentConflict, AttributeConflict, Counts, FacilityRef, Facts, HardNegative, InvalidRecord,
    InvalidRecords, Linkage, LinkageRecord, NoiseClass, OnRollNotPaid, OnRollNotServing,
    PaidNotOnRoll, RecordRef, RollDuplicate, SamePerson, ServingNotOnRoll, TransferredFacility,
    Truth, UnplacedFacility,
};
pub use wire::MAX_PAGE_SIZE;

use crate::faults::Faults;
use crate::server::AppState;
use crate::world::World;

/// A running mock: all five ministries on one port.
#[derive(Debug)]
pub struct MockServer {
    port: u16,
    ip: IpAddr,
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
    state: web::Data<AppState>,
}

/// Generates the world of `config` and serves it on `listener`. Must be called
/// inside a tokio runtime; the server runs on it until [`MockServer::stop`].
pub async fn start(listener: TcpListener, config: MockConfig) -> Result<MockServer, MockError> {
    let (world, truth) = tokio::task::spawn_blocking(move || World::generate(config))
        .await
        .map_err(|e| MockError::Generation(e.to_string()))??;
    let address = listener.local_addr()?;
    let ip = if address.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        address.ip()
    };
    let state = web::Data::new(AppState {
        world: RwLock::new(world),
        truth: Arc::new(truth),
        faults: Mutex::new(Faults::default()),
        seed: config.seed,
        mutations: AtomicU64::new(0),
        applied: Mutex::new(Vec::new()),
        stopping: watch::Sender::new(false),
    });
    let server = server::build(listener, state.clone())?;
    let handle = server.handle();
    let task = tokio::spawn(server);
    Ok(MockServer {
        port: address.port(),
        ip,
        handle,
        task,
        state,
    })
}

impl MockServer {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` (or the address bound, when it is a specific one).
    pub fn base_url(&self) -> String {
        match self.ip {
            IpAddr::V6(ip) => format!("http://[{ip}]:{}", self.port),
            IpAddr::V4(ip) => format!("http://{ip}:{}", self.port),
        }
    }

    /// The ground truth of the generated world.
    pub fn truth(&self) -> &Truth {
        &self.state.truth
    }

    /// The truth now: as generated, with the correction requests applied so far
    /// (as `GET /_control/truth` answers).
    pub fn truth_now(&self) -> Truth {
        self.state.truth_now()
    }

    /// Applies `share` of the applicable `corrections` (as `POST /_control/corrections`
    /// does): `ceil(share × n)` of them, chosen by `seed`, change their ministry's
    /// record to hold the supported value and move its update time to now.
    pub fn apply_corrections(
        &self,
        corrections: &[CorrectionRequest],
        share: f64,
        seed: u64,
    ) -> Result<CorrectionsApplied, MockError> {
        self.state.apply_corrections(corrections, share, seed)
    }

    /// Replaces `ministry`'s fault settings (as `POST /_control/faults` does).
    pub fn set_faults(&self, ministry: Ministry, settings: FaultSettings) -> Result<(), MockError> {
        self.state.set_faults(ministry, settings)
    }

    /// Clears every ministry's faults (as `DELETE /_control/faults` does).
    pub fn clear_faults(&self) {
        self.state.clear_faults();
    }

    /// Changes `share` of `ministry`'s records (as `POST /_control/mutate` does).
    pub fn mutate(&self, ministry: Ministry, share: f64) -> Result<Mutation, MockError> {
        self.state.mutate(ministry, share)
    }

    /// Retires or moves `share` of the roll's active officers at facilities and
    /// schools (as `POST /_control/transfers` does): changes that open and resolve
    /// discrepancies, which [`MockServer::mutate`]'s never do.
    pub fn transfer(&self, share: f64) -> Result<Mutation, MockError> {
        self.state.transfer(share)
    }

    /// The rosters the heads of `share` of the open, valid health facilities and
    /// schools would submit for the current period, with what they plant (as
    /// `GET /_control/rosters` answers). The same world seed, `share` and `seed`
    /// give the same plan; a larger share picks a superset of the sites. `share`
    /// is clamped to 0..=1 (NaN counts as 0).
    pub fn roster_plan(&self, share: f64, seed: u64) -> RosterPlan {
        self.state.roster_plan(share, seed)
    }

    /// Stops gracefully: hanging requests are released, in-flight ones finish.
    pub async fn stop(self) {
        self.state.stopping.send_replace(true);
        self.handle.stop(true).await;
        let _ = self.task.await;
    }
}
