//! The one rule that says which registry person a record is, used by the sync engine
//! for a source's staff reports and by the store for a site's roster entries:
//!
//! 1. the record whose civil-servant id it carries;
//! 2. else the record that one of its source identifiers joined before (a source's own
//!    id for the person: a roster entry carries none);
//! 3. else the records holding its national id, leaving out any with a different
//!    civil-servant id: two officer ids under one national id are a possible duplicate
//!    for reconciliation to report, never a merge;
//! 4. for a roster entry that names neither id, or whose ids name nobody (a site
//!    head's typo, an id the registry never heard of), the people the ministries place
//!    at the site under its Khmer name (and sex, when both say).
//!
//! Where the two callers differ is in what they do with several fits, so the outcome
//! says so ([`Match::Ambiguous`]) and each caller decides:
//! - a sync page joins the first (in the order the records were found): the report
//!   must land on a record, the records that share the national id stay visible to
//!   reconciliation as a possible duplicate, and a new record would only add a third;
//! - a roster entry links only to exactly one ([`Match::one`]): a link is an assertion
//!   that this person was present at this site, and the wrong one of two would report
//!   one person present and the other absent, so an ambiguous entry stays unlinked (an
//!   unknown person, for a human to resolve).

use std::collections::HashMap;

use schema::{CivilServantId, Name, NationalId, RosterEntry, Sex, SourceIdentifier, StaffReport};

/// How a record was matched to a person. Its name is what a roster entry stores as
/// `linked_by` and the API shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchedBy {
    CivilServantId,
    SourceIdentifier,
    NationalId,
    NameAtFacility,
}

impl MatchedBy {
    pub const ALL: &'static [Self] = &[
        Self::CivilServantId,
        Self::SourceIdentifier,
        Self::NationalId,
        Self::NameAtFacility,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CivilServantId => "civil_servant_id",
            Self::SourceIdentifier => "source_identifier",
            Self::NationalId => "national_id",
            Self::NameAtFacility => "name_at_facility",
        }
    }

    /// The way named exactly `name`, as stored.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.as_str() == name)
    }
}

impl std::fmt::Display for MatchedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What matching a record came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match<Id> {
    /// Exactly one person fits.
    One { id: Id, by: MatchedBy },
    /// Several people fit at the first rule that found any, in the order the index
    /// gave them.
    Ambiguous { candidates: Vec<Id>, by: MatchedBy },
    /// Nobody fits: a person the registry does not know.
    None,
}

impl<Id: Copy> Match<Id> {
    /// The person when exactly one fits (a roster entry's rule).
    pub fn one(&self) -> Option<(Id, MatchedBy)> {
        match self {
            Self::One { id, by } => Some((*id, *by)),
            Self::Ambiguous { .. } | Self::None => None,
        }
    }

    /// The person, or the first of several that fit (a sync page's rule).
    pub fn first(&self) -> Option<Id> {
        match self {
            Self::One { id, .. } => Some(*id),
            Self::Ambiguous { candidates, .. } => candidates.first().copied(),
            Self::None => None,
        }
    }

    fn of(mut fits: Vec<Id>, by: MatchedBy) -> Self {
        match fits.len() {
            0 => Self::None,
            1 => Self::One {
                id: fits.remove(0),
                by,
            },
            _ => Self::Ambiguous {
                candidates: fits,
                by,
            },
        }
    }
}

/// What a record to match carries that can name a person.
#[derive(Debug, Clone, Copy, Default)]
pub struct Probe<'a> {
    pub civil_servant_id: Option<&'a CivilServantId>,
    pub national_id: Option<&'a NationalId>,
    /// The source's own ids for the person.
    pub identifiers: &'a [SourceIdentifier],
}

impl<'a> Probe<'a> {
    pub fn of_report(report: &'a StaffReport) -> Self {
        Self {
            civil_servant_id: report.civil_servant_id.as_ref(),
            national_id: report.national_id.as_ref(),
            identifiers: &report.identifiers,
        }
    }

    pub fn of_entry(entry: &'a RosterEntry) -> Self {
        Self {
            civil_servant_id: entry.civil_servant_id.as_ref(),
            national_id: entry.national_id.as_ref(),
            identifiers: &[],
        }
    }

    /// Whether a record with civil-servant id `other` may be this one's person by
    /// national id: not when both carry civil-servant ids and they differ.
    fn may_share_national_id(&self, other: Option<&str>) -> bool {
        match (self.civil_servant_id, other) {
            (Some(mine), Some(other)) => mine.as_str() == other,
            _ => true,
        }
    }
}

/// The registry's people as a matcher reads them: whoever looked them up (a page's
/// snapshot, a roster's transaction) answers from what it read.
pub trait PersonIndex {
    type Id: Copy + Eq;

    /// The record holding this civil-servant id (the roll holds each once).
    fn by_civil_servant_id(&self, id: &CivilServantId) -> Option<Self::Id>;

    /// The record a source's identifier joined before.
    fn by_identifier(&self, id: &SourceIdentifier) -> Option<Self::Id>;

    /// The records holding this national id, each with its civil-servant id, in a
    /// stable order (the first is the one a sync page joins when several fit).
    fn by_national_id(&self, id: &NationalId) -> impl Iterator<Item = (Self::Id, Option<&str>)>;
}

/// Which person `probe` is (rules 1 to 3 of the module docs).
pub fn match_person<I: PersonIndex>(probe: &Probe<'_>, index: &I) -> Match<I::Id> {
    if let Some(id) = probe
        .civil_servant_id
        .and_then(|c| index.by_civil_servant_id(c))
    {
        return Match::One {
            id,
            by: MatchedBy::CivilServantId,
        };
    }
    if let Some(id) = probe
        .identifiers
        .iter()
        .find_map(|i| index.by_identifier(i))
    {
        return Match::One {
            id,
            by: MatchedBy::SourceIdentifier,
        };
    }
    let Some(national_id) = probe.national_id else {
        return Match::None;
    };
    let fits = index
        .by_national_id(national_id)
        .filter(|(_, other)| probe.may_share_national_id(*other))
        .map(|(id, _)| id)
        .collect();
    Match::of(fits, MatchedBy::NationalId)
}

/// Which person a roster entry is: [`match_person`], then, for an entry its ids do
/// not place, the people of its Khmer name at the site (rule 4). The caller links
/// only [`Match::one`].
pub fn match_roster_entry<I: PersonIndex>(
    entry: &RosterEntry,
    index: &I,
    site: &SitePeople<I::Id>,
) -> Match<I::Id> {
    let probe = Probe::of_entry(entry);
    let found = match_person(&probe, index);
    if !matches!(found, Match::None) {
        return found;
    }
    match &entry.name_km {
        Some(name) => site.named(name, entry.sex),
        None => Match::None,
    }
}

/// The people the ministries place at one site, by the match key of their Khmer name.
#[derive(Debug, Clone)]
pub struct SitePeople<Id> {
    by_name: HashMap<String, Vec<(Id, Option<Sex>)>>,
}

impl<Id> Default for SitePeople<Id> {
    fn default() -> Self {
        Self {
            by_name: HashMap::new(),
        }
    }
}

impl<Id: Copy> SitePeople<Id> {
    pub fn add(&mut self, id: Id, name_km: &str, sex: Option<Sex>) {
        self.by_name
            .entry(schema::text::match_key(name_km))
            .or_default()
            .push((id, sex));
    }

    /// The people of this Khmer name; of this sex too, where both sides say.
    pub fn named(&self, name: &Name, sex: Option<Sex>) -> Match<Id> {
        let fits = self
            .by_name
            .get(&name.match_key())
            .into_iter()
            .flatten()
            .filter(|(_, other)| match (sex, other) {
                (Some(sex), Some(other)) => sex == *other,
                _ => true,
            })
            .map(|(id, _)| *id)
            .collect();
        Match::of(fits, MatchedBy::NameAtFacility)
    }
}

/// The registry's keys as a roster's transaction reads them: civil-servant ids and
/// national ids (with the civil-servant id beside each), no source identifiers.
#[derive(Debug, Clone)]
pub struct RegistryKeys<Id> {
    by_civil_servant_id: HashMap<String, Id>,
    by_national_id: HashMap<String, Vec<(Id, Option<String>)>>,
}

impl<Id> Default for RegistryKeys<Id> {
    fn default() -> Self {
        Self {
            by_civil_servant_id: HashMap::new(),
            by_national_id: HashMap::new(),
        }
    }
}

impl<Id: Copy + Eq> RegistryKeys<Id> {
    pub fn add_civil_servant_id(&mut self, civil_servant_id: String, id: Id) {
        self.by_civil_servant_id.insert(civil_servant_id, id);
    }

    pub fn add_national_id(
        &mut self,
        national_id: String,
        id: Id,
        civil_servant_id: Option<String>,
    ) {
        self.by_national_id
            .entry(national_id)
            .or_default()
            .push((id, civil_servant_id));
    }
}

impl<Id: Copy + Eq> PersonIndex for RegistryKeys<Id> {
    type Id = Id;

    fn by_civil_servant_id(&self, id: &CivilServantId) -> Option<Id> {
        self.by_civil_servant_id.get(id.as_str()).copied()
    }

    fn by_identifier(&self, _: &SourceIdentifier) -> Option<Id> {
        None
    }

    fn by_national_id(&self, id: &NationalId) -> impl Iterator<Item = (Id, Option<&str>)> {
        self.by_national_id
            .get(id.as_str())
            .into_iter()
            .flatten()
            .map(|(id, csid)| (*id, csid.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csid(v: &str) -> CivilServantId {
        CivilServantId::parse(v).unwrap()
    }

    fn nid(v: &str) -> NationalId {
        NationalId::parse(v).unwrap()
    }

    /// The registry of the tests, by person number:
    /// 1: officer 100001, national id 900000001;
    /// 2: officer 100002, national id 900000002;
    /// 3: no officer id, national id 900000002 (shares it with 2);
    /// 4: officer 100004, national id 900000004, and 5: no officer id, same national
    ///    id: two records that fit a report without an officer id;
    /// 6 and 7: officers 100006 and 100007 under one national id 900000006.
    fn registry() -> RegistryKeys<u32> {
        let mut keys = RegistryKeys::default();
        for (person, officer, national) in [
            (1, Some("100001"), "900000001"),
            (2, Some("100002"), "900000002"),
            (3, None, "900000002"),
            (4, Some("100004"), "900000004"),
            (5, None, "900000004"),
            (6, Some("100006"), "900000006"),
            (7, Some("100007"), "900000006"),
        ] {
            if let Some(o) = officer {
                keys.add_civil_servant_id(o.to_owned(), person);
            }
            keys.add_national_id(national.to_owned(), person, officer.map(str::to_owned));
        }
        keys
    }

    /// A registry that also knows source identifiers (as a sync page's index does).
    struct WithIdentifiers(RegistryKeys<u32>, Vec<(SourceIdentifier, u32)>);

    impl PersonIndex for WithIdentifiers {
        type Id = u32;
        fn by_civil_servant_id(&self, id: &CivilServantId) -> Option<u32> {
            self.0.by_civil_servant_id(id)
        }
        fn by_identifier(&self, id: &SourceIdentifier) -> Option<u32> {
            self.1.iter().find(|(i, _)| i == id).map(|(_, p)| *p)
        }
        fn by_national_id(&self, id: &NationalId) -> impl Iterator<Item = (u32, Option<&str>)> {
            self.0.by_national_id(id)
        }
    }

    fn one(id: u32, by: MatchedBy) -> Match<u32> {
        Match::One { id, by }
    }

    #[test]
    fn the_rules_in_order() {
        let keys = registry();
        let teacher = SourceIdentifier::parse("moeys:teacher_id", "T-9").unwrap();
        let index = WithIdentifiers(keys, vec![(teacher.clone(), 3)]);
        let none: &[SourceIdentifier] = &[];
        let with_teacher = std::slice::from_ref(&teacher);
        let c = |v| Some(csid(v));
        let n = |v| Some(nid(v));
        use MatchedBy::{CivilServantId as ByOfficer, NationalId as ByNational};
        // (officer id, national id, source ids, expected)
        type Case<'a> = (
            Option<CivilServantId>,
            Option<NationalId>,
            &'a [SourceIdentifier],
            Match<u32>,
        );
        let cases: Vec<Case> = vec![
            // The officer id decides, whatever else the record carries.
            (c("100001"), None, none, one(1, ByOfficer)),
            (c("100001"), n("900000002"), with_teacher, one(1, ByOfficer)),
            // An unknown officer id falls through to the source ids, then the national id.
            (
                c("199999"),
                None,
                with_teacher,
                one(3, MatchedBy::SourceIdentifier),
            ),
            (c("199999"), n("900000001"), none, Match::None), // 1 has another officer id
            (None, n("900000001"), none, one(1, ByNational)),
            (
                None,
                None,
                with_teacher,
                one(3, MatchedBy::SourceIdentifier),
            ),
            (
                None,
                n("900000004"),
                with_teacher,
                one(3, MatchedBy::SourceIdentifier),
            ),
            // A national id never joins a record with a different officer id ...
            (c("100005"), n("900000002"), none, one(3, ByNational)),
            // ... and may fit several records.
            (
                None,
                n("900000002"),
                none,
                Match::Ambiguous {
                    candidates: vec![2, 3],
                    by: ByNational,
                },
            ),
            (
                None,
                n("900000004"),
                none,
                Match::Ambiguous {
                    candidates: vec![4, 5],
                    by: ByNational,
                },
            ),
            (c("100009"), n("900000006"), none, Match::None),
            (
                None,
                n("900000006"),
                none,
                Match::Ambiguous {
                    candidates: vec![6, 7],
                    by: ByNational,
                },
            ),
            // Nothing known.
            (None, n("911111111"), none, Match::None),
            (None, None, none, Match::None),
        ];
        for (officer, national, identifiers, expected) in cases {
            let probe = Probe {
                civil_servant_id: officer.as_ref(),
                national_id: national.as_ref(),
                identifiers,
            };
            assert_eq!(match_person(&probe, &index), expected, "{probe:?}");
        }
    }

    #[test]
    fn a_sync_page_takes_the_first_fit_and_a_roster_only_the_one() {
        let m: Match<u32> = Match::Ambiguous {
            candidates: vec![4, 5],
            by: MatchedBy::NationalId,
        };
        assert_eq!(m.first(), Some(4));
        assert_eq!(m.one(), None);
        let m = one(4, MatchedBy::NationalId);
        assert_eq!(m.first(), Some(4));
        assert_eq!(m.one(), Some((4, MatchedBy::NationalId)));
        let m: Match<u32> = Match::None;
        assert_eq!((m.first(), m.one()), (None, None));
    }

    #[test]
    fn a_roster_entry_without_source_ids_skips_that_rule() {
        let keys = registry();
        let report = StaffReport {
            source: schema::Ministry::Moeys,
            source_id: "T-9".to_owned(),
            identifiers: vec![SourceIdentifier::parse("moeys:teacher_id", "T-9").unwrap()],
            civil_servant_id: None,
            national_id: Some(nid("900000001")),
            name_km: None,
            name_latin: None,
            sex: None,
            birth_date: None,
            employer: None,
            grade: None,
            status: None,
            posting: None,
            updated_at: None,
        };
        let probe = Probe::of_report(&report);
        assert_eq!(probe.identifiers.len(), 1);
        // RegistryKeys knows no source identifiers: the national id decides.
        assert_eq!(match_person(&probe, &keys), one(1, MatchedBy::NationalId));
        let entry = entry(None, Some("900000001"), None, None);
        assert!(Probe::of_entry(&entry).identifiers.is_empty());
    }

    fn entry(
        officer: Option<&str>,
        national: Option<&str>,
        name: Option<&str>,
        sex: Option<Sex>,
    ) -> RosterEntry {
        RosterEntry {
            civil_servant_id: officer.map(csid),
            national_id: national.map(nid),
            name_km: name.map(|n| Name::parse(n).unwrap()),
            name_latin: None,
            sex,
            role: None,
            present: true,
            note: None,
        }
    }

    /// At the site: 1 (សុខ ចាន់ថា, female), 4 and 8 (both ចាន់ ដារ៉ា: 4 male, 8 of no
    /// recorded sex), 9 (កែវ សុភា, female).
    fn site() -> SitePeople<u32> {
        let mut site = SitePeople::default();
        site.add(1, "សុខ ចាន់ថា", Some(Sex::Female));
        site.add(4, "ចាន់ ដារ៉ា", Some(Sex::Male));
        site.add(8, "ចាន់  ដារ៉ា", None);
        site.add(9, "កែវ សុភា", Some(Sex::Female));
        site
    }

    #[test]
    fn a_roster_entry_by_its_ids_then_by_name_at_the_site() {
        let (keys, site) = (registry(), site());
        let by_name = MatchedBy::NameAtFacility;
        // (entry, expected)
        let cases = [
            (
                entry(Some("100001"), None, None, None),
                one(1, MatchedBy::CivilServantId),
            ),
            (
                entry(None, Some("900000001"), None, None),
                one(1, MatchedBy::NationalId),
            ),
            (
                entry(None, Some("900000004"), None, None),
                Match::Ambiguous {
                    candidates: vec![4, 5],
                    by: MatchedBy::NationalId,
                },
            ),
            // Ids that name nobody: the name at the site is tried.
            (
                entry(Some("199999"), None, Some("កែវ សុភា"), None),
                one(9, by_name),
            ),
            (
                entry(None, Some("911111111"), Some("កែវ សុភា"), None),
                one(9, by_name),
            ),
            // An id that names someone is not second-guessed here (the store checks
            // the names agree).
            (
                entry(Some("100001"), None, Some("កែវ សុភា"), None),
                one(1, MatchedBy::CivilServantId),
            ),
            (entry(None, None, Some("កែវ សុភា"), None), one(9, by_name)),
            (
                entry(None, None, Some(" កែវ  សុភា "), Some(Sex::Female)),
                one(9, by_name),
            ),
            (
                entry(None, None, Some("កែវ សុភា"), Some(Sex::Male)),
                Match::None,
            ),
            // Two people of the name: the sex tells them apart only where both say.
            (
                entry(None, None, Some("ចាន់ ដារ៉ា"), None),
                Match::Ambiguous {
                    candidates: vec![4, 8],
                    by: by_name,
                },
            ),
            (
                entry(None, None, Some("ចាន់ ដារ៉ា"), Some(Sex::Male)),
                Match::Ambiguous {
                    candidates: vec![4, 8],
                    by: by_name,
                },
            ),
            (
                entry(None, None, Some("ចាន់ ដារ៉ា"), Some(Sex::Female)),
                one(8, by_name),
            ),
            (entry(None, None, Some("មិន ស្គាល់"), None), Match::None),
            (entry(None, None, None, Some(Sex::Male)), Match::None),
        ];
        for (e, expected) in cases {
            assert_eq!(match_roster_entry(&e, &keys, &site), expected, "{e:?}");
        }
    }

    #[test]
    fn matched_by_names_are_those_stored() {
        let names: Vec<&str> = MatchedBy::ALL.iter().map(|m| m.as_str()).collect();
        assert_eq!(
            names,
            [
                "civil_servant_id",
                "source_identifier",
                "national_id",
                "name_at_facility"
            ]
        );
        for &m in MatchedBy::ALL {
            assert_eq!(MatchedBy::from_name(m.as_str()), Some(m));
            assert_eq!(m.to_string(), m.as_str());
        }
        assert_eq!(MatchedBy::from_name("National_id"), None);
    }
}
