//! Rosters: what the heads of health facilities and schools would submit for a
//! month, saying who actually serves there. The gateway takes them as another
//! source of where people serve; the plan gives its tests and benchmarks both the
//! rosters and what they plant, so a reconciliation with them can be scored.
//!
//! A roster lists the people whose valid sector record (FHIR PractitionerRole or
//! EMIS teacher row) puts them at the site, because that record is the truth of
//! where people serve. On top of that it plants absences (officers listed with
//! `present: false`) and people no ministry knows. The plan is derived from the
//! world and the truth, never written into the truth, so the truth file stays the
//! same with or without rosters.
//!
//! Every random choice comes from a stream named after the plan's seed and the
//! site (picking shuffles all sites once and takes a prefix), so a larger share
//! picks a superset of the sites and a site's roster does not depend on which
//! other sites were picked.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::Ministry;
use crate::names::PersonName;
use crate::random::Rng;
use crate::truth::Truth;
use crate::vocabulary::{HEALTH_ROLES, TEACHER_POSITIONS};
use crate::world::{Sex, WorkUnit, World};

/// Share of the listed ordinary officers that a head marks absent.
const ABSENT_SHARE: f64 = 0.10;
/// Share of rosters that list someone no ministry knows.
const UNKNOWN_SHARE: f64 = 0.25;
/// Share of listed officers whose national id the head writes down too.
const OFFICER_NATIONAL_ID_SHARE: f64 = 0.5;

/// Why an officer is absent. Maternity leave is only written for women.
const MATERNITY_LEAVE: &str = "ឈប់សម្រាកលំហែមាតុភាព";
const ABSENCE_NOTES: &[&str] = &["ច្បាប់ឈប់សម្រាកព្យាបាលជំងឺ", "ច្បាប់ឈប់សម្រាកប្រចាំឆ្នាំ", "ចូលរួមវគ្គបណ្តុះបណ្តាល"];

/// What the heads of a share of service sites submit for one month, and what that plants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterPlan {
    /// The month the rosters are for: the truth's `current_period` (`2025-12` in a
    /// world as of January 2026).
    pub period: String,
    /// One roster per picked site: health facilities (by DHIS2 id), then schools
    /// (by school_code).
    pub submissions: Vec<PlannedRoster>,
    /// Officers listed on their facility's roster as absent (`present: false`),
    /// sorted by officer id.
    pub absent: Vec<AbsentOfficer>,
    /// People listed present whom no ministry knows (no officer id, no national id
    /// known anywhere), sorted by facility code.
    pub unknown: Vec<UnknownPerson>,
    /// The complete expected set of `on_roll_not_serving` officer ids once every
    /// roster is in: the truth's `on_roll_not_serving`, the absent officers, and the
    /// assignment-conflict officers whose roll facility sent a roster (they serve
    /// elsewhere, so that roster does not list them). Sorted, deduplicated.
    pub expected_on_roll_not_serving: Vec<String>,
}

/// One site's roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRoster {
    /// `moh` for a health facility, `moeys` for a school.
    pub source: Ministry,
    /// The DHIS2 facility `code` or the 8-digit school_code.
    pub facility_code: String,
    /// The DHIS2 id or the school_code.
    pub record_id: String,
    /// In no particular order: present, absent and unknown people are mixed.
    pub entries: Vec<PlannedEntry>,
}

/// One line of a roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedEntry {
    /// The 10-digit officer id, when the person has one (not contract staff, not
    /// unknown people).
    pub civil_servant_id: Option<String>,
    /// 9 digits. Always given for contract staff (it is how they are linked), for
    /// about half of the officers, never for unknown people.
    pub national_id: Option<String>,
    /// Khmer, without zero-width spaces.
    pub name_km: String,
    /// `Sok Chantha`.
    pub name_latin: Option<String>,
    /// `male` or `female`.
    pub sex: Option<String>,
    /// The Khmer role or position title.
    pub role: Option<String>,
    pub present: bool,
    /// Why an absent officer is absent.
    pub note: Option<String>,
}

/// An officer listed as absent on a roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbsentOfficer {
    pub officer_id: String,
    pub facility_code: String,
}

/// Someone listed present whom no ministry knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownPerson {
    pub facility_code: String,
    pub name_km: String,
    pub name_latin: String,
}

/// A service site a roster can come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Site {
    /// Index into `org_units`.
    Health(u32),
    /// Index into `schools`.
    School(u32),
}

/// A roster being drawn up.
struct Sheet {
    site: Site,
    facility_code: String,
    record_id: String,
    entries: Vec<PlannedEntry>,
    /// Indices of entries that are ordinary officers (who may be marked absent).
    ordinary: Vec<usize>,
    unknown: Option<UnknownPerson>,
    rng: Rng,
}

/// How many of `n` sites a share picks: at least one of each kind when the share
/// is above 0, so a small share of a small world still sends some rosters.
fn picked_count(n: usize, share: f64) -> usize {
    if share <= 0.0 || n == 0 {
        return 0;
    }
    ((n as f64 * share).round() as usize).clamp(1, n)
}

fn stream(seed: u64, purpose: &str) -> String {
    format!("rosters/{seed}/{purpose}")
}

/// The sites whose heads submit a roster: `share` of the open, valid health
/// facilities and of the open, valid schools.
fn pick_sites(world: &World, world_seed: u64, share: f64, seed: u64) -> Vec<Site> {
    let mut rng = Rng::new(world_seed, &stream(seed, "pick"));
    let mut health: Vec<u32> = world
        .org_units
        .iter()
        .enumerate()
        .filter(|(_, u)| u.level == 4 && !u.invalid && u.closed.is_none())
        .map(|(i, _)| i as u32)
        .collect();
    let mut schools: Vec<u32> = world
        .schools
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.invalid && !s.closed)
        .map(|(i, _)| i as u32)
        .collect();
    let mut sites = Vec::new();
    for (list, site) in [
        (&mut health, Site::Health as fn(u32) -> Site),
        (&mut schools, Site::School),
    ] {
        rng.shuffle(list);
        let k = picked_count(list.len(), share);
        list.truncate(k);
        list.sort_unstable();
        sites.extend(list.iter().map(|i| site(*i)));
    }
    sites
}

/// Officer ids that take part in a planted fact: everyone else on a roster is an
/// ordinary officer.
fn officers_in_facts(truth: &Truth) -> HashSet<&str> {
    let f = &truth.facts;
    f.assignment_conflict
        .iter()
        .map(|x| x.officer_id.as_str())
        .chain(f.serving_not_on_roll.iter().map(|x| x.officer_id.as_str()))
        .chain(f.on_roll_not_serving.iter().map(|x| x.officer_id.as_str()))
        .chain(f.paid_not_on_roll.iter().map(|x| x.officer_id.as_str()))
        .chain(f.on_roll_not_paid.iter().map(|x| x.officer_id.as_str()))
        .chain(f.possible_duplicate.iter().flatten().map(String::as_str))
        .chain(f.attribute_conflict.iter().map(|x| x.officer_id.as_str()))
        .collect()
}

fn note(rng: &mut Rng, sex: Sex) -> String {
    if sex == Sex::Female && rng.chance(0.3) {
        MATERNITY_LEAVE.to_owned()
    } else {
        (*rng.pick(ABSENCE_NOTES)).to_owned()
    }
}

fn mark_absent(sheet: &mut Sheet, index: usize, sex: Sex) {
    let note = note(&mut sheet.rng, sex);
    let entry = &mut sheet.entries[index];
    entry.present = false;
    entry.note = Some(note);
}

fn random_role(rng: &mut Rng, site: Site) -> &'static str {
    match site {
        Site::Health(_) => {
            let weights: Vec<u32> = HEALTH_ROLES.iter().map(|r| r.weight).collect();
            HEALTH_ROLES[rng.weighted(&weights)].km
        }
        Site::School(_) => {
            let weights: Vec<u32> = TEACHER_POSITIONS.iter().map(|p| p.1).collect();
            TEACHER_POSITIONS[rng.weighted(&weights)].0
        }
    }
}

/// Adds someone no ministry knows, with a name no one else on the roster has.
fn add_unknown(sheet: &mut Sheet) {
    let rng = &mut sheet.rng;
    let female = rng.chance(0.5);
    let name = loop {
        let name = PersonName::random(rng, female);
        let (km, latin) = (name.khmer(false), name.latin());
        if sheet
            .entries
            .iter()
            .all(|e| e.name_km != km && e.name_latin.as_deref() != Some(latin.as_str()))
        {
            break name;
        }
    };
    let role = random_role(rng, sheet.site);
    let sex = if female { Sex::Female } else { Sex::Male };
    sheet.entries.push(PlannedEntry {
        civil_servant_id: None,
        national_id: None,
        name_km: name.khmer(false),
        name_latin: Some(name.latin()),
        sex: Some(sex.word().to_owned()),
        role: Some(role.to_owned()),
        present: true,
        note: None,
    });
    sheet.unknown = Some(UnknownPerson {
        facility_code: sheet.facility_code.clone(),
        name_km: name.khmer(false),
        name_latin: name.latin(),
    });
}

/// The rosters the heads of `share` (0 to 1, clamped) of the open, valid health
/// facilities and schools submit for the current period, under `seed`.
pub(crate) fn plan(world: &World, truth: &Truth, share: f64, seed: u64) -> RosterPlan {
    let share = if share.is_nan() {
        0.0
    } else {
        share.clamp(0.0, 1.0)
    };
    let sites = pick_sites(world, truth.seed, share, seed);

    // Who each valid sector record puts at each site.
    let mut health_roles: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut school_teachers: HashMap<u32, Vec<usize>> = HashMap::new();
    for site in &sites {
        match *site {
            Site::Health(f) => health_roles.insert(f, Vec::new()),
            Site::School(s) => school_teachers.insert(s, Vec::new()),
        };
    }
    for (i, r) in world.roles.iter().enumerate() {
        if r.flaw.is_none()
            && let Some(list) = health_roles.get_mut(&r.facility)
        {
            list.push(i);
        }
    }
    for (i, t) in world.teachers.iter().enumerate() {
        if t.flaw.is_none()
            && let Some(list) = school_teachers.get_mut(&t.school)
        {
            list.push(i);
        }
    }
    // Where the roll puts each valid officer who serves at a site.
    let roll: HashMap<u64, WorkUnit> = world
        .officers
        .iter()
        .filter(|o| o.flaw.is_none() && !matches!(o.unit, WorkUnit::Office { .. }))
        .map(|o| (o.id, o.unit))
        .collect();
    let in_facts = officers_in_facts(truth);

    let mut sheets: Vec<Sheet> = sites
        .iter()
        .map(|site| {
            let (facility_code, record_id) = match *site {
                Site::Health(f) => {
                    let u = &world.org_units[f as usize];
                    (u.code.clone(), u.uid.clone())
                }
                Site::School(s) => {
                    let code = world.schools[s as usize].code_string();
                    (code.clone(), code)
                }
            };
            let rng = Rng::new(truth.seed, &stream(seed, &record_id));
            Sheet {
                site: *site,
                facility_code,
                record_id,
                entries: Vec::new(),
                ordinary: Vec::new(),
                unknown: None,
                rng,
            }
        })
        .collect();

    // Sexes of the people listed, to write fitting absence notes.
    let mut sexes: Vec<Vec<Sex>> = Vec::with_capacity(sheets.len());
    for sheet in &mut sheets {
        // (person, officer id, role title) of each valid record here.
        let listed: Vec<(u32, Option<u64>, &'static str)> = match sheet.site {
            Site::Health(f) => {
                let mut seen = HashSet::new();
                health_roles
                    .get(&f)
                    .into_iter()
                    .flatten()
                    .filter_map(|i| {
                        let r = &world.roles[*i];
                        let p = world
                            .practitioners
                            .binary_search_by_key(&r.practitioner, |p| p.number)
                            .ok()
                            .map(|k| &world.practitioners[k])
                            .filter(|p| p.flaw.is_none())?;
                        // One line per person, whatever roles they hold here.
                        seen.insert(p.number).then(|| {
                            let role =
                                &HEALTH_ROLES[usize::from(r.code).min(HEALTH_ROLES.len() - 1)];
                            (p.person, p.officer, role.km)
                        })
                    })
                    .collect()
            }
            Site::School(s) => school_teachers
                .get(&s)
                .into_iter()
                .flatten()
                .map(|i| {
                    let t = &world.teachers[*i];
                    let position = TEACHER_POSITIONS
                        [usize::from(t.position).min(TEACHER_POSITIONS.len() - 1)]
                    .0;
                    (t.person, t.officer, position)
                })
                .collect(),
        };
        let here = match sheet.site {
            Site::Health(f) => WorkUnit::Health(f),
            Site::School(s) => WorkUnit::School(s),
        };
        let mut site_sexes = Vec::with_capacity(listed.len());
        for (person, officer, role) in listed {
            let p = &world.people[person as usize];
            let officer_id = officer.map(|id| format!("{id:010}"));
            let national_id = (officer.is_none() || sheet.rng.chance(OFFICER_NATIONAL_ID_SHARE))
                .then(|| format!("{:09}", p.national_id));
            let ordinary = officer.is_some_and(|id| roll.get(&id) == Some(&here))
                && officer_id
                    .as_deref()
                    .is_some_and(|id| !in_facts.contains(id));
            if ordinary {
                sheet.ordinary.push(sheet.entries.len());
            }
            site_sexes.push(p.sex);
            sheet.entries.push(PlannedEntry {
                civil_servant_id: officer_id,
                national_id,
                name_km: p.name.khmer(false),
                name_latin: Some(p.name.latin()),
                sex: Some(p.sex.word().to_owned()),
                role: Some(role.to_owned()),
                present: true,
                note: None,
            });
        }
        // Absences, then (after the names are known) someone nobody knows.
        for k in 0..sheet.ordinary.len() {
            if sheet.rng.chance(ABSENT_SHARE) {
                let index = sheet.ordinary[k];
                mark_absent(sheet, index, site_sexes[index]);
            }
        }
        if sheet.rng.chance(UNKNOWN_SHARE) {
            add_unknown(sheet);
        }
        sexes.push(site_sexes);
    }

    // At least one absence and one unknown person overall, when there can be.
    let mut fixup = Rng::new(truth.seed, &stream(seed, "at-least-one"));
    let any_absent = sheets.iter().any(|s| s.entries.iter().any(|e| !e.present));
    let ordinary: Vec<(usize, usize)> = sheets
        .iter()
        .enumerate()
        .flat_map(|(k, s)| s.ordinary.iter().map(move |i| (k, *i)))
        .collect();
    if !any_absent && !ordinary.is_empty() {
        let (k, index) = *fixup.pick(&ordinary);
        mark_absent(&mut sheets[k], index, sexes[k][index]);
    }
    if !sheets.is_empty() && sheets.iter().all(|s| s.unknown.is_none()) {
        let k = fixup.index(sheets.len());
        add_unknown(&mut sheets[k]);
    }

    let mut absent = Vec::new();
    let mut unknown = Vec::new();
    let mut submissions = Vec::with_capacity(sheets.len());
    for mut sheet in sheets {
        absent.extend(
            sheet
                .entries
                .iter()
                .filter(|e| !e.present)
                .filter_map(|e| e.civil_servant_id.clone())
                .map(|officer_id| AbsentOfficer {
                    officer_id,
                    facility_code: sheet.facility_code.clone(),
                }),
        );
        unknown.extend(sheet.unknown.take());
        sheet.rng.shuffle(&mut sheet.entries);
        submissions.push(PlannedRoster {
            source: match sheet.site {
                Site::Health(_) => Ministry::Moh,
                Site::School(_) => Ministry::Moeys,
            },
            facility_code: sheet.facility_code,
            record_id: sheet.record_id,
            entries: sheet.entries,
        });
    }
    absent.sort_by(|a, b| a.officer_id.cmp(&b.officer_id));
    unknown.sort_by(|a, b| a.facility_code.cmp(&b.facility_code));

    let roster_sites: HashSet<&str> = submissions
        .iter()
        .map(|s| s.facility_code.as_str())
        .collect();
    let expected: BTreeSet<String> = truth
        .facts
        .on_roll_not_serving
        .iter()
        .map(|f| f.officer_id.clone())
        .chain(absent.iter().map(|a| a.officer_id.clone()))
        .chain(
            truth
                .facts
                .assignment_conflict
                .iter()
                .filter(|c| roster_sites.contains(c.mcs_facility_code.as_str()))
                .map(|c| c.officer_id.clone()),
        )
        .collect();

    RosterPlan {
        period: truth.current_period.clone(),
        submissions,
        absent,
        unknown,
        expected_on_roll_not_serving: expected.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use unicode_normalization::UnicodeNormalization;

    use super::*;
    use crate::MockConfig;

    fn small() -> &'static (World, Truth) {
        static WORLD: OnceLock<(World, Truth)> = OnceLock::new();
        WORLD.get_or_init(|| World::generate(MockConfig::default()).expect("world generates"))
    }

    /// Facility code -> is it an open, valid site (level-4 facility or school)?
    fn open_valid_sites(world: &World) -> HashMap<String, bool> {
        world
            .org_units
            .iter()
            .filter(|u| u.level == 4)
            .map(|u| (u.code.clone(), !u.invalid && u.closed.is_none()))
            .chain(
                world
                    .schools
                    .iter()
                    .map(|s| (s.code_string(), !s.invalid && !s.closed)),
            )
            .collect()
    }

    fn roll_facility(world: &World, id: &str) -> Option<String> {
        world
            .officers
            .iter()
            .find(|o| o.flaw.is_none() && o.id_string() == id)
            .map(|o| match o.unit {
                WorkUnit::Health(f) => world.org_units[f as usize].code.clone(),
                WorkUnit::School(s) => world.schools[s as usize].code_string(),
                WorkUnit::Office { .. } => String::new(),
            })
    }

    #[test]
    fn the_same_arguments_give_the_same_plan() {
        let (world, truth) = small();
        let a = plan(world, truth, 0.3, 7);
        assert_eq!(a, plan(world, truth, 0.3, 7));
        assert_ne!(a, plan(world, truth, 0.3, 8));
        assert_eq!(a.period, truth.current_period);
        // A larger share picks a superset of the sites, with the same rosters.
        let larger = plan(world, truth, 0.6, 7);
        for roster in &a.submissions {
            let same = larger
                .submissions
                .iter()
                .find(|r| r.record_id == roster.record_id)
                .expect("the larger share picks the site too");
            assert_eq!(same.entries.len(), roster.entries.len());
        }
    }

    #[test]
    fn picked_sites_are_open_and_valid() {
        let (world, truth) = small();
        let sites = open_valid_sites(world);
        let p = plan(world, truth, 0.5, 3);
        assert!(p.submissions.iter().any(|r| r.source == Ministry::Moh));
        assert!(p.submissions.iter().any(|r| r.source == Ministry::Moeys));
        for roster in &p.submissions {
            assert_eq!(sites.get(&roster.facility_code), Some(&true), "{roster:?}");
            match roster.source {
                Ministry::Moeys => assert_eq!(roster.record_id, roster.facility_code),
                _ => assert!(
                    world
                        .org_units
                        .iter()
                        .any(|u| u.uid == roster.record_id && u.code == roster.facility_code)
                ),
            }
        }
    }

    #[test]
    fn listed_officers_are_on_the_roll_unless_planted_not_on_roll() {
        let (world, truth) = small();
        let roll: HashSet<String> = world
            .officers
            .iter()
            .filter(|o| o.flaw.is_none())
            .map(|o| o.id_string())
            .collect();
        let not_on_roll: HashSet<&str> = truth
            .facts
            .serving_not_on_roll
            .iter()
            .map(|f| f.officer_id.as_str())
            .collect();
        let p = plan(world, truth, 1.0, 1);
        let mut saw_not_on_roll = false;
        for entry in p.submissions.iter().flat_map(|r| &r.entries) {
            if let Some(id) = &entry.civil_servant_id {
                assert_eq!(id.len(), 10);
                if not_on_roll.contains(id.as_str()) {
                    saw_not_on_roll = true;
                    assert!(!roll.contains(id));
                } else {
                    assert!(roll.contains(id), "{id} is not on the roll");
                }
            }
            assert!(entry.name_km.nfc().eq(entry.name_km.chars()));
            assert!(!entry.name_km.contains('\u{200B}'));
            assert!(matches!(entry.sex.as_deref(), Some("male" | "female")));
            assert!(entry.role.is_some());
        }
        assert!(saw_not_on_roll);
    }

    #[test]
    fn absent_officers_are_ordinary_officers_at_their_facility() {
        let (world, truth) = small();
        let in_facts = officers_in_facts(truth);
        for (share, seed) in [(1.0, 1), (0.25, 7), (0.01, 9)] {
            let p = plan(world, truth, share, seed);
            assert!(!p.absent.is_empty(), "share {share}");
            for a in &p.absent {
                assert_eq!(
                    roll_facility(world, &a.officer_id).as_deref(),
                    Some(a.facility_code.as_str())
                );
                assert!(!in_facts.contains(a.officer_id.as_str()));
                let roster = p
                    .submissions
                    .iter()
                    .find(|r| r.facility_code == a.facility_code)
                    .expect("the absent officer's facility sent a roster");
                let entry = roster
                    .entries
                    .iter()
                    .find(|e| e.civil_servant_id.as_deref() == Some(a.officer_id.as_str()))
                    .expect("the absent officer is listed");
                assert!(!entry.present);
                assert!(entry.note.as_deref().is_some_and(|n| !n.is_empty()));
            }
            let not_present = p
                .submissions
                .iter()
                .flat_map(|r| &r.entries)
                .filter(|e| !e.present)
                .count();
            assert_eq!(not_present, p.absent.len());
        }
        // About 10% at full share.
        let p = plan(world, truth, 1.0, 1);
        let officers = p
            .submissions
            .iter()
            .flat_map(|r| &r.entries)
            .filter(|e| e.civil_servant_id.is_some())
            .count();
        let rate = p.absent.len() as f64 / officers as f64;
        assert!((0.05..0.15).contains(&rate), "absent rate {rate}");
    }

    #[test]
    fn unknown_people_are_nobody_listed_at_their_facility() {
        let (world, truth) = small();
        for (share, seed) in [(1.0, 1), (0.25, 7), (0.01, 9)] {
            let p = plan(world, truth, share, seed);
            assert!(!p.unknown.is_empty(), "share {share}");
            for u in &p.unknown {
                let roster = p
                    .submissions
                    .iter()
                    .find(|r| r.facility_code == u.facility_code)
                    .expect("the unknown person's facility sent a roster");
                let same_name: Vec<&PlannedEntry> = roster
                    .entries
                    .iter()
                    .filter(|e| e.name_km == u.name_km)
                    .collect();
                assert_eq!(same_name.len(), 1, "{u:?}");
                let entry = same_name[0];
                assert_eq!(entry.name_latin.as_deref(), Some(u.name_latin.as_str()));
                assert!(entry.present);
                assert_eq!(entry.civil_servant_id, None);
                assert_eq!(entry.national_id, None);
            }
            let anonymous = p
                .submissions
                .iter()
                .flat_map(|r| &r.entries)
                .filter(|e| e.civil_servant_id.is_none() && e.national_id.is_none())
                .count();
            assert_eq!(anonymous, p.unknown.len());
        }
    }

    #[test]
    fn expected_not_serving_holds_the_truth_and_the_absences() {
        let (world, truth) = small();
        let p = plan(world, truth, 0.4, 5);
        let expected: BTreeSet<&str> = p
            .expected_on_roll_not_serving
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(expected.len(), p.expected_on_roll_not_serving.len());
        assert!(p.expected_on_roll_not_serving.is_sorted());
        for f in &truth.facts.on_roll_not_serving {
            assert!(expected.contains(f.officer_id.as_str()));
        }
        for a in &p.absent {
            assert!(expected.contains(a.officer_id.as_str()));
        }
        let sites: HashSet<&str> = p
            .submissions
            .iter()
            .map(|r| r.facility_code.as_str())
            .collect();
        for c in &truth.facts.assignment_conflict {
            assert_eq!(
                expected.contains(c.officer_id.as_str()),
                sites.contains(c.mcs_facility_code.as_str())
            );
        }
        assert_eq!(
            expected.len(),
            truth.facts.on_roll_not_serving.len()
                + p.absent.len()
                + truth
                    .facts
                    .assignment_conflict
                    .iter()
                    .filter(|c| sites.contains(c.mcs_facility_code.as_str()))
                    .count()
        );
    }

    #[test]
    fn share_zero_sends_nothing() {
        let (world, truth) = small();
        let p = plan(world, truth, 0.0, 7);
        assert!(p.submissions.is_empty());
        assert!(p.absent.is_empty());
        assert!(p.unknown.is_empty());
        let mut ids: Vec<String> = truth
            .facts
            .on_roll_not_serving
            .iter()
            .map(|f| f.officer_id.clone())
            .collect();
        ids.sort();
        assert_eq!(p.expected_on_roll_not_serving, ids);
    }

    #[test]
    fn share_one_sends_a_roster_from_every_open_valid_site() {
        let (world, truth) = small();
        let p = plan(world, truth, 1.0, 7);
        let open: BTreeSet<String> = open_valid_sites(world)
            .into_iter()
            .filter(|(_, ok)| *ok)
            .map(|(code, _)| code)
            .collect();
        let sent: BTreeSet<String> = p
            .submissions
            .iter()
            .map(|r| r.facility_code.clone())
            .collect();
        assert_eq!(sent.len(), p.submissions.len());
        assert_eq!(sent, open);
        // Every valid sector record is listed once; contract staff by national id.
        let listed = p.submissions.iter().map(|r| r.entries.len()).sum::<usize>();
        let valid_roles = world
            .roles
            .iter()
            .filter(|r| r.flaw.is_none())
            .filter(|r| {
                world
                    .practitioners
                    .iter()
                    .any(|pr| pr.number == r.practitioner && pr.flaw.is_none())
            })
            .count();
        let valid_teachers = world.teachers.iter().filter(|t| t.flaw.is_none()).count();
        assert_eq!(listed, valid_roles + valid_teachers + p.unknown.len());
        let contract = p
            .submissions
            .iter()
            .flat_map(|r| &r.entries)
            .filter(|e| e.civil_servant_id.is_none() && e.national_id.is_some())
            .count();
        assert_eq!(contract, truth.contract_staff.len());
        // Every assignment conflict's roll facility sent a roster.
        for c in &truth.facts.assignment_conflict {
            assert!(
                p.expected_on_roll_not_serving
                    .binary_search(&c.officer_id)
                    .is_ok()
            );
        }
    }

    #[test]
    fn the_plan_reads_back_from_json() {
        let (world, truth) = small();
        let p = plan(world, truth, 0.1, 2);
        let json = serde_json::to_string(&p).expect("serialises");
        let back: RosterPlan = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, p);
        for note in ABSENCE_NOTES.iter().chain([&MATERNITY_LEAVE]) {
            assert!(note.nfc().eq(note.chars()));
        }
    }

    #[tokio::test]
    async fn the_control_endpoint_answers_the_plan() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let mock = crate::start(listener, MockConfig::default())
            .await
            .expect("mock starts");
        let client = reqwest::Client::new();
        let get = |query: &'static str| {
            client
                .get(format!("{}/_control/rosters{query}", mock.base_url()))
                .send()
        };
        let response = get("?share=0.25&seed=7").await.expect("request sent");
        assert_eq!(response.status(), 200);
        let served: RosterPlan = response.json().await.expect("a roster plan");
        assert_eq!(served, mock.roster_plan(0.25, 7));
        let response = get("").await.expect("request sent");
        assert_eq!(response.status(), 200);
        for bad in [
            "?share=1.5",
            "?share=-0.1",
            "?share=abc",
            "?share=NaN",
            "?seed=-1",
            "?seed=x",
        ] {
            let response = get(bad).await.expect("request sent");
            assert_eq!(response.status(), 400, "{bad}");
        }
        mock.stop().await;
    }
}
