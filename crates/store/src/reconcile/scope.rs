//! What a pass looks at. A pass is asked for the country, for one facility (after a
//! roster), for what changed since the last pass, or for a few named people (after a
//! reviewer joined or parted them); what changed becomes the country when no pass has
//! run yet, or when so much changed that one country pass is cheaper.
//! The people in scope go into the temporary table `pass_scope`, which the rules join;
//! a country pass leaves it empty and tells the rules to look at everyone.

use uuid::Uuid;

/// What a pass is asked to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PassScope {
    /// The whole registry.
    Everything,
    /// What one facility's roster touches.
    Facility(Uuid),
    /// The people whose records changed since the last pass's cut (see `pass_marks`).
    SinceLastPass,
    /// These people: a review decision or a split changed who they are, which no
    /// record version says (a `different` changes no record at all).
    People(Vec<Uuid>),
}

/// What a pass looks at, once asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    Country,
    Facility(Uuid),
    /// The people whose records took a version after `mark`.
    Changed {
        mark: i64,
    },
    /// The people named by the asker.
    People,
}

/// Above this share of the registry, a changed-since pass looks at everything: one
/// country pass is then cheaper than probing for each person.
const SCOPED_PASS_LIMIT: f64 = 0.2;

/// Creates the (empty) table of the people in scope. Its id is unique, so a rule's
/// `LEFT JOIN pass_scope` that a country pass does not need is dropped by the planner.
pub(super) const CREATE_SCOPE: &str =
    "CREATE TEMP TABLE pass_scope (id uuid PRIMARY KEY) ON COMMIT DROP";

/// Fills `pass_scope` with one facility's people; `$1` is the facility.
pub(super) const FACILITY_PEOPLE: &str = include_str!("scope_facility.sql");

/// Fills `pass_scope` with the named people who still exist; `$1` is their ids.
pub(super) const NAMED_PEOPLE: &str =
    "INSERT INTO pass_scope SELECT DISTINCT s.id FROM staff s WHERE s.id = ANY ($1::uuid[])";

/// Fills `pass_scope` with the people changed after a mark; `$1` is the mark.
pub(super) const CHANGED_PEOPLE: &str = include_str!("scope_changed.sql");

impl Scope {
    /// The scope a pass asked for `asked` looks at, given the last pass's mark.
    pub(super) fn asked(asked: &PassScope, last_mark: Option<i64>) -> Self {
        match *asked {
            PassScope::Everything => Self::Country,
            PassScope::Facility(id) => Self::Facility(id),
            PassScope::SinceLastPass => {
                last_mark.map_or(Self::Country, |mark| Self::Changed { mark })
            }
            PassScope::People(_) => Self::People,
        }
    }

    /// A changed-since scope of `changed` people in a registry of about `registry`
    /// becomes the country when that is more than the limit's share of it.
    pub(super) fn widened(self, changed: f64, registry: f64) -> Self {
        match self {
            Self::Changed { .. } if changed > SCOPED_PASS_LIMIT * registry => Self::Country,
            other => other,
        }
    }

    /// Whether the rules look at everyone (`$2` of the rules), rather than at the
    /// people in `pass_scope` only.
    pub(super) fn everyone(self) -> bool {
        matches!(self, Self::Country)
    }

    /// The facility of a facility pass (`$3` of the rules).
    pub(super) fn facility(self) -> Option<Uuid> {
        match self {
            Self::Facility(id) => Some(id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_since_the_last_is_a_country_pass_when_there_was_none() {
        assert_eq!(
            Scope::asked(&PassScope::SinceLastPass, None),
            Scope::Country
        );
        assert_eq!(
            Scope::asked(&PassScope::SinceLastPass, Some(42)),
            Scope::Changed { mark: 42 }
        );
        assert_eq!(
            Scope::asked(&PassScope::Everything, Some(42)),
            Scope::Country
        );
        let id = Uuid::from_u128(7);
        assert_eq!(
            Scope::asked(&PassScope::Facility(id), None),
            Scope::Facility(id)
        );
        // Named people are looked at however long ago the last pass ran.
        assert_eq!(
            Scope::asked(&PassScope::People(vec![id]), None),
            Scope::People
        );
        assert_eq!(Scope::People.widened(1e9, 1.0), Scope::People);
        assert!(!Scope::People.everyone());
    }

    #[test]
    fn a_large_change_widens_to_the_country_and_nothing_else_widens() {
        let changed = Scope::Changed { mark: 1 };
        assert_eq!(changed.widened(20.0, 100.0), changed);
        assert_eq!(changed.widened(21.0, 100.0), Scope::Country);
        // Before the planner knows of any staff, any change is the country.
        assert_eq!(changed.widened(1.0, 0.0), Scope::Country);
        let facility = Scope::Facility(Uuid::from_u128(7));
        assert_eq!(facility.widened(1e9, 1.0), facility);
    }

    #[test]
    fn only_a_country_pass_looks_at_everyone_and_only_a_facility_pass_names_one() {
        let id = Uuid::from_u128(7);
        assert!(Scope::Country.everyone());
        assert!(!Scope::Facility(id).everyone());
        assert!(!Scope::Changed { mark: 1 }.everyone());
        assert_eq!(Scope::Facility(id).facility(), Some(id));
        assert_eq!(Scope::Country.facility(), None);
        assert_eq!(Scope::Changed { mark: 1 }.facility(), None);
    }

    #[test]
    fn scope_statements_fill_the_scope_table_with_one_bound_parameter() {
        for sql in [FACILITY_PEOPLE, CHANGED_PEOPLE] {
            assert!(sql.contains("INSERT INTO pass_scope"));
            assert!(sql.contains("$1") && !sql.contains("$2") && !sql.contains('{'));
        }
    }
}
