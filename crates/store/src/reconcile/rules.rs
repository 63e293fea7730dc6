//! The discrepancy rules: one `.sql` file each, under `rules/`, named after the kind of
//! finding it makes (`<kind>.sql`, or `<kind>.<variant>.sql` where two rules find one
//! kind). A rule is a `SELECT` of findings (subject, staff ids, facility, admin unit,
//! evidence) over `pass_people` and the registry; the pass adds the kind and the
//! finding's id, and keeps one finding per kind and subject.
//!
//! Every rule runs with the same bound parameters, whichever it reads:
//! - `$1` text: the kind (the pass's, from [`DiscrepancyKind`]);
//! - `$2` bool: the pass looks at everyone (a country pass); otherwise only at the
//!   people in `pass_scope`;
//! - `$3` uuid: the facility of a facility pass, else NULL;
//! - `$4`, `$5` bool: MoH's, MoEYS's staff have been pulled.

use schema::DiscrepancyKind;
use tokio_postgres::types::Type;

/// The parameters' types, in order (see the module's documentation).
pub(super) const PARAM_TYPES: &[Type] =
    &[Type::TEXT, Type::BOOL, Type::UUID, Type::BOOL, Type::BOOL];

/// A source a rule needs pulled before its absence means anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Evidence {
    /// The civil-service roll (MCS).
    Roll,
    /// A payroll month (MEF).
    Payroll,
    /// The gazetteer's communes (MoI).
    Gazetteer,
}

/// One discrepancy rule.
#[derive(Debug)]
pub(super) struct Rule {
    pub kind: DiscrepancyKind,
    /// Its file under `rules/`.
    pub file: &'static str,
    /// The rule as written (what the tests read).
    #[cfg_attr(not(test), allow(dead_code))]
    pub sql: &'static str,
    /// The statement the pass runs: the rule's findings into `found_discrepancies`.
    pub statement: &'static str,
    /// What must have been pulled for the rule to be judged.
    pub needs: &'static [Evidence],
    /// Whether a facility's pass (after a roster) runs it.
    pub in_facility_pass: bool,
}

/// A rule from its file, wrapped into the statement that keeps its findings.
macro_rules! rule {
    ($kind:ident, $file:literal, needs $needs:expr, facility pass $facility:expr) => {
        Rule {
            kind: DiscrepancyKind::$kind,
            file: $file,
            sql: include_str!(concat!("rules/", $file)),
            statement: concat!(
                "INSERT INTO found_discrepancies\n",
                "SELECT md5($1 || '|' || r.subject)::uuid, $1, r.*\nFROM (\n",
                include_str!(concat!("rules/", $file)),
                "\n) AS r(subject, staff_ids, facility_id, admin_unit_code, evidence)\n",
                // One finding per kind and subject, whatever a rule's joins repeat.
                "ON CONFLICT (id) DO NOTHING"
            ),
            needs: $needs,
            in_facility_pass: $facility,
        }
    };
}

/// Every rule, in the order a pass runs them.
pub(super) static RULES: &[Rule] = &[
    rule!(OnRollNotServing, "on_roll_not_serving.sql", needs &[Evidence::Roll], facility pass true),
    rule!(ServingNotOnRoll, "serving_not_on_roll.roster.sql", needs &[Evidence::Roll], facility pass true),
    rule!(ServingNotOnRoll, "serving_not_on_roll.sector.sql", needs &[Evidence::Roll], facility pass false),
    rule!(AssignmentConflict, "assignment_conflict.sql", needs &[Evidence::Roll], facility pass false),
    rule!(AttributeConflict, "attribute_conflict.sql", needs &[], facility pass false),
    rule!(PossibleDuplicate, "possible_duplicate.sql", needs &[], facility pass false),
    rule!(PaidNotOnRoll, "paid_not_on_roll.sql", needs &[Evidence::Roll, Evidence::Payroll], facility pass false),
    rule!(OnRollNotPaid, "on_roll_not_paid.sql", needs &[Evidence::Roll, Evidence::Payroll], facility pass false),
    rule!(FacilityUnplaced, "facility_unplaced.sql", needs &[Evidence::Gazetteer], facility pass false),
];

/// The rules a pass runs: for a facility's pass only those it answers for, and of
/// those only the ones whose evidence has been pulled.
pub(super) fn rules_for(
    facility_pass: bool,
    pulled: impl Fn(Evidence) -> bool,
) -> impl Iterator<Item = &'static Rule> {
    RULES.iter().filter(move |r| {
        (r.in_facility_pass || !facility_pass) && r.needs.iter().all(|&e| pulled(e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_rule_and_every_rule_file_names_its_kind() {
        for &kind in DiscrepancyKind::ALL {
            assert!(RULES.iter().any(|r| r.kind == kind), "no rule finds {kind}");
        }
        for r in RULES {
            let stem = r.file.strip_suffix(".sql").unwrap();
            let named = stem.split('.').next().unwrap();
            assert_eq!(
                DiscrepancyKind::from_name(named),
                Some(r.kind),
                "{}",
                r.file
            );
        }
    }

    #[test]
    fn rules_take_bound_parameters_only() {
        for r in RULES {
            // No placeholders left for text substitution, and no parameter past the
            // pass's five (the kind, $1, is the pass's own).
            for marker in ["{scope", "{facility", "{mark", "{id", "{column", "{{"] {
                assert!(!r.sql.contains(marker), "{}: {marker}", r.file);
            }
            assert!(!r.sql.contains("$1"), "{}: $1 is the kind", r.file);
            for n in PARAM_TYPES.len() + 1..10 {
                assert!(!r.sql.contains(&format!("${n}")), "{}: ${n}", r.file);
            }
            // The kind comes from the enum, not from the rule's text.
            assert!(!r.sql.contains(&format!("'{}'", r.kind)), "{}", r.file);
            assert!(!r.sql.trim_end().ends_with(';'), "{}", r.file);
            assert!(r.statement.contains(r.sql));
        }
    }

    #[test]
    fn a_facility_pass_runs_what_a_roster_answers_for() {
        let facility: Vec<&str> = rules_for(true, |_| true).map(|r| r.file).collect();
        assert_eq!(
            facility,
            ["on_roll_not_serving.sql", "serving_not_on_roll.roster.sql"]
        );
        assert_eq!(rules_for(false, |_| true).count(), RULES.len());
    }

    #[test]
    fn a_kind_is_not_judged_without_its_evidence() {
        let without_roll: Vec<DiscrepancyKind> = rules_for(false, |e| e != Evidence::Roll)
            .map(|r| r.kind)
            .collect();
        assert_eq!(
            without_roll,
            [
                DiscrepancyKind::AttributeConflict,
                DiscrepancyKind::PossibleDuplicate,
                DiscrepancyKind::FacilityUnplaced
            ]
        );
        let nothing: Vec<DiscrepancyKind> = rules_for(false, |_| false).map(|r| r.kind).collect();
        assert_eq!(
            nothing,
            [
                DiscrepancyKind::AttributeConflict,
                DiscrepancyKind::PossibleDuplicate
            ]
        );
        assert_eq!(rules_for(true, |_| false).count(), 0);
    }
}
