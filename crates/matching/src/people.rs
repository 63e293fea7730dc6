//! The staff records a sync page may touch, held in memory and indexed by
//! civil-servant id, national id and the source identifiers known to name them, so the
//! matcher reads them and each report's merge is seen by the next report of the page.

use std::collections::HashMap;

use schema::{CivilServantId, NationalId, SourceIdentifier, Staff};
use uuid::Uuid;

use crate::PersonIndex;

/// Staff records by id, civil-servant id and national id, and which record each known
/// source identifier (system, value) joined.
#[derive(Debug, Default)]
pub struct People {
    by_id: HashMap<Uuid, Staff>,
    by_civil_servant_id: HashMap<String, Uuid>,
    /// In the order the records were put: the first is the one a page joins when
    /// several fit.
    by_national_id: HashMap<String, Vec<Uuid>>,
    by_identifier: HashMap<(String, String), Uuid>,
}

impl People {
    /// An index knowing which record each of `identifiers` (system, value) joined.
    pub fn with_identifiers(identifiers: HashMap<(String, String), Uuid>) -> Self {
        Self {
            by_identifier: identifiers,
            ..Self::default()
        }
    }

    /// Holds `s`, in place of any earlier state of the same record.
    pub fn put(&mut self, s: Staff) {
        if let Some(old) = self.by_id.get(&s.id) {
            if let Some(c) = &old.civil_servant_id
                && self.by_civil_servant_id.get(c.as_str()) == Some(&s.id)
            {
                self.by_civil_servant_id.remove(c.as_str());
            }
            if let Some(n) = &old.national_id
                && let Some(ids) = self.by_national_id.get_mut(n.as_str())
            {
                ids.retain(|id| *id != s.id);
            }
        }
        if let Some(c) = &s.civil_servant_id {
            self.by_civil_servant_id.insert(c.to_string(), s.id);
        }
        if let Some(n) = &s.national_id {
            let ids = self.by_national_id.entry(n.to_string()).or_default();
            if !ids.contains(&s.id) {
                ids.push(s.id);
            }
        }
        self.by_id.insert(s.id, s);
    }

    /// Holds `s` as written by an earlier page: its identifiers now name it too.
    pub fn put_written(&mut self, s: Staff) {
        for i in &s.identifiers {
            self.by_identifier
                .insert((i.system.clone(), i.value.clone()), s.id);
        }
        self.put(s);
    }

    pub fn get(&self, id: &Uuid) -> Option<&Staff> {
        self.by_id.get(id)
    }

    /// Takes a record out (its keys stay, naming nothing the matcher can return).
    pub fn remove(&mut self, id: &Uuid) -> Option<Staff> {
        self.by_id.remove(id)
    }
}

impl PersonIndex for People {
    type Id = Uuid;

    fn by_civil_servant_id(&self, id: &CivilServantId) -> Option<Uuid> {
        self.by_civil_servant_id.get(id.as_str()).copied()
    }

    fn by_identifier(&self, id: &SourceIdentifier) -> Option<Uuid> {
        self.by_identifier
            .get(&(id.system.clone(), id.value.clone()))
            .copied()
    }

    fn by_national_id(&self, id: &NationalId) -> impl Iterator<Item = (Uuid, Option<&str>)> {
        self.by_national_id
            .get(id.as_str())
            .into_iter()
            .flatten()
            .map(|id| {
                let civil_servant_id = self
                    .by_id
                    .get(id)
                    .and_then(|s| s.civil_servant_id.as_ref())
                    .map(CivilServantId::as_str);
                (*id, civil_servant_id)
            })
    }
}

#[cfg(test)]
mod tests {
    use schema::{IdentifierSystem, Name, StaffStatus};

    use super::*;
    use crate::{Match, MatchedBy, Probe, match_person};

    fn person(n: u128, officer: Option<&str>, national: Option<&str>) -> Staff {
        Staff {
            id: Uuid::from_u128(n),
            civil_servant_id: officer.map(|c| CivilServantId::parse(c).unwrap()),
            national_id: national.map(|c| NationalId::parse(c).unwrap()),
            birth_date: None,
            name_km: Name::parse("សុខ ចាន់ថា").unwrap(),
            name_latin: None,
            sex: None,
            employer: None,
            grade: None,
            status: StaffStatus::Active,
            admin_unit_code: None,
            identifiers: vec![],
            sources: vec![],
        }
    }

    fn find(people: &People, officer: Option<&str>, national: Option<&str>) -> Match<Uuid> {
        let (officer, national) = (
            officer.map(|c| CivilServantId::parse(c).unwrap()),
            national.map(|c| NationalId::parse(c).unwrap()),
        );
        let probe = Probe {
            civil_servant_id: officer.as_ref(),
            national_id: national.as_ref(),
            identifiers: &[],
        };
        match_person(&probe, people)
    }

    #[test]
    fn a_record_put_again_is_found_by_its_new_keys_only() {
        let mut people = People::default();
        people.put(person(1, Some("100001"), Some("900000001")));
        assert_eq!(
            find(&people, Some("100001"), None).first(),
            Some(Uuid::from_u128(1))
        );
        // The page's next report changed both keys.
        people.put(person(1, Some("100011"), Some("900000011")));
        assert_eq!(find(&people, Some("100001"), None), Match::None);
        assert_eq!(find(&people, None, Some("900000001")), Match::None);
        assert_eq!(
            find(&people, Some("100011"), None).first(),
            Some(Uuid::from_u128(1))
        );
        assert_eq!(
            find(&people, None, Some("900000011")),
            Match::One {
                id: Uuid::from_u128(1),
                by: MatchedBy::NationalId
            }
        );
    }

    #[test]
    fn records_sharing_a_national_id_are_candidates_in_the_order_put() {
        let mut people = People::default();
        people.put(person(2, None, Some("900000002")));
        people.put(person(1, Some("100001"), Some("900000002")));
        // Put again (a later report of the page merged into it), 2 goes last.
        people.put(person(2, None, Some("900000002")));
        let both = vec![Uuid::from_u128(1), Uuid::from_u128(2)];
        assert_eq!(
            find(&people, None, Some("900000002")),
            Match::Ambiguous {
                candidates: both,
                by: MatchedBy::NationalId
            }
        );
        // Another officer id rules record 1 out.
        assert_eq!(
            find(&people, Some("100009"), Some("900000002")).one(),
            Some((Uuid::from_u128(2), MatchedBy::NationalId))
        );
        assert_eq!(
            find(&people, Some("100001"), Some("900000002")).one(),
            Some((Uuid::from_u128(1), MatchedBy::CivilServantId))
        );
    }

    #[test]
    fn an_earlier_page_s_records_are_found_by_their_identifiers() {
        let known = HashMap::from([(
            ("moh:fhir_practitioner".to_owned(), "P-1".to_owned()),
            Uuid::from_u128(1),
        )]);
        let mut people = People::with_identifiers(known);
        let mut written = person(2, None, None);
        written.identifiers = vec![SourceIdentifier::of(
            IdentifierSystem::MoeysTeacherId,
            "T-2",
        )];
        people.put_written(written);
        let practitioner = SourceIdentifier::of(IdentifierSystem::MohFhirPractitioner, "P-1");
        let teacher = SourceIdentifier::of(IdentifierSystem::MoeysTeacherId, "T-2");
        assert_eq!(
            people.by_identifier(&practitioner),
            Some(Uuid::from_u128(1))
        );
        assert_eq!(people.by_identifier(&teacher), Some(Uuid::from_u128(2)));
        assert_eq!(
            people.get(&Uuid::from_u128(2)).map(|s| s.id),
            Some(Uuid::from_u128(2))
        );
        // A record merely put (not written) adds no identifier.
        let mut later = person(3, None, None);
        later.identifiers = vec![SourceIdentifier::of(
            IdentifierSystem::MoeysTeacherId,
            "T-3",
        )];
        people.put(later);
        let t3 = SourceIdentifier::of(IdentifierSystem::MoeysTeacherId, "T-3");
        assert_eq!(people.by_identifier(&t3), None);
        assert!(people.remove(&Uuid::from_u128(3)).is_some());
        assert!(people.get(&Uuid::from_u128(3)).is_none());
    }
}
