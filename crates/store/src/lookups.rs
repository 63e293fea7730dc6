//! The lookups that link a source's records to the registry's, written once for any
//! [`Transaction`]: in a page's own write transaction, or ahead of it in a snapshot.
//! Code that looks up can take `&Transaction<M>` and serve both.

use std::collections::HashMap;

use schema::Staff;
use uuid::Uuid;

use crate::read::{STAFF_COLUMNS, staff_from_row};
use crate::{StoreError, Transaction};

impl<M> Transaction<M> {
    /// The registry ids the given source identifiers (system, value) name, for one
    /// entity type.
    pub async fn lookup_identifiers(
        &self,
        entity_type: &str,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), Uuid>, StoreError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let systems: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        let values: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
        let rows = self
            .client()?
            .query(
                // One index probe per key: as a plain join, the prepared statement's
                // generic plan hashes the whole table instead.
                "SELECT k.system, k.value, si.entity_id
                     FROM unnest($2::text[], $3::text[]) AS k(system, value)
                     CROSS JOIN LATERAL (
                         SELECT entity_id FROM source_identifiers
                         WHERE entity_type = $1 AND system = k.system AND value = k.value
                     ) si",
                &[&entity_type, &systems, &values],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect())
    }

    /// Staff records holding any of these civil-servant or national ids.
    pub async fn staff_by_keys(
        &self,
        civil_servant_ids: &[String],
        national_ids: &[String],
    ) -> Result<Vec<Staff>, StoreError> {
        // One index probe per key (a generic plan of `= ANY(..) OR = ANY(..)` scans far more).
        let sql = format!(
            "SELECT {STAFF_COLUMNS}, '[]'::jsonb FROM staff s WHERE s.id IN (
                     SELECT m.id FROM unnest($1::text[]) AS k(v) CROSS JOIN LATERAL
                         (SELECT id FROM staff WHERE civil_servant_id = k.v) m
                     UNION
                     SELECT m.id FROM unnest($2::text[]) AS k(v) CROSS JOIN LATERAL
                         (SELECT id FROM staff WHERE national_id = k.v) m)"
        );
        let rows = self
            .client()?
            .query(&sql, &[&civil_servant_ids, &national_ids])
            .await?;
        rows.iter()
            .map(|r| staff_from_row(r).map(|s| s.staff))
            .collect()
    }

    /// Staff records by id.
    pub async fn staff_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Staff>, StoreError> {
        let sql = format!("SELECT {STAFF_COLUMNS}, '[]'::jsonb FROM staff s WHERE s.id = ANY($1)");
        let rows = self.client()?.query(&sql, &[&ids]).await?;
        rows.iter()
            .map(|r| staff_from_row(r).map(|s| s.staff))
            .collect()
    }

    /// The communes of facilities, by id.
    pub async fn facility_communes(
        &self,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, String>, StoreError> {
        let rows = self
            .client()?
            .query(
                "SELECT id, admin_unit_code FROM facilities
                 WHERE id = ANY($1) AND admin_unit_code IS NOT NULL",
                &[&ids],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Which of `ministry`'s records `source_ids` a reviewer said are one person with
    /// another record: their hard keys are trusted whatever their names say.
    pub async fn records_decided_same(
        &self,
        ministry: schema::Ministry,
        source_ids: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let rows = self
            .client()?
            .query(
                "SELECT k.id FROM unnest($2::text[]) AS k(id)
                 WHERE EXISTS (SELECT 1 FROM match_pairs m
                     WHERE m.decision = 'same' AND m.left_ministry = $1 AND m.left_source_id = k.id)
                    OR EXISTS (SELECT 1 FROM match_pairs m
                     WHERE m.decision = 'same' AND m.right_ministry = $1 AND m.right_source_id = k.id)",
                &[&ministry.as_str(), &source_ids],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
