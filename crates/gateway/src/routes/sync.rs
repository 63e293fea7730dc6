//! Sync runs and their rejections (scope `sync:admin`), and starting a run.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use schema::Ministry;
use serde::{Deserialize, Serialize};
use store::Store;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Scope};
use crate::error::{Error, Problem};
use crate::params::{self, encode_cursor, parse_opt};
use crate::routes::{AuditTrail, Audited, Routes};
use crate::syncs::Syncs;

pub(crate) fn register(routes: &mut Routes<'_>) {
    routes
        .service(list_runs)
        .service(list_rejections)
        .service(start_run);
}

/// A sync run of one source.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncRunView {
    pub id: i64,
    #[schema(example = "mcs")]
    pub ministry: String,
    /// A full pull, or incremental from the stored cursors.
    pub full: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// running; succeeded; failed (see `error`); or interrupted: stopped before the
    /// end without failing, by a shutdown of the gateway running it, or found still
    /// running by the next run of its source after that gateway died. An interrupted
    /// run kept every page it stored; the next run resumes where it stopped.
    #[schema(example = "succeeded")]
    pub status: String,
    /// Records the source sent, valid or not.
    pub fetched: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub rejected: i64,
    /// Why the run failed.
    pub error: Option<String>,
}

/// A record a source sent that could not be read into the shared schema.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectionView {
    pub id: i64,
    #[schema(example = "mcs")]
    pub ministry: String,
    /// The feed it came from.
    #[schema(example = "officers")]
    pub record_type: String,
    /// Its id in the source, when it had a readable one.
    pub source_id: Option<String>,
    /// Each problem's field and the rule it broke. The offending values are quoted
    /// (`(got "...")`) only when the token has `staff:read:pii`: they may be national
    /// ids or birth dates.
    #[schema(example = "date_of_birth: names a day its month does not have")]
    pub reason: String,
    /// The problems one by one.
    pub problems: Vec<RejectionProblem>,
    /// The gazetteer code of the place the raw record names, when it names one that
    /// reads. A token with a `jurisdiction` sees only the rejections placed inside it;
    /// one without a place only national tokens see.
    #[schema(example = "120101")]
    pub place: Option<String>,
    /// The record as the source sent it; null unless the token has `staff:read:pii`
    /// (a rejected roll record carries personal data).
    #[schema(value_type = Option<Object>)]
    pub raw: Option<serde_json::Value>,
    /// Whether `raw` and the problems' values are withheld (no `staff:read:pii`).
    pub raw_masked: bool,
    pub fetched_at: DateTime<Utc>,
    pub run_id: Option<i64>,
}

/// One thing wrong with a rejected record.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectionProblem {
    /// The field at fault, as the source's format names it.
    #[schema(example = "date_of_birth")]
    pub field: String,
    /// The rule the value broke, without the value.
    #[schema(example = "names a day its month does not have")]
    pub rule: String,
    /// The offending value as the source sent it (a NUL in it written U+FFFD); null
    /// unless the token has `staff:read:pii`, or when the problem is a missing value.
    #[schema(example = "31/02/1985")]
    pub value: Option<String>,
}

/// What a rejection stored before its problems were kept apart says without
/// `staff:read:pii`: its reason may quote a personal value.
const LEGACY_REASON_MASKED: &str =
    "recorded before reasons kept values apart; shown only with staff:read:pii";

crate::views::list_of!(
    SyncRunList,
    SyncRunView,
    "A page of sync runs, newest first."
);
crate::views::list_of!(
    RejectionList,
    RejectionView,
    "A page of rejected records, oldest first."
);

/// The answer to starting a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncStarted {
    #[schema(example = "mcs")]
    pub ministry: String,
    pub full: bool,
    /// Follow the run at `GET /v1/sync/runs?ministry=<ministry>`.
    #[schema(example = "started")]
    pub status: &'static str,
}

/// Filters of `GET /v1/sync/runs`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// mcs, moh, moeys, moi or mef.
    ministry: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Filters of `GET /v1/sync/rejections`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RejectionsQuery {
    /// mcs, moh, moeys, moi or mef.
    ministry: Option<String>,
    /// The id of a sync run.
    #[param(value_type = Option<i64>)]
    run: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Options of `POST /v1/sync/{ministry}`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// Pull everything instead of the changes since the last run (default false).
    #[param(value_type = Option<bool>)]
    full: Option<String>,
}

fn number(name: &str, value: Option<&str>) -> Result<Option<i64>, Error> {
    value
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| Error::invalid(name, format!("{v:?} is not a whole number")))
        })
        .transpose()
}

/// List sync runs.
///
/// Each run's source, start and end, counts (fetched = inserted + updated + unchanged +
/// rejected) and error, newest first.
#[utoipa::path(
    tag = "sync",
    params(RunsQuery),
    security(("bearer" = ["sync:admin"])),
    responses(
        (status = 200, description = "A page of runs", body = SyncRunList),
        (status = 400, description = "A malformed or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `sync:admin`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/sync/runs")]
pub async fn list_runs(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
) -> Result<HttpResponse, Error> {
    caller.require(Scope::SyncAdmin)?;
    let q: RunsQuery = params::raw_query(&req)?;
    let ministry = parse_opt("ministry", q.ministry.as_deref(), Ministry::parse)?;
    let limit = params::limit(q.limit.as_deref())?;
    let before = params::decode_cursor::<i64>(q.cursor.as_deref())?;
    let runs = store.list_runs(ministry, before, limit + 1).await?;
    let next = (runs.len() > limit).then(|| encode_cursor(&runs[limit - 1].id));
    let items = runs
        .into_iter()
        .take(limit)
        .map(|r| SyncRunView {
            id: r.id,
            ministry: r.ministry,
            full: r.full_pull,
            started_at: r.started_at,
            finished_at: r.finished_at,
            status: r.status,
            fetched: r.fetched,
            inserted: r.inserted,
            updated: r.updated,
            unchanged: r.unchanged,
            rejected: r.rejected,
            error: r.error,
        })
        .collect();
    Ok(HttpResponse::Ok().json(SyncRunList {
        items,
        next_cursor: next,
    }))
}

/// List rejected records.
///
/// Records a source sent that could not be read, with each problem's field and rule.
/// The offending values and the raw record are shown only with `staff:read:pii`. A
/// token with a `jurisdiction` sees the rejections whose raw record names a place
/// inside it; one that names no readable place is seen by national tokens only.
#[utoipa::path(
    tag = "sync",
    params(RejectionsQuery),
    security(("bearer" = ["sync:admin"])),
    responses(
        (status = 200, description = "A page of rejections", body = RejectionList),
        (status = 400, description = "A malformed or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `sync:admin`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/sync/rejections")]
pub async fn list_rejections(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::SyncAdmin)?;
    let q: RejectionsQuery = params::raw_query(&req)?;
    let ministry = parse_opt("ministry", q.ministry.as_deref(), Ministry::parse)?;
    let run = number("run", q.run.as_deref())?;
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::decode_cursor::<i64>(q.cursor.as_deref())?;
    let rows = store
        .list_rejections(
            ministry,
            run,
            after,
            caller.jurisdiction.as_ref(),
            limit + 1,
        )
        .await?;
    let next = (rows.len() > limit).then(|| encode_cursor(&rows[limit - 1].id));
    let reveal = caller.has(Scope::StaffReadPii);
    let items = rows
        .into_iter()
        .take(limit)
        .map(|r| rejection_view(r, reveal))
        .collect();
    // Raw ministry records name people: each read of them is in the audit log, like
    // a read of the registry's staff (they are no registry records, so no ids).
    let body = RejectionList {
        items,
        next_cursor: next,
    };
    Ok(trail
        .answer(&caller, Vec::new(), HttpResponse::Ok().json(body))
        .await)
}

/// A stored rejection as a caller sees it: values only when `reveal` (the token may
/// read personal data).
fn rejection_view(r: store::StoredRejection, reveal: bool) -> RejectionView {
    let (reason, problems) = match r.problems {
        Some(problems) => {
            let reason = if reveal {
                let quoted: Vec<String> = problems
                    .iter()
                    .map(schema::ParseError::quoting_value)
                    .collect();
                quoted.join("; ")
            } else {
                r.reason
            };
            let problems = problems
                .into_iter()
                .map(|p| RejectionProblem {
                    field: p.what,
                    rule: p.reason,
                    value: p.value.filter(|_| reveal),
                })
                .collect();
            (reason, problems)
        }
        None if reveal => (r.reason, Vec::new()),
        None => (LEGACY_REASON_MASKED.to_owned(), Vec::new()),
    };
    RejectionView {
        id: r.id,
        ministry: r.ministry,
        record_type: r.record_type,
        source_id: r.source_id,
        reason,
        problems,
        place: r.place,
        raw: reveal.then_some(r.raw),
        raw_masked: !reveal,
        fetched_at: r.fetched_at,
        run_id: r.run_id,
    }
}

/// Start a sync run.
///
/// Starts pulling one source in the background (incremental unless `full=true`) and
/// answers at once; follow it at `GET /v1/sync/runs`. A source another process is
/// syncing is a 409.
#[utoipa::path(
    tag = "sync",
    params(("ministry" = String, Path, description = "mcs, moh, moeys, moi or mef", example = "mcs"), StartQuery),
    security(("bearer" = ["sync:admin"])),
    responses(
        (status = 202, description = "The run started", body = SyncStarted),
        (status = 400, description = "An unknown ministry or a malformed parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `sync:admin`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The source is not configured", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The source is being synced already", body = Problem, content_type = "application/problem+json"),
    )
)]
// The segment is guarded, so `/v1/sync/runs` stays a path of its own (a POST to it is
// a 405, not a ministry named "runs").
#[post("/v1/sync/{ministry:mcs|moh|moeys|moi|mef}")]
pub async fn start_run(
    req: HttpRequest,
    caller: Caller,
    syncs: web::Data<Syncs>,
) -> Result<HttpResponse, Error> {
    caller.require(Scope::SyncAdmin)?;
    let ministry = Ministry::parse(&params::path_segment(&req, "ministry")?).map_err(|e| {
        Error::InvalidPath {
            name: "ministry",
            reason: e.reason,
        }
    })?;
    let q: StartQuery = params::raw_query(&req)?;
    let full = match q.full.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(Error::invalid(
                "full",
                format!("{v:?} is not true or false"),
            ));
        }
    };
    // Not configured: 404; being synced: 409. The lock is taken before this answers,
    // so "started" means started: no other run can take the source in between.
    syncs.start(ministry, full).await?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/v1/sync/runs?ministry={ministry}")))
        .json(SyncStarted {
            ministry: ministry.to_string(),
            full,
            status: "started",
        }))
}
