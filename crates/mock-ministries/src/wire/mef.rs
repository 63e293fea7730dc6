//! MEF payroll: `GET /api/payroll/{YYYY-MM}?page=N&size=M`.

use serde::Serialize;

use super::{Query, content_page, page_count, select};
use crate::MockError;
use crate::faults::Delivery;
use crate::vocabulary::Employer;
use crate::world::{Flaw, PERIODS, PayLine, Payee, StaffStatus, World};

pub(crate) const DEFAULT_SIZE: usize = 100;

#[derive(Serialize)]
struct PayrollPage<'a> {
    period: &'a str,
    items: Vec<PayItem>,
    page: usize,
    total_pages: usize,
}

#[derive(Serialize)]
struct PayItem {
    officer_id: String,
    ministry: &'static str,
    budget_unit: String,
    status: &'static str,
}

/// A period the payroll answers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Served {
    /// A period with its lines (index into the world's periods).
    Closed(u8),
    /// The month in progress: published, still empty.
    Open,
}

/// Which served period `period` (written `YYYY-MM`) is: 400 when malformed, 404 when
/// the payroll has no such month (before the first, or after the month in progress).
pub(crate) fn served_period(world: &World, period: &str) -> Result<Served, MockError> {
    let well_formed = period.len() == 7
        && period.as_bytes()[4] == b'-'
        && period
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 4 || b.is_ascii_digit());
    if !well_formed {
        return Err(MockError::BadRequest(format!(
            "period {period:?} is not YYYY-MM"
        )));
    }
    if period == world.open_period {
        return Ok(Served::Open);
    }
    (0..PERIODS)
        .find(|p| world.periods[usize::from(*p)] == period)
        .map(Served::Closed)
        .ok_or_else(|| {
            MockError::NotFound(format!(
                "no payroll for period {period}: periods are {} to {} ({} is open, still empty)",
                world.periods[0],
                world.periods[usize::from(PERIODS - 1)],
                world.open_period,
            ))
        })
}

pub(crate) fn payroll(
    world: &World,
    period: &str,
    query: &Query,
    delivery: Delivery,
) -> Result<Vec<u8>, MockError> {
    let served = served_period(world, period)?;
    let page = query.page("page")?;
    let size = query.size("size", DEFAULT_SIZE, 1)?;
    let keep = |l: &PayLine| match served {
        Served::Closed(p) => l.from <= p && p <= l.until,
        Served::Open => false,
    };
    let selection = select(&world.payroll, keep, content_page(page, delivery), size);
    let items = selection
        .indices
        .iter()
        .map(|i| item(world, &world.payroll[*i as usize]))
        .collect();
    Ok(serde_json::to_vec(&PayrollPage {
        period,
        items,
        page,
        total_pages: page_count(selection.total, size),
    })?)
}

pub(crate) fn line_id(world: &World, line: &PayLine) -> String {
    match &line.payee {
        Payee::Officer(i) => world.officers[*i as usize].id_string(),
        Payee::Ghost { id, .. } => format!("{id:010}"),
        Payee::Flawed { id, .. } => id.clone(),
    }
}

fn budget_unit(world: &World, employer: Employer, province: u32, variant: bool) -> String {
    format!(
        "{}-{}-{}",
        employer.code(),
        world.gazetteer.place(province).code,
        if variant { "002" } else { "001" }
    )
}

fn item(world: &World, line: &PayLine) -> PayItem {
    let officer_id = line_id(world, line);
    match &line.payee {
        Payee::Officer(i) => {
            let o = &world.officers[*i as usize];
            PayItem {
                officer_id,
                ministry: o.employer.code(),
                budget_unit: budget_unit(
                    world,
                    o.employer,
                    world.province_of(o.unit),
                    line.budget_variant,
                ),
                status: if o.status == StaffStatus::Suspended {
                    "suspended"
                } else {
                    "paid"
                },
            }
        }
        Payee::Ghost {
            employer, province, ..
        } => PayItem {
            officer_id,
            ministry: employer.code(),
            budget_unit: budget_unit(world, *employer, *province, line.budget_variant),
            status: "paid",
        },
        Payee::Flawed {
            employer,
            province,
            flaw,
            ..
        } => PayItem {
            officer_id,
            ministry: if matches!(flaw, Flaw::EmptyMinistry) {
                ""
            } else {
                employer.code()
            },
            budget_unit: budget_unit(world, *employer, *province, line.budget_variant),
            status: "paid",
        },
    }
}
