//! Changing a share of a ministry's records, so incremental pulls have something to
//! find. A mutation changes a real field that takes part in no planted fact, and
//! moves the record's update time to now (strictly later than any time before).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock;
use crate::random::Rng;
use crate::vocabulary::{HEALTH_ROLES, TEACHER_POSITIONS, next_grade};
use crate::wire::mef::line_id;
use crate::world::{CURRENT_PERIOD, Payee, StaffStatus, WorkUnit, World};
use crate::{Ministry, MockError};

/// The body of `POST /_control/mutate`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MutateRequest {
    pub ministry: Ministry,
    pub share: f64,
}

/// The body of `POST /_control/transfers`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TransferRequest {
    pub share: f64,
}

/// What a mutation changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutation {
    /// Source ids changed, per endpoint kind (`moi_units`, `mcs_officers`,
    /// `moh_org_units`, `moh_practitioners`, `moh_practitioner_roles`,
    /// `moeys_schools`, `moeys_teachers`, `mef_payroll`), sorted.
    pub changed: BTreeMap<String, Vec<String>>,
    /// The changed records' new update time (RFC 3339, UTC). A `>=` filter at this
    /// time returns exactly the changed records.
    pub at: String,
    /// The latest update time any record had before (RFC 3339, UTC). A `>` filter at
    /// this time returns exactly the changed records.
    pub before: String,
}

/// `ceil(share * n)` distinct items of `candidates`, chosen by `rng`.
fn choose(rng: &mut Rng, mut candidates: Vec<usize>, share: f64) -> Vec<usize> {
    let k = ((candidates.len() as f64 * share).ceil() as usize).min(candidates.len());
    for i in 0..k {
        let j = i + rng.index(candidates.len() - i);
        candidates.swap(i, j);
    }
    candidates.truncate(k);
    candidates.sort_unstable();
    candidates
}

pub(crate) fn mutate(
    world: &mut World,
    seed: u64,
    round: u64,
    ministry: Ministry,
    share: f64,
) -> Result<Mutation, MockError> {
    if !(0.0..=1.0).contains(&share) {
        return Err(MockError::BadRequest(format!(
            "share must be between 0 and 1, not {share}"
        )));
    }
    let mut rng = Rng::new(seed ^ round.rotate_left(17), "mutate");
    let before = world.clock;
    let at = clock::now().max(before + 1);
    world.clock = at;
    let mut changed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut record = |kind: &str, ids: Vec<String>| {
        changed.insert(kind.to_owned(), ids);
    };
    match ministry {
        Ministry::Moi => {
            let c = (0..world.units.len())
                .filter(|i| !world.units[*i].invalid)
                .collect();
            let ids = choose(&mut rng, c, share)
                .into_iter()
                .map(|i| {
                    let u = &mut world.units[i];
                    u.respelled = !u.respelled;
                    u.updated = at;
                    u.code.clone()
                })
                .collect();
            record("moi_units", ids);
        }
        Ministry::Mcs => {
            let c = (0..world.officers.len())
                .filter(|i| world.officers[*i].flaw.is_none())
                .collect();
            let ids = choose(&mut rng, c, share)
                .into_iter()
                .map(|i| {
                    let o = &mut world.officers[i];
                    o.grade = next_grade(o.grade);
                    o.modified = at;
                    o.id_string()
                })
                .collect();
            record("mcs_officers", ids);
        }
        Ministry::Moh => {
            let c = (0..world.org_units.len())
                .filter(|i| !world.org_units[*i].invalid)
                .collect();
            let ids = choose(&mut rng, c, share)
                .into_iter()
                .map(|i| {
                    let u = &mut world.org_units[i];
                    u.respelled = !u.respelled;
                    u.updated = at;
                    u.uid.clone()
                })
                .collect();
            record("moh_org_units", ids);
            let c = (0..world.practitioners.len())
                .filter(|i| world.practitioners[*i].flaw.is_none())
                .collect();
            let ids = choose(&mut rng, c, share)
                .into_iter()
                .map(|i| {
                    let phone = 10_000_000 + rng.below(89_999_999) as u32;
                    let p = &mut world.practitioners[i];
                    p.phone = if phone == p.phone { phone + 1 } else { phone };
                    p.updated = at;
                    p.id()
                })
                .collect();
            record("moh_practitioners", ids);
            let c = (0..world.roles.len())
                .filter(|i| world.roles[*i].flaw.is_none())
                .collect();
            let ids = choose(&mut rng, c, share)
                .into_iter()
                .map(|i| {
                    let r = &mut world.roles[i];
                    r.code = ((usize::from(r.code) + 1) % HEALTH_ROLES.len()) as u8;
                    r.updated = at;
                    r.id()
                })
                .collect();
            record("moh_practitioner_roles", ids);
        }
        Ministry::Moeys => {
            let c = (0..world.schools.len())
                .filter(|i| !world.schools[*i].invalid)
                .collect();
            let ids = choose(&mut rng, c, share)
                .into_iter()
                .map(|i| {
                    let s = &mut world.schools[i];
                    s.respelled = !s.respelled;
                    s.updated = at;
                    s.code_string()
                })
                .collect();
            record("moeys_schools", ids);
            let c = (0..world.teachers.len())
                .filter(|i| world.teachers[*i].flaw.is_none())
                .collect();
            let ids = choose(&mut rng, c, share)
                .into_iter()
                .map(|i| {
                    let t = &mut world.teachers[i];
                    t.position = ((usize::from(t.position) + 1) % TEACHER_POSITIONS.len()) as u8;
                    t.updated = at;
                    t.id()
                })
                .collect();
            record("moeys_teachers", ids);
        }
        Ministry::Mef => {
            let c = (0..world.payroll.len())
                .filter(|i| {
                    let l = &world.payroll[*i];
                    l.until == CURRENT_PERIOD && !matches!(l.payee, Payee::Flawed { .. })
                })
                .collect();
            let chosen = choose(&mut rng, c, share);
            let mut ids = Vec::with_capacity(chosen.len());
            for i in chosen {
                world.payroll[i].budget_variant = !world.payroll[i].budget_variant;
                ids.push(line_id(world, &world.payroll[i]));
            }
            record("mef_payroll", ids);
        }
    }
    for ids in changed.values_mut() {
        ids.sort();
    }
    Ok(Mutation {
        changed,
        at: clock::utc_z(at),
        before: clock::utc_z(before),
    })
}

/// Changes that move the sources' agreement, unlike [`mutate`]'s: `share` of the
/// active, valid officers posted at a facility or school leave the roll's active list
/// (every other one retires) or move to the next site of the same kind. Findings open
/// (a move the sector ministry does not know of) and resolve (a retired officer is no
/// longer expected to serve or be paid); the truth file no longer describes the world.
pub(crate) fn transfer(
    world: &mut World,
    seed: u64,
    round: u64,
    share: f64,
) -> Result<Mutation, MockError> {
    if !(0.0..=1.0).contains(&share) {
        return Err(MockError::BadRequest(format!(
            "share must be between 0 and 1, not {share}"
        )));
    }
    let mut rng = Rng::new(seed ^ round.rotate_left(17), "transfer");
    let before = world.clock;
    let at = clock::now().max(before + 1);
    world.clock = at;
    let (health, schools) = (world.org_units.len() as u32, world.schools.len() as u32);
    let c = (0..world.officers.len())
        .filter(|i| {
            let o = &world.officers[*i];
            o.flaw.is_none()
                && matches!(o.status, StaffStatus::Active)
                && matches!(o.unit, WorkUnit::Health(_) | WorkUnit::School(_))
        })
        .collect();
    let ids = choose(&mut rng, c, share)
        .into_iter()
        .enumerate()
        .map(|(n, i)| {
            let o = &mut world.officers[i];
            if n % 2 == 0 {
                o.status = StaffStatus::Retired;
            } else {
                o.unit = match o.unit {
                    WorkUnit::Health(u) => WorkUnit::Health((u + 1) % health),
                    WorkUnit::School(u) => WorkUnit::School((u + 1) % schools),
                    office => office,
                };
            }
            o.modified = at;
            o.id_string()
        })
        .collect();
    let mut changed = BTreeMap::new();
    changed.insert("mcs_officers".to_owned(), ids);
    Ok(Mutation {
        changed,
        at: clock::utc_z(at),
        before: clock::utc_z(before),
    })
}
