//! When a hard key is not to be trusted, and a source record as the scored matcher
//! sees it.
//!
//! A civil-servant id or national id names one person, unless it was mistyped onto
//! another real person's id. A sync page joins a report to the person its hard key
//! names only when their names agree (the same or a variant spelling, in Khmer or in
//! Latin letters); otherwise the report stands as a person of its own and the
//! matching pass scores the two with every field, as any other pair: linked if the
//! score says so, else queued (an `identifier_conflict` where, as in
//! [`crate::decide`], name and birth date strongly disagree). Deferring is safe where
//! joining is not: a wrong join puts a stranger's facility and payroll status on an
//! officer, a deferred one costs a pass.

use chrono::{Datelike, NaiveDate};
use schema::{IdentifierSystem, Sex, SourceIdentifier, Staff, StaffReport};

use crate::compare::dates::BirthDate;
use crate::compare::names::{NameLevel, compare_khmer, compare_latin};

/// A birth date as the matcher compares it: 1 January stands for the year alone.
pub fn birth_date(date: NaiveDate) -> BirthDate {
    BirthDate::new(date.year(), date.month(), date.day())
}

/// Sex as the matcher compares it.
pub fn sex_letter(sex: Sex) -> char {
    match sex {
        Sex::Female => 'F',
        Sex::Male => 'M',
    }
}

/// Whether two names agree: the same or a variant spelling, in either script; or no
/// name known on both sides to tell them apart.
pub fn names_agree(
    names_km: (Option<&str>, Option<&str>),
    names_latin: (Option<&str>, Option<&str>),
) -> bool {
    let km = compare_khmer(names_km.0, names_km.1);
    let latin = compare_latin(names_latin.0, names_latin.1);
    let agree = |l: NameLevel| matches!(l, NameLevel::Exact | NameLevel::Close);
    agree(km) || agree(latin) || (km == NameLevel::Missing && latin == NameLevel::Missing)
}

/// Whether `report` carries a hard key (civil-servant id, national id) that `person`
/// holds too, while its name does not agree with the person's: the id is not trusted
/// on its own, and the report is not joined to that person by it.
pub fn disputes_hard_key(report: &StaffReport, person: &Staff) -> bool {
    let same_csid = matches!((&report.civil_servant_id, &person.civil_servant_id),
        (Some(a), Some(b)) if a == b);
    let same_nid = matches!((&report.national_id, &person.national_id),
        (Some(a), Some(b)) if a == b);
    if !(same_csid || same_nid) {
        return false;
    }
    !names_agree(
        (
            report.name_km.as_ref().map(|n| n.as_str()),
            Some(person.name_km.as_str()),
        ),
        (
            report.name_latin.as_ref().map(|n| n.as_str()),
            person.name_latin.as_ref().map(|n| n.as_str()),
        ),
    )
}

/// A report's identifiers without the keys that name a person across sources
/// (officer id, national id; its own source's id for it stays): what a
/// record whose hard key is disputed may be indexed under, so the id keeps naming
/// the person who holds it.
pub fn without_hard_keys(identifiers: &[SourceIdentifier]) -> Vec<SourceIdentifier> {
    identifiers
        .iter()
        .filter(|i| !(i.is(IdentifierSystem::McsOfficerId) || i.is(IdentifierSystem::NationalId)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use schema::{CivilServantId, Date, Ministry, Name, StaffStatus};

    use super::*;

    fn report(csid: &str, km: &str, latin: &str, birth: &str) -> StaffReport {
        StaffReport {
            source: Ministry::Moh,
            source_id: "P-9".into(),
            identifiers: vec![
                SourceIdentifier::of(IdentifierSystem::MohFhirPractitioner, "P-9"),
                SourceIdentifier::of(IdentifierSystem::McsOfficerId, csid),
            ],
            civil_servant_id: Some(CivilServantId::parse(csid).unwrap()),
            national_id: None,
            name_km: Some(Name::parse(km).unwrap()),
            name_latin: Some(Name::parse(latin).unwrap()),
            sex: None,
            birth_date: Some(Date::parse(birth).unwrap()),
            employer: None,
            grade: None,
            status: None,
            posting: None,
            updated_at: None,
        }
    }

    fn officer() -> Staff {
        Staff {
            id: uuid::Uuid::nil(),
            civil_servant_id: Some(CivilServantId::parse("1000123456").unwrap()),
            national_id: None,
            birth_date: Some(Date::parse("1985-03-07").unwrap()),
            name_km: Name::parse("សុខ ចាន់ធី").unwrap(),
            name_latin: Some(Name::parse("Sok Chanthy").unwrap()),
            sex: None,
            employer: None,
            grade: None,
            status: StaffStatus::Active,
            admin_unit_code: None,
            identifiers: vec![],
            sources: vec![],
        }
    }

    #[test]
    fn an_id_on_another_persons_record_is_disputed() {
        let typo = report("1000123456", "ម៉ៅ វណ្ណៈ", "Mao Vannak", "1979-06-02");
        assert!(disputes_hard_key(&typo, &officer()));
    }

    #[test]
    fn an_id_with_the_name_in_a_variant_spelling_is_trusted() {
        let variant = report("1000123456", "ចាន់ធី\u{200B}សុខ", "Chanthea Sok", "1979-06-02");
        assert!(!disputes_hard_key(&variant, &officer()));
        // Another name on a placeholder date is left to the pass's score.
        let placeholder = report("1000123456", "ម៉ៅ វណ្ណៈ", "Mao Vannak", "1985-01-01");
        assert!(disputes_hard_key(&placeholder, &officer()));
    }

    #[test]
    fn another_id_is_no_dispute_and_hard_keys_are_left_out_of_the_index() {
        let other = report("1000999999", "ម៉ៅ វណ្ណៈ", "Mao Vannak", "1979-06-02");
        assert!(!disputes_hard_key(&other, &officer()));
        let kept = without_hard_keys(&other.identifiers);
        assert_eq!(
            kept,
            [SourceIdentifier::of(
                IdentifierSystem::MohFhirPractitioner,
                "P-9"
            )]
        );
    }
}
