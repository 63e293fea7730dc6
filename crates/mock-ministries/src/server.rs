//! The HTTP server: the five ministries' routes on one port, and the control API.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse, HttpServer};
use futures_util::stream;
use tokio::sync::watch;

use crate::corrections::{
    self, AppliedCorrection, CorrectionRequest, CorrectionsApplied, CorrectionsRequest,
};
use crate::faults::{Decision, Delivery, FaultRequest, FaultSettings, Faults, HANG_SECONDS};
use crate::mutate::{MutateRequest, Mutation, TransferRequest, mutate, transfer};
use crate::rosters::{self, RosterPlan};
use crate::truth::Truth;
use crate::wire::emis::{CsvCursor, Export};
use crate::wire::fhir::ResourceType;
use crate::wire::{Query, dhis2, fhir, mcs, mef, moi};
use crate::world::World;
use crate::{Ministry, MockError};

/// Rows per chunk of a streamed CSV export.
const CSV_BATCH_ROWS: usize = 1_000;
/// How long a truncated response waits, after sending half, before closing.
const TRUNCATE_PAUSE: Duration = Duration::from_millis(100);

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct AppState {
    pub world: RwLock<World>,
    pub truth: Arc<Truth>,
    pub faults: Mutex<Faults>,
    pub seed: u64,
    pub mutations: AtomicU64,
    /// The correction requests applied so far, sorted by id.
    pub applied: Mutex<Vec<AppliedCorrection>>,
    /// Turns true when the server stops: hanging requests give up.
    pub stopping: watch::Sender<bool>,
}

impl AppState {
    pub(crate) fn world(&self) -> RwLockReadGuard<'_, World> {
        self.world.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_faults(
        &self,
        ministry: Ministry,
        settings: FaultSettings,
    ) -> Result<(), MockError> {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set(ministry, settings)
    }

    pub(crate) fn clear_faults(&self) {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    pub(crate) fn mutate(&self, ministry: Ministry, share: f64) -> Result<Mutation, MockError> {
        let round = self.mutations.fetch_add(1, Ordering::SeqCst);
        let mut world = self.world.write().unwrap_or_else(PoisonError::into_inner);
        mutate(&mut world, self.seed, round, ministry, share)
    }

    pub(crate) fn transfer(&self, share: f64) -> Result<Mutation, MockError> {
        let round = self.mutations.fetch_add(1, Ordering::SeqCst);
        let mut world = self.world.write().unwrap_or_else(PoisonError::into_inner);
        transfer(&mut world, self.seed, round, share)
    }

    pub(crate) fn apply_corrections(
        &self,
        requests: &[CorrectionRequest],
        share: f64,
        seed: u64,
    ) -> Result<CorrectionsApplied, MockError> {
        let mut world = self.world.write().unwrap_or_else(PoisonError::into_inner);
        let (answer, changes) = corrections::apply(&mut world, requests, share, seed)?;
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        // A request applied again replaces its earlier record.
        applied.retain(|a| !changes.iter().any(|c| c.id == a.id));
        applied.extend(changes);
        applied.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(answer)
    }

    /// The truth with the corrections applied so far.
    pub(crate) fn truth_now(&self) -> Truth {
        let mut truth = Truth::clone(&self.truth);
        truth.corrections_applied = self
            .applied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        truth
    }

    /// The roster plan of the world as it is now (`share` clamped to 0..=1).
    pub(crate) fn roster_plan(&self, share: f64, seed: u64) -> RosterPlan {
        rosters::plan(&self.world(), &self.truth, share, seed)
    }

    /// Applies `ministry`'s faults to one request: waits out latency and hangs,
    /// refuses with an injected error, or says how to deliver the response.
    async fn admit(&self, ministry: Ministry) -> Result<Delivery, MockError> {
        let (latency, decision) = self
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .decide(ministry);
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        match decision {
            Decision::Serve(delivery) => Ok(delivery),
            Decision::Fail => Err(MockError::InjectedUnavailable),
            Decision::Throttle => Err(MockError::InjectedThrottle),
            Decision::Hang => {
                let mut stopping = self.stopping.subscribe();
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(HANG_SECONDS)) => Ok(Delivery::Normal),
                    _ = stopping.wait_for(|s| *s) => Err(MockError::InjectedUnavailable),
                }
            }
        }
    }
}

type State = web::Data<AppState>;

/// `http://host:port` as the client addressed us (the `Host` header).
fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// A JSON body, whole or (for a truncate fault) cut in half after promising all of it.
fn json_body(body: Vec<u8>, delivery: Delivery, content_type: &'static str) -> HttpResponse {
    if delivery != Delivery::Truncate {
        return HttpResponse::Ok().content_type(content_type).body(body);
    }
    let full = body.len() as u64;
    let half = Bytes::from(body).slice(..(full / 2) as usize);
    let chunks = stream::once(async move { Ok::<Bytes, io::Error>(half) });
    let cut = stream::once(async {
        tokio::time::sleep(TRUNCATE_PAUSE).await;
        Err::<Bytes, io::Error>(io::Error::other("body truncated by an injected fault"))
    });
    HttpResponse::Ok()
        .content_type(content_type)
        .no_chunking(full)
        .streaming(futures_util::StreamExt::chain(chunks, cut))
}

async fn moi_units(req: HttpRequest, state: State) -> Result<HttpResponse, MockError> {
    let query = Query::parse(req.query_string())?;
    let delivery = state.admit(Ministry::Moi).await?;
    let body = moi::units(&state.world(), &query, delivery)?;
    Ok(json_body(body, delivery, "application/json"))
}

async fn mcs_officers(req: HttpRequest, state: State) -> Result<HttpResponse, MockError> {
    let query = Query::parse(req.query_string())?;
    let delivery = state.admit(Ministry::Mcs).await?;
    let body = mcs::officers(&state.world(), &query, delivery)?;
    Ok(json_body(body, delivery, "application/json"))
}

async fn dhis2_org_units(req: HttpRequest, state: State) -> Result<HttpResponse, MockError> {
    let query = Query::parse(req.query_string())?;
    let delivery = state.admit(Ministry::Moh).await?;
    let body = dhis2::org_units(&state.world(), &query, &base_url(&req), delivery)?;
    Ok(json_body(body, delivery, "application/json"))
}

async fn fhir_search(
    req: HttpRequest,
    state: State,
    resource: ResourceType,
) -> Result<HttpResponse, MockError> {
    let query = Query::parse(req.query_string())?;
    let delivery = state.admit(Ministry::Moh).await?;
    let body = fhir::bundle(&state.world(), resource, &query, &base_url(&req), delivery)?;
    Ok(json_body(body, delivery, "application/fhir+json"))
}

async fn fhir_practitioners(req: HttpRequest, state: State) -> Result<HttpResponse, MockError> {
    fhir_search(req, state, ResourceType::Practitioner).await
}

async fn fhir_practitioner_roles(
    req: HttpRequest,
    state: State,
) -> Result<HttpResponse, MockError> {
    fhir_search(req, state, ResourceType::PractitionerRole).await
}

async fn mef_payroll(
    req: HttpRequest,
    state: State,
    period: web::Path<String>,
) -> Result<HttpResponse, MockError> {
    let query = Query::parse(req.query_string())?;
    mef::served_period(&state.world(), &period)?;
    let delivery = state.admit(Ministry::Mef).await?;
    let body = mef::payroll(&state.world(), &period, &query, delivery)?;
    Ok(json_body(body, delivery, "application/json"))
}

/// Where a streamed export is, and what fault it carries.
struct CsvStream {
    state: State,
    cursor: CsvCursor,
    /// Rows still to send before a truncate fault cuts the body.
    rows_left: Option<usize>,
    /// The first batch, to send again (a repeat fault).
    repeat: Option<Bytes>,
    repeat_pending: bool,
    done: bool,
}

impl CsvStream {
    /// The next piece of the body; `Err` to cut the connection (truncate fault).
    async fn next(mut self) -> Option<(Result<Bytes, io::Error>, Self)> {
        if self.done {
            return None;
        }
        if let Some(again) = self.repeat.take().filter(|_| self.repeat_pending) {
            self.repeat_pending = false;
            return Some((Ok(again), self));
        }
        if self.rows_left == Some(0) {
            self.done = true;
            tokio::time::sleep(TRUNCATE_PAUSE).await;
            return Some((
                Err(io::Error::other("export truncated by an injected fault")),
                self,
            ));
        }
        let max_rows = self
            .rows_left
            .map_or(CSV_BATCH_ROWS, |n| n.min(CSV_BATCH_ROWS));
        let chunk = {
            let world = self.state.world();
            self.cursor.next_chunk(&world, max_rows)
        };
        let Some((text, rows)) = chunk else {
            self.done = true;
            return None;
        };
        if let Some(left) = &mut self.rows_left {
            *left -= rows.min(*left);
            if rows == 0 {
                // Nothing more to send: cut here.
                *left = 0;
            }
        }
        let bytes = Bytes::from(text);
        if self.repeat_pending && self.repeat.is_none() && rows > 0 {
            // Send the first batch's rows again (without the BOM and header).
            let header_end = bytes.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
            self.repeat = Some(bytes.slice(header_end..));
        }
        Some((Ok(bytes), self))
    }
}

async fn emis_export(
    req: HttpRequest,
    state: State,
    export: Export,
) -> Result<HttpResponse, MockError> {
    let query = Query::parse(req.query_string())?;
    let cursor = CsvCursor::new(export, &query)?;
    let delivery = state.admit(Ministry::Moeys).await?;
    let rows_left = (delivery == Delivery::Truncate).then(|| cursor.rows(&state.world()) / 2);
    let file = match export {
        Export::Schools => "schools.csv",
        Export::Teachers => "teachers.csv",
    };
    let body = CsvStream {
        state,
        cursor,
        rows_left,
        repeat: None,
        repeat_pending: delivery == Delivery::Repeat,
        done: false,
    };
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{file}\""),
        ))
        .streaming(stream::unfold(body, CsvStream::next)))
}

async fn emis_schools(req: HttpRequest, state: State) -> Result<HttpResponse, MockError> {
    emis_export(req, state, Export::Schools).await
}

async fn emis_teachers(req: HttpRequest, state: State) -> Result<HttpResponse, MockError> {
    emis_export(req, state, Export::Teachers).await
}

async fn get_faults(state: State) -> HttpResponse {
    let view = state
        .faults
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .view();
    HttpResponse::Ok().json(view)
}

async fn post_faults(state: State, body: Bytes) -> Result<HttpResponse, MockError> {
    let request: FaultRequest = serde_json::from_slice(&body)?;
    state.set_faults(request.ministry, request.settings)?;
    Ok(get_faults(state).await)
}

async fn delete_faults(state: State) -> HttpResponse {
    state.clear_faults();
    get_faults(state).await
}

async fn post_mutate(state: State, body: Bytes) -> Result<HttpResponse, MockError> {
    let request: MutateRequest = serde_json::from_slice(&body)?;
    let mutation = state.mutate(request.ministry, request.share)?;
    Ok(HttpResponse::Ok().json(mutation))
}

async fn post_transfers(state: State, body: Bytes) -> Result<HttpResponse, MockError> {
    let request: TransferRequest = serde_json::from_slice(&body)?;
    let mutation = state.transfer(request.share)?;
    Ok(HttpResponse::Ok().json(mutation))
}

async fn get_truth(state: State) -> HttpResponse {
    HttpResponse::Ok().json(state.truth_now())
}

async fn post_corrections(state: State, body: Bytes) -> Result<HttpResponse, MockError> {
    let request: CorrectionsRequest = serde_json::from_slice(&body)?;
    let answer = state.apply_corrections(&request.corrections, request.share, request.seed)?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `GET /_control/rosters?share=0.25&seed=7`: the roster plan (share defaults to
/// 0.25, seed to 0).
async fn get_rosters(req: HttpRequest, state: State) -> Result<HttpResponse, MockError> {
    let query = Query::parse(req.query_string())?;
    let share = match query.get("share") {
        None => 0.25,
        Some(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| (0.0..=1.0).contains(s))
            .ok_or_else(|| {
                MockError::BadRequest(format!("share must be between 0 and 1, not {v:?}"))
            })?,
    };
    let seed = match query.get("seed") {
        None => 0,
        Some(v) => v.trim().parse::<u64>().map_err(|_| {
            MockError::BadRequest(format!("seed must be a whole number from 0, not {v:?}"))
        })?,
    };
    // A full-scale plan reads every sector record: off the async workers.
    let plan = web::block(move || state.roster_plan(share, seed))
        .await
        .map_err(|e| MockError::Generation(e.to_string()))?;
    Ok(HttpResponse::Ok().json(plan))
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn no_route(req: HttpRequest) -> Result<HttpResponse, MockError> {
    Err(MockError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

/// Builds the server on `listener`; the caller spawns it.
pub(crate) fn build(
    listener: std::net::TcpListener,
    state: web::Data<AppState>,
) -> Result<Server, MockError> {
    let server = HttpServer::new(move || {
        actix_web::App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(4 * 1024 * 1024))
            .route("/api/v1/gazetteer/units", web::get().to(moi_units))
            .route("/api/officers", web::get().to(mcs_officers))
            .route(dhis2::PATH, web::get().to(dhis2_org_units))
            .route("/fhir/Practitioner", web::get().to(fhir_practitioners))
            .route(
                "/fhir/PractitionerRole",
                web::get().to(fhir_practitioner_roles),
            )
            .route("/emis/export/schools.csv", web::get().to(emis_schools))
            .route("/emis/export/teachers.csv", web::get().to(emis_teachers))
            .route("/api/payroll/{period}", web::get().to(mef_payroll))
            .route("/_control/faults", web::get().to(get_faults))
            .route("/_control/faults", web::post().to(post_faults))
            .route("/_control/faults", web::delete().to(delete_faults))
            .route("/_control/mutate", web::post().to(post_mutate))
            .route("/_control/transfers", web::post().to(post_transfers))
            .route("/_control/truth", web::get().to(get_truth))
            .route("/_control/corrections", web::post().to(post_corrections))
            .route("/_control/rosters", web::get().to(get_rosters))
            .route("/_control/health", web::get().to(health))
            .default_service(web::to(no_route))
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    Ok(server)
}
