//! People and the records the ministries keep of them: the MCS roll, FHIR
//! practitioners and their roles, EMIS teachers; and the planted facts that tie
//! (or fail to tie) them together.

mod linkage;

use chrono::{Datelike, NaiveDate};

use super::{
    CURRENT_PERIOD, Conflict, Flaw, Officer, OrgUnit, Person, Practitioner, Role, School, Sex,
    Sizes, StaffStatus, Teacher, UniqueNumbers, WorkUnit, random_date, random_stamp, share_of,
};
use crate::Ministry;
use crate::gazetteer::Gazetteer;
use crate::khmer::DateForm;
use crate::names::PersonName;
use crate::random::{Rng, WeightedTable, mix};
use crate::truth::{
    AssignmentConflict, AttributeConflict, InvalidRecord, OnRollNotPaid, OnRollNotServing,
    RecordRef, SamePerson, ServingNotOnRoll, Truth,
};
use crate::vocabulary::{
    Employer, GRADES_PER_CATEGORY, HEALTH_ROLES, OFFICE_EMPLOYERS, OFFICE_POSITIONS,
    TEACHER_POSITIONS,
};

/// Shares of health workers (and of teachers) in each planted situation.
pub(crate) const CONTRACT_HEALTH_SHARE: f64 = 0.08;
pub(crate) const CONTRACT_TEACHER_SHARE: f64 = 0.05;
pub(crate) const INVALID_SHARE: f64 = 0.01;
pub(crate) const NOT_ON_ROLL_SHARE: f64 = 0.01;
pub(crate) const NOT_SERVING_SHARE: f64 = 0.01;
pub(crate) const ASSIGNMENT_CONFLICT_SHARE: f64 = 0.02;
pub(crate) const ATTRIBUTE_CONFLICT_SHARE: f64 = 0.01;
pub(crate) const DUPLICATE_SHARE: f64 = 0.002;
pub(crate) const NOT_PAID_SHARE: f64 = 0.005;
/// Linked people listed in the truth's `same_person` sample, at most.
const SAME_PERSON_SAMPLE: usize = 1_000;

const BAD_DATES: [&str; 5] = [
    "31/02/1985",
    "yesterday",
    "00/00/0000",
    "1985-13-45",
    "៣២/០១/១៩៨០",
];
const BAD_FHIR_DATES: [&str; 3] = ["1985-02-31", "1979-13-01", "unknown"];
const BAD_NATIONAL_IDS: [&str; 3] = ["12345", "ABC123456", "1234567890123"];
const BAD_OFFICER_IDS: [&str; 3] = ["12345", "10O0123456", "A-1234"];
const BAD_ADMIN_CODES: [&str; 4] = ["2601", "0102010", "ABC", "010200"];

/// What the generator makes of one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Situation {
    Normal,
    Contract,
    Invalid,
    NotOnRoll,
    NotServing,
    AssignmentConflict,
    AttributeConflict,
    Duplicate,
    NotPaid,
}

/// A sector ministry's staff: health workers (MoH) or teachers (MoEYS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sector {
    Health,
    Education,
}

pub(super) struct Staffing {
    pub people: Vec<Person>,
    pub officers: Vec<Officer>,
    pub practitioners: Vec<Practitioner>,
    pub roles: Vec<Role>,
    pub teachers: Vec<Teacher>,
    pub officer_ids: UniqueNumbers,
}

struct Builder<'a> {
    rng: Rng,
    gaz: &'a Gazetteer,
    org_units: &'a [OrgUnit],
    schools: &'a [School],
    seed: u64,
    people: Vec<Person>,
    officers: Vec<Officer>,
    practitioners: Vec<Practitioner>,
    roles: Vec<Role>,
    teachers: Vec<Teacher>,
    officer_ids: UniqueNumbers,
    national_ids: UniqueNumbers,
    practitioner_numbers: UniqueNumbers,
    role_numbers: UniqueNumbers,
    teacher_numbers: UniqueNumbers,
    provinces: Vec<u32>,
    province_communes: Vec<Vec<u32>>,
    linked: Vec<SamePerson>,
    bad_officer_serial: u64,
}

fn situations(rng: &mut Rng, n: usize, shares: &[(Situation, f64)]) -> Vec<Situation> {
    let mut all = Vec::with_capacity(n);
    for (situation, share) in shares {
        let k = share_of(n, *share, 2);
        all.extend(std::iter::repeat_n(*situation, k));
    }
    all.truncate(n);
    all.resize(n, Situation::Normal);
    rng.shuffle(&mut all);
    all
}

fn facility_code(org_units: &[OrgUnit], schools: &[School], unit: WorkUnit) -> String {
    match unit {
        WorkUnit::Health(f) => org_units[f as usize].code.clone(),
        WorkUnit::School(s) => schools[s as usize].code_string(),
        WorkUnit::Office { .. } => String::new(),
    }
}

impl Builder<'_> {
    fn person(&mut self, female_share: f64) -> u32 {
        let female = self.rng.chance(female_share);
        let person = Person {
            name: PersonName::random(&mut self.rng, female),
            sex: if female { Sex::Female } else { Sex::Male },
            birth: random_date(&mut self.rng, 1960, 2002),
            national_id: self.national_ids.draw(&mut self.rng) as u32,
        };
        self.people.push(person);
        (self.people.len() - 1) as u32
    }

    fn pay_active(&mut self) -> Option<(u8, u8)> {
        let from = if self.rng.chance(0.9) {
            0
        } else {
            self.rng.between(1, i64::from(CURRENT_PERIOD) - 1) as u8
        };
        Some((from, CURRENT_PERIOD))
    }

    #[allow(clippy::too_many_arguments)]
    fn officer(
        &mut self,
        person: u32,
        employer: Employer,
        unit: WorkUnit,
        position: &'static str,
        category: u8,
        status: StaffStatus,
        pay: Option<(u8, u8)>,
        may_lack_national_id: bool,
    ) -> u64 {
        let id = self.officer_ids.draw(&mut self.rng);
        let rng = &mut self.rng;
        let dob_form = DateForm::ALL[rng.weighted(&[40, 30, 15, 15])];
        let officer = Officer {
            id,
            person,
            employer,
            unit,
            position,
            grade: category * GRADES_PER_CATEGORY + rng.index(GRADES_PER_CATEGORY as usize) as u8,
            status,
            gender_khmer: rng.chance(0.4),
            dob_form,
            zwsp: rng.chance(0.03),
            no_national_id: may_lack_national_id && rng.chance(0.01),
            modified: random_stamp(rng),
            pay,
            flaw: None,
            written: None,
            corrected: None,
        };
        self.officers.push(officer);
        id
    }

    fn practitioner(
        &mut self,
        person: u32,
        officer: Option<u64>,
        conflict: Option<Conflict>,
    ) -> u32 {
        let number = self.practitioner_numbers.draw(&mut self.rng) as u32;
        let phone = 10_000_000 + self.rng.below(89_999_999) as u32;
        self.practitioners.push(Practitioner {
            number,
            officer,
            person,
            phone,
            updated: random_stamp(&mut self.rng),
            conflict,
            flaw: None,
            written: None,
            corrected: None,
        });
        number
    }

    fn role(&mut self, practitioner: u32, facility: u32, code: u8, birth: NaiveDate) -> u32 {
        let number = self.role_numbers.draw(&mut self.rng) as u32;
        let earliest = (birth.year() + 21).max(1990);
        let start = random_date(&mut self.rng, earliest.min(2024), 2024);
        self.roles.push(Role {
            number,
            practitioner,
            facility,
            code,
            start,
            updated: random_stamp(&mut self.rng),
            flaw: None,
        });
        number
    }

    fn teacher(
        &mut self,
        person: u32,
        officer: Option<u64>,
        school: u32,
        position: u8,
        conflict: Option<Conflict>,
    ) -> u32 {
        let number = self.teacher_numbers.draw(&mut self.rng) as u32;
        let rng = &mut self.rng;
        self.teachers.push(Teacher {
            number,
            officer,
            person,
            school,
            position,
            contract: officer.is_none(),
            dob_khmer: rng.chance(0.05),
            nid_khmer: rng.chance(0.03),
            officer_khmer: rng.chance(0.02),
            sex_khmer: rng.chance(0.3),
            updated: random_stamp(rng),
            conflict,
            flaw: None,
            written: None,
            corrected: None,
        });
        number
    }

    fn conflict(&mut self, person: u32) -> Conflict {
        let p = self.people[person as usize];
        match self.rng.index(3) {
            0 => {
                let (d, m) = (p.birth.day(), p.birth.month());
                let swapped = (d <= 12 && d != m)
                    .then(|| NaiveDate::from_ymd_opt(p.birth.year(), d, m))
                    .flatten();
                let shifted = p.birth + chrono::Duration::days(365 * self.rng.between(1, 3));
                Conflict::BirthDate(swapped.unwrap_or(shifted))
            }
            1 => Conflict::Sex,
            _ => loop {
                let other = p.name.with_other_given(&mut self.rng);
                if other.khmer(false) != p.name.khmer(false) && other.latin() != p.name.latin() {
                    break Conflict::Name(other);
                }
            },
        }
    }

    /// The office of `employer` in a province: one commune per employer and province.
    fn office(&mut self, employer: Employer, province_slot: usize) -> WorkUnit {
        let communes = &self.province_communes[province_slot];
        let pick = mix(self.seed ^ ((employer as u64) << 8) ^ province_slot as u64) as usize;
        WorkUnit::Office {
            province: self.provinces[province_slot],
            commune: communes[pick % communes.len().max(1)],
        }
    }

    fn province_slot_of(&self, unit: WorkUnit) -> usize {
        let commune = match unit {
            WorkUnit::Health(f) => self.org_units[f as usize].commune.unwrap_or(0),
            WorkUnit::School(s) => self.schools[s as usize].commune,
            WorkUnit::Office { province, .. } => {
                return self
                    .provinces
                    .iter()
                    .position(|p| *p == province)
                    .unwrap_or(0);
            }
        };
        let province = self.gaz.ancestor(commune, 2).unwrap_or(0);
        self.provinces
            .iter()
            .position(|p| *p == province)
            .unwrap_or(0)
    }

    /// An active officer of `employer` at its office in province `slot`, in a position
    /// drawn for an office, then paid as most are.
    fn office_officer(&mut self, person: u32, employer: Employer, slot: usize) -> u64 {
        let unit = self.office(employer, slot);
        let weights: Vec<u32> = OFFICE_POSITIONS.iter().map(|p| p.1).collect();
        let position = OFFICE_POSITIONS[self.rng.weighted(&weights)].0;
        let pay = self.pay_active();
        self.officer(
            person,
            employer,
            unit,
            position,
            2,
            StaffStatus::Active,
            pay,
            false,
        )
    }

    fn bad_officer_id(&mut self) -> String {
        self.bad_officer_serial += 1;
        let n = self.bad_officer_serial;
        if n.is_multiple_of(2) {
            format!("{:05}", 10_000 + n)
        } else {
            format!("1O{:08}", n)
        }
    }
}

fn sector_attrs(sector: Sector) -> (Employer, Ministry, f64) {
    match sector {
        Sector::Health => (Employer::Moh, Ministry::Moh, 0.6),
        Sector::Education => (Employer::Moeys, Ministry::Moeys, 0.55),
    }
}

pub(super) fn generate(
    gaz: &Gazetteer,
    org_units: &[OrgUnit],
    schools: &[School],
    sizes: &Sizes,
    seed: u64,
    linkage_noise: bool,
    truth: &mut Truth,
) -> Staffing {
    let provinces = gaz.level(2);
    let province_communes = provinces.iter().map(|p| gaz.children(*p, 6)).collect();
    let mut b = Builder {
        rng: Rng::new(seed, "staff"),
        gaz,
        org_units,
        schools,
        seed,
        people: Vec::new(),
        officers: Vec::new(),
        practitioners: Vec::new(),
        roles: Vec::new(),
        teachers: Vec::new(),
        officer_ids: UniqueNumbers::new(1_000_000_000, 9_999_999_999),
        national_ids: UniqueNumbers::new(100_000_000, 999_999_999),
        practitioner_numbers: UniqueNumbers::new(1_000_000, 9_999_999),
        role_numbers: UniqueNumbers::new(1_000_000, 9_999_999),
        teacher_numbers: UniqueNumbers::new(1_000_000, 9_999_999),
        provinces,
        province_communes,
        linked: Vec::new(),
        bad_officer_serial: 0,
    };
    serving(&mut b, Sector::Health, sizes.health_workers, truth);
    serving(&mut b, Sector::Education, sizes.teachers, truth);
    offices(&mut b, sizes.office_staff, truth);
    invalid_roles(&mut b, truth);
    if linkage_noise {
        // After every other draw, so the rest of the world is as it is without it.
        linkage::plant(&mut b, sizes, truth);
    }

    let step = b.linked.len().div_ceil(SAME_PERSON_SAMPLE).max(1);
    truth.same_person = b.linked.iter().step_by(step).cloned().collect();
    Staffing {
        people: b.people,
        officers: b.officers,
        practitioners: b.practitioners,
        roles: b.roles,
        teachers: b.teachers,
        officer_ids: b.officer_ids,
    }
}

/// Where a sector's people can serve: its open, valid facilities, each with its
/// weight (by size).
fn service_sites(b: &Builder<'_>, sector: Sector) -> Vec<(u32, u32)> {
    match sector {
        Sector::Health => b
            .org_units
            .iter()
            .enumerate()
            .filter(|(_, u)| u.level == 4 && !u.invalid && u.closed.is_none())
            .map(|(i, u)| (i as u32, u.kind.map_or(1, |k| k.staff_weight())))
            .collect(),
        Sector::Education => b
            .schools
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.invalid && !s.closed)
            .map(|(i, s)| (i as u32, s.level.staff_weight()))
            .collect(),
    }
}

/// Health workers or teachers: who serves where, and what the roll says of them.
fn serving(b: &mut Builder<'_>, sector: Sector, n: usize, truth: &mut Truth) {
    let (employer, ministry, female_share) = sector_attrs(sector);
    let contract_share = match sector {
        Sector::Health => CONTRACT_HEALTH_SHARE,
        Sector::Education => CONTRACT_TEACHER_SHARE,
    };
    let plan = situations(
        &mut b.rng,
        n,
        &[
            (Situation::Contract, contract_share),
            (Situation::Invalid, INVALID_SHARE),
            (Situation::NotOnRoll, NOT_ON_ROLL_SHARE),
            (Situation::NotServing, NOT_SERVING_SHARE),
            (Situation::AssignmentConflict, ASSIGNMENT_CONFLICT_SHARE),
            (Situation::AttributeConflict, ATTRIBUTE_CONFLICT_SHARE),
            (Situation::Duplicate, DUPLICATE_SHARE),
            (Situation::NotPaid, NOT_PAID_SHARE),
        ],
    );
    let sites = service_sites(b, sector);
    let table = WeightedTable::new(sites.iter().map(|(_, w)| *w));
    if table.is_empty() {
        return;
    }
    let unit_of = |site: u32| match sector {
        Sector::Health => WorkUnit::Health(site),
        Sector::Education => WorkUnit::School(site),
    };
    let role_weights: Vec<u32> = HEALTH_ROLES.iter().map(|r| r.weight).collect();
    let teacher_weights: Vec<u32> = TEACHER_POSITIONS.iter().map(|p| p.1).collect();

    for situation in plan {
        let site = sites[table.draw(&mut b.rng)].0;
        let unit = unit_of(site);
        let (position, position_km, category) = match sector {
            Sector::Health => {
                let r = b.rng.weighted(&role_weights);
                (r as u8, HEALTH_ROLES[r].km, HEALTH_ROLES[r].category)
            }
            Sector::Education => {
                let p = b.rng.weighted(&teacher_weights);
                (p as u8, TEACHER_POSITIONS[p].0, 1)
            }
        };
        let person = b.person(female_share);
        let birth = b.people[person as usize].birth;
        let code_here = facility_code(b.org_units, b.schools, unit);

        // The sector's own record of the person; returns its id.
        let serve =
            |b: &mut Builder<'_>, officer: Option<u64>, conflict: Option<Conflict>| -> String {
                match sector {
                    Sector::Health => {
                        let pr = b.practitioner(person, officer, conflict);
                        b.role(pr, site, position, birth);
                        format!("pr-{pr}")
                    }
                    Sector::Education => {
                        let t = b.teacher(person, officer, site, position, conflict);
                        format!("T{t:07}")
                    }
                }
            };
        let on_roll = |b: &mut Builder<'_>, unit: WorkUnit, pay: Option<(u8, u8)>, lacks: bool| {
            b.officer(
                person,
                employer,
                unit,
                position_km,
                category,
                StaffStatus::Active,
                pay,
                lacks,
            )
        };

        match situation {
            Situation::Normal => {
                let pay = b.pay_active();
                let id = on_roll(b, unit, pay, true);
                let record = serve(b, Some(id), None);
                let officer_id = format!("{id:010}");
                b.linked.push(match sector {
                    Sector::Health => SamePerson {
                        officer_id,
                        fhir_practitioner_id: Some(record),
                        emis_teacher_id: None,
                    },
                    Sector::Education => SamePerson {
                        officer_id,
                        fhir_practitioner_id: None,
                        emis_teacher_id: Some(record),
                    },
                });
            }
            Situation::Contract => {
                let record = serve(b, None, None);
                truth.contract_staff.push(RecordRef {
                    source: ministry,
                    record_id: record,
                });
            }
            Situation::Invalid => invalid_sector_record(b, sector, person, site, position, truth),
            Situation::NotOnRoll => {
                let id = b.officer_ids.draw(&mut b.rng);
                let record = serve(b, Some(id), None);
                truth.facts.serving_not_on_roll.push(ServingNotOnRoll {
                    officer_id: format!("{id:010}"),
                    source: ministry,
                    record_id: record,
                    facility_code: code_here,
                });
            }
            Situation::NotServing => {
                let pay = b.pay_active();
                let id = on_roll(b, unit, pay, true);
                truth.facts.on_roll_not_serving.push(OnRollNotServing {
                    officer_id: format!("{id:010}"),
                    mcs_facility_code: code_here,
                    expected_source: ministry,
                });
            }
            Situation::AssignmentConflict => {
                let here = b.province_slot_of(unit);
                let mut other = site;
                for attempt in 0..20 {
                    let candidate = sites[table.draw(&mut b.rng)].0;
                    if candidate != site
                        && (attempt >= 10 || b.province_slot_of(unit_of(candidate)) == here)
                    {
                        other = candidate;
                        break;
                    }
                }
                if other == site {
                    // Only one site to serve at: no conflict possible.
                    let pay = b.pay_active();
                    let id = on_roll(b, unit, pay, true);
                    serve(b, Some(id), None);
                    continue;
                }
                let pay = b.pay_active();
                let id = on_roll(b, unit_of(other), pay, false);
                let record = serve(b, Some(id), None);
                let other_record_id = match sector {
                    Sector::Health => b.roles.last().map(Role::id).unwrap_or_default(),
                    Sector::Education => record,
                };
                truth.facts.assignment_conflict.push(AssignmentConflict {
                    officer_id: format!("{id:010}"),
                    mcs_facility_code: facility_code(b.org_units, b.schools, unit_of(other)),
                    other_source: ministry,
                    other_record_id,
                    other_facility_code: code_here,
                });
            }
            Situation::AttributeConflict => {
                let pay = b.pay_active();
                let id = on_roll(b, unit, pay, false);
                let conflict = b.conflict(person);
                let record = serve(b, Some(id), Some(conflict));
                let p = b.people[person as usize];
                let (field, mcs_value, other_value) = match conflict {
                    Conflict::BirthDate(d) => ("birth_date", p.birth.to_string(), d.to_string()),
                    Conflict::Sex => (
                        "sex",
                        p.sex.word().to_owned(),
                        p.sex.other().word().to_owned(),
                    ),
                    Conflict::Name(n) => ("name", p.name.khmer(false), n.khmer(false)),
                };
                truth.facts.attribute_conflict.push(AttributeConflict {
                    officer_id: format!("{id:010}"),
                    source: ministry,
                    record_id: record,
                    field: field.to_owned(),
                    mcs_value,
                    other_value,
                });
            }
            Situation::Duplicate => {
                let pay = b.pay_active();
                let a = on_roll(b, unit, pay, false);
                serve(b, Some(a), None);
                let slot = b.province_slot_of(unit);
                let office = b.office(employer, slot);
                let pay = b.pay_active();
                let position = b
                    .rng
                    .weighted(&OFFICE_POSITIONS.iter().map(|p| p.1).collect::<Vec<_>>());
                let second = b.officer(
                    person,
                    employer,
                    office,
                    OFFICE_POSITIONS[position].0,
                    2,
                    StaffStatus::Active,
                    pay,
                    false,
                );
                push_duplicate(truth, a, second);
            }
            Situation::NotPaid => {
                let last = CURRENT_PERIOD - b.rng.between(1, 6) as u8;
                let id = on_roll(b, unit, Some((0, last)), false);
                serve(b, Some(id), None);
                truth.facts.on_roll_not_paid.push(OnRollNotPaid {
                    officer_id: format!("{id:010}"),
                    ministry: employer.code().to_owned(),
                    last_paid_period: Some(truth.periods[usize::from(last)].clone()),
                });
            }
        }
    }
}

fn push_duplicate(truth: &mut Truth, a: u64, b: u64) {
    let (a, b) = (format!("{a:010}"), format!("{b:010}"));
    truth
        .facts
        .possible_duplicate
        .push(if a < b { [a, b] } else { [b, a] });
}

/// An invalid practitioner or teacher: isolated, on no other source.
fn invalid_sector_record(
    b: &mut Builder<'_>,
    sector: Sector,
    person: u32,
    site: u32,
    position: u8,
    truth: &mut Truth,
) {
    let k = b.rng.index(4);
    let (flaw, reason) = match (sector, k) {
        (Sector::Health, 0) => {
            let bad = *b.rng.pick(&BAD_FHIR_DATES);
            (
                Flaw::BirthDate(bad),
                format!("birthDate {bad:?} is not a date"),
            )
        }
        (Sector::Education, 0) => {
            let bad = *b.rng.pick(&BAD_DATES);
            (Flaw::BirthDate(bad), format!("dob {bad:?} is not a date"))
        }
        (Sector::Health, 1) => (
            Flaw::EmptyName,
            "the official name's text is empty".to_owned(),
        ),
        (Sector::Education, 1) => (Flaw::EmptyName, "name_kh is empty".to_owned()),
        (_, 2) => {
            let bad = *b.rng.pick(&BAD_NATIONAL_IDS);
            (
                Flaw::NationalId(bad),
                format!("national id {bad:?} is not 9 to 12 digits"),
            )
        }
        _ => {
            let bad = *b.rng.pick(&BAD_OFFICER_IDS);
            (
                Flaw::OfficerId(bad.to_owned()),
                format!("officer id {bad:?} is not 6 to 12 digits"),
            )
        }
    };
    match sector {
        Sector::Health => {
            let pr = b.practitioner(person, None, None);
            if let Some(p) = b.practitioners.last_mut() {
                p.flaw = Some(Box::new(flaw));
            }
            truth.invalid.moh_practitioners.push(InvalidRecord {
                id: format!("pr-{pr}"),
                reason,
            });
        }
        Sector::Education => {
            let t = b.teacher(person, None, site, position, None);
            if let Some(row) = b.teachers.last_mut() {
                row.contract = !matches!(flaw, Flaw::OfficerId(_));
                row.flaw = Some(Box::new(flaw));
            }
            truth.invalid.moeys_teachers.push(InvalidRecord {
                id: format!("T{t:07}"),
                reason,
            });
        }
    }
}

/// Civil servants who work in offices (no facility).
fn offices(b: &mut Builder<'_>, n: usize, truth: &mut Truth) {
    // About 1% of the whole roll is invalid; all of them are office staff.
    let roll = b.officers.len() + n;
    let invalid_share = (roll as f64 * INVALID_SHARE / n.max(1) as f64).min(0.5);
    let plan = situations(
        &mut b.rng,
        n,
        &[
            (Situation::Invalid, invalid_share),
            (Situation::Duplicate, DUPLICATE_SHARE),
            (Situation::NotPaid, NOT_PAID_SHARE),
        ],
    );
    let employer_weights: Vec<u32> = OFFICE_EMPLOYERS.iter().map(|e| e.1).collect();
    let position_weights: Vec<u32> = OFFICE_POSITIONS.iter().map(|p| p.1).collect();
    for situation in plan {
        let employer = OFFICE_EMPLOYERS[b.rng.weighted(&employer_weights)].0;
        let slot = b.rng.index(b.provinces.len());
        let unit = b.office(employer, slot);
        let p = b.rng.weighted(&position_weights);
        let (position, category) = (
            OFFICE_POSITIONS[p].0,
            if p >= 3 { 0 } else { b.rng.index(3) as u8 },
        );
        let person = b.person(0.45);
        match situation {
            Situation::Invalid => {
                b.officer(
                    person,
                    employer,
                    unit,
                    position,
                    category,
                    StaffStatus::Active,
                    None,
                    false,
                );
                let (flaw, reason) = match b.rng.index(5) {
                    0 => {
                        let bad = b.bad_officer_id();
                        let reason = format!("officer_id {bad:?} is not 6 to 12 digits");
                        (Flaw::OfficerId(bad), reason)
                    }
                    1 => {
                        let bad = *b.rng.pick(&BAD_NATIONAL_IDS);
                        (
                            Flaw::NationalId(bad),
                            format!("national_id {bad:?} is not 9 to 12 digits"),
                        )
                    }
                    2 => {
                        let bad = *b.rng.pick(&BAD_DATES);
                        (
                            Flaw::BirthDate(bad),
                            format!("date_of_birth {bad:?} is not a date"),
                        )
                    }
                    // Every other nameless officer has a NUL in the name instead: no
                    // draw of its own, so the rest of the world stays as it was.
                    3 if truth
                        .invalid
                        .mcs_officers
                        .iter()
                        .filter(|i| i.reason.starts_with("name_kh"))
                        .count()
                        % 2
                        == 0 =>
                    {
                        (
                            Flaw::NulInName,
                            "name_kh contains a NUL character".to_owned(),
                        )
                    }
                    3 => (Flaw::EmptyName, "name_kh is empty".to_owned()),
                    _ => {
                        let bad = *b.rng.pick(&BAD_ADMIN_CODES);
                        (
                            Flaw::AdminCode(bad),
                            format!("work_unit.admin_code {bad:?} is not a gazetteer code"),
                        )
                    }
                };
                let officer = b.officers.last_mut().expect("an officer was just added");
                officer.flaw = Some(Box::new(flaw));
                let written = officer.id_string();
                truth.invalid.mcs_officers.push(InvalidRecord {
                    id: written,
                    reason,
                });
            }
            Situation::Duplicate => {
                let pay = b.pay_active();
                let a = b.officer(
                    person,
                    employer,
                    unit,
                    position,
                    category,
                    StaffStatus::Active,
                    pay,
                    false,
                );
                let slot2 = b.rng.index(b.provinces.len());
                let unit2 = b.office(employer, slot2);
                let pay = b.pay_active();
                let second = b.officer(
                    person,
                    employer,
                    unit2,
                    position,
                    category,
                    StaffStatus::Active,
                    pay,
                    false,
                );
                push_duplicate(truth, a, second);
            }
            Situation::NotPaid => {
                let last = CURRENT_PERIOD - b.rng.between(1, 6) as u8;
                let id = b.officer(
                    person,
                    employer,
                    unit,
                    position,
                    category,
                    StaffStatus::Active,
                    Some((0, last)),
                    false,
                );
                truth.facts.on_roll_not_paid.push(OnRollNotPaid {
                    officer_id: format!("{id:010}"),
                    ministry: employer.code().to_owned(),
                    last_paid_period: Some(truth.periods[usize::from(last)].clone()),
                });
            }
            _ => {
                let status = [
                    StaffStatus::Active,
                    StaffStatus::Suspended,
                    StaffStatus::Retired,
                    StaffStatus::Deceased,
                    StaffStatus::Left,
                ][b.rng.weighted(&[90, 2, 5, 1, 2])];
                let pay = match status {
                    StaffStatus::Active => b.pay_active(),
                    StaffStatus::Suspended => Some((0, CURRENT_PERIOD)),
                    _ => b
                        .rng
                        .chance(0.5)
                        .then(|| (0, b.rng.between(0, i64::from(CURRENT_PERIOD) - 2) as u8)),
                };
                b.officer(
                    person, employer, unit, position, category, status, pay, true,
                );
            }
        }
    }
}

/// About 1% extra PractitionerRoles that are invalid; they belong to contract
/// practitioners, so rejecting them changes no fact.
fn invalid_roles(b: &mut Builder<'_>, truth: &mut Truth) {
    let contract: Vec<(u32, u32)> = b
        .practitioners
        .iter()
        .filter(|p| p.officer.is_none() && p.flaw.is_none())
        .map(|p| (p.number, p.person))
        .collect();
    if contract.is_empty() {
        return;
    }
    let facilities: Vec<u32> = b.roles.iter().map(|r| r.facility).collect();
    let n = share_of(b.roles.len(), INVALID_SHARE, 2);
    for k in 0..n {
        let (practitioner, person) = *b.rng.pick(&contract);
        let facility = *b.rng.pick(&facilities);
        let birth = b.people[person as usize].birth;
        let number = b.role(practitioner, facility, 0, birth);
        let (flaw, reason) = match k % 3 {
            0 => (
                Flaw::NoPractitioner,
                "practitioner.reference is missing".to_owned(),
            ),
            1 => (
                Flaw::EmptyLocation,
                "location[0].reference \"Location/\" names no location".to_owned(),
            ),
            _ => {
                let bad = *b.rng.pick(&BAD_FHIR_DATES);
                (
                    Flaw::StartDate(bad),
                    format!("period.start {bad:?} is not a date"),
                )
            }
        };
        if let Some(role) = b.roles.last_mut() {
            role.flaw = Some(Box::new(flaw));
        }
        truth.invalid.moh_practitioner_roles.push(InvalidRecord {
            id: format!("prr-{number}"),
            reason,
        });
    }
}
