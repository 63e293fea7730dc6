//! MoEYS EMIS CSV exports: `GET /emis/export/schools.csv[?updated_since=RFC3339]`
//! and `GET /emis/export/teachers.csv[?updated_since=RFC3339]`. UTF-8 with a BOM,
//! CRLF line ends, names always quoted, other fields quoted when they hold a comma,
//! a quote or a line break; dates `DD/MM/YYYY`; some numbers in Khmer digits.
//!
//! The export is written a batch of rows at a time (see [`CsvCursor`]), never whole.

use super::{Query, millis};
use crate::MockError;
use crate::clock;
use crate::khmer;
use crate::vocabulary::{TEACHER_POSITIONS, respell};
use crate::world::{Conflict, Flaw, School, Sex, Teacher, World};

pub(crate) const SCHOOL_COLUMNS: &str = "school_code,school_name_kh,school_name_en,school_level,commune_code,latitude,longitude,status,managed_by,updated_at";
pub(crate) const TEACHER_COLUMNS: &str = "teacher_id,officer_id,national_id,name_kh,name_en,sex,dob,school_code,position,employment_type,updated_at";
const BOM: &str = "\u{FEFF}";

/// Which export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Export {
    Schools,
    Teachers,
}

/// Where a streamed export has got to.
#[derive(Debug, Clone)]
pub(crate) struct CsvCursor {
    export: Export,
    /// `updated_since`, in milliseconds: keeps rows updated at or after it (>=).
    since: Option<i64>,
    position: usize,
    started: bool,
}

impl CsvCursor {
    pub(crate) fn new(export: Export, query: &Query) -> Result<Self, MockError> {
        let since = match query.get("updated_since") {
            None => None,
            Some(v) => Some(clock::parse_rfc3339_millis(v).ok_or_else(|| {
                MockError::BadRequest(format!("updated_since {v:?} is not an RFC 3339 time"))
            })?),
        };
        Ok(Self {
            export,
            since,
            position: 0,
            started: false,
        })
    }

    fn keeps(&self, stamp: i64) -> bool {
        self.since.is_none_or(|s| millis(stamp) >= s)
    }

    /// Rows the export will have.
    pub(crate) fn rows(&self, world: &World) -> usize {
        match self.export {
            Export::Schools => world
                .schools
                .iter()
                .filter(|s| self.keeps(s.updated))
                .count(),
            Export::Teachers => world
                .teachers
                .iter()
                .filter(|t| self.keeps(t.updated))
                .count(),
        }
    }

    /// The next chunk: the BOM and header first, then up to `max_rows` rows, with how
    /// many rows it holds. `None` once everything has been written.
    pub(crate) fn next_chunk(&mut self, world: &World, max_rows: usize) -> Option<(String, usize)> {
        let mut out = String::new();
        if !self.started {
            self.started = true;
            out.push_str(BOM);
            out.push_str(match self.export {
                Export::Schools => SCHOOL_COLUMNS,
                Export::Teachers => TEACHER_COLUMNS,
            });
            out.push_str("\r\n");
        }
        let mut rows = 0;
        let len = match self.export {
            Export::Schools => world.schools.len(),
            Export::Teachers => world.teachers.len(),
        };
        while self.position < len && rows < max_rows {
            let i = self.position;
            self.position += 1;
            match self.export {
                Export::Schools => {
                    let s = &world.schools[i];
                    if self.keeps(s.updated) {
                        school_row(&mut out, s);
                        rows += 1;
                    }
                }
                Export::Teachers => {
                    let t = &world.teachers[i];
                    if self.keeps(t.updated) {
                        teacher_row(&mut out, world, t);
                        rows += 1;
                    }
                }
            }
        }
        (!out.is_empty()).then_some((out, rows))
    }
}

/// Writes one field: quoted when `always` or when it needs to be.
fn field(out: &mut String, value: &str, always: bool, last: bool) {
    if always || value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
    out.push_str(if last { "\r\n" } else { "," });
}

fn number(value: f64, khmer_digits: bool) -> String {
    let s = format!("{value:.6}");
    if khmer_digits { khmer::digits(&s) } else { s }
}

fn school_row(out: &mut String, s: &School) {
    let name_en = if s.respelled {
        respell(&s.name_en)
    } else {
        s.name_en.clone()
    };
    let (lat, lon) = s
        .location
        .map_or((String::new(), String::new()), |(lat, lon)| {
            (number(lat, s.khmer_digits), number(lon, s.khmer_digits))
        });
    field(out, &s.code_string(), false, false);
    field(out, &s.name_km, true, false);
    field(out, &name_en, true, false);
    field(out, s.level.code(), false, false);
    field(out, &s.commune_written, false, false);
    field(out, &lat, false, false);
    field(out, &lon, false, false);
    field(out, if s.closed { "closed" } else { "open" }, false, false);
    field(
        out,
        s.managed_by.as_deref().unwrap_or("MOEYS"),
        false,
        false,
    );
    field(out, &clock::cambodia_offset(s.updated), false, true);
}

fn teacher_row(out: &mut String, world: &World, t: &Teacher) {
    let person = &world.people[t.person as usize];
    let flaw = t.flaw.as_deref();
    let (mut name, mut sex, mut birth) = (person.name, person.sex, person.birth);
    match t.conflict {
        Some(Conflict::Name(n)) => name = n,
        Some(Conflict::Sex) => sex = sex.other(),
        Some(Conflict::BirthDate(d)) => birth = d,
        None => {}
    }
    let corrected_officer = t.corrected.as_deref().and_then(|c| c.officer);
    let officer_id = match (flaw, corrected_officer.or(t.officer)) {
        (Some(Flaw::OfficerId(bad)), _) => bad.clone(),
        (_, Some(id)) if t.officer_khmer && corrected_officer.is_none() => {
            khmer::digits(&format!("{id:010}"))
        }
        (_, Some(id)) => format!("{id:010}"),
        _ => String::new(),
    };
    let written = t.written.as_deref();
    if let Some(w) = written {
        birth = w.birth;
    }
    let corrected = t.corrected.as_deref();
    if let Some(c) = corrected {
        sex = c.sex.unwrap_or(sex);
        birth = c.birth.unwrap_or(birth);
    }
    let national_id = match flaw {
        Some(Flaw::NationalId(bad)) => (*bad).to_owned(),
        _ if written.is_some_and(|w| w.national_id_missing) => String::new(),
        _ if t.nid_khmer => khmer::digits(&format!("{:09}", person.national_id)),
        _ => format!("{:09}", person.national_id),
    };
    let mut name_kh = match (flaw, written) {
        (Some(Flaw::EmptyName), _) => String::new(),
        (_, Some(w)) => w.name_km.clone(),
        _ => name.khmer(false),
    };
    if let Some(name) = corrected.and_then(|c| c.name_km.as_ref())
        && !matches!(flaw, Some(Flaw::EmptyName))
    {
        name_kh = name.clone();
    }
    let name_en = written.map_or_else(|| name.latin(), |w| w.latin.text());
    let dob = match flaw {
        Some(Flaw::BirthDate(bad)) => (*bad).to_owned(),
        _ => {
            let d = birth.format("%d/%m/%Y").to_string();
            if t.dob_khmer { khmer::digits(&d) } else { d }
        }
    };
    let sex = match (sex, t.sex_khmer) {
        _ if written.is_some_and(|w| w.sex_missing)
            && corrected.is_none_or(|c| c.sex.is_none()) =>
        {
            ""
        }
        (Sex::Male, false) => "M",
        (Sex::Female, false) => "F",
        (Sex::Male, true) => "ប្រុស",
        (Sex::Female, true) => "ស្រី",
    };
    let position = TEACHER_POSITIONS[usize::from(t.position).min(TEACHER_POSITIONS.len() - 1)].0;
    field(out, &t.id(), false, false);
    field(out, &officer_id, false, false);
    field(out, &national_id, false, false);
    field(out, &name_kh, true, false);
    field(out, &name_en, true, false);
    field(out, sex, false, false);
    field(out, &dob, false, false);
    field(
        out,
        &world.schools[t.school as usize].code_string(),
        false,
        false,
    );
    field(out, position, false, false);
    field(
        out,
        if t.contract {
            "contract"
        } else {
            "civil_servant"
        },
        false,
        false,
    );
    field(out, &clock::cambodia_offset(t.updated), false, true);
}
