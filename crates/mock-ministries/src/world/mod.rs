//! The generated world: every record of every ministry, held compactly and rendered
//! into each wire format on demand (see `wire`).

mod health;
mod payroll;
mod places;
mod schools;
mod staff;

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;

use crate::clock::{self, Month, Stamp};
use crate::gazetteer::Gazetteer;
use crate::khmer::DateForm;
use crate::names::PersonName;
use crate::random::Rng;
use crate::spelling::LatinName;
use crate::truth::{Counts, Facts, InvalidRecords, Truth};
use crate::vocabulary::{Employer, HealthKind, SchoolLevel};
use crate::{MockConfig, MockError, Scale};

/// Payroll periods served: the 24 months up to the current one, which is last.
pub(crate) const PERIODS: u8 = 24;
pub(crate) const CURRENT_PERIOD: u8 = PERIODS - 1;

/// The names (`YYYY-MM`) of the periods served when `current` is the current one,
/// oldest first: index `i` is period `i` of the pay lines.
fn period_names(current: Month) -> Vec<String> {
    (0..PERIODS)
        .map(|i| {
            current
                .plus(i32::from(i) - i32::from(CURRENT_PERIOD))
                .name()
        })
        .collect()
}

/// A unit of the MoI gazetteer as served.
#[derive(Debug)]
pub(crate) struct UnitRecord {
    pub code: String,
    pub type_km: &'static str,
    pub name_km: String,
    pub name_en: Option<String>,
    pub parent_code: Option<String>,
    pub updated: Stamp,
    pub respelled: bool,
    pub invalid: bool,
}

/// A DHIS2 geometry.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Geometry {
    None,
    /// Longitude, latitude.
    Point(f64, f64),
    /// A small square around longitude, latitude.
    Polygon(f64, f64),
}

/// A DHIS2 organisation unit (any level).
#[derive(Debug)]
pub(crate) struct OrgUnit {
    pub uid: String,
    pub level: u8,
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub parent: Option<u32>,
    pub kind: Option<HealthKind>,
    /// The real commune a facility is in (gazetteer index).
    pub commune: Option<u32>,
    /// The `ADMIN_CODE` attribute as written.
    pub admin_code: Option<String>,
    /// The `MANAGED_BY` attribute (a district code) of a transferred facility.
    pub managed_by: Option<String>,
    pub geometry: Geometry,
    pub opening: NaiveDate,
    pub closed: Option<NaiveDate>,
    pub updated: Stamp,
    pub respelled: bool,
    pub invalid: bool,
}

/// An EMIS school.
#[derive(Debug)]
pub(crate) struct School {
    /// 8 digits: the commune's code and a serial.
    pub code: u32,
    pub name_km: String,
    pub name_en: String,
    pub level: SchoolLevel,
    /// The real commune (gazetteer index).
    pub commune: u32,
    /// The `commune_code` column as written.
    pub commune_written: String,
    /// Latitude, longitude.
    pub location: Option<(f64, f64)>,
    pub khmer_digits: bool,
    pub closed: bool,
    pub managed_by: Option<String>,
    pub updated: Stamp,
    pub respelled: bool,
    pub invalid: bool,
}

impl School {
    pub(crate) fn code_string(&self) -> String {
        format!("{:08}", self.code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sex {
    Male,
    Female,
}

impl Sex {
    pub(crate) fn other(self) -> Self {
        match self {
            Self::Male => Self::Female,
            Self::Female => Self::Male,
        }
    }

    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
        }
    }
}

/// One human being, whatever sources know them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Person {
    pub name: PersonName,
    pub sex: Sex,
    pub birth: NaiveDate,
    pub national_id: u32,
}

/// What is wrong with an invalid record.
#[derive(Debug, Clone)]
pub(crate) enum Flaw {
    /// Written in place of an officer id.
    OfficerId(String),
    NationalId(&'static str),
    BirthDate(&'static str),
    EmptyName,
    /// A name with a NUL character inside: text a database cannot store.
    NulInName,
    /// Written in place of an admin (commune) code.
    AdminCode(&'static str),
    /// A PractitionerRole without a practitioner reference.
    NoPractitioner,
    /// A PractitionerRole whose location reference names no id.
    EmptyLocation,
    StartDate(&'static str),
    EmptyMinistry,
}

/// Where the roll says an officer works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkUnit {
    /// A DHIS2 facility (index into `org_units`).
    Health(u32),
    /// An EMIS school (index into `schools`).
    School(u32),
    /// A provincial office: province and commune (gazetteer indices).
    Office { province: u32, commune: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StaffStatus {
    Active,
    Suspended,
    Retired,
    Deceased,
    Left,
}

impl StaffStatus {
    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Retired => "retired",
            Self::Deceased => "deceased",
            Self::Left => "left",
        }
    }
}

/// An entry of the MCS roll.
#[derive(Debug)]
pub(crate) struct Officer {
    pub id: u64,
    pub person: u32,
    pub employer: Employer,
    pub unit: WorkUnit,
    /// The Khmer position title.
    pub position: &'static str,
    pub grade: u8,
    pub status: StaffStatus,
    pub gender_khmer: bool,
    pub dob_form: DateForm,
    pub zwsp: bool,
    pub no_national_id: bool,
    pub modified: Stamp,
    /// Payroll periods paid, first and last (inclusive).
    pub pay: Option<(u8, u8)>,
    pub flaw: Option<Box<Flaw>>,
    /// Written another way than the roll (the linkage noise).
    pub written: Option<Box<Written>>,
    /// Values set by applied correction requests.
    pub corrected: Option<Box<Corrected>>,
}

impl Officer {
    /// The officer id as the roll writes it.
    pub(crate) fn id_string(&self) -> String {
        match self.flaw.as_deref() {
            Some(Flaw::OfficerId(s)) => s.clone(),
            _ => format!("{:010}", self.id),
        }
    }
}

/// How a record writes a person when it was not copied from the roll (the linkage
/// noise): these values are served instead of the person's own.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    /// As typed (zero-width spaces and all).
    pub name_km: String,
    pub latin: LatinName,
    pub birth: NaiveDate,
    pub sex_missing: bool,
    pub national_id_missing: bool,
}

/// Values a ministry's staff set on one record when applying correction requests
/// (`POST /_control/corrections`): served instead of every other source of the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Corrected {
    pub name_km: Option<String>,
    pub sex: Option<Sex>,
    pub birth: Option<NaiveDate>,
    /// The roll's officer id, written on a sector record that lacked or mistyped it.
    pub officer: Option<u64>,
}

/// How a sector ministry's record of a person differs from the roll's.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Conflict {
    BirthDate(NaiveDate),
    Sex,
    Name(PersonName),
}

/// A FHIR Practitioner.
#[derive(Debug)]
pub(crate) struct Practitioner {
    pub number: u32,
    pub officer: Option<u64>,
    pub person: u32,
    pub phone: u32,
    pub updated: Stamp,
    pub conflict: Option<Conflict>,
    pub flaw: Option<Box<Flaw>>,
    /// Written another way than the roll (the linkage noise).
    pub written: Option<Box<Written>>,
    /// Values set by applied correction requests.
    pub corrected: Option<Box<Corrected>>,
}

impl Practitioner {
    pub(crate) fn id(&self) -> String {
        format!("pr-{}", self.number)
    }
}

/// A FHIR PractitionerRole.
#[derive(Debug)]
pub(crate) struct Role {
    pub number: u32,
    pub practitioner: u32,
    /// Index into `org_units`.
    pub facility: u32,
    /// Index into `HEALTH_ROLES`.
    pub code: u8,
    pub start: NaiveDate,
    pub updated: Stamp,
    pub flaw: Option<Box<Flaw>>,
}

impl Role {
    pub(crate) fn id(&self) -> String {
        format!("prr-{}", self.number)
    }
}

/// An EMIS teacher row.
#[derive(Debug)]
pub(crate) struct Teacher {
    pub number: u32,
    pub officer: Option<u64>,
    pub person: u32,
    /// Index into `schools`.
    pub school: u32,
    /// Index into `TEACHER_POSITIONS`.
    pub position: u8,
    pub contract: bool,
    pub dob_khmer: bool,
    pub nid_khmer: bool,
    pub officer_khmer: bool,
    pub sex_khmer: bool,
    pub updated: Stamp,
    pub conflict: Option<Conflict>,
    pub flaw: Option<Box<Flaw>>,
    /// Written another way than the roll (the linkage noise).
    pub written: Option<Box<Written>>,
    /// Values set by applied correction requests.
    pub corrected: Option<Box<Corrected>>,
}

impl Teacher {
    pub(crate) fn id(&self) -> String {
        format!("T{:07}", self.number)
    }
}

/// Who a payroll line pays.
#[derive(Debug)]
pub(crate) enum Payee {
    /// An officer on the roll (index into `officers`).
    Officer(u32),
    /// An officer id that is not on the roll.
    Ghost {
        id: u64,
        employer: Employer,
        province: u32,
    },
    /// An invalid line.
    Flawed {
        id: String,
        employer: Employer,
        province: u32,
        flaw: Flaw,
    },
}

/// One officer id on the payroll over a span of periods.
#[derive(Debug)]
pub(crate) struct PayLine {
    pub payee: Payee,
    pub from: u8,
    pub until: u8,
    pub budget_variant: bool,
}

/// Everything the mock serves.
#[derive(Debug)]
pub(crate) struct World {
    pub gazetteer: Gazetteer,
    /// MoI, sorted by code.
    pub units: Vec<UnitRecord>,
    /// DHIS2, sorted by id.
    pub org_units: Vec<OrgUnit>,
    /// EMIS, sorted by school_code.
    pub schools: Vec<School>,
    pub people: Vec<Person>,
    /// MCS, sorted by officer id.
    pub officers: Vec<Officer>,
    /// FHIR, sorted by id.
    pub practitioners: Vec<Practitioner>,
    /// FHIR, sorted by id.
    pub roles: Vec<Role>,
    /// EMIS, sorted by teacher_id.
    pub teachers: Vec<Teacher>,
    /// MEF, sorted by officer id.
    pub payroll: Vec<PayLine>,
    /// The payroll periods' names, oldest first (indexed like a pay line's periods).
    pub periods: Vec<String>,
    /// The month in progress, after the current period: its payroll is open but
    /// holds no line yet.
    pub open_period: String,
    /// The latest time any record carries.
    pub clock: Stamp,
}

/// Unique random numbers in a range.
#[derive(Debug)]
pub(crate) struct UniqueNumbers {
    low: i64,
    high: i64,
    used: HashSet<u64>,
}

impl UniqueNumbers {
    pub(crate) fn new(low: i64, high: i64) -> Self {
        Self {
            low,
            high,
            used: HashSet::new(),
        }
    }

    /// Takes `n` if nobody has it yet.
    pub(crate) fn claim(&mut self, n: u64) -> bool {
        self.used.insert(n)
    }

    pub(crate) fn is_taken(&self, n: u64) -> bool {
        self.used.contains(&n)
    }

    pub(crate) fn draw(&mut self, rng: &mut Rng) -> u64 {
        loop {
            let n = rng.between(self.low, self.high) as u64;
            if self.used.insert(n) {
                return n;
            }
        }
    }
}

/// A random update time of a generated record.
pub(crate) fn random_stamp(rng: &mut Rng) -> Stamp {
    rng.between(clock::GENERATED_FROM, clock::GENERATED_UNTIL - 1)
}

/// A random date between two years (inclusive).
pub(crate) fn random_date(rng: &mut Rng, from_year: i32, to_year: i32) -> NaiveDate {
    let start = NaiveDate::from_ymd_opt(from_year, 1, 1).expect("valid start date");
    let end = NaiveDate::from_ymd_opt(to_year, 12, 31).expect("valid end date");
    let days = (end - start).num_days();
    start + chrono::Duration::days(rng.between(0, days))
}

/// How many records of `n` get a property with `share`: at least `min`, so that
/// even the small world has some of each.
pub(crate) fn share_of(n: usize, share: f64, min: usize) -> usize {
    ((n as f64 * share).round() as usize).max(min).min(n)
}

/// Record counts at a scale.
pub(crate) struct Sizes {
    pub referral_hospitals: usize,
    pub health_centres: usize,
    pub health_posts: usize,
    pub schools: usize,
    pub health_workers: usize,
    pub teachers: usize,
    pub office_staff: usize,
}

impl Sizes {
    pub(crate) fn of(scale: Scale) -> Self {
        match scale {
            Scale::Small => Self {
                referral_hospitals: 8,
                health_centres: 80,
                health_posts: 12,
                schools: 200,
                health_workers: 300,
                teachers: 1_800,
                office_staff: 900,
            },
            Scale::Full => Self {
                referral_hospitals: 110,
                health_centres: 1_080,
                health_posts: 110,
                schools: 13_000,
                health_workers: 25_000,
                teachers: 150_000,
                office_staff: 75_000,
            },
        }
    }
}

impl World {
    /// Generates the world of `config` and its truth.
    pub(crate) fn generate(config: MockConfig) -> Result<(Self, Truth), MockError> {
        let gazetteer = Gazetteer::load()?;
        let sizes = Sizes::of(config.scale);
        let current = clock::current_period(config.as_of_date());
        let periods = period_names(current);
        let mut truth = Truth {
            seed: config.seed,
            scale: config.scale,
            periods: periods.clone(),
            current_period: current.name(),
            counts: Counts {
                moi_units: 0,
                mcs_officers: 0,
                moh_org_units: 0,
                moh_facilities: 0,
                moh_practitioners: 0,
                moh_practitioner_roles: 0,
                moeys_schools: 0,
                moeys_teachers: 0,
                mef_payroll: BTreeMap::new(),
            },
            invalid: InvalidRecords::default(),
            facts: Facts::default(),
            contract_staff: Vec::new(),
            closed_facilities: Vec::new(),
            same_person: Vec::new(),
            linkage: None,
            corrections_applied: Vec::new(),
        };
        let units = places::generate(&gazetteer, config.seed, &mut truth);
        let org_units = health::generate(&gazetteer, &sizes, config, &mut truth);
        let schools = schools::generate(&gazetteer, &sizes, config.seed, &mut truth);
        let staffing = staff::generate(
            &gazetteer,
            &org_units,
            &schools,
            &sizes,
            config.seed,
            config.linkage_noise,
            &mut truth,
        );
        let staff::Staffing {
            people,
            mut officers,
            mut practitioners,
            mut roles,
            mut teachers,
            mut officer_ids,
        } = staffing;
        officers.sort_by_cached_key(Officer::id_string);
        practitioners.sort_by_key(|p| p.number);
        roles.sort_by_key(|r| r.number);
        teachers.sort_by_key(|t| t.number);
        let payroll = payroll::generate(
            &gazetteer,
            &officers,
            &mut officer_ids,
            config.seed,
            &mut truth,
        );
        let mut world = Self {
            gazetteer,
            units,
            org_units,
            schools,
            people,
            officers,
            practitioners,
            roles,
            teachers,
            payroll,
            periods,
            open_period: current.plus(1).name(),
            clock: 0,
        };
        world.move_stamps(clock::DRAWN_FOR.seconds_until(current));
        world.clock = world.latest_stamp();
        world.count_into(&mut truth.counts);
        truth.sort();
        Ok((world, truth))
    }

    /// Moves every record's update time by `seconds`: the world drawn for
    /// [`clock::DRAWN_FOR`] becomes the world of another current period.
    fn move_stamps(&mut self, seconds: i64) {
        let stamps = self
            .units
            .iter_mut()
            .map(|u| &mut u.updated)
            .chain(self.org_units.iter_mut().map(|u| &mut u.updated))
            .chain(self.schools.iter_mut().map(|s| &mut s.updated))
            .chain(self.officers.iter_mut().map(|o| &mut o.modified))
            .chain(self.practitioners.iter_mut().map(|p| &mut p.updated))
            .chain(self.roles.iter_mut().map(|r| &mut r.updated))
            .chain(self.teachers.iter_mut().map(|t| &mut t.updated));
        for stamp in stamps {
            *stamp += seconds;
        }
    }

    fn latest_stamp(&self) -> Stamp {
        let stamps = self
            .units
            .iter()
            .map(|u| u.updated)
            .chain(self.org_units.iter().map(|u| u.updated))
            .chain(self.schools.iter().map(|s| s.updated))
            .chain(self.officers.iter().map(|o| o.modified))
            .chain(self.practitioners.iter().map(|p| p.updated))
            .chain(self.roles.iter().map(|r| r.updated))
            .chain(self.teachers.iter().map(|t| t.updated));
        stamps.max().unwrap_or(clock::GENERATED_UNTIL)
    }

    fn count_into(&self, counts: &mut Counts) {
        counts.moi_units = self.units.len() as u64;
        counts.mcs_officers = self.officers.len() as u64;
        counts.moh_org_units = self.org_units.len() as u64;
        counts.moh_facilities = self.org_units.iter().filter(|u| u.level == 4).count() as u64;
        counts.moh_practitioners = self.practitioners.len() as u64;
        counts.moh_practitioner_roles = self.roles.len() as u64;
        counts.moeys_schools = self.schools.len() as u64;
        counts.moeys_teachers = self.teachers.len() as u64;
        counts.mef_payroll = (0..PERIODS)
            .map(|p| {
                let n = self
                    .payroll
                    .iter()
                    .filter(|l| l.from <= p && p <= l.until)
                    .count();
                (self.periods[usize::from(p)].clone(), n as u64)
            })
            .collect();
    }

    /// The province (gazetteer index) an officer's work unit is in.
    pub(crate) fn province_of(&self, unit: WorkUnit) -> u32 {
        payroll::province_of(&self.gazetteer, &self.org_units, &self.schools, unit)
    }
}
