//! Reading the findings and the reports built on them: discrepancies with filters and
//! keyset paging, coverage per administrative unit, and facilities transferred to
//! district administrations with who serves there. Every query takes the caller's
//! jurisdiction and keeps to it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schema::{AdminCode, AdminLevel, DiscrepancyKind, Explanation, FindingState, Ministry, Period};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::triage::FindingReview;
use crate::{Page, Store, StoreError};

/// Open, resolved, or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FindingStatus {
    #[default]
    Open,
    Resolved,
    Any,
}

#[derive(Debug, Clone, Default)]
pub struct DiscrepancyFilter {
    pub kind: Option<DiscrepancyKind>,
    pub ministry: Option<Ministry>,
    pub admin_unit: Option<AdminCode>,
    pub facility_id: Option<Uuid>,
    pub status: FindingStatus,
    pub within: Option<AdminCode>,
    /// Findings in this state (what people said, or resolved by the sources).
    pub state: Option<FindingState>,
    /// Findings whose last action was this client's.
    pub held_by: Option<String>,
}

/// A person a finding is about.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct StaffRef {
    pub id: Uuid,
    pub civil_servant_id: Option<String>,
    pub name_km: String,
    pub name_latin: Option<String>,
}

/// A facility a finding is about.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct FacilityRef {
    pub id: Uuid,
    pub name_km: String,
    pub name_latin: Option<String>,
    pub identifiers: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct StoredDiscrepancy {
    pub id: Uuid,
    pub kind: String,
    pub subject: String,
    pub staff: Vec<StaffRef>,
    pub facility: Option<FacilityRef>,
    pub admin_unit_code: Option<String>,
    pub sources: Vec<String>,
    pub evidence: serde_json::Value,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub review: FindingReview,
}

impl StoredDiscrepancy {
    /// Resolved by the sources, else what people said, else open.
    pub fn state(&self) -> FindingState {
        self.review.visible_state(self.resolved_at.is_some())
    }
}

/// One administrative unit's line of the coverage report.
#[derive(Debug, Clone)]
pub struct CoverageLine {
    pub code: String,
    pub name_km: String,
    pub name_latin: Option<String>,
    pub health_facilities: u64,
    pub education_facilities: u64,
    pub health_reporting: u64,
    pub education_reporting: u64,
    pub staff_on_roll: u64,
    pub staff_confirmed_serving: u64,
    pub people_reported_serving: u64,
    pub open_discrepancies: BTreeMap<String, u64>,
    /// Unresolved findings by state: `open`, `acknowledged`, `explained`, `confirmed`.
    pub findings_by_state: BTreeMap<String, u64>,
}

/// A facility run by a district administration, and who serves there.
#[derive(Debug, Clone)]
pub struct TransferredFacility {
    pub district_code: String,
    pub district_name_km: Option<String>,
    pub district_name_latin: Option<String>,
    pub facility_id: Uuid,
    pub name_km: String,
    pub name_latin: Option<String>,
    pub sector: String,
    pub kind: String,
    pub admin_unit_code: Option<String>,
    pub identifiers: serde_json::Value,
    pub staff: Vec<ServingStaff>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct ServingStaff {
    pub id: Uuid,
    pub civil_servant_id: Option<String>,
    pub name_km: String,
    pub name_latin: Option<String>,
    pub role: Option<String>,
    /// The ministries that place the person here.
    pub placed_by: Vec<String>,
    /// What the facility's latest roster says: present, absent, or not listed (none).
    pub roster: Option<String>,
}

const DISCREPANCY_COLUMNS: &str = "d.id, d.kind, d.subject, d.admin_unit_code, d.sources, d.evidence,
    d.first_seen, d.last_seen, d.resolved_at,
    COALESCE((SELECT jsonb_agg(jsonb_build_object('id', s.id, 'civil_servant_id', s.civil_servant_id,
                                                  'name_km', s.name_km, 'name_latin', s.name_latin)
                               ORDER BY s.civil_servant_id, s.id)
              FROM staff s WHERE s.id = ANY(d.staff_ids)), '[]'::jsonb),
    (SELECT jsonb_build_object('id', f.id, 'name_km', f.name_km, 'name_latin', f.name_latin,
                               'identifiers', f.identifiers)
       FROM facilities f WHERE f.id = d.facility_id),
    d.review_state, d.held_by, d.explanation, d.explained_ministry, d.review_note,
    d.reviewed_at, d.reopened_because, d.review_version";

impl Store {
    pub async fn list_discrepancies(
        &self,
        filter: &DiscrepancyFilter,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Page<StoredDiscrepancy, Uuid>, StoreError> {
        let mut sql = vec!["true".to_owned()];
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        fn push(
            sql: &mut Vec<String>,
            params: &mut Vec<Box<dyn ToSql + Sync + Send>>,
            cond: &str,
            value: Box<dyn ToSql + Sync + Send>,
        ) {
            params.push(value);
            sql.push(cond.replace("$?", &format!("${}", params.len())));
        }
        if let Some(kind) = filter.kind {
            push(
                &mut sql,
                &mut params,
                "d.kind = $?",
                Box::new(kind.as_str().to_owned()),
            );
        }
        if let Some(m) = filter.ministry {
            let m = m.as_str().to_owned();
            push(&mut sql, &mut params, "$? = ANY(d.sources)", Box::new(m));
        }
        for code in [&filter.admin_unit, &filter.within].into_iter().flatten() {
            let prefix = format!("{}%", code.as_str());
            push(
                &mut sql,
                &mut params,
                "d.admin_unit_code LIKE $?",
                Box::new(prefix),
            );
        }
        if let Some(f) = filter.facility_id {
            push(&mut sql, &mut params, "d.facility_id = $?", Box::new(f));
        }
        match filter.state {
            None => {}
            Some(FindingState::Resolved) => sql.push("d.resolved_at IS NOT NULL".to_owned()),
            Some(FindingState::Open) => {
                sql.push("d.resolved_at IS NULL AND d.review_state IS NULL".to_owned())
            }
            Some(s) => push(
                &mut sql,
                &mut params,
                "d.resolved_at IS NULL AND d.review_state = $?",
                Box::new(s.as_str().to_owned()),
            ),
        }
        if let Some(h) = &filter.held_by {
            push(&mut sql, &mut params, "d.held_by = $?", Box::new(h.clone()));
        }
        match filter.status {
            FindingStatus::Open => sql.push("d.resolved_at IS NULL".to_owned()),
            FindingStatus::Resolved => sql.push("d.resolved_at IS NOT NULL".to_owned()),
            FindingStatus::Any => {}
        }
        if let Some(a) = after {
            push(&mut sql, &mut params, "d.id > $?", Box::new(a));
        }
        push(&mut sql, &mut params, "true", Box::new((limit + 1) as i64));
        let n = params.len();
        let query = format!(
            "SELECT {DISCREPANCY_COLUMNS} FROM discrepancies d WHERE {} ORDER BY d.id LIMIT ${n}",
            sql.join(" AND ")
        );
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let client = self.client().await?;
        let rows = client.query(&query, &refs).await?;
        let mut items = rows
            .iter()
            .map(discrepancy_of)
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|d| d.id)
        } else {
            None
        };
        Ok(Page { items, next_after })
    }

    pub async fn get_discrepancy(
        &self,
        id: Uuid,
        within: Option<&AdminCode>,
    ) -> Result<Option<StoredDiscrepancy>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {DISCREPANCY_COLUMNS} FROM discrepancies d
                     WHERE d.id = $1 AND ($2::text IS NULL OR d.admin_unit_code LIKE $2 || '%')"
                ),
                &[&id, &within.map(AdminCode::as_str)],
            )
            .await?;
        row.as_ref().map(discrepancy_of).transpose()
    }

    /// Open findings by kind, over the whole registry.
    pub async fn open_discrepancy_counts(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT kind, count(*) FROM discrepancies WHERE resolved_at IS NULL GROUP BY kind",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    /// Coverage of `period` for each unit of `level` (inside `parent` when given),
    /// counting only what lies inside `within`.
    pub async fn coverage(
        &self,
        level: AdminLevel,
        period: Period,
        parent: Option<&AdminCode>,
        within: Option<&AdminCode>,
    ) -> Result<Vec<CoverageLine>, StoreError> {
        let len: i32 = match level {
            AdminLevel::Province => 2,
            AdminLevel::District => 4,
            AdminLevel::Commune => 6,
            AdminLevel::Village => 8,
        };
        let level_name = level.as_str();
        let scope = within.map(|c| format!("{}%", c.as_str()));
        let parent = parent.map(|c| format!("{}%", c.as_str()));
        let within_code = within.map(|c| c.as_str().to_owned());
        let client = self.client().await?;
        let rows = client
            .query(
                "WITH units AS (
                    SELECT code, name_km, name_latin FROM admin_units
                    WHERE level = $1 AND ($2::text IS NULL OR code LIKE $2)
                      AND ($3::text IS NULL OR code LIKE $3 OR $4 LIKE code || '%')
                 ), period_rosters AS (
                    SELECT DISTINCT ON (facility_id) id, facility_id FROM rosters
                    WHERE period = $5 ORDER BY facility_id, seq DESC
                 ), per_facility AS (
                    SELECT left(f.admin_unit_code, $6) AS unit, f.sector, r.id IS NOT NULL AS reporting,
                        (SELECT count(*) FROM assignments a JOIN roll o ON o.staff_id = a.staff_id
                           JOIN staff s ON s.id = a.staff_id AND s.status = 'active'
                          WHERE a.facility_id = f.id AND a.source = 'mcs' AND a.end_date IS NULL) AS on_roll,
                        (SELECT count(DISTINCT e.staff_id) FROM roster_entries e
                           JOIN assignments a ON a.staff_id = e.staff_id AND a.source = 'mcs'
                                AND a.facility_id = f.id AND a.end_date IS NULL
                          WHERE e.roster_id = r.id AND e.present) AS confirmed,
                        (SELECT count(*) FROM roster_entries e WHERE e.roster_id = r.id AND e.present) AS reported
                    FROM facilities f LEFT JOIN period_rosters r ON r.facility_id = f.id
                    WHERE f.status = 'open' AND f.admin_unit_code IS NOT NULL
                      AND ($3::text IS NULL OR f.admin_unit_code LIKE $3)
                 ), totals AS (
                    SELECT unit,
                        count(*) FILTER (WHERE sector = 'health') AS health,
                        count(*) FILTER (WHERE sector = 'education') AS education,
                        count(*) FILTER (WHERE sector = 'health' AND reporting) AS health_reporting,
                        count(*) FILTER (WHERE sector = 'education' AND reporting) AS education_reporting,
                        sum(on_roll) AS on_roll, sum(confirmed) AS confirmed, sum(reported) AS reported
                    FROM per_facility GROUP BY unit
                 ), findings AS (
                    SELECT unit, jsonb_object_agg(kind, n) AS by_kind FROM (
                        SELECT left(admin_unit_code, $6) AS unit, kind, count(*) AS n
                        FROM discrepancies
                        WHERE resolved_at IS NULL AND admin_unit_code IS NOT NULL
                          AND ($3::text IS NULL OR admin_unit_code LIKE $3)
                        GROUP BY 1, 2) k
                    GROUP BY unit
                 ), states AS (
                    SELECT unit, jsonb_object_agg(state, n) AS by_state FROM (
                        SELECT left(admin_unit_code, $6) AS unit,
                            COALESCE(review_state, 'open') AS state, count(*) AS n
                        FROM discrepancies
                        WHERE resolved_at IS NULL AND admin_unit_code IS NOT NULL
                          AND ($3::text IS NULL OR admin_unit_code LIKE $3)
                        GROUP BY 1, 2) s
                    GROUP BY unit
                 )
                 SELECT u.code, u.name_km, u.name_latin,
                    COALESCE(t.health, 0), COALESCE(t.education, 0),
                    COALESCE(t.health_reporting, 0), COALESCE(t.education_reporting, 0),
                    COALESCE(t.on_roll, 0)::bigint, COALESCE(t.confirmed, 0)::bigint,
                    COALESCE(t.reported, 0)::bigint, COALESCE(k.by_kind, '{}'::jsonb),
                    COALESCE(st.by_state, '{}'::jsonb)
                 FROM units u
                 LEFT JOIN totals t ON t.unit = u.code
                 LEFT JOIN findings k ON k.unit = u.code
                 LEFT JOIN states st ON st.unit = u.code
                 ORDER BY u.code",
                &[
                    &level_name,
                    &parent,
                    &scope,
                    &within_code,
                    &period.to_string(),
                    &len,
                ],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let by_kind: serde_json::Value = r.get(10);
                let open_discrepancies = serde_json::from_value(by_kind)
                    .map_err(|e| StoreError::corrupt("discrepancies", "counts", e))?;
                let by_state: serde_json::Value = r.get(11);
                let mut findings_by_state: BTreeMap<String, u64> = serde_json::from_value(by_state)
                    .map_err(|e| StoreError::corrupt("discrepancies", "states", e))?;
                for s in ["open", "acknowledged", "explained", "confirmed"] {
                    findings_by_state.entry(s.to_owned()).or_insert(0);
                }
                let n = |i: usize| r.get::<_, i64>(i) as u64;
                Ok(CoverageLine {
                    code: r.get(0),
                    name_km: r.get(1),
                    name_latin: r.get(2),
                    health_facilities: n(3),
                    education_facilities: n(4),
                    health_reporting: n(5),
                    education_reporting: n(6),
                    staff_on_roll: n(7),
                    staff_confirmed_serving: n(8),
                    people_reported_serving: n(9),
                    open_discrepancies,
                    findings_by_state,
                })
            })
            .collect()
    }

    /// Facilities whose function was transferred to a district administration (all, or
    /// `district`'s), with who serves there, inside `within`.
    pub async fn transfers(
        &self,
        district: Option<&AdminCode>,
        within: Option<&AdminCode>,
    ) -> Result<Vec<TransferredFacility>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT f.managed_by, u.name_km, u.name_latin, f.id, f.name_km, f.name_latin,
                    f.sector, f.kind, f.admin_unit_code, f.identifiers,
                    COALESCE((SELECT jsonb_agg(x ORDER BY x->>'civil_servant_id', x->>'id') FROM (
                        SELECT jsonb_build_object('id', s.id, 'civil_servant_id', s.civil_servant_id,
                            'name_km', s.name_km, 'name_latin', s.name_latin,
                            'role', max(NULLIF(a.role, '')),
                            'placed_by', array_agg(DISTINCT a.source ORDER BY a.source),
                            'roster', CASE WHEN cr.id IS NULL THEN NULL
                                WHEN bool_or(e.present) THEN 'present'
                                WHEN count(e.idx) > 0 THEN 'absent'
                                ELSE 'not_listed' END) AS x
                        FROM assignments a JOIN staff s ON s.id = a.staff_id
                        LEFT JOIN roster_entries e ON e.roster_id = cr.id AND e.staff_id = s.id
                        WHERE a.facility_id = f.id AND a.end_date IS NULL
                        GROUP BY s.id) y), '[]'::jsonb)
                 FROM facilities f
                 LEFT JOIN admin_units u ON u.code = f.managed_by
                 LEFT JOIN current_rosters cr ON cr.facility_id = f.id
                 WHERE f.managed_by ~ '^[0-9]+$'
                   AND ($1::text IS NULL OR f.managed_by = $1)
                   AND ($2::text IS NULL OR f.managed_by LIKE $2 || '%'
                        OR f.admin_unit_code LIKE $2 || '%')
                 ORDER BY f.managed_by, f.id",
                &[&district.map(AdminCode::as_str), &within.map(AdminCode::as_str)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id: Uuid = r.get(3);
                let staff: serde_json::Value = r.get(10);
                Ok(TransferredFacility {
                    district_code: r.get(0),
                    district_name_km: r.get(1),
                    district_name_latin: r.get(2),
                    facility_id: id,
                    name_km: r.get(4),
                    name_latin: r.get(5),
                    sector: r.get(6),
                    kind: r.get(7),
                    admin_unit_code: r.get(8),
                    identifiers: r.get(9),
                    staff: serde_json::from_value(staff)
                        .map_err(|e| StoreError::corrupt("facilities", id, e))?,
                })
            })
            .collect()
    }
}

fn discrepancy_of(r: &tokio_postgres::Row) -> Result<StoredDiscrepancy, StoreError> {
    let id: Uuid = r.get(0);
    let staff: serde_json::Value = r.get(9);
    let facility: Option<serde_json::Value> = r.get(10);
    Ok(StoredDiscrepancy {
        id,
        kind: r.get(1),
        subject: r.get(2),
        admin_unit_code: r.get(3),
        sources: r.get(4),
        evidence: r.get(5),
        first_seen: r.get(6),
        last_seen: r.get(7),
        resolved_at: r.get(8),
        staff: serde_json::from_value(staff)
            .map_err(|e| StoreError::corrupt("discrepancies", id, e))?,
        facility: facility
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| StoreError::corrupt("discrepancies", id, e))?,
        review: FindingReview {
            state: r
                .get::<_, Option<String>>(11)
                .as_deref()
                .and_then(FindingState::from_name),
            held_by: r.get(12),
            explanation: r
                .get::<_, Option<String>>(13)
                .as_deref()
                .and_then(Explanation::from_name),
            ministry: r
                .get::<_, Option<String>>(14)
                .as_deref()
                .and_then(Ministry::from_name),
            note: r.get(15),
            at: r.get(16),
            reopened_because: r.get(17),
            version: r.get(18),
        },
    })
}
