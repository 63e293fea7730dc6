//! Applying the gateway's correction requests the way a ministry's staff would: a
//! share of them, chosen by a seed, is typed into the ministry's own system (the
//! record then holds the supported value, written as that system writes it, and its
//! update time moves to now so incremental pulls find it); the rest wait. What was
//! applied is kept, so the truth can say which requests a later sync should find done.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock;
use crate::random::Rng;
use crate::world::{Corrected, Sex, WorkUnit, World};
use crate::{Ministry, MockError};

/// One correction request as the gateway lists it (`GET /v1/corrections`); other
/// fields of the listing are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrectionRequest {
    /// The gateway's stable id of the request.
    pub id: String,
    pub ministry: Ministry,
    /// The ministry's own id of the record: a Practitioner id (`pr-…`), a teacher_id
    /// or an officer_id.
    #[serde(default)]
    pub record_id: Option<String>,
    /// `sex`, `birth_date`, `name_km`, (MCS) `facility`, or (MoH, MoEYS)
    /// `civil_servant_id`.
    pub field: String,
    /// The value the evidence supports, as the gateway writes it: `male`/`female`,
    /// an ISO date, a Khmer name, a facility (`{"code": …}`), or a ten-digit officer id.
    #[serde(default)]
    pub supported: Value,
}

/// The body of `POST /_control/corrections`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CorrectionsRequest {
    pub corrections: Vec<CorrectionRequest>,
    #[serde(default = "everything")]
    pub share: f64,
    #[serde(default)]
    pub seed: u64,
}

fn everything() -> f64 {
    1.0
}

/// Why a request could not be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// The ministry has no valid record with that id.
    UnknownRecord,
    /// The mock cannot set that field in that ministry's system.
    UnsupportedField,
    /// The supported value is missing or not one the field can hold.
    UnreadableValue,
}

/// A request that could not be applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedCorrection {
    pub id: String,
    pub reason: RefusalReason,
}

/// What `POST /_control/corrections` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrectionsApplied {
    /// The ids applied, sorted.
    pub applied: Vec<String>,
    /// The ids that could be applied but were left for later (outside the share),
    /// sorted.
    pub skipped: Vec<String>,
    /// The ids that cannot be applied, with why, sorted by id.
    pub refused: Vec<RefusedCorrection>,
    /// The changed records' new update time (RFC 3339, UTC).
    pub at: String,
    /// The latest update time any record had before (RFC 3339, UTC).
    pub before: String,
}

/// One change a ministry made to its record: recorded in the truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedCorrection {
    pub id: String,
    pub ministry: Ministry,
    pub record_id: String,
    pub field: String,
    pub supported: Value,
    /// When (RFC 3339, UTC).
    pub at: String,
}

/// Where a request lands in the world.
#[derive(Debug, Clone, Copy)]
enum Target {
    Officer(usize),
    Practitioner(usize),
    Teacher(usize),
}

/// The change a request makes.
#[derive(Debug, Clone)]
enum Change {
    Name(String),
    Sex(Sex),
    Birth(NaiveDate),
    Posting(WorkUnit),
    Officer(u64),
}

/// Where `request` lands and what it changes, or why it cannot be applied.
fn plan(world: &World, request: &CorrectionRequest) -> Result<(Target, Change), RefusalReason> {
    let record = request
        .record_id
        .as_deref()
        .ok_or(RefusalReason::UnknownRecord)?;
    let target = match request.ministry {
        Ministry::Mcs => world
            .officers
            .binary_search_by(|o| o.id_string().as_str().cmp(record))
            .ok()
            .filter(|i| world.officers[*i].flaw.is_none())
            .map(Target::Officer),
        Ministry::Moh => world
            .practitioners
            .iter()
            .position(|p| p.id() == record && p.flaw.is_none())
            .map(Target::Practitioner),
        Ministry::Moeys => world
            .teachers
            .iter()
            .position(|t| t.id() == record && t.flaw.is_none())
            .map(Target::Teacher),
        Ministry::Moi | Ministry::Mef => return Err(RefusalReason::UnsupportedField),
    }
    .ok_or(RefusalReason::UnknownRecord)?;
    let value = &request.supported;
    let change = match request.field.as_str() {
        "sex" => match value.as_str() {
            Some("male") => Change::Sex(Sex::Male),
            Some("female") => Change::Sex(Sex::Female),
            _ => return Err(RefusalReason::UnreadableValue),
        },
        "birth_date" => value
            .as_str()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(Change::Birth)
            .ok_or(RefusalReason::UnreadableValue)?,
        "name_km" => value
            .as_str()
            .map(str::trim)
            .filter(|n| !n.is_empty() && !n.contains('\0'))
            .map(|n| Change::Name(n.to_owned()))
            .ok_or(RefusalReason::UnreadableValue)?,
        // A sector record takes the roll's officer id (ten digits); the roll's own id
        // is the record's key and never changes.
        "civil_servant_id" if !matches!(target, Target::Officer(_)) => value
            .as_str()
            .filter(|v| v.len() == 10 && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse().ok())
            .map(Change::Officer)
            .ok_or(RefusalReason::UnreadableValue)?,
        // Only the roll says where an officer is posted; a sector ministry's posting
        // is a separate record (a PractitionerRole, a teacher's school).
        "facility" if matches!(target, Target::Officer(_)) => {
            let code = value
                .get("code")
                .and_then(Value::as_str)
                .ok_or(RefusalReason::UnreadableValue)?;
            posting(world, code)
                .map(Change::Posting)
                .ok_or(RefusalReason::UnreadableValue)?
        }
        _ => return Err(RefusalReason::UnsupportedField),
    };
    Ok((target, change))
}

/// The open, valid health facility (DHIS2 `code`) or school (`school_code`) a code names.
fn posting(world: &World, code: &str) -> Option<WorkUnit> {
    let facility = world
        .org_units
        .iter()
        .position(|u| u.level == 4 && u.code == code && !u.invalid && u.closed.is_none());
    if let Some(i) = facility {
        return Some(WorkUnit::Health(i as u32));
    }
    world
        .schools
        .iter()
        .position(|s| s.code_string() == code && !s.invalid && !s.closed)
        .map(|i| WorkUnit::School(i as u32))
}

fn set(corrected: &mut Option<Box<Corrected>>, change: &Change) {
    let c = corrected.get_or_insert_with(Box::default);
    match change {
        Change::Name(n) => c.name_km = Some(n.clone()),
        Change::Sex(s) => c.sex = Some(*s),
        Change::Birth(d) => c.birth = Some(*d),
        Change::Officer(id) => c.officer = Some(*id),
        Change::Posting(_) => {}
    }
}

/// Applies `share` (0 to 1) of the applicable `requests`, `ceil(share × n)` of them
/// chosen by `seed` whatever order they come in; returns what it did and the
/// changes for the truth.
pub(crate) fn apply(
    world: &mut World,
    requests: &[CorrectionRequest],
    share: f64,
    seed: u64,
) -> Result<(CorrectionsApplied, Vec<AppliedCorrection>), MockError> {
    if !(0.0..=1.0).contains(&share) {
        return Err(MockError::BadRequest(format!(
            "share must be between 0 and 1, not {share}"
        )));
    }
    let mut sorted: Vec<&CorrectionRequest> = requests.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    sorted.dedup_by(|a, b| a.id == b.id);
    let mut refused = Vec::new();
    let mut applicable = Vec::new();
    for request in sorted {
        match plan(world, request) {
            Ok((target, change)) => applicable.push((request, target, change)),
            Err(reason) => refused.push(RefusedCorrection {
                id: request.id.clone(),
                reason,
            }),
        }
    }
    let mut rng = Rng::new(seed, "corrections");
    let k = ((applicable.len() as f64 * share).ceil() as usize).min(applicable.len());
    rng.shuffle(&mut applicable);
    let skipped_part = applicable.split_off(k);
    let before = world.clock;
    let at = clock::now().max(before + 1);
    if !applicable.is_empty() {
        world.clock = at;
    }
    let mut truth = Vec::with_capacity(applicable.len());
    for (request, target, change) in &applicable {
        match *target {
            Target::Officer(i) => {
                let o = &mut world.officers[i];
                if let Change::Posting(unit) = change {
                    o.unit = *unit;
                }
                set(&mut o.corrected, change);
                o.modified = at;
            }
            Target::Practitioner(i) => {
                let p = &mut world.practitioners[i];
                set(&mut p.corrected, change);
                p.updated = at;
            }
            Target::Teacher(i) => {
                let t = &mut world.teachers[i];
                set(&mut t.corrected, change);
                t.updated = at;
            }
        }
        truth.push(AppliedCorrection {
            id: request.id.clone(),
            ministry: request.ministry,
            record_id: request.record_id.clone().unwrap_or_default(),
            field: request.field.clone(),
            supported: request.supported.clone(),
            at: clock::utc_z(at),
        });
    }
    truth.sort_by(|a, b| a.id.cmp(&b.id));
    let mut applied: Vec<String> = truth.iter().map(|a| a.id.clone()).collect();
    applied.sort();
    let mut skipped: Vec<String> = skipped_part.iter().map(|(r, _, _)| r.id.clone()).collect();
    skipped.sort();
    Ok((
        CorrectionsApplied {
            applied,
            skipped,
            refused,
            at: clock::utc_z(at),
            before: clock::utc_z(before),
        },
        truth,
    ))
}
