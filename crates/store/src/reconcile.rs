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
//! - `possible_duplicate`: a pair waiting in the review queue (see `matches`): two
//!   persons' records the matcher could not settle, or whose identifier it did not
//!   trust. A decided pair is no longer one.
//! - `facility_unplaced`: a facility whose commune code names no commune.
//!
//! A kind that needs a source nobody has pulled yet (no roll, no payroll, no gazetteer)
//! is not judged, rather than reported against everyone.
//!
//! Each rule is a `.sql` file of its own under `reconcile/rules/` (see `rules`), run
//! with bound parameters only. What a pass looks at is a table the rules join
//! (`pass_scope`, see `scope`), and what they need to know of each person in it is
//! computed once per pass (`pass_people`, from `people.sql`).

mod rules;
mod scope;

use schema::DiscrepancyKind;
use serde::Serialize;
use uuid::Uuid;

pub(crate) use scope::PassScope;
use scope::{CHANGED_PEOPLE, CREATE_SCOPE, FACILITY_PEOPLE, NAMED_PEOPLE, Scope};

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

/// The people a pass looks at, with what the rules need to know of each; `$1` says
/// whether that is everyone (see the file).
const PASS_PEOPLE: &str = include_str!("reconcile/people.sql");

/// Moves what a pass found into `discrepancies`; returns how many were (re)opened, and
/// how many are open.
const MERGE: &str = include_str!("reconcile/merge.sql");

/// Resolves the open findings a country pass no longer found.
const RESOLVE_COUNTRY: &str = "UPDATE discrepancies d SET resolved_at = now()
WHERE d.resolved_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM found_discrepancies f WHERE f.id = d.id)";

/// Resolves the open findings a facility's pass answers for and no longer found: the
/// facility's `$3` (on the roll, not serving) and its roster's `$4` (serving, not on
/// the roll) findings. `$1` is the facility, `$2` its roster findings' subjects.
const RESOLVE_FACILITY: &str = "UPDATE discrepancies d SET resolved_at = now()
WHERE d.resolved_at IS NULL AND d.facility_id = $1
  AND (d.kind = $3 OR (d.kind = $4 AND d.subject LIKE $2))
  AND NOT EXISTS (SELECT 1 FROM found_discrepancies f WHERE f.id = d.id)";

/// Resolves the open findings a changed-since pass answers for and no longer found:
/// those of the people in scope, the payroll lines under their officer ids (kind
/// `$2`), and the facilities' (kind `$1`, judged country-wide).
const RESOLVE_CHANGED: &str = "UPDATE discrepancies d SET resolved_at = now()
WHERE d.resolved_at IS NULL
  AND (d.kind = $1
       OR EXISTS (SELECT 1 FROM pass_scope x WHERE x.id = ANY (d.staff_ids))
       OR (d.kind = $2
           AND d.subject IN (SELECT 'payroll:' || csid FROM pass_people WHERE csid IS NOT NULL)))
  AND NOT EXISTS (SELECT 1 FROM found_discrepancies f WHERE f.id = d.id)";

/// The tables a pass reads. Statistics far behind their content (a first sync fills
/// them faster than autovacuum catches up) make the planner pick nested loops over
/// what are by then hundreds of thousands of rows: minutes instead of seconds.
const PASS_TABLES: &str = "'staff', 'assignments', 'facilities', 'source_reports', \
    'payroll_entries', 'match_pairs', 'admin_units', 'rosters', 'roster_entries'";

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

    /// Recomputes the findings of these people (after a reviewer joined or parted
    /// them). Leaves the changed-since mark alone: other changes still wait for the
    /// next changed-since pass.
    pub async fn reconcile_people(&self, people: &[Uuid]) -> Result<PassSummary, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let summary = run_pass(&tx, PassScope::People(people.to_vec())).await?;
        tx.commit().await?;
        Ok(summary)
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
    /// Analyses the tables a discrepancy or matching pass reads whose statistics miss a
    /// fifth or more of their rows.
    pub(crate) async fn analyze_stale_pass_tables(&self) -> Result<(), StoreError> {
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

/// Runs a `RESOLVE_*` statement; when a subscriber wants them, in one statement with
/// a `finding.resolved` event for each finding it resolves (see `outbox`). Returns how
/// many it resolved.
async fn resolve(
    tx: &tokio_postgres::Transaction<'_>,
    told: bool,
    statement: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, StoreError> {
    if !told {
        return Ok(tx.execute(statement, params).await?);
    }
    let row = tx
        .query_one(&crate::outbox::resolving_with_events(statement), params)
        .await?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// One pass inside the caller's transaction.
pub(crate) async fn run_pass(
    tx: &tokio_postgres::Transaction<'_>,
    asked: PassScope,
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
    let last_mark = match asked {
        PassScope::SinceLastPass => tx
            .query_opt("SELECT version FROM pass_marks", &[])
            .await?
            .map(|row| row.get::<_, i64>(0)),
        _ => None,
    };
    let mut scope = Scope::asked(&asked, last_mark);
    tx.batch_execute(CREATE_SCOPE).await?;
    let mut people = None;
    match scope {
        Scope::Country => {}
        Scope::Facility(id) => {
            tx.execute(FACILITY_PEOPLE, &[&id]).await?;
            tx.batch_execute("ANALYZE pass_scope").await?;
        }
        Scope::People => {
            if let PassScope::People(ids) = &asked {
                tx.execute(NAMED_PEOPLE, &[ids]).await?;
            }
            tx.batch_execute("ANALYZE pass_scope").await?;
            people = Some(
                tx.query_one("SELECT count(*) FROM pass_scope", &[])
                    .await?
                    .get::<_, i64>(0) as u64,
            );
        }
        Scope::Changed { mark } => {
            tx.execute(CHANGED_PEOPLE, &[&mark]).await?;
            tx.batch_execute("ANALYZE pass_scope").await?;
            let row = tx
                .query_one(
                    "SELECT (SELECT count(*) FROM pass_scope)::float8,
                            greatest((SELECT reltuples FROM pg_class WHERE oid = 'staff'::regclass), 0)::float8",
                    &[],
                )
                .await?;
            let (changed, registry): (f64, f64) = (row.get(0), row.get(1));
            scope = scope.widened(changed, registry);
            if !scope.everyone() {
                people = Some(changed as u64);
            }
        }
    }
    if scope.everyone() {
        // The country pass hashes a few hundred thousand rows at a time: in memory, not
        // in batches on disk. Only this transaction gets it.
        tx.batch_execute("SET LOCAL work_mem = '128MB'").await?;
    }
    tx.batch_execute(FOUND_TABLE).await?;
    let everyone = scope.everyone();
    tx.execute(PASS_PEOPLE, &[&everyone]).await?;
    tx.batch_execute("CREATE INDEX ON pass_people (id); ANALYZE pass_people")
        .await?;
    tracing::debug!(target: "store::reconcile::timing", millis = started.elapsed().as_millis() as u64, "pass people ready");
    let facility = scope.facility();
    let judged = rules::rules_for(facility.is_some(), |evidence| match evidence {
        rules::Evidence::Roll => pulled.roll,
        rules::Evidence::Payroll => pulled.payroll,
        rules::Evidence::Gazetteer => pulled.gazetteer,
    });
    for rule in judged {
        let rule_started = std::time::Instant::now();
        let statement = tx.prepare_typed(rule.statement, rules::PARAM_TYPES).await?;
        tx.execute(
            &statement,
            &[
                &rule.kind.as_str(),
                &everyone,
                &facility,
                &pulled.moh,
                &pulled.moeys,
            ],
        )
        .await?;
        tracing::debug!(
            target: "store::reconcile::timing",
            rule = rule.file,
            millis = rule_started.elapsed().as_millis() as u64,
            "rule"
        );
    }
    // Subscribers' events: what opens is told before the merge (after it, a reopened
    // finding looks like one seen again), what resolves as it resolves.
    let told = crate::outbox::finding_events_wanted(tx).await?;
    if told.opened {
        tx.execute(crate::outbox::FINDINGS_OPENED, &[]).await?;
    }
    let row = tx.query_one(MERGE, &[]).await?;
    let opened: i64 = row.get(0);
    let open: i64 = row.get(1);
    let resolved = match scope {
        Scope::Country => resolve(tx, told.resolved, RESOLVE_COUNTRY, &[]).await?,
        Scope::Facility(id) => {
            resolve(
                tx,
                told.resolved,
                RESOLVE_FACILITY,
                &[
                    &id,
                    &format!("roster:{id}:%"),
                    &DiscrepancyKind::OnRollNotServing.as_str(),
                    &DiscrepancyKind::ServingNotOnRoll.as_str(),
                ],
            )
            .await?
        }
        Scope::Changed { .. } | Scope::People => {
            resolve(
                tx,
                told.resolved,
                RESOLVE_CHANGED,
                &[
                    &DiscrepancyKind::FacilityUnplaced.as_str(),
                    &DiscrepancyKind::PaidNotOnRoll.as_str(),
                ],
            )
            .await?
        }
    };
    // Corrections follow the findings in the same transaction.
    let corrections = crate::corrections::refresh(tx).await?;
    tracing::debug!(?corrections, "corrections after the pass");
    let summary = PassSummary {
        open: open as u64,
        opened: opened as u64,
        resolved,
        millis: started.elapsed().as_millis() as u64,
        people,
    };
    match scope {
        Scope::Country => tracing::info!(?summary, "discrepancy pass"),
        Scope::Changed { mark } => {
            tracing::info!(
                ?summary,
                mark,
                "discrepancy pass over the people changed since the mark"
            );
        }
        Scope::Facility(id) => tracing::debug!(%id, ?summary, "facility discrepancy pass"),
        Scope::People => tracing::debug!(?summary, "discrepancy pass over named people"),
    }
    Ok(summary)
}
