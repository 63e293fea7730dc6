//! The discrepancy pass: where the sources disagree about who serves where.
//!
//! Each kind of finding is one set-based query over the registry (the whole country
//! in seconds, not a loop over people). A pass writes what it found into a temporary
//! table, then merges it into `discrepancies`: new findings open with their first-seen
//! time, findings seen again move their last-seen time and evidence, and open findings
//! no longer found are resolved — the sources have come to agree. Passes run one at a
//! time (an advisory lock), after every sync and every roster submission.
//!
//! The rules, in the words of the working group:
//! - `on_roll_not_serving`: an active officer on the roll at a facility whose latest
//!   roster does not list them present — or, where no roster has come in yet, whom the
//!   facility's sector ministry (MoH for health, MoEYS for education) has no record of.
//! - `serving_not_on_roll`: a person the sector ministry knows by an officer id that is
//!   not on the roll; or a person listed present on a facility's latest roster who is
//!   not on the roll (unless the sector ministry knows them as contract staff).
//! - `assignment_conflict`: the roll places an officer at one facility, the sector
//!   ministry only at others.
//! - `attribute_conflict`: two ministries give one person a different birth date, sex
//!   or Khmer name (compared as [`schema::text::match_key`] does).
//! - `paid_not_on_roll` / `on_roll_not_paid`: the latest payroll month against the
//!   roll (active officers only).
//! - `possible_duplicate`: two records with different civil-servant ids and one
//!   national id, or the same Khmer name and birth date without conflicting national ids.
//! - `facility_unplaced`: a facility whose commune code names no commune.
//!
//! A kind that needs a source nobody has pulled yet (no roll, no payroll, no gazetteer)
//! is not judged, rather than reported against everyone.

use serde::Serialize;
use uuid::Uuid;

use crate::{Store, StoreError};

/// Serialises discrepancy passes, so a roster's pass never interleaves with a sync's.
const PASS_LOCK: i64 = 7_236_858_012_434_493_807;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PassSummary {
    /// Findings open after the pass (within what the pass looked at).
    pub open: u64,
    /// Found for the first time, or found again after being resolved.
    pub opened: u64,
    pub resolved: u64,
    pub millis: u64,
    /// How many people the pass looked at, when it looked only at those whose records
    /// changed since the last pass (none: the pass was a country or facility pass).
    pub people: Option<u64>,
}

/// Which sources have been pulled, so no kind is judged without its evidence.
struct Pulled {
    roll: bool,
    moh: bool,
    moeys: bool,
    payroll: bool,
    gazetteer: bool,
}

// Each probe walks the primary key: a plain EXISTS is planned as a sequential scan
// that may read most of the table before the ministry's first row.
const PULLED: &str = "SELECT
    (SELECT true FROM source_reports WHERE entity_type = 'staff' AND ministry = 'mcs'
      ORDER BY entity_type, ministry, source_id LIMIT 1) IS NOT NULL,
    (SELECT true FROM source_reports WHERE entity_type = 'staff' AND ministry = 'moh'
      ORDER BY entity_type, ministry, source_id LIMIT 1) IS NOT NULL,
    (SELECT true FROM source_reports WHERE entity_type = 'staff' AND ministry = 'moeys'
      ORDER BY entity_type, ministry, source_id LIMIT 1) IS NOT NULL,
    EXISTS (SELECT 1 FROM payroll_entries),
    EXISTS (SELECT 1 FROM admin_units WHERE level = 'commune')";

const FOUND_TABLE: &str = "CREATE TEMP TABLE found_discrepancies (
    id uuid PRIMARY KEY, kind text NOT NULL, subject text NOT NULL, staff_ids uuid[] NOT NULL,
    facility_id uuid, admin_unit_code text, evidence jsonb NOT NULL) ON COMMIT DROP";

/// What the rules need to know of each person, computed once per pass: on the roll
/// or not (and under which officer id), which sector ministries know them, where the
/// roll and the sector ministries place them. `{scope:COLUMN}` limits it to the people
/// a pass looks at.
const PASS_PEOPLE: &str = "CREATE TEMP TABLE pass_people ON COMMIT DROP AS
WITH reports AS (
    SELECT entity_id,
        bool_or(ministry = 'mcs') AS on_roll,
        bool_or(ministry = 'moh') AS known_moh,
        bool_or(ministry = 'moeys') AS known_moeys,
        bool_or(ministry = 'mcs')::int + bool_or(ministry = 'moh')::int
            + bool_or(ministry = 'moeys')::int
            + bool_or(ministry NOT IN ('mcs', 'moh', 'moeys'))::int AS ministries,
        min(source_id) FILTER (WHERE ministry = 'mcs') AS officer_id,
        max(fetched_at) FILTER (WHERE ministry = 'mcs') AS roll_seen
    FROM source_reports
    WHERE entity_type = 'staff' AND entity_id IS NOT NULL AND {scope:entity_id}
    GROUP BY entity_id
), placed_by_roll AS (
    SELECT staff_id, facility_id FROM assignments
    WHERE source = 'mcs' AND end_date IS NULL AND facility_id IS NOT NULL AND {scope:staff_id}
), placed_by_sector AS (
    SELECT staff_id, array_agg(facility_id) AS facilities FROM assignments
    WHERE source IN ('moh', 'moeys') AND end_date IS NULL AND facility_id IS NOT NULL
      AND {scope:staff_id}
    GROUP BY staff_id
)
SELECT s.id, s.civil_servant_id AS csid, s.status, s.admin_unit_code,
    s.birth_date::text AS birth_date, s.sex, s.name_km,
    COALESCE(r.on_roll, false) AS on_roll, COALESCE(r.known_moh, false) AS known_moh,
    COALESCE(r.known_moeys, false) AS known_moeys, COALESCE(r.ministries, 0) AS ministries,
    r.officer_id, r.roll_seen, m.facility_id AS mcs_facility,
    COALESCE(o.facilities, '{}'::uuid[]) AS sector_facilities
FROM staff s
LEFT JOIN reports r ON r.entity_id = s.id
LEFT JOIN placed_by_roll m ON m.staff_id = s.id
LEFT JOIN placed_by_sector o ON o.staff_id = s.id
WHERE {scope:s.id}";

/// The people one facility's pass looks at: everyone placed there, and everyone its
/// latest roster names.
const FACILITY_PEOPLE: &str = "{column} IN (
    SELECT staff_id FROM assignments WHERE facility_id = '{id}'
    UNION
    SELECT e.staff_id FROM roster_entries e JOIN current_rosters cr ON cr.id = e.roster_id
    WHERE cr.facility_id = '{id}' AND e.staff_id IS NOT NULL)";

/// On the roll at a facility, not serving there. `{facility}` scopes it to one facility.
const ON_ROLL_NOT_SERVING: &str = "
WITH present AS (
    SELECT e.roster_id, e.staff_id FROM roster_entries e
    JOIN current_rosters cr ON cr.id = e.roster_id
    WHERE e.present AND e.staff_id IS NOT NULL
), listed AS (
    SELECT e.roster_id, e.staff_id FROM roster_entries e
    JOIN current_rosters cr ON cr.id = e.roster_id
    WHERE NOT e.present AND e.staff_id IS NOT NULL
)
SELECT 'on_roll_not_serving', 'staff:' || p.id, ARRAY[p.id], f.id, f.admin_unit_code,
    jsonb_build_array(
        evidence('mcs', p.officer_id, 'facility', facility_ref(f), p.roll_seen,
                 'on the roll at this facility'),
        CASE WHEN cr.id IS NOT NULL THEN
            evidence('roster', cr.id::text, 'present',
                     CASE WHEN l.staff_id IS NULL THEN NULL ELSE 'false'::jsonb END,
                     cr.submitted_at,
                     CASE WHEN l.staff_id IS NULL THEN 'not listed on the roster for ' || cr.period
                          ELSE 'listed absent on the roster for ' || cr.period END)
        ELSE
            evidence(CASE f.sector WHEN 'health' THEN 'moh' ELSE 'moeys' END, NULL, 'staff', NULL,
                     NULL, 'no record of this person')
        END)
FROM pass_people p
JOIN facilities f ON f.id = p.mcs_facility AND f.status = 'open'
LEFT JOIN current_rosters cr ON cr.facility_id = f.id
LEFT JOIN present pr ON pr.roster_id = cr.id AND pr.staff_id = p.id
LEFT JOIN listed l ON l.roster_id = cr.id AND l.staff_id = p.id
WHERE p.on_roll AND p.status = 'active' AND {facility}
  AND CASE WHEN cr.id IS NOT NULL THEN pr.staff_id IS NULL
      WHEN f.sector = 'health' THEN {moh} AND NOT p.known_moh
      ELSE {moeys} AND NOT p.known_moeys
      END";

/// Known to a sector ministry by an officer id the roll does not have.
const SERVING_NOT_ON_ROLL_SECTOR: &str = "
SELECT 'serving_not_on_roll', 'staff:' || p.id, ARRAY[p.id], a.facility_id,
    COALESCE(f.admin_unit_code, p.admin_unit_code),
    (SELECT jsonb_agg(evidence(o.ministry, o.source_id, 'civil_servant_id',
                               to_jsonb(p.csid), o.fetched_at,
                               'serves under an officer id that is not on the roll')
                      ORDER BY o.ministry, o.source_id)
       FROM source_reports o
      WHERE o.entity_id = p.id AND o.entity_type = 'staff' AND o.ministry IN ('moh', 'moeys'))
    || jsonb_build_array(evidence('mcs', NULL, 'civil_servant_id', to_jsonb(p.csid),
                                  NULL, 'not on the roll'))
FROM pass_people p
LEFT JOIN LATERAL (
    SELECT a.facility_id FROM assignments a
    WHERE a.staff_id = p.id AND a.source IN ('moh', 'moeys') AND a.end_date IS NULL
      AND a.facility_id IS NOT NULL
    ORDER BY a.source, a.id LIMIT 1) a ON true
LEFT JOIN facilities f ON f.id = a.facility_id
WHERE p.csid IS NOT NULL AND NOT p.on_roll AND (p.known_moh OR p.known_moeys)";

/// Listed present on a facility's latest roster, not on the roll. Contract staff (no
/// officer id, known to the sector ministry) are not a discrepancy.
const SERVING_NOT_ON_ROLL_ROSTER: &str = "
SELECT 'serving_not_on_roll',
    'roster:' || cr.facility_id || ':' || COALESCE('staff:' || e.staff_id,
        'csid:' || e.civil_servant_id,
        'nid:' || encode(sha256(convert_to((SELECT pepper FROM reconcile_pepper) || e.national_id, 'UTF8')), 'hex'),
        'name:' || name_match_key(e.name_km)),
    CASE WHEN e.staff_id IS NULL THEN '{}'::uuid[] ELSE ARRAY[e.staff_id] END,
    cr.facility_id, f.admin_unit_code,
    jsonb_build_array(
        evidence('roster', cr.id::text, 'present', 'true'::jsonb, cr.submitted_at,
                 'listed present on the roster for ' || cr.period)
            || jsonb_build_object('entry', jsonb_strip_nulls(jsonb_build_object(
                'index', e.idx, 'civil_servant_id', e.civil_servant_id,
                'national_id', e.national_id, 'name_km', e.name_km, 'name_latin', e.name_latin,
                'role', e.role))),
        evidence('mcs', NULL, 'civil_servant_id', to_jsonb(COALESCE(p.csid, e.civil_servant_id)),
                 NULL, CASE WHEN e.staff_id IS NULL THEN 'no ministry knows this person'
                            ELSE 'not on the roll' END))
FROM current_rosters cr
JOIN roster_entries e ON e.roster_id = cr.id AND e.present
JOIN facilities f ON f.id = cr.facility_id
LEFT JOIN pass_people p ON p.id = e.staff_id
WHERE {facility}
  AND (e.staff_id IS NULL
       OR ((p.csid IS NOT NULL OR e.civil_servant_id IS NOT NULL) AND NOT p.on_roll))";

/// The roll places an officer at one facility; the sector ministry only elsewhere.
const ASSIGNMENT_CONFLICT: &str = "
SELECT 'assignment_conflict', 'staff:' || p.id, ARRAY[p.id], p.mcs_facility,
    fm.admin_unit_code,
    jsonb_build_array(evidence('mcs', p.officer_id, 'facility', facility_ref(fm), p.roll_seen, NULL))
    || (SELECT jsonb_agg(evidence(ao.source, NULL, 'facility', facility_ref(fo), ao.updated_at, NULL)
                         ORDER BY ao.source, ao.id)
          FROM assignments ao JOIN facilities fo ON fo.id = ao.facility_id
         WHERE ao.staff_id = p.id AND ao.source IN ('moh', 'moeys') AND ao.end_date IS NULL)
FROM pass_people p
JOIN facilities fm ON fm.id = p.mcs_facility
WHERE p.on_roll AND cardinality(p.sector_facilities) > 0
  AND NOT (p.mcs_facility = ANY(p.sector_facilities))";

/// Two ministries disagree on a person's birth date, sex or Khmer name. Each source's
/// report is compared with the registry's record (which holds the owning ministry's
/// value), so one scan finds every disagreement; the evidence is gathered only for
/// what differs.
const ATTRIBUTE_CONFLICT: &str = "
WITH differing AS (
    SELECT DISTINCT p.id AS entity_id, v.field
    FROM pass_people p
    JOIN source_reports r ON r.entity_id = p.id AND r.entity_type = 'staff'
    CROSS JOIN LATERAL (VALUES
        ('birth_date', r.report->>'birth_date', p.birth_date, false),
        ('sex', r.report->>'sex', p.sex, false),
        ('name_km', r.report->>'name_km', p.name_km, true)) v(field, said, held, is_name)
    WHERE p.ministries > 1
      -- The registry holds the roll's own values for the people on it.
      AND NOT (p.on_roll AND r.ministry = 'mcs')
      AND v.said <> v.held
      AND (NOT v.is_name OR name_match_key(v.said) <> name_match_key(v.held))
)
SELECT 'attribute_conflict', 'staff:' || d.entity_id || ':' || d.field, ARRAY[d.entity_id],
    NULL::uuid, s.admin_unit_code,
    (SELECT jsonb_agg(evidence(r.ministry, r.source_id, d.field, r.report->d.field, r.fetched_at, NULL)
                      ORDER BY r.ministry, r.source_id)
       FROM source_reports r
      WHERE r.entity_id = d.entity_id AND r.entity_type = 'staff' AND r.report->>d.field IS NOT NULL)
FROM differing d JOIN pass_people s ON s.id = d.entity_id";

/// The same person under two records: one national id, or one name and birth date.
const POSSIBLE_DUPLICATE: &str = "
WITH pairs AS (
    {nid_pairs}
    UNION
    SELECT m.staff_a, m.staff_b, 'name_and_birth_date'
    FROM probable_matches m
    JOIN staff a ON a.id = m.staff_a JOIN staff b ON b.id = m.staff_b
    WHERE (a.national_id IS NULL OR b.national_id IS NULL OR a.national_id = b.national_id)
      AND {match_scope}
)
SELECT DISTINCT ON (p.a, p.b) 'possible_duplicate', 'staff:' || p.a || '+staff:' || p.b,
    ARRAY[p.a, p.b], NULL::uuid, COALESCE(sa.admin_unit_code, sb.admin_unit_code),
    jsonb_build_array(
        evidence(sa.sources->0->>'ministry', COALESCE(sa.civil_servant_id, sa.sources->0->>'source_id'),
                 p.reason, CASE p.reason WHEN 'national_id' THEN to_jsonb(sa.national_id)
                    ELSE jsonb_build_object('name_km', sa.name_km, 'birth_date', sa.birth_date) END,
                 NULL, NULL),
        evidence(sb.sources->0->>'ministry', COALESCE(sb.civil_servant_id, sb.sources->0->>'source_id'),
                 p.reason, CASE p.reason WHEN 'national_id' THEN to_jsonb(sb.national_id)
                    ELSE jsonb_build_object('name_km', sb.name_km, 'birth_date', sb.birth_date) END,
                 NULL, NULL))
FROM pairs p JOIN staff sa ON sa.id = p.a JOIN staff sb ON sb.id = p.b
ORDER BY p.a, p.b, p.reason DESC";

/// Two records of one national id with different civil-servant ids; `{a}` and `{b}`
/// are the rows each side is drawn from.
const NID_PAIRS: &str = "
    SELECT a.id AS a, b.id AS b, 'national_id' AS reason
    FROM {a} a JOIN {b} b ON b.national_id = a.national_id AND a.id < b.id
    WHERE a.national_id IS NOT NULL
      AND a.civil_servant_id IS NOT NULL AND b.civil_servant_id IS NOT NULL
      AND a.civil_servant_id <> b.civil_servant_id";

/// Paid in the latest payroll month under an officer id the roll does not have.
const PAID_NOT_ON_ROLL: &str = "
WITH latest AS (SELECT max(period) AS period FROM payroll_entries),
on_roll AS MATERIALIZED (
    SELECT csid AS civil_servant_id FROM pass_people WHERE on_roll AND csid IS NOT NULL
)
SELECT 'paid_not_on_roll', 'payroll:' || p.officer_id,
    ARRAY(SELECT s.id FROM staff s WHERE s.civil_servant_id = p.officer_id), NULL::uuid, NULL,
    jsonb_build_array(
        evidence('mef', p.officer_id, 'paid', to_jsonb(p.period), NULL,
                 'paid by ' || p.ministry || ' (budget unit ' || p.budget_unit || ')'),
        evidence('mcs', NULL, 'civil_servant_id', to_jsonb(p.officer_id), NULL, 'not on the roll'))
FROM payroll_entries p JOIN latest l ON p.period = l.period
LEFT JOIN on_roll o ON o.civil_servant_id = p.officer_id
WHERE o.civil_servant_id IS NULL AND {payroll_scope}";

/// Active on the roll, missing from the latest payroll month.
const ON_ROLL_NOT_PAID: &str = "
WITH latest AS (SELECT max(period) AS period FROM payroll_entries),
unpaid AS (
    SELECT p.id, p.csid AS civil_servant_id, p.admin_unit_code, p.officer_id,
        p.roll_seen AS fetched_at, p.mcs_facility
    FROM pass_people p
    WHERE p.on_roll AND p.status = 'active' AND p.csid IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM payroll_entries e, latest l
                      WHERE e.period = l.period AND e.officer_id = p.csid)
), last_paid AS (
    SELECT p.officer_id, max(p.period) AS period FROM payroll_entries p
    WHERE p.officer_id IN (SELECT civil_servant_id FROM unpaid)
    GROUP BY p.officer_id
)
SELECT 'on_roll_not_paid', 'staff:' || u.id, ARRAY[u.id],
    u.mcs_facility, u.admin_unit_code,
    jsonb_build_array(
        evidence('mcs', u.officer_id, 'status', '\"active\"'::jsonb, u.fetched_at, NULL),
        evidence('mef', u.civil_servant_id, 'paid', to_jsonb(lp.period), NULL,
                 'not on the payroll of ' || (SELECT period FROM latest)
                 || CASE WHEN lp.period IS NULL THEN '; never paid in the months held'
                         ELSE '; last paid ' || lp.period END))
FROM unpaid u LEFT JOIN last_paid lp ON lp.officer_id = u.civil_servant_id";

/// A facility whose commune code names no commune of the gazetteer.
const FACILITY_UNPLACED: &str = "
SELECT 'facility_unplaced', 'facility:' || f.id, '{}'::uuid[], f.id,
    (SELECT u.code FROM admin_units u
      WHERE f.admin_unit_code IS NOT NULL
        AND u.code IN (left(f.admin_unit_code, 4), left(f.admin_unit_code, 2))
      ORDER BY length(u.code) DESC LIMIT 1),
    COALESCE((SELECT jsonb_agg(evidence(r.ministry, r.source_id, 'admin_unit_code',
                                        r.report->'admin_unit_code', r.fetched_at,
                                        CASE WHEN r.report->>'admin_unit_code' IS NULL
                                             THEN 'no valid commune code'
                                             ELSE 'names no commune of the gazetteer' END)
                         ORDER BY r.ministry, r.source_id)
                FROM source_reports r WHERE r.entity_type = 'facility' AND r.entity_id = f.id),
             '[]'::jsonb)
FROM facilities f
WHERE NOT EXISTS (SELECT 1 FROM admin_units u WHERE u.code = f.admin_unit_code AND u.level = 'commune')";

/// Moves what a pass found into `discrepancies`; returns how many were (re)opened.
const MERGE: &str = "
WITH reopened AS (
    SELECT count(*) AS n FROM found_discrepancies f
    JOIN discrepancies d ON d.id = f.id AND d.resolved_at IS NOT NULL
), merged AS (
    INSERT INTO discrepancies AS d (id, kind, subject, staff_ids, facility_id, admin_unit_code,
                                    sources, evidence, first_seen, last_seen)
    SELECT f.id, f.kind, f.subject, f.staff_ids, f.facility_id, f.admin_unit_code,
        ARRAY(SELECT DISTINCT e->>'source' FROM jsonb_array_elements(f.evidence) e
              WHERE e->>'source' IS NOT NULL ORDER BY 1),
        f.evidence, now(), now()
    FROM found_discrepancies f
    ON CONFLICT (id) DO UPDATE SET
        staff_ids = EXCLUDED.staff_ids, facility_id = EXCLUDED.facility_id,
        admin_unit_code = EXCLUDED.admin_unit_code, sources = EXCLUDED.sources,
        evidence = EXCLUDED.evidence, last_seen = EXCLUDED.last_seen, resolved_at = NULL
    RETURNING (xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM merged WHERE inserted) + (SELECT n FROM reopened),
       (SELECT count(*) FROM merged)";

/// What a pass looks at: the whole registry; what one facility's roster touches; or the
/// people whose records changed after a version mark (since the last pass, after an
/// incremental sync).
#[derive(Debug, Clone, Copy)]
pub(crate) enum PassScope {
    Everything,
    Facility(Uuid),
    /// What changed since the last pass's cut (see `pass_marks`).
    SinceLastPass,
    ChangedSince(i64),
}

/// The people whose records took a version after `{mark}`: their record, a source's
/// report of them, an assignment of theirs, or a facility they are placed at changed.
/// Every finding but `facility_unplaced` is about people, so the findings of everyone
/// else stand as the last pass left them.
const CHANGED_PEOPLE: &str = "CREATE TEMP TABLE pass_scope ON COMMIT DROP AS
SELECT id FROM staff WHERE version > {mark}
UNION SELECT entity_id FROM source_reports
      WHERE version > {mark} AND entity_type <> 'facility' AND entity_id IS NOT NULL
UNION SELECT staff_id FROM assignments WHERE version > {mark}
UNION SELECT a.staff_id FROM facilities f JOIN assignments a ON a.facility_id = f.id
      WHERE f.version > {mark}";

/// Above this share of the registry, a changed-since pass looks at everything: one
/// country pass is then cheaper than probing for each person.
const SCOPED_PASS_LIMIT: f64 = 0.2;

/// Open findings a changed-since pass answers for: those of the people in scope, the
/// payroll lines under their officer ids, and the facilities (judged country-wide).
const RESOLVE_CHANGED: &str = "UPDATE discrepancies d SET resolved_at = now()
WHERE d.resolved_at IS NULL
  AND (d.kind = 'facility_unplaced'
       OR EXISTS (SELECT 1 FROM pass_scope x WHERE x.id = ANY (d.staff_ids))
       OR (d.kind = 'paid_not_on_roll'
           AND d.subject IN (SELECT 'payroll:' || csid FROM pass_people WHERE csid IS NOT NULL)))
  AND NOT EXISTS (SELECT 1 FROM found_discrepancies f WHERE f.id = d.id)";

/// The tables a pass reads. Statistics far behind their content (a first sync fills
/// them faster than autovacuum catches up) make the planner pick nested loops over
/// what are by then hundreds of thousands of rows: minutes instead of seconds.
const PASS_TABLES: &str = "'staff', 'assignments', 'facilities', 'source_reports', \
    'payroll_entries', 'probable_matches', 'admin_units', 'rosters', 'roster_entries'";

impl Store {
    /// Recomputes every kind of finding over the whole registry.
    pub async fn reconcile(&self) -> Result<PassSummary, StoreError> {
        self.pass_with_cut(PassScope::Everything).await
    }

    /// Recomputes the findings of the people whose records changed since the last
    /// country or changed-since pass cut the version sequence, and the facilities'
    /// placement; everyone else's findings stand. With no earlier pass, or when most of
    /// the registry changed, a country pass runs instead.
    pub async fn reconcile_changed(&self) -> Result<PassSummary, StoreError> {
        self.pass_with_cut(PassScope::SinceLastPass).await
    }

    async fn pass_with_cut(&self, scope: PassScope) -> Result<PassSummary, StoreError> {
        self.analyze_stale_pass_tables().await?;
        let cut = self.version_cut().await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let summary = run_pass(&tx, scope).await?;
        tx.execute(
            "INSERT INTO pass_marks (version) VALUES ($1)
             ON CONFLICT (id) DO UPDATE SET version = greatest(pass_marks.version, EXCLUDED.version)",
            &[&cut],
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// The newest record version, read while no version-taking writer is open (their
    /// lock is taken for the read): every version up to it has committed, so a pass
    /// that starts after sees them all, and the next looks only past it. (Writes
    /// beside a sync page take versions too, but only while the page holds the lock.)
    async fn version_cut(&self) -> Result<i64, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&crate::transaction::VERSION_LOCK],
        )
        .await?;
        let row = tx
            .query_one(
                "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM record_version",
                &[],
            )
            .await?;
        tx.commit().await?;
        Ok(row.get(0))
    }
}

impl Store {
    /// Analyses the pass's tables whose statistics miss a fifth or more of their rows.
    async fn analyze_stale_pass_tables(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        let stale: Vec<String> = client
            .query(
                &format!(
                    "SELECT relname::text FROM pg_stat_user_tables
                     WHERE relname IN ({PASS_TABLES}) AND schemaname = current_schema()
                       AND n_mod_since_analyze > 0.2 * greatest(n_live_tup, 1000)"
                ),
                &[],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !stale.is_empty() {
            let started = std::time::Instant::now();
            // The names come from the fixed list above. Of the staff and their reports,
            // only the columns the pass reads: statistics of their JSON and search text
            // cost most of the time.
            let targets: Vec<&str> = stale
                .iter()
                .map(|t| match t.as_str() {
                    "source_reports" => {
                        "source_reports (entity_type, ministry, source_id, entity_id)"
                    }
                    "staff" => {
                        "staff (id, civil_servant_id, national_id, status, admin_unit_code, \
                         birth_date, sex, name_km)"
                    }
                    other => other,
                })
                .collect();
            client
                .batch_execute(&format!("ANALYZE {}", targets.join(", ")))
                .await?;
            tracing::debug!(tables = ?stale, millis = started.elapsed().as_millis() as u64, "analysed before the pass");
        }
        Ok(())
    }
}

/// One pass inside the caller's transaction.
pub(crate) async fn run_pass(
    tx: &tokio_postgres::Transaction<'_>,
    scope: PassScope,
) -> Result<PassSummary, StoreError> {
    let started = std::time::Instant::now();
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PASS_LOCK])
        .await?;
    let row = tx.query_one(PULLED, &[]).await?;
    let pulled = Pulled {
        roll: row.get(0),
        moh: row.get(1),
        moeys: row.get(2),
        payroll: row.get(3),
        gazetteer: row.get(4),
    };
    let scope = match scope {
        PassScope::SinceLastPass => tx
            .query_opt("SELECT version FROM pass_marks", &[])
            .await?
            .map_or(PassScope::Everything, |row| {
                PassScope::ChangedSince(row.get(0))
            }),
        other => other,
    };
    let (scope, people) = match scope {
        PassScope::ChangedSince(mark) => {
            tx.batch_execute(&CHANGED_PEOPLE.replace("{mark}", &mark.to_string()))
                .await?;
            tx.batch_execute("CREATE INDEX ON pass_scope (id); ANALYZE pass_scope")
                .await?;
            let row = tx
                .query_one(
                    "SELECT (SELECT count(*) FROM pass_scope)::float8,
                            greatest((SELECT reltuples FROM pg_class WHERE oid = 'staff'::regclass), 0)::float8",
                    &[],
                )
                .await?;
            let (changed, registry): (f64, f64) = (row.get(0), row.get(1));
            if changed > SCOPED_PASS_LIMIT * registry {
                (PassScope::Everything, None)
            } else {
                (scope, Some(changed as u64))
            }
        }
        other => (other, None),
    };
    if matches!(scope, PassScope::Everything | PassScope::SinceLastPass) {
        // The country pass hashes a few hundred thousand rows at a time: in memory, not
        // in batches on disk. Only this transaction gets it.
        tx.batch_execute("SET LOCAL work_mem = '128MB'").await?;
    }
    tx.batch_execute(FOUND_TABLE).await?;
    // Ids are formatted by `Uuid`, so they are safe to write into the statements.
    let (facility, roster_entries, people_scope) = match scope {
        // (A pass since the last one was resolved above: here it would mean everything.)
        PassScope::Everything | PassScope::SinceLastPass => {
            ("true".to_owned(), "true".to_owned(), None)
        }
        PassScope::Facility(id) => (
            format!("f.id = '{id}'"),
            format!("f.id = '{id}'"),
            Some(FACILITY_PEOPLE.replace("{id}", &id.to_string())),
        ),
        PassScope::ChangedSince(_) => (
            "true".to_owned(),
            "e.staff_id IN (SELECT id FROM pass_scope)".to_owned(),
            Some("{column} IN (SELECT id FROM pass_scope)".to_owned()),
        ),
    };
    let in_scope = |column: &str| match &people_scope {
        None => "true".to_owned(),
        Some(sql) => sql.replace("{column}", column),
    };
    tx.batch_execute(
        &PASS_PEOPLE
            .replace("{scope:entity_id}", &in_scope("entity_id"))
            .replace("{scope:staff_id}", &in_scope("staff_id"))
            .replace("{scope:s.id}", &in_scope("s.id")),
    )
    .await?;
    tx.batch_execute("CREATE INDEX ON pass_people (id); ANALYZE pass_people")
        .await?;
    let flag = |b: bool| if b { "true" } else { "false" };
    let mut rules: Vec<String> = Vec::new();
    if pulled.roll {
        rules.push(
            ON_ROLL_NOT_SERVING
                .replace("{facility}", &facility)
                .replace("{moh}", flag(pulled.moh))
                .replace("{moeys}", flag(pulled.moeys)),
        );
        rules.push(SERVING_NOT_ON_ROLL_ROSTER.replace("{facility}", &roster_entries));
    }
    if !matches!(scope, PassScope::Facility(_)) {
        let changed = matches!(scope, PassScope::ChangedSince(_));
        if pulled.roll {
            rules.push(SERVING_NOT_ON_ROLL_SECTOR.to_owned());
            rules.push(ASSIGNMENT_CONFLICT.to_owned());
        }
        rules.push(ATTRIBUTE_CONFLICT.to_owned());
        let (nid_pairs, match_scope) = if changed {
            let scoped = "(SELECT * FROM staff WHERE id IN (SELECT id FROM pass_scope))";
            (
                format!(
                    "{}\n    UNION{}",
                    NID_PAIRS.replace("{a}", scoped).replace("{b}", "staff"),
                    NID_PAIRS.replace("{a}", "staff").replace("{b}", scoped)
                ),
                "(m.staff_a IN (SELECT id FROM pass_scope) OR m.staff_b IN (SELECT id FROM pass_scope))",
            )
        } else {
            (
                NID_PAIRS.replace("{a}", "staff").replace("{b}", "staff"),
                "true",
            )
        };
        rules.push(
            POSSIBLE_DUPLICATE
                .replace("{nid_pairs}", &nid_pairs)
                .replace("{match_scope}", match_scope),
        );
        if pulled.roll && pulled.payroll {
            rules.push(PAID_NOT_ON_ROLL.replace(
                "{payroll_scope}",
                if changed {
                    "p.officer_id IN (SELECT csid FROM pass_people WHERE csid IS NOT NULL)"
                } else {
                    "true"
                },
            ));
            rules.push(ON_ROLL_NOT_PAID.to_owned());
        }
        if pulled.gazetteer {
            rules.push(FACILITY_UNPLACED.to_owned());
        }
    }
    tracing::debug!(target: "store::reconcile::timing", millis = started.elapsed().as_millis() as u64, "pass people ready");
    for rule in &rules {
        let rule_started = std::time::Instant::now();
        // One finding per kind and subject, whatever a rule's joins repeat.
        tx.execute(
            &format!(
                "INSERT INTO found_discrepancies
                 SELECT md5(kind || '|' || subject)::uuid, * FROM ({rule}) AS r(kind, subject, staff_ids, facility_id, admin_unit_code, evidence)
                 ON CONFLICT (id) DO NOTHING"
            ),
            &[],
        )
        .await?;
        tracing::debug!(
            target: "store::reconcile::timing",
            rule = rule.trim().lines().next().unwrap_or_default(),
            millis = rule_started.elapsed().as_millis() as u64,
            "rule"
        );
    }
    let row = tx.query_one(MERGE, &[]).await?;
    let opened: i64 = row.get(0);
    let open: i64 = row.get(1);
    let resolved = match scope {
        PassScope::Everything | PassScope::SinceLastPass => {
            tx.execute(
                "UPDATE discrepancies d SET resolved_at = now()
                 WHERE d.resolved_at IS NULL
                   AND NOT EXISTS (SELECT 1 FROM found_discrepancies f WHERE f.id = d.id)",
                &[],
            )
            .await?
        }
        PassScope::Facility(id) => {
            tx.execute(
                "UPDATE discrepancies d SET resolved_at = now()
                 WHERE d.resolved_at IS NULL AND d.facility_id = $1
                   AND (d.kind = 'on_roll_not_serving'
                        OR (d.kind = 'serving_not_on_roll' AND d.subject LIKE $2))
                   AND NOT EXISTS (SELECT 1 FROM found_discrepancies f WHERE f.id = d.id)",
                &[&id, &format!("roster:{id}:%")],
            )
            .await?
        }
        PassScope::ChangedSince(_) => tx.execute(RESOLVE_CHANGED, &[]).await?,
    };
    let summary = PassSummary {
        open: open as u64,
        opened: opened as u64,
        resolved,
        millis: started.elapsed().as_millis() as u64,
        people,
    };
    match scope {
        PassScope::Everything | PassScope::SinceLastPass => {
            tracing::info!(?summary, "discrepancy pass");
        }
        PassScope::ChangedSince(mark) => {
            tracing::info!(
                ?summary,
                mark,
                "discrepancy pass over the people changed since the mark"
            );
        }
        PassScope::Facility(id) => tracing::debug!(%id, ?summary, "facility discrepancy pass"),
    }
    Ok(summary)
}
