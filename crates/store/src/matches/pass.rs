//! The store's side of the matching pass: every staff source record as the matcher
//! compares it, the trained model written down (and read back by an incremental
//! pass), and the pass's outcome applied in one transaction — links merged (unless a
//! person said otherwise), review pairs queued, pairs no longer in doubt let go.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use deadpool_postgres::GenericClient;
use matching::blocking::PersonRecord;
use matching::decide::Thresholds;
use matching::score::{Field, Model};
use schema::{LinkedBy, Ministry};
use serde_json::{Value, json};
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::persons::{self, RecordKey, canonical, pair_id};
use super::{FieldWeight, MatchKind};
use crate::{Store, StoreError};

/// Serialises matching passes, decisions and splits: each moves records between
/// persons, and two at once could each merge a person the other deletes.
pub(crate) const MATCH_LOCK: i64 = 7_236_858_012_434_493_813;

/// Every staff source record held by a person, as the matcher compares it.
#[derive(Debug, Clone, Default)]
pub struct SourceRecords {
    pub keys: Vec<RecordKey>,
    /// The person holding each record.
    pub holders: Vec<Uuid>,
    pub records: Vec<PersonRecord>,
    /// Each record's version: an incremental pass scores the pairs of changed ones.
    pub versions: Vec<i64>,
    /// The holder's admin unit.
    pub units: Vec<Option<String>>,
}

/// A candidate pair the matcher scored, by index into [`SourceRecords`].
#[derive(Debug, Clone)]
pub struct ScoredPair {
    pub left: usize,
    pub right: usize,
    pub weight: f64,
    pub probability: f64,
    pub fields: Vec<FieldWeight>,
    /// `None`: link. `Some(kind)`: review.
    pub review: Option<MatchKind>,
}

impl ScoredPair {
    /// Whether the two records carry one officer id or national id: a link refused
    /// across it is an identifier the engine could not follow.
    fn shares_hard_key(&self) -> bool {
        self.fields
            .iter()
            .any(|f| matches!(f.field.as_str(), "officer_id" | "national_id") && f.level == "equal")
    }
}

/// What a matching pass looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassReach {
    /// Every pair: a pending pair not found again leaves the queue.
    Everything,
    /// The pairs with a record changed after this version.
    ChangedSince(i64),
}

/// What applying a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchingSummary {
    /// Persons merged into another by score.
    pub linked: u64,
    /// Persons merged because a reviewer had said "same".
    pub enforced: u64,
    /// Pairs queued or re-scored in the queue.
    pub queued: u64,
    /// Links refused (a "different" decision, a split, two roll records): queued.
    pub held: u64,
    /// Pending pairs no longer in doubt, out of the queue.
    pub dropped: u64,
}

pub(super) const SOURCE_RECORDS: &str = "WITH place AS (
    SELECT DISTINCT ON (a.staff_id, a.source) a.staff_id, a.source, a.facility_id,
        COALESCE(f.admin_unit_code, a.admin_unit_code) AS commune
    FROM assignments a LEFT JOIN facilities f ON f.id = a.facility_id
    ORDER BY a.staff_id, a.source, (a.end_date IS NULL) DESC, a.start_date DESC NULLS LAST, a.id
)
SELECT r.ministry, r.source_id, r.entity_id, r.version,
    r.report->>'name_km', r.report->>'name_latin', r.report->>'birth_date', r.report->>'sex',
    r.report->>'civil_servant_id', r.report->>'national_id',
    p.facility_id::text, p.commune, s.admin_unit_code
FROM source_reports r
JOIN staff s ON s.id = r.entity_id
LEFT JOIN place p ON p.staff_id = r.entity_id AND p.source = r.ministry
WHERE r.entity_type = 'staff'";

fn sex_letter(s: &str) -> Option<char> {
    schema::Sex::parse(s).ok().map(matching::trust::sex_letter)
}

impl Store {
    /// Every staff source record held by a person, as the matcher compares it: names,
    /// birth date (1 January read as the year alone), sex, the facility and commune
    /// where its source places the person, officer and national ids, and whether the
    /// officer id is on the roll.
    pub async fn source_records(&self) -> Result<SourceRecords, StoreError> {
        // After a first sync the planner knows nothing of the source reports: each
        // merge's lookups by person would scan half an index (40 ms each, not 0.1).
        self.analyze_stale_pass_tables().await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Each person's latest place is a sort of every assignment; in the default
        // 4 MB it spills to disk and takes twice as long.
        tx.execute("SET LOCAL work_mem = '256MB'", &[]).await?;
        let rows = tx.query(SOURCE_RECORDS, &[]).await?;
        tx.commit().await?;
        Ok(read_records(&rows))
    }

    /// Where the last matching pass cut the version sequence, if one ran.
    pub async fn match_mark(&self) -> Result<Option<i64>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT version FROM match_marks", &[])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The newest record version; every record at or below it was read by a pass that
    /// read after this.
    pub async fn newest_version(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM record_version",
                &[],
            )
            .await?;
        Ok(row.get(0))
    }

    /// Writes a trained model down: m, u and weight of every field level, the prior,
    /// the thresholds, and what it was trained on.
    pub async fn save_match_model(
        &self,
        model: &Model,
        thresholds: Thresholds,
        records: usize,
        pairs: usize,
    ) -> Result<(), StoreError> {
        let mut levels = serde_json::Map::new();
        for f in Field::ALL {
            let mut of_field = serde_json::Map::new();
            for (l, name) in f.levels().iter().enumerate() {
                if l + 1 == f.levels().len() {
                    continue; // "missing" weighs nothing
                }
                of_field.insert(
                    (*name).to_owned(),
                    json!({
                        "m": model.m[f as usize][l],
                        "u": model.u[f as usize][l],
                        "weight": model.weight(f, l as u8),
                    }),
                );
            }
            levels.insert(f.name().to_owned(), Value::Object(of_field));
        }
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO match_models (records, pairs, prior, levels, link_at, review_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &(records as i64),
                    &(pairs as i64),
                    &model.prior,
                    &Json(Value::Object(levels)),
                    &thresholds.link,
                    &thresholds.review,
                ],
            )
            .await?;
        Ok(())
    }

    /// The model the last full pass trained, with its thresholds.
    pub async fn latest_match_model(&self) -> Result<Option<(Model, Thresholds)>, StoreError> {
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(
                "SELECT prior, levels, link_at, review_at FROM match_models ORDER BY id DESC LIMIT 1",
                &[],
            )
            .await?
        else {
            return Ok(None);
        };
        let Json(levels): Json<Value> = row.get(1);
        let mut model = Model::initial();
        model.prior = row.get(0);
        for f in Field::ALL {
            for (l, name) in f.levels().iter().enumerate() {
                let level = &levels[f.name()][*name];
                if let (Some(m), Some(u)) = (level["m"].as_f64(), level["u"].as_f64()) {
                    model.m[f as usize][l] = m;
                    model.u[f as usize][l] = u;
                }
            }
        }
        let thresholds = Thresholds {
            link: row.get(2),
            review: row.get(3),
        };
        Ok(Some((model, thresholds)))
    }

    /// Applies a matching pass: merges the persons of linked pairs (never across a
    /// "different" decision between any of their records, a pair a person split, or
    /// two roll records: those wait in the queue), merges the persons of pairs a
    /// reviewer said are one, queues review pairs (a decided pair keeps its decision,
    /// only its score moves), lets go the pending pairs no longer in doubt that no
    /// person touched, and records the version the pass read up to.
    pub async fn apply_matching(
        &self,
        records: &SourceRecords,
        pairs: &[ScoredPair],
        reach: PassReach,
        read_up_to: i64,
    ) -> Result<MatchingSummary, StoreError> {
        let tx = self.begin().await?;
        let client = tx.client()?;
        client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MATCH_LOCK])
            .await?;
        let mut summary = MatchingSummary::default();
        let index: HashMap<&RecordKey, usize> = records
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k, i))
            .collect();
        // Who holds each record now (a decision or split since the records were read
        // may have moved some).
        let mut holders = records.holders.clone();
        let moved = client
            .query(
                "SELECT ministry, source_id, entity_id FROM source_reports
                 WHERE entity_type = 'staff' AND version > $1",
                &[&read_up_to],
            )
            .await?;
        for r in &moved {
            if let Ok(m) = Ministry::parse(r.get(0)) {
                let key = RecordKey::new(m, r.get::<_, String>(1));
                if let (Some(&i), Some(id)) = (index.get(&key), r.get::<_, Option<Uuid>>(2)) {
                    holders[i] = id;
                }
            }
        }
        let existing = stored_pairs(client).await?;

        let mut groups = Groups::default();
        for (i, h) in holders.iter().enumerate() {
            groups.add(*h, records.keys[i].ministry == Ministry::Mcs);
        }
        let holder_of = |k: &RecordKey| index.get(k).map(|&i| holders[i]);
        for p in &existing {
            if p.decision.as_deref() == Some("different")
                && let (Some(a), Some(b)) = (holder_of(&p.left), holder_of(&p.right))
            {
                groups.forbid(a, b);
            }
        }
        // A reviewer's "same" holds whatever the scores say.
        let mut manual: Vec<(Uuid, Uuid, RecordKey, RecordKey)> = Vec::new();
        for p in &existing {
            if p.decision.as_deref() == Some("same")
                && let (Some(a), Some(b)) = (holder_of(&p.left), holder_of(&p.right))
                && groups.find(a) != groups.find(b)
            {
                groups.union(a, b);
                manual.push((a, b, p.left.clone(), p.right.clone()));
                summary.enforced += 1;
            }
        }
        let touched: HashSet<Uuid> = existing
            .iter()
            .filter(|p| p.touched)
            .map(|p| p.id)
            .collect();
        let mut by_weight: Vec<&ScoredPair> = pairs.iter().filter(|p| p.review.is_none()).collect();
        by_weight.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        let mut queued: Vec<(&ScoredPair, MatchKind)> = Vec::new();
        let mut linked: HashMap<RecordKey, f64> = HashMap::new();
        for p in by_weight {
            let (a, b) = (holders[p.left], holders[p.right]);
            if groups.find(a) == groups.find(b) {
                continue;
            }
            let (l, r) = canonical(records.keys[p.left].clone(), records.keys[p.right].clone());
            let id = pair_id(&l, &r);
            if touched.contains(&id) || !groups.may_join(a, b) {
                let kind = if p.shares_hard_key() {
                    MatchKind::IdentifierConflict
                } else if groups.both_on_roll(a, b) {
                    MatchKind::DistinctOfficers
                } else {
                    MatchKind::Uncertain
                };
                queued.push((p, kind));
                summary.held += 1;
                continue;
            }
            groups.union(a, b);
            for k in [p.left, p.right] {
                let w = linked.entry(records.keys[k].clone()).or_insert(p.weight);
                *w = w.max(p.weight);
            }
        }
        for p in pairs {
            if let Some(kind) = p.review {
                queued.push((p, kind));
            }
        }

        // The merges: each group's persons into the one it keeps.
        let now = Utc::now();
        let mut members: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for person in groups.persons() {
            members.entry(groups.find(person)).or_default().push(person);
        }
        let mut decided_by: HashMap<RecordKey, String> = HashMap::new();
        for p in &existing {
            if p.decision.as_deref() == Some("same") {
                let by = p.decided_by.clone().unwrap_or_default();
                decided_by.insert(p.left.clone(), by.clone());
                decided_by.insert(p.right.clone(), by);
            }
        }
        let mut links: HashMap<RecordKey, LinkedBy> = HashMap::new();
        for (k, w) in &linked {
            links.insert(
                k.clone(),
                LinkedBy::Score {
                    weight: *w,
                    at: now,
                },
            );
        }
        for (_, _, l, r) in &manual {
            for k in [l, r] {
                links.insert(
                    k.clone(),
                    LinkedBy::Manual {
                        by: decided_by.get(k).cloned().unwrap_or_default(),
                        at: now,
                    },
                );
            }
        }
        for persons_of in members.values().filter(|m| m.len() > 1) {
            let mut kept = persons_of[0];
            for &other in &persons_of[1..] {
                let (k, absorbed) = persons::keeper(client, kept, other).await?;
                persons::merge_persons(client, k, absorbed, &links).await?;
                kept = k;
                summary.linked += 1;
            }
        }
        summary.linked = summary.linked.saturating_sub(summary.enforced);

        // The queue.
        let mut kept_ids: HashSet<Uuid> = HashSet::new();
        let mut rows = QueueRows::default();
        for (p, kind) in queued {
            let (a, b) = (holders[p.left], holders[p.right]);
            if groups.find(a) == groups.find(b) {
                continue;
            }
            let (lk, rk) = (records.keys[p.left].clone(), records.keys[p.right].clone());
            let unit = records.units[p.left]
                .clone()
                .or_else(|| records.units[p.right].clone());
            let (l, r) = canonical(lk, rk);
            let id = pair_id(&l, &r);
            if !kept_ids.insert(id) {
                continue;
            }
            rows.push(id, &l, &r, kind, p, unit);
        }
        summary.queued = rows.write(client).await?;

        // Pending pairs no longer in doubt leave the queue, unless a person touched them.
        let changed: HashSet<&RecordKey> = match reach {
            PassReach::Everything => HashSet::new(),
            PassReach::ChangedSince(v) => records
                .keys
                .iter()
                .zip(&records.versions)
                .filter(|(_, ver)| **ver > v)
                .map(|(k, _)| k)
                .collect(),
        };
        let stale: Vec<Uuid> = existing
            .iter()
            .filter(|p| p.decision.is_none() && !p.touched && !kept_ids.contains(&p.id))
            .filter(|p| {
                let one_person = match (holder_of(&p.left), holder_of(&p.right)) {
                    (Some(a), Some(b)) => groups.find(a) == groups.find(b),
                    _ => true,
                };
                one_person
                    || reach == PassReach::Everything
                    || changed.contains(&p.left)
                    || changed.contains(&p.right)
            })
            .map(|p| p.id)
            .collect();
        summary.dropped = client
            .execute("DELETE FROM match_pairs WHERE id = ANY($1)", &[&stale])
            .await?;
        client
            .execute(
                "INSERT INTO match_marks (version) VALUES ($1)
                 ON CONFLICT (id) DO UPDATE SET version = greatest(match_marks.version, EXCLUDED.version)",
                &[&read_up_to],
            )
            .await?;
        tx.commit().await?;
        Ok(summary)
    }
}

/// Source records as [`SOURCE_RECORDS`] reads them.
pub(super) fn read_records(rows: &[tokio_postgres::Row]) -> SourceRecords {
    let mut out = SourceRecords::default();
    let mut roll: HashSet<String> = HashSet::new();
    for r in rows {
        let ministry: &str = r.get(0);
        let Ok(ministry) = Ministry::parse(ministry) else {
            continue;
        };
        let csid: Option<String> = r.get(8);
        if ministry == Ministry::Mcs
            && let Some(c) = &csid
        {
            roll.insert(c.clone());
        }
        out.keys
            .push(RecordKey::new(ministry, r.get::<_, String>(1)));
        out.holders.push(r.get(2));
        out.versions.push(r.get(3));
        out.units.push(r.get(12));
        let birth = r
            .get::<_, Option<&str>>(6)
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(matching::trust::birth_date);
        out.records.push(PersonRecord {
            name_km: r.get(4),
            name_latin: r.get(5),
            birth,
            sex: r.get::<_, Option<&str>>(7).and_then(sex_letter),
            facility: r.get(10),
            commune: r.get(11),
            officer_id: csid,
            national_id: r.get(9),
            on_roll: false,
        });
    }
    for rec in &mut out.records {
        rec.on_roll = rec.officer_id.as_ref().is_some_and(|o| roll.contains(o));
    }
    in_key_order(out)
}

/// The records in the order of their keys: the rows come in whatever order the
/// planner's joins give, and training draws its random pairs by position, so without
/// one order two passes over the same records would train two slightly different
/// models and queue slightly different pairs.
fn in_key_order(records: SourceRecords) -> SourceRecords {
    let mut order: Vec<usize> = (0..records.keys.len()).collect();
    order.sort_unstable_by(|&a, &b| records.keys[a].sort_key().cmp(&records.keys[b].sort_key()));
    SourceRecords {
        keys: order.iter().map(|&i| records.keys[i].clone()).collect(),
        holders: order.iter().map(|&i| records.holders[i]).collect(),
        records: order.iter().map(|&i| records.records[i].clone()).collect(),
        versions: order.iter().map(|&i| records.versions[i]).collect(),
        units: order.iter().map(|&i| records.units[i].clone()).collect(),
    }
}

/// A pair as stored, with what the pass needs of it.
pub(crate) struct StoredPair {
    pub id: Uuid,
    pub left: RecordKey,
    pub right: RecordKey,
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub touched: bool,
}

async fn stored_pairs(client: &impl GenericClient) -> Result<Vec<StoredPair>, StoreError> {
    let rows = client
        .query(
            "SELECT id, left_ministry, left_source_id, right_ministry, right_source_id,
                 decision, decided_by, touched FROM match_pairs",
            &[],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (Ok(lm), Ok(rm)) = (Ministry::parse(r.get(1)), Ministry::parse(r.get(3))) else {
            continue;
        };
        out.push(StoredPair {
            id: r.get(0),
            left: RecordKey::new(lm, r.get::<_, String>(2)),
            right: RecordKey::new(rm, r.get::<_, String>(4)),
            decision: r.get(5),
            decided_by: r.get(6),
            touched: r.get(7),
        });
    }
    Ok(out)
}

/// Review pairs to upsert, as column arrays.
#[derive(Default)]
pub(crate) struct QueueRows {
    id: Vec<Uuid>,
    lm: Vec<&'static str>,
    ls: Vec<String>,
    rm: Vec<&'static str>,
    rs: Vec<String>,
    kind: Vec<&'static str>,
    weight: Vec<f64>,
    probability: Vec<f64>,
    fields: Vec<Json<Vec<FieldWeight>>>,
    unit: Vec<Option<String>>,
}

impl QueueRows {
    pub(crate) fn push(
        &mut self,
        id: Uuid,
        l: &RecordKey,
        r: &RecordKey,
        kind: MatchKind,
        p: &ScoredPair,
        unit: Option<String>,
    ) {
        self.id.push(id);
        self.lm.push(l.ministry.as_str());
        self.ls.push(l.source_id.clone());
        self.rm.push(r.ministry.as_str());
        self.rs.push(r.source_id.clone());
        self.kind.push(kind.name());
        self.weight.push(p.weight);
        self.probability.push(p.probability);
        self.fields.push(Json(p.fields.clone()));
        self.unit.push(unit);
    }

    /// Upserts the pairs: new ones pending; one already held keeps its decision (and
    /// the kind it was decided as), its score and fields move.
    pub(crate) async fn write(&self, client: &impl GenericClient) -> Result<u64, StoreError> {
        if self.id.is_empty() {
            return Ok(0);
        }
        Ok(client
            .execute(
                "INSERT INTO match_pairs AS m (id, left_ministry, left_source_id, right_ministry,
                     right_source_id, kind, weight, probability, fields, admin_unit_code)
                 SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::text[], $7::float8[], $8::float8[], $9::jsonb[], $10::text[])
                 ON CONFLICT (left_ministry, left_source_id, right_ministry, right_source_id)
                 DO UPDATE SET weight = EXCLUDED.weight, probability = EXCLUDED.probability,
                     fields = EXCLUDED.fields, scored_at = now(),
                     admin_unit_code = COALESCE(EXCLUDED.admin_unit_code, m.admin_unit_code),
                     kind = CASE WHEN m.decision IS NULL THEN EXCLUDED.kind ELSE m.kind END",
                &[
                    &self.id,
                    &self.lm,
                    &self.ls,
                    &self.rm,
                    &self.rs,
                    &self.kind,
                    &self.weight,
                    &self.probability,
                    &self.fields,
                    &self.unit,
                ],
            )
            .await?)
    }
}

/// Persons grouped as the pass links them (union–find), with what forbids a join: a
/// "different" decision between two of their persons, or a roll record on each side.
#[derive(Default)]
struct Groups {
    parent: HashMap<Uuid, Uuid>,
    roll: HashMap<Uuid, bool>,
    forbidden: HashMap<Uuid, Vec<Uuid>>,
}

impl Groups {
    fn add(&mut self, person: Uuid, on_roll: bool) {
        self.parent.entry(person).or_insert(person);
        *self.roll.entry(person).or_default() |= on_roll;
    }

    fn persons(&self) -> Vec<Uuid> {
        self.parent.keys().copied().collect()
    }

    fn find(&mut self, x: Uuid) -> Uuid {
        let mut root = *self.parent.entry(x).or_insert(x);
        while let Some(&p) = self.parent.get(&root)
            && p != root
        {
            root = p;
        }
        // Path compression.
        let mut cur = x;
        while let Some(&p) = self.parent.get(&cur)
            && p != root
        {
            self.parent.insert(cur, root);
            cur = p;
        }
        root
    }

    fn forbid(&mut self, a: Uuid, b: Uuid) {
        let (ra, rb) = (self.find(a), self.find(b));
        self.forbidden.entry(ra).or_default().push(b);
        self.forbidden.entry(rb).or_default().push(a);
    }

    fn both_on_roll(&mut self, a: Uuid, b: Uuid) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        self.roll.get(&ra).copied().unwrap_or(false) && self.roll.get(&rb).copied().unwrap_or(false)
    }

    /// Whether the engine may join the groups of `a` and `b`.
    fn may_join(&mut self, a: Uuid, b: Uuid) -> bool {
        if self.both_on_roll(a, b) {
            return false;
        }
        let (ra, rb) = (self.find(a), self.find(b));
        let against: Vec<Uuid> = self.forbidden.get(&ra).cloned().unwrap_or_default();
        !against.into_iter().any(|p| self.find(p) == rb)
    }

    fn union(&mut self, a: Uuid, b: Uuid) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        self.parent.insert(rb, ra);
        let roll = self.roll.get(&rb).copied().unwrap_or(false);
        *self.roll.entry(ra).or_default() |= roll;
        if let Some(f) = self.forbidden.remove(&rb) {
            self.forbidden.entry(ra).or_default().extend(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_join_unless_forbidden_or_both_on_the_roll() {
        let (a, b, c, d) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(3),
            Uuid::from_u128(4),
        );
        let mut g = Groups::default();
        g.add(a, true);
        g.add(b, false);
        g.add(c, true);
        g.add(d, false);
        g.forbid(b, d);
        assert!(g.may_join(a, b));
        g.union(a, b);
        // b's group now holds a roll record: c's roll record may not join it.
        assert!(!g.may_join(c, b));
        assert!(g.both_on_roll(a, c));
        // a "different" between b and d holds for the whole group.
        assert!(!g.may_join(a, d));
        assert!(g.may_join(c, d));
        g.union(c, d);
        assert!(!g.may_join(a, d));
        assert_eq!(g.find(b), g.find(a));
        assert_ne!(g.find(a), g.find(c));
    }
}
