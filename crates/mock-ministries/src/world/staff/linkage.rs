//! The linkage noise: the mess real Cambodian HR records have that makes linking a
//! sector record to its roll record hard, planted with the truth of who is who.
//!
//! - `no_ids`: a rolled officer's health worker or teacher record with no officer
//!   id and no national id, the name and/or the birth date written another way
//!   (`spelling`), sometimes without sex.
//! - `id_typo`: the record's officer id has two digits transposed or one wrong, and
//!   the typo is on no roll record.
//! - `id_typo_other_officer`: the typo is another (real) officer's id: the new
//!   officer is created one typo away from an officer already on the roll.
//! - `national_id_only`: no officer id, the right national id.
//! - roll duplicates: one person on the roll twice, the second record written
//!   another way (name, birth date, no national id).
//! - hard negatives: someone with the same Khmer name and birth year as an officer
//!   in another province: on the roll, on the roll and in a sector system without
//!   ids, or contract staff. Never the same person.
//!
//! Every noisy record sits where its officer's roll record puts it, so, linked
//! right, it plants no `serving_not_on_roll` or `on_roll_not_serving`; what it writes
//! differently from the roll (a Khmer name with another match key, another birth
//! date) is an `attribute_conflict` fact, as any other disagreement is.
//!
//! Everything is drawn after the rest of the world, so without the noise the world
//! is exactly as it was.

use std::collections::HashMap;

use chrono::Datelike;

use super::{Builder, Sector, push_duplicate, sector_attrs, service_sites};
use crate::Ministry;
use crate::names::PersonName;
use crate::random::WeightedTable;
use crate::spelling::{self, LatinName, Variant};
use crate::truth::{
    AttributeConflict, HardNegative, Linkage, LinkageRecord, NoiseClass, RecordRef, RollDuplicate,
    Truth,
};
use crate::vocabulary::{HEALTH_ROLES, OFFICE_EMPLOYERS, OFFICE_POSITIONS, TEACHER_POSITIONS};
use crate::world::{Sex, Sizes, StaffStatus, WorkUnit, Written, random_date, share_of};

/// Share of the sector staff (health workers and teachers) planted in each class,
/// and the least planted at any scale, so per-class figures at `small` scale mean
/// something.
const NO_IDS: (f64, usize) = (0.02, 60);
const NATIONAL_ID_ONLY: (f64, usize) = (0.01, 40);
const ID_TYPO: (f64, usize) = (0.004, 40);
const ID_TYPO_OTHER_OFFICER: (f64, usize) = (0.001, 40);
const HARD_NEGATIVES: (f64, usize) = (0.002, 60);
/// Share of the roll planted as duplicates written another way.
const ROLL_DUPLICATES: (f64, usize) = (0.001, 40);
/// Share of the noisy sector records that are MoH's (the rest are MoEYS teachers).
const HEALTH_SHARE: f64 = 0.25;

/// The open, valid sites a sector's staff serve at, by weight (as `serving` draws).
struct Sites {
    sites: Vec<u32>,
    table: WeightedTable,
}

impl Sites {
    fn of(b: &Builder<'_>, sector: Sector) -> Self {
        let weighted = service_sites(b, sector);
        Self {
            sites: weighted.iter().map(|(s, _)| *s).collect(),
            table: WeightedTable::new(weighted.iter().map(|(_, w)| *w)),
        }
    }
}

/// Where a new person serves, and as what.
#[derive(Debug, Clone, Copy)]
struct Post {
    sector: Sector,
    site: u32,
    unit: WorkUnit,
    position: u8,
    position_km: &'static str,
    category: u8,
}

/// How a sector record (or a second roll record) is to be written.
#[derive(Debug, Clone, Copy, Default)]
struct Noise {
    /// A Khmer spelling with another match key.
    khmer: bool,
    /// Only zero-width spaces in the Khmer name.
    zero_width: bool,
    /// Another romanisation or form of the Latin name.
    latin: bool,
    date: bool,
    sex_missing: bool,
    national_id_missing: bool,
}

/// The match key of a Khmer name, as the reconciliation compares names: zero-width
/// characters removed, whitespace collapsed (the text is NFC already).
fn khmer_key(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}'))
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

struct Planter<'b, 'a> {
    b: &'b mut Builder<'a>,
    health: Sites,
    education: Sites,
    linkage: Linkage,
}

pub(super) fn plant(b: &mut Builder<'_>, sizes: &Sizes, truth: &mut Truth) {
    let sector_staff = sizes.health_workers + sizes.teachers;
    let roll = b.officers.len();
    let count = |(share, min): (f64, usize), n: usize| share_of(n, share, min.min(n));

    let mut linkage = Linkage::default();
    // What the world already holds without a shared id: contract staff, officer ids
    // not on the roll, and the duplicates planted with one name, date and id.
    linkage
        .records
        .extend(truth.contract_staff.iter().map(|c| LinkageRecord {
            source: c.source,
            record_id: c.record_id.clone(),
            class: NoiseClass::Contract,
            officer_id: None,
            written_officer_id: None,
            variants: Vec::new(),
        }));
    linkage.records.extend(
        truth
            .facts
            .serving_not_on_roll
            .iter()
            .map(|s| LinkageRecord {
                source: s.source,
                record_id: s.record_id.clone(),
                class: NoiseClass::NotOnRoll,
                officer_id: None,
                written_officer_id: Some(s.officer_id.clone()),
                variants: Vec::new(),
            }),
    );
    linkage
        .roll_duplicates
        .extend(
            truth
                .facts
                .possible_duplicate
                .iter()
                .map(|pair| RollDuplicate {
                    officer_ids: pair.clone(),
                    variants: Vec::new(),
                }),
        );

    // Linked officers of the base world, to mistype an id onto or to look like.
    let index_of: HashMap<u64, usize> = b
        .officers
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id, i))
        .collect();
    let mut linked: Vec<usize> = b
        .linked
        .iter()
        .filter_map(|l| l.officer_id.parse::<u64>().ok())
        .filter_map(|id| index_of.get(&id).copied())
        .collect();
    b.rng.shuffle(&mut linked);
    let health = Sites::of(b, Sector::Health);
    let education = Sites::of(b, Sector::Education);
    let mut p = Planter {
        b,
        health,
        education,
        linkage,
    };

    for _ in 0..count(NO_IDS, sector_staff) {
        p.no_ids(truth);
    }
    for _ in 0..count(NATIONAL_ID_ONLY, sector_staff) {
        p.national_id_only();
    }
    for _ in 0..count(ID_TYPO, sector_staff) {
        p.id_typo();
    }
    let mut candidates = linked.into_iter();
    for _ in 0..count(ID_TYPO_OTHER_OFFICER, sector_staff) {
        let Some(other) = candidates.next() else {
            break;
        };
        p.id_typo_other_officer(other);
    }
    for k in 0..count(HARD_NEGATIVES, sector_staff) {
        let Some(look_alike) = candidates.next() else {
            break;
        };
        p.hard_negative(k, look_alike, truth);
    }
    for _ in 0..count(ROLL_DUPLICATES, roll) {
        p.roll_duplicate(truth);
    }
    truth.linkage = Some(p.linkage);
}

impl Planter<'_, '_> {
    fn sector(&mut self) -> Sector {
        let health = self.b.rng.chance(HEALTH_SHARE) && !self.health.table.is_empty();
        if health || self.education.table.is_empty() {
            Sector::Health
        } else {
            Sector::Education
        }
    }

    /// A post in `sector`, in another province than `avoid` when given (and possible).
    fn post(&mut self, sector: Sector, avoid: Option<usize>) -> Post {
        let sites = match sector {
            Sector::Health => &self.health,
            Sector::Education => &self.education,
        };
        let unit_of = |site: u32| match sector {
            Sector::Health => WorkUnit::Health(site),
            Sector::Education => WorkUnit::School(site),
        };
        let mut site = sites.sites[sites.table.draw(&mut self.b.rng)];
        for _ in 0..50 {
            if avoid.is_none_or(|a| self.b.province_slot_of(unit_of(site)) != a) {
                break;
            }
            site = sites.sites[sites.table.draw(&mut self.b.rng)];
        }
        let (position, position_km, category) = match sector {
            Sector::Health => {
                let weights: Vec<u32> = HEALTH_ROLES.iter().map(|r| r.weight).collect();
                let r = self.b.rng.weighted(&weights);
                (r as u8, HEALTH_ROLES[r].km, HEALTH_ROLES[r].category)
            }
            Sector::Education => {
                let weights: Vec<u32> = TEACHER_POSITIONS.iter().map(|p| p.1).collect();
                let p = self.b.rng.weighted(&weights);
                (p as u8, TEACHER_POSITIONS[p].0, 1)
            }
        };
        Post {
            sector,
            site,
            unit: unit_of(site),
            position,
            position_km,
            category,
        }
    }

    /// A new person of `sector`, named as the noise names people.
    fn person(&mut self, sector: Sector) -> u32 {
        let (_, _, female_share) = sector_attrs(sector);
        let person = self.b.person(female_share);
        let female = self.b.people[person as usize].sex == Sex::Female;
        self.b.people[person as usize].name = PersonName::random_noise(&mut self.b.rng, female);
        person
    }

    /// The person's active, paid roll record at the post; its officer id.
    fn on_roll(&mut self, person: u32, post: Post) -> u64 {
        let (employer, _, _) = sector_attrs(post.sector);
        let pay = self.b.pay_active();
        self.b.officer(
            person,
            employer,
            post.unit,
            post.position_km,
            post.category,
            StaffStatus::Active,
            pay,
            false,
        )
    }

    /// The sector ministry's record of the person at the post, carrying `officer`
    /// and written as `written` says; returns the source and record id.
    fn record(
        &mut self,
        person: u32,
        post: Post,
        officer: Option<u64>,
        written: Written,
        contract: bool,
    ) -> (Ministry, String) {
        let birth = self.b.people[person as usize].birth;
        match post.sector {
            Sector::Health => {
                let pr = self.b.practitioner(person, officer, None);
                self.b.role(pr, post.site, post.position, birth);
                if let Some(p) = self.b.practitioners.last_mut() {
                    p.written = Some(Box::new(written));
                }
                (Ministry::Moh, format!("pr-{pr}"))
            }
            Sector::Education => {
                let t = self
                    .b
                    .teacher(person, officer, post.site, post.position, None);
                if let Some(row) = self.b.teachers.last_mut() {
                    row.written = Some(Box::new(written));
                    row.contract = contract;
                }
                (Ministry::Moeys, format!("T{t:07}"))
            }
        }
    }

    /// The person written as `noise` says, and what differs from the roll.
    fn write(&mut self, person: u32, noise: Noise) -> (Written, Vec<Variant>) {
        let p = self.b.people[person as usize];
        let rng = &mut self.b.rng;
        let mut variants = Vec::new();
        let usual = p.name.khmer(false);
        let name_km = if noise.khmer {
            // A spelling whose match key differs (a swap of two equal parts does not).
            let mut drawn = spelling::khmer_variant(rng, &p.name.khmer_parts());
            for _ in 0..10 {
                if khmer_key(&drawn.0) != khmer_key(&usual) {
                    break;
                }
                drawn = spelling::khmer_variant(rng, &p.name.khmer_parts());
            }
            if khmer_key(&drawn.0) == khmer_key(&usual) {
                drawn.1.retain(|v| !v.changes_khmer_key());
            }
            variants.extend(drawn.1);
            drawn.0
        } else if noise.zero_width {
            variants.push(Variant::KhmerZeroWidth);
            spelling::khmer_with(&p.name.khmer_parts(), Variant::KhmerZeroWidth).unwrap_or(usual)
        } else {
            usual
        };
        let latin = if noise.latin {
            let (latin, done) = spelling::latin_variant(rng, &p.name.latin_parts(), true);
            variants.extend(done);
            latin
        } else {
            LatinName {
                family: p.name.family_latin().to_owned(),
                given: p.name.given_latin(),
                given_first: false,
            }
        };
        let mut birth = p.birth;
        if noise.date
            && let Some((other, variant)) = spelling::date_variant(rng, p.birth)
        {
            birth = other;
            variants.push(variant);
        }
        if noise.sex_missing {
            variants.push(Variant::SexMissing);
        }
        if noise.national_id_missing {
            variants.push(Variant::NationalIdMissing);
        }
        variants.sort();
        variants.dedup();
        (
            Written {
                name_km,
                latin,
                birth,
                sex_missing: noise.sex_missing,
                national_id_missing: noise.national_id_missing,
            },
            variants,
        )
    }

    /// The attribute conflicts a record written as `written` has with the roll record
    /// `officer_id` of `person`, once the two are linked.
    fn conflicts(
        &self,
        truth: &mut Truth,
        person: u32,
        officer_id: u64,
        (source, record_id): (Ministry, &str),
        written: &Written,
    ) {
        let p = self.b.people[person as usize];
        let usual = p.name.khmer(false);
        let officer_id = format!("{officer_id:010}");
        if khmer_key(&written.name_km) != khmer_key(&usual) {
            truth.facts.attribute_conflict.push(AttributeConflict {
                officer_id: officer_id.clone(),
                source,
                record_id: record_id.to_owned(),
                field: "name".to_owned(),
                mcs_value: usual,
                other_value: written.name_km.clone(),
            });
        }
        if written.birth != p.birth {
            truth.facts.attribute_conflict.push(AttributeConflict {
                officer_id,
                source,
                record_id: record_id.to_owned(),
                field: "birth_date".to_owned(),
                mcs_value: p.birth.to_string(),
                other_value: written.birth.to_string(),
            });
        }
    }

    fn push_record(
        &mut self,
        (source, record_id): (Ministry, String),
        class: NoiseClass,
        officer_id: Option<u64>,
        written_officer_id: Option<u64>,
        variants: Vec<Variant>,
    ) {
        self.linkage.records.push(LinkageRecord {
            source,
            record_id,
            class,
            officer_id: officer_id.map(|id| format!("{id:010}")),
            written_officer_id: written_officer_id.map(|id| format!("{id:010}")),
            variants,
        });
    }

    /// No officer id, no national id; the name and/or birth date written otherwise.
    fn no_ids(&mut self, truth: &mut Truth) {
        let sector = self.sector();
        let post = self.post(sector, None);
        let person = self.person(sector);
        let officer = self.on_roll(person, post);
        let rng = &mut self.b.rng;
        let mut noise = Noise {
            khmer: rng.chance(0.6),
            latin: rng.chance(0.7),
            date: rng.chance(0.45),
            sex_missing: rng.chance(0.15),
            national_id_missing: true,
            ..Noise::default()
        };
        if !noise.khmer && !noise.date {
            noise.khmer = true;
        }
        let mut drawn = self.write(person, noise);
        if !drawn
            .1
            .iter()
            .any(|v| v.changes_khmer_key() || v.is_birth_date())
        {
            // The date had no variant to give: spell the name otherwise instead.
            let noise = Noise {
                khmer: true,
                ..noise
            };
            drawn = self.write(person, noise);
        }
        let (written, variants) = drawn;
        // Most schools still say the teacher is a civil servant; some say contract.
        let contract = self.b.rng.chance(0.3);
        let record = self.record(person, post, None, written.clone(), contract);
        self.conflicts(truth, person, officer, (record.0, &record.1), &written);
        self.push_record(record, NoiseClass::NoIds, Some(officer), None, variants);
    }

    /// No officer id; the right national id, the name as the roll has it (in Latin
    /// letters, perhaps otherwise).
    fn national_id_only(&mut self) {
        let sector = self.sector();
        let post = self.post(sector, None);
        let person = self.person(sector);
        let officer = self.on_roll(person, post);
        let rng = &mut self.b.rng;
        let noise = Noise {
            zero_width: rng.chance(0.2),
            latin: rng.chance(0.5),
            sex_missing: rng.chance(0.1),
            ..Noise::default()
        };
        let (written, variants) = self.write(person, noise);
        let contract = self.b.rng.chance(0.3);
        let record = self.record(person, post, None, written, contract);
        self.push_record(
            record,
            NoiseClass::NationalIdOnly,
            Some(officer),
            None,
            variants,
        );
    }

    /// Noise for a record with a mistyped id: the rest as the roll has it.
    fn typo_noise(&mut self) -> Noise {
        let rng = &mut self.b.rng;
        Noise {
            zero_width: rng.chance(0.1),
            latin: rng.chance(0.4),
            sex_missing: rng.chance(0.05),
            national_id_missing: rng.chance(0.5),
            ..Noise::default()
        }
    }

    /// The officer id mistyped into an id nobody has.
    fn id_typo(&mut self) {
        let sector = self.sector();
        let post = self.post(sector, None);
        let person = self.person(sector);
        let officer = self.on_roll(person, post);
        let typos = spelling::id_typos(&mut self.b.rng, officer);
        let Some((typo, kind)) = typos
            .into_iter()
            .find(|(t, _)| !self.b.officer_ids.is_taken(*t))
        else {
            return;
        };
        // Nobody else may draw it later (a payroll ghost, say).
        self.b.officer_ids.claim(typo);
        let noise = self.typo_noise();
        let (written, mut variants) = self.write(person, noise);
        variants.push(kind);
        variants.sort();
        let record = self.record(person, post, Some(typo), written, false);
        self.push_record(
            record,
            NoiseClass::IdTypo,
            Some(officer),
            Some(typo),
            variants,
        );
    }

    /// A new officer whose id is one typo away from the linked officer `other`
    /// (index into the roll), whose sector record carries `other`'s id.
    fn id_typo_other_officer(&mut self, other: usize) {
        let (other_id, other_unit, other_person) = {
            let o = &self.b.officers[other];
            (o.id, o.unit, o.person)
        };
        let sector = match other_unit {
            WorkUnit::Health(_) => Sector::Health,
            _ => Sector::Education,
        };
        let avoid = Some(self.b.province_slot_of(other_unit));
        let post = self.post(sector, avoid);
        let person = self.person(sector);
        let other_name = self.b.people[other_person as usize].name;
        while self.b.people[person as usize].name.khmer(false) == other_name.khmer(false) {
            let female = self.b.people[person as usize].sex == Sex::Female;
            self.b.people[person as usize].name = PersonName::random_noise(&mut self.b.rng, female);
        }
        let typos = spelling::id_typos(&mut self.b.rng, other_id);
        let Some((id, kind)) = typos
            .into_iter()
            .find(|(t, _)| !self.b.officer_ids.is_taken(*t))
        else {
            return;
        };
        self.b.officer_ids.claim(id);
        self.on_roll(person, post);
        if let Some(o) = self.b.officers.last_mut() {
            o.id = id;
        }
        let noise = self.typo_noise();
        let (written, mut variants) = self.write(person, noise);
        variants.push(kind);
        variants.sort();
        let record = self.record(person, post, Some(other_id), written, false);
        self.push_record(
            record,
            NoiseClass::IdTypoOtherOfficer,
            Some(id),
            Some(other_id),
            variants,
        );
    }

    /// Someone with the Khmer name and birth year of the linked officer `look_alike`
    /// (index into the roll), in another province. `k` picks how they are known.
    fn hard_negative(&mut self, k: usize, look_alike: usize, truth: &mut Truth) {
        let (x_id, x_unit, x_person) = {
            let o = &self.b.officers[look_alike];
            (o.id, o.unit, o.person)
        };
        let sector = match x_unit {
            WorkUnit::Health(_) => Sector::Health,
            _ => Sector::Education,
        };
        let x = self.b.people[x_person as usize];
        let x_slot = self.b.province_slot_of(x_unit);
        let person = self.b.person(0.5);
        let birth = loop {
            let d = random_date(&mut self.b.rng, x.birth.year(), x.birth.year());
            if (d - x.birth).num_days().abs() >= 30 {
                break d;
            }
        };
        {
            let h = &mut self.b.people[person as usize];
            h.name = x.name;
            h.sex = x.sex;
            h.birth = birth;
        }
        let x_ref = RecordRef {
            source: Ministry::Mcs,
            record_id: format!("{x_id:010}"),
        };
        let pair = |linkage: &mut Linkage, other: RecordRef| {
            linkage.hard_negatives.push(HardNegative {
                a: x_ref.clone(),
                b: other,
                name_km: x.name.khmer(false),
                birth_year: x.birth.year(),
            });
        };
        let (employer, _, _) = sector_attrs(sector);
        match k % 3 {
            // On the roll, at a provincial office elsewhere.
            0 => {
                let provinces = self.b.provinces.len();
                let mut slot = self.b.rng.index(provinces);
                if provinces > 1 && slot == x_slot {
                    slot = (slot + 1 + self.b.rng.index(provinces - 1)) % provinces;
                }
                let h_id = self.b.office_officer(person, employer, slot);
                pair(
                    &mut self.linkage,
                    RecordRef {
                        source: Ministry::Mcs,
                        record_id: format!("{h_id:010}"),
                    },
                );
            }
            // On the roll at a site elsewhere, whose sector record has no ids.
            1 => {
                let post = self.post(sector, Some(x_slot));
                let h_id = self.on_roll(person, post);
                let noise = Noise {
                    latin: self.b.rng.chance(0.3),
                    national_id_missing: self.b.rng.chance(0.5),
                    ..Noise::default()
                };
                let (written, variants) = self.write(person, noise);
                let contract = self.b.rng.chance(0.3);
                let record = self.record(person, post, None, written, contract);
                pair(
                    &mut self.linkage,
                    RecordRef {
                        source: Ministry::Mcs,
                        record_id: format!("{h_id:010}"),
                    },
                );
                pair(
                    &mut self.linkage,
                    RecordRef {
                        source: record.0,
                        record_id: record.1.clone(),
                    },
                );
                self.push_record(record, NoiseClass::HardNegative, Some(h_id), None, variants);
            }
            // Contract staff at a site elsewhere: on no roll.
            _ => {
                let post = self.post(sector, Some(x_slot));
                let noise = Noise {
                    latin: self.b.rng.chance(0.3),
                    national_id_missing: self.b.rng.chance(0.5),
                    ..Noise::default()
                };
                let (written, variants) = self.write(person, noise);
                let record = self.record(person, post, None, written, true);
                truth.contract_staff.push(RecordRef {
                    source: record.0,
                    record_id: record.1.clone(),
                });
                pair(
                    &mut self.linkage,
                    RecordRef {
                        source: record.0,
                        record_id: record.1.clone(),
                    },
                );
                self.push_record(record, NoiseClass::HardNegative, None, None, variants);
            }
        }
    }

    /// One person on the roll twice, the second record written otherwise: at a
    /// facility or school (with a clean sector record) and at the province's office,
    /// or at two provincial offices.
    fn roll_duplicate(&mut self, truth: &mut Truth) {
        let at_site = self.b.rng.chance(0.5);
        let (first, person, employer, slot) = if at_site {
            let sector = self.sector();
            let post = self.post(sector, None);
            let person = self.person(sector);
            let first = self.on_roll(person, post);
            let written = self.write(person, Noise::default()).0;
            self.record(person, post, Some(first), written, false);
            // The clean sector record links by its id: no noise, no linkage record.
            match post.sector {
                Sector::Health => {
                    if let Some(p) = self.b.practitioners.last_mut() {
                        p.written = None;
                    }
                }
                Sector::Education => {
                    if let Some(t) = self.b.teachers.last_mut() {
                        t.written = None;
                    }
                }
            }
            let (employer, _, _) = sector_attrs(sector);
            (first, person, employer, self.b.province_slot_of(post.unit))
        } else {
            let weights: Vec<u32> = OFFICE_EMPLOYERS.iter().map(|e| e.1).collect();
            let employer = OFFICE_EMPLOYERS[self.b.rng.weighted(&weights)].0;
            let slot = self.b.rng.index(self.b.provinces.len());
            let unit = self.b.office(employer, slot);
            let person = self.b.person(0.45);
            let female = self.b.people[person as usize].sex == Sex::Female;
            self.b.people[person as usize].name = PersonName::random_noise(&mut self.b.rng, female);
            let weights: Vec<u32> = OFFICE_POSITIONS.iter().map(|p| p.1).collect();
            let position = OFFICE_POSITIONS[self.b.rng.weighted(&weights)].0;
            let pay = self.b.pay_active();
            let first = self.b.officer(
                person,
                employer,
                unit,
                position,
                1,
                StaffStatus::Active,
                pay,
                false,
            );
            let other = self.b.rng.index(self.b.provinces.len());
            (first, person, employer, other)
        };
        let second = self.b.office_officer(person, employer, slot);
        let rng = &mut self.b.rng;
        let mut noise = Noise {
            khmer: rng.chance(0.6),
            latin: rng.chance(0.6),
            date: rng.chance(0.4),
            national_id_missing: rng.chance(0.5),
            ..Noise::default()
        };
        if !noise.khmer && !noise.date {
            noise.khmer = true;
        }
        let (written, variants) = self.write(person, noise);
        if let Some(o) = self.b.officers.last_mut() {
            o.written = Some(Box::new(written));
        }
        push_duplicate(truth, first, second);
        let (a, b) = (format!("{first:010}"), format!("{second:010}"));
        self.linkage.roll_duplicates.push(RollDuplicate {
            officer_ids: if a < b { [a, b] } else { [b, a] },
            variants,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn khmer_key_drops_zero_width_and_collapses_spaces() {
        assert_eq!(khmer_key("សុខ\u{200B}  ចាន់\u{200B}ថា"), "សុខ ចាន់ថា");
        assert_ne!(khmer_key("សុខចាន់ថា"), khmer_key("សុខ ចាន់ថា"));
    }
}
