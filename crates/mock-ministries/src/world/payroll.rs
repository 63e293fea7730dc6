//! The MEF payroll: every period's lines, from the roll's pay spans, plus officer
//! ids paid but not on the roll, and invalid lines.

use super::{
    CURRENT_PERIOD, Flaw, Officer, OrgUnit, PayLine, Payee, School, UniqueNumbers, WorkUnit,
    share_of,
};
use crate::gazetteer::Gazetteer;
use crate::random::Rng;
use crate::truth::{InvalidRecord, PaidNotOnRoll, Truth};
use crate::vocabulary::{Employer, OFFICE_EMPLOYERS};

/// Share of the current payroll paid to officer ids not on the roll.
pub(crate) const PAID_NOT_ON_ROLL_SHARE: f64 = 0.003;
/// Share of invalid payroll lines.
pub(crate) const INVALID_SHARE: f64 = 0.01;

/// The province (gazetteer index) a work unit is in.
pub(crate) fn province_of(
    gaz: &Gazetteer,
    org_units: &[OrgUnit],
    schools: &[School],
    unit: WorkUnit,
) -> u32 {
    let commune = match unit {
        WorkUnit::Health(f) => org_units[f as usize].commune.unwrap_or(0),
        WorkUnit::School(s) => schools[s as usize].commune,
        WorkUnit::Office { province, .. } => return province,
    };
    gaz.ancestor(commune, 2).unwrap_or(0)
}

pub(super) fn generate(
    gaz: &Gazetteer,
    officers: &[Officer],
    officer_ids: &mut UniqueNumbers,
    seed: u64,
    truth: &mut Truth,
) -> Vec<PayLine> {
    let mut rng = Rng::new(seed, "mef-payroll");
    let mut lines: Vec<(String, PayLine)> = officers
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            o.pay.map(|(from, until)| {
                (
                    o.id_string(),
                    PayLine {
                        payee: Payee::Officer(i as u32),
                        from,
                        until,
                        budget_variant: false,
                    },
                )
            })
        })
        .collect();
    let current = lines
        .iter()
        .filter(|(_, l)| l.until == CURRENT_PERIOD)
        .count();
    let provinces = gaz.level(2);
    let mut employers: Vec<Employer> = OFFICE_EMPLOYERS.iter().map(|e| e.0).collect();
    employers.extend([Employer::Moh, Employer::Moeys, Employer::Moeys]);

    for _ in 0..share_of(current, PAID_NOT_ON_ROLL_SHARE, 2) {
        let id = officer_ids.draw(&mut rng);
        let employer = *rng.pick(&employers);
        let from = if rng.chance(0.5) {
            0
        } else {
            rng.between(0, i64::from(CURRENT_PERIOD)) as u8
        };
        truth.facts.paid_not_on_roll.push(PaidNotOnRoll {
            officer_id: format!("{id:010}"),
            ministry: employer.code().to_owned(),
        });
        lines.push((
            format!("{id:010}"),
            PayLine {
                payee: Payee::Ghost {
                    id,
                    employer,
                    province: *rng.pick(&provinces),
                },
                from,
                until: CURRENT_PERIOD,
                budget_variant: false,
            },
        ));
    }

    for k in 0..share_of(current, INVALID_SHARE, 2) {
        let employer = *rng.pick(&employers);
        let (id, flaw, reason) = match k % 3 {
            0 => {
                let id = format!("{:05}", 20_000 + k);
                let reason = format!("officer_id {id:?} is not 6 to 12 digits");
                (id, Flaw::OfficerId(String::new()), reason)
            }
            1 => {
                let id = format!("2O{:08}", k);
                let reason = format!("officer_id {id:?} is not 6 to 12 digits");
                (id, Flaw::OfficerId(String::new()), reason)
            }
            _ => {
                let id = format!("{:010}", officer_ids.draw(&mut rng));
                (id, Flaw::EmptyMinistry, "ministry is empty".to_owned())
            }
        };
        truth.invalid.mef_payroll.push(InvalidRecord {
            id: id.clone(),
            reason,
        });
        lines.push((
            id.clone(),
            PayLine {
                payee: Payee::Flawed {
                    id,
                    employer,
                    province: *rng.pick(&provinces),
                    flaw,
                },
                from: 0,
                until: CURRENT_PERIOD,
                budget_variant: false,
            },
        ));
    }
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    lines.into_iter().map(|(_, l)| l).collect()
}
