//! The review queue of scored pairs: two source records the matcher could not settle
//! (or an identifier it did not trust), kept with their score and each field's part in
//! it, and the decision a person recorded. A pair is named by its two source records
//! (ministry and source id), never by the registry persons holding them, so decisions
//! survive merges, splits and every later sync.

mod pass;
mod persons;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use matching::blocking::PersonRecord;
use schema::{AdminCode, LinkedBy, Ministry};
use tokio_postgres::Row;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

pub use pass::{MatchingSummary, PassReach, ScoredPair, SourceRecords};
pub use persons::RecordKey;

use crate::read::{ASSIGNMENTS_OF_STAFF, STAFF_COLUMNS, staff_from_row};
use crate::{Page, Store, StoreError, StoredStaff};
use pass::{MATCH_LOCK, QueueRows};
use persons::{canonical, pair_id};

/// Why a pair waits for a person: `uncertain`, `identifier_conflict` or
/// `distinct_officers` (the matcher's own reasons, named for the store's callers).
pub use matching::decide::ReviewReason as MatchKind;

/// Which pairs a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MatchStatus {
    /// No person has decided them.
    #[default]
    Pending,
    Decided,
    Any,
}

/// What a reviewer said of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchDecision {
    /// One person: the records are linked.
    Same,
    /// Two people: the engine never links them.
    Different,
}

impl MatchDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchDecision::Same => "same",
            MatchDecision::Different => "different",
        }
    }
}

/// Filters of the queue. `within` is the caller's jurisdiction: a pair is inside it
/// when either record's person is.
#[derive(Debug, Clone, Default)]
pub struct MatchFilter {
    pub status: MatchStatus,
    pub admin_unit: Option<AdminCode>,
    /// Either record comes from this ministry.
    pub ministry: Option<Ministry>,
    pub kind: Option<MatchKind>,
    pub within: Option<AdminCode>,
}

/// One side of a pair: the source record, and the registry person holding it now.
#[derive(Debug, Clone)]
pub struct MatchSide {
    pub ministry: Ministry,
    pub source_id: String,
    /// The person holding the record now (with assignments), if any.
    pub staff: Option<StoredStaff>,
}

/// One field's part in the score: its comparison level and match weight. No personal
/// values: the records themselves are shown beside it, masked by scope.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldWeight {
    pub field: String,
    pub level: String,
    pub weight: f64,
}

/// A recorded decision.
#[derive(Debug, Clone)]
pub struct StoredDecision {
    pub decision: MatchDecision,
    pub note: Option<String>,
    /// The client (token subject) that decided.
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

/// A pair in the queue.
#[derive(Debug, Clone)]
pub struct StoredMatch {
    pub id: Uuid,
    /// Why it waits: `uncertain`, `identifier_conflict` or `distinct_officers`.
    pub kind: String,
    pub left: MatchSide,
    pub right: MatchSide,
    /// The total match weight (log2 odds) at the last scoring, and its probability.
    pub weight: f64,
    pub probability: f64,
    pub fields: Vec<FieldWeight>,
    /// The admin unit of the pair (either person's), for jurisdiction.
    pub admin_unit_code: Option<String>,
    pub decision: Option<StoredDecision>,
    pub first_seen: DateTime<Utc>,
    /// When the pair was last scored (a change of either record re-scores it).
    pub scored_at: DateTime<Utc>,
}

/// What a split did.
#[derive(Debug, Clone)]
pub struct SplitOutcome {
    /// The person the record left.
    pub staff_id: Uuid,
    /// The person the record now is, on its own.
    pub detached_to: Uuid,
    /// The pair of the detached record and the person it left, re-scored and pending.
    pub match_id: Option<Uuid>,
}

impl Store {
    /// The queue, keyset-paged by id.
    pub async fn list_matches(
        &self,
        filter: &MatchFilter,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Page<StoredMatch, Uuid>, StoreError> {
        let mut conditions: Vec<String> = match filter.status {
            MatchStatus::Pending => vec!["m.decision IS NULL".into()],
            MatchStatus::Decided => vec!["m.decision IS NOT NULL".into()],
            MatchStatus::Any => vec![],
        };
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        // A condition's `$?` (every occurrence) is its one parameter.
        let mut push = |sql: &str, value: Box<dyn ToSql + Sync + Send>| {
            params.push(value);
            conditions.push(sql.replace("$?", &format!("${}", params.len())));
        };
        // Codes are digits only: a prefix pattern needs no escaping.
        for code in [&filter.admin_unit, &filter.within].into_iter().flatten() {
            push(
                "(pl.admin_unit_code LIKE $? OR pr.admin_unit_code LIKE $?)",
                Box::new(format!("{}%", code.as_str())),
            );
        }
        if let Some(m) = filter.ministry {
            push(
                "(m.left_ministry = $? OR m.right_ministry = $?)",
                Box::new(m.as_str().to_owned()),
            );
        }
        if let Some(k) = filter.kind {
            push("m.kind = $?", Box::new(k.name().to_owned()));
        }
        if let Some(a) = after {
            push("m.id > $?", Box::new(a));
        }
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!("{PAIRS} {where_clause} ORDER BY m.id LIMIT {}", limit + 1);
        let client = self.client().await?;
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = client.query(&sql, &refs).await?;
        let more = rows.len() > limit;
        let items = with_persons(&client, &rows[..rows.len().min(limit)]).await?;
        let next_after = if more {
            items.last().map(|m| m.id)
        } else {
            None
        };
        Ok(Page { items, next_after })
    }

    /// One pair, whatever its status.
    pub async fn get_match(&self, id: Uuid) -> Result<Option<StoredMatch>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(&format!("{PAIRS} WHERE m.id = $1"), &[&id])
            .await?;
        Ok(with_persons(&client, &rows).await?.pop())
    }

    /// Records a person's decision on a pending pair, in one transaction with its
    /// effect: `Same` links the two records' persons into one (provenance: manual, by
    /// whom, when), `Different` keeps them apart for good. Then the findings of the
    /// two persons are computed again. `None` if no such pair;
    /// [`StoreError::MatchDecided`] if it was decided before.
    pub async fn decide_match(
        &self,
        id: Uuid,
        decision: MatchDecision,
        note: Option<&str>,
        decided_by: &str,
    ) -> Result<Option<StoredMatch>, StoreError> {
        let tx = self.begin().await?;
        let client = tx.client()?;
        client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MATCH_LOCK])
            .await?;
        let Some(row) = client
            .query_opt(
                "SELECT left_ministry, left_source_id, right_ministry, right_source_id, decision
                 FROM match_pairs WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?
        else {
            return Ok(None);
        };
        if row.get::<_, Option<String>>(4).is_some() {
            return Err(StoreError::MatchDecided(id));
        }
        let decided_at: DateTime<Utc> = client.query_one("SELECT now()", &[]).await?.get(0);
        client
            .execute(
                "UPDATE match_pairs SET decision = $2, note = $3, decided_by = $4,
                     decided_at = $5, touched = true
                 WHERE id = $1",
                &[&id, &decision.as_str(), &note, &decided_by, &decided_at],
            )
            .await?;
        let left = RecordKey::new(ministry_of(&row, 0)?, row.get::<_, String>(1));
        let right = RecordKey::new(ministry_of(&row, 2)?, row.get::<_, String>(3));
        let (a, b) = (
            persons::holder(client, &left).await?,
            persons::holder(client, &right).await?,
        );
        if decision == MatchDecision::Same
            && let (Some(a), Some(b)) = (a, b)
            && a != b
        {
            let (kept, absorbed) = persons::keeper(client, a, b).await?;
            // The records that join the kept person are marked as a reviewer's link.
            let mut links = HashMap::new();
            for key in persons::records_of(client, absorbed).await? {
                links.insert(
                    key,
                    LinkedBy::Manual {
                        by: decided_by.to_owned(),
                        at: decided_at,
                    },
                );
            }
            persons::merge_persons(client, kept, absorbed, &links).await?;
        }
        tx.commit().await?;
        // The two persons' findings follow at once: a possible duplicate no longer
        // waits, and one person's records now answer for each other.
        // The decision stands even if this fails: the next pass recomputes them.
        let people: Vec<Uuid> = [a, b].into_iter().flatten().collect();
        if let Err(e) = self.reconcile_people(&people).await {
            tracing::warn!(error = %e, %id, "findings after a review decision wait for the next pass");
        }
        self.get_match(id).await
    }

    /// Undoes a link: detaches the source record `(ministry, source_id)` from person
    /// `staff_id` into a person of its own, rebuilds both from what their sources
    /// said, and re-scores the pair, which waits for review again. `None` if no such
    /// person; [`StoreError::NotOnPerson`] if the record is not one of its records,
    /// [`StoreError::LastRecord`] if it is its only one.
    pub async fn split_staff(
        &self,
        staff_id: Uuid,
        ministry: Ministry,
        source_id: &str,
        by: &str,
    ) -> Result<Option<SplitOutcome>, StoreError> {
        let model = self.latest_match_model().await?;
        let tx = self.begin().await?;
        let client = tx.client()?;
        client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MATCH_LOCK])
            .await?;
        if client
            .query_opt("SELECT 1 FROM staff WHERE id = $1", &[&staff_id])
            .await?
            .is_none()
        {
            return Ok(None);
        }
        let key = RecordKey::new(ministry, source_id);
        let held = persons::records_of(client, staff_id).await?;
        if !held.contains(&key) {
            return Err(StoreError::NotOnPerson {
                staff_id,
                ministry: ministry.to_string(),
                source_id: source_id.to_owned(),
            });
        }
        if held.len() < 2 {
            return Err(StoreError::LastRecord {
                staff_id,
                ministry: ministry.to_string(),
                source_id: source_id.to_owned(),
            });
        }
        let detached_to = persons::detach(client, staff_id, &key).await?;
        let others: Vec<RecordKey> = held.into_iter().filter(|k| *k != key).collect();
        // A "same" between the record and those it leaves would join them again: each
        // such pair waits for review again, touched, so the engine never links it.
        let mut ids = Vec::new();
        for other in &others {
            let (l, r) = canonical(key.clone(), other.clone());
            ids.push(pair_id(&l, &r));
        }
        client
            .execute(
                "UPDATE match_pairs SET decision = NULL, note = NULL, decided_by = NULL,
                     decided_at = NULL, touched = true
                 WHERE id = ANY($1) AND decision = 'same'",
                &[&ids],
            )
            .await?;
        // The pair of the record and the closest record it left, scored again.
        let mut keys = vec![key.clone()];
        keys.extend(others.iter().cloned());
        let records = records_by_key(client, &keys).await?;
        let (model, thresholds) = model.unwrap_or_else(|| {
            (
                matching::score::Model::initial(),
                matching::decide::Thresholds::default(),
            )
        });
        let all: Vec<PersonRecord> = records.values().cloned().collect();
        let linker = matching::linkage::Linker::new(model, thresholds, &all);
        let mut best: Option<(f64, RecordKey, ScoredPair)> = None;
        if let Some(mine) = records.get(&key) {
            for other in &others {
                let Some(theirs) = records.get(other) else {
                    continue;
                };
                let score = linker.explain(mine, theirs);
                let assessment = linker.assess(mine, theirs);
                let pair = ScoredPair {
                    left: 0,
                    right: 1,
                    weight: score.weight,
                    probability: score.probability,
                    fields: field_weights(&score),
                    review: Some(match assessment.decision {
                        matching::decide::Decision::Review(kind) => kind,
                        _ => MatchKind::Uncertain,
                    }),
                };
                if best.as_ref().is_none_or(|(w, _, _)| score.weight > *w) {
                    best = Some((score.weight, other.clone(), pair));
                }
            }
        }
        let mut match_id = None;
        if let Some((_, other, pair)) = best {
            let unit: Option<String> = client
                .query_opt(
                    "SELECT admin_unit_code FROM staff WHERE id = $1",
                    &[&staff_id],
                )
                .await?
                .and_then(|r| r.get(0));
            let (l, r) = canonical(key.clone(), other);
            let id = pair_id(&l, &r);
            let mut rows = QueueRows::default();
            rows.push(
                id,
                &l,
                &r,
                pair.review.unwrap_or(MatchKind::Uncertain),
                &pair,
                unit,
            );
            rows.write(client).await?;
            client
                .execute(
                    "UPDATE match_pairs SET touched = true, decision = NULL, note = NULL,
                         decided_by = NULL, decided_at = NULL
                     WHERE id = $1",
                    &[&id],
                )
                .await?;
            match_id = Some(id);
        }
        tracing::info!(%staff_id, %ministry, source_id, by, %detached_to, "record split from person");
        tx.commit().await?;
        if let Err(e) = self.reconcile_people(&[staff_id, detached_to]).await {
            tracing::warn!(error = %e, %staff_id, "findings after a split wait for the next pass");
        }
        Ok(Some(SplitOutcome {
            staff_id,
            detached_to,
            match_id,
        }))
    }
}

/// Each field's part in a score, as the queue keeps it.
pub fn field_weights(score: &matching::score::Score) -> Vec<FieldWeight> {
    score
        .fields
        .iter()
        .map(|f| FieldWeight {
            field: f.field.name().to_owned(),
            level: f.level.to_owned(),
            weight: (f.weight * 100.0).round() / 100.0,
        })
        .collect()
}

/// A pair with the persons holding its records.
const PAIRS: &str = "SELECT m.id, m.kind, m.left_ministry, m.left_source_id, m.right_ministry,
    m.right_source_id, m.weight, m.probability, m.fields, m.admin_unit_code, m.decision,
    m.note, m.decided_by, m.decided_at, m.first_seen, m.scored_at, rl.entity_id, rr.entity_id
FROM match_pairs m
LEFT JOIN source_reports rl ON rl.entity_type = 'staff' AND rl.ministry = m.left_ministry
    AND rl.source_id = m.left_source_id
LEFT JOIN source_reports rr ON rr.entity_type = 'staff' AND rr.ministry = m.right_ministry
    AND rr.source_id = m.right_source_id
LEFT JOIN staff pl ON pl.id = rl.entity_id
LEFT JOIN staff pr ON pr.id = rr.entity_id";

fn ministry_of(row: &Row, idx: usize) -> Result<Ministry, StoreError> {
    let text: &str = row.get(idx);
    Ministry::parse(text).map_err(|e| StoreError::corrupt("match_pairs", text, e))
}

/// The pairs of `rows` (read by [`PAIRS`]), with their persons and assignments.
async fn with_persons(
    client: &deadpool_postgres::Object,
    rows: &[Row],
) -> Result<Vec<StoredMatch>, StoreError> {
    let ids: Vec<Uuid> = rows
        .iter()
        .flat_map(|r| [r.get::<_, Option<Uuid>>(16), r.get::<_, Option<Uuid>>(17)])
        .flatten()
        .collect();
    let staff_rows = client
        .query(
            &format!(
                "SELECT {STAFF_COLUMNS}, {ASSIGNMENTS_OF_STAFF} FROM staff s WHERE s.id = ANY($1)"
            ),
            &[&ids],
        )
        .await?;
    let mut staff: HashMap<Uuid, StoredStaff> = HashMap::new();
    for r in &staff_rows {
        let s = staff_from_row(r)?;
        staff.insert(s.staff.id, s);
    }
    rows.iter()
        .map(|r| {
            let id: Uuid = r.get(0);
            let Json(fields): Json<Vec<FieldWeight>> = r
                .try_get(8)
                .map_err(|e| StoreError::corrupt("match_pairs", id, e))?;
            let decision = r.get::<_, Option<&str>>(10).map(|d| StoredDecision {
                decision: if d == "same" {
                    MatchDecision::Same
                } else {
                    MatchDecision::Different
                },
                note: r.get(11),
                decided_by: r.get::<_, Option<String>>(12).unwrap_or_default(),
                decided_at: r.get::<_, Option<DateTime<Utc>>>(13).unwrap_or_default(),
            });
            let side = |m: usize, s: usize, holder: usize| -> Result<MatchSide, StoreError> {
                Ok(MatchSide {
                    ministry: ministry_of(r, m)?,
                    source_id: r.get(s),
                    staff: r
                        .get::<_, Option<Uuid>>(holder)
                        .and_then(|h| staff.get(&h).cloned()),
                })
            };
            Ok(StoredMatch {
                id,
                kind: r.get(1),
                left: side(2, 3, 16)?,
                right: side(4, 5, 17)?,
                weight: r.get(6),
                probability: r.get(7),
                fields,
                admin_unit_code: r.get(9),
                decision,
                first_seen: r.get(14),
                scored_at: r.get(15),
            })
        })
        .collect()
}

/// The person records of these source records, as the matching pass reads them.
async fn records_by_key(
    client: &impl deadpool_postgres::GenericClient,
    keys: &[RecordKey],
) -> Result<HashMap<RecordKey, PersonRecord>, StoreError> {
    let ministries: Vec<&str> = keys.iter().map(|k| k.ministry.as_str()).collect();
    let ids: Vec<&str> = keys.iter().map(|k| k.source_id.as_str()).collect();
    let rows = client
        .query(
            &format!(
                "{} AND (r.ministry, r.source_id) IN
                     (SELECT * FROM unnest($1::text[], $2::text[]))",
                pass::SOURCE_RECORDS
            ),
            &[&ministries, &ids],
        )
        .await?;
    let records = pass::read_records(&rows);
    Ok(records.keys.into_iter().zip(records.records).collect())
}
