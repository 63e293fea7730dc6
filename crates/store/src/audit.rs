//! The append-only, hash-chained audit log of access to personal data.
//!
//! Entry `n` stores `hash_n = SHA-256(hash_{n-1} || "\n" || canonical_n)`, where
//! `canonical_n` is the entry's content as JSON with a fixed field order. Editing an
//! entry changes its hash; removing one breaks the link from the next. Appends take a
//! transaction-scoped advisory lock, so gateway replicas sharing one database extend
//! one chain.

use chrono::{DateTime, SubsecRound, Utc};
use futures_util::{StreamExt, pin_mut};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::{Store, StoreError};

/// The hash before the first entry.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The advisory lock key that serialises appends (ASCII "audit").
const APPEND_LOCK: i64 = 0x61_75_64_69_74;

/// One access to personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub request_id: String,
    /// The token's `sub`.
    pub client: String,
    pub route: String,
    pub query: String,
    pub status: u16,
    /// The staff records the response carried.
    pub record_ids: Vec<Uuid>,
}

/// What checking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerdict {
    Intact { entries: u64 },
    Broken { seq: i64, reason: String },
}

#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    at: String,
    request_id: &'a str,
    client: &'a str,
    route: &'a str,
    query: &'a str,
    status: u16,
    record_ids: &'a [Uuid],
}

fn entry_hash(prev_hash: &str, seq: i64, e: &AuditEntry) -> String {
    let canonical = Canonical {
        seq,
        at: e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        request_id: &e.request_id,
        client: &e.client,
        route: &e.route,
        query: &e.query,
        status: e.status,
        record_ids: &e.record_ids,
    };
    // Serialising a struct of strings and numbers cannot fail.
    let json = serde_json::to_string(&canonical).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(json.as_bytes());
    hex::encode(h.finalize())
}

impl Store {
    /// Appends entries, in order, to the chain: one transaction, one insert.
    pub async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK]).await?;
        let last = tx
            .query_opt("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", &[])
            .await?;
        let (mut seq, mut prev): (i64, String) =
            last.map_or((0, GENESIS.to_owned()), |r| (r.get(0), r.get(1)));
        let n = entries.len();
        let (mut seqs, mut ats, mut rids, mut clients, mut routes, mut queries, mut statuses, mut ids, mut prevs, mut hashes) = (
            Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n),
            Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n),
            Vec::with_capacity(n), Vec::with_capacity(n),
        );
        for e in entries {
            // Stored with microsecond precision, so hash what will be read back.
            let e = AuditEntry { at: e.at.trunc_subsecs(6), ..e.clone() };
            seq += 1;
            let hash = entry_hash(&prev, seq, &e);
            seqs.push(seq);
            ats.push(e.at);
            rids.push(e.request_id);
            clients.push(e.client);
            routes.push(e.route);
            queries.push(e.query);
            statuses.push(i32::from(e.status));
            ids.push(Json(e.record_ids));
            prevs.push(std::mem::replace(&mut prev, hash.clone()));
            hashes.push(hash);
        }
        tx.execute(
            "INSERT INTO audit_log (seq, at, request_id, client, route, query, status, record_ids, prev_hash, hash)
             SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
                                  $7::int[], $8::jsonb[], $9::text[], $10::text[])",
            &[&seqs, &ats, &rids, &clients, &routes, &queries, &statuses, &ids, &prevs, &hashes],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reads the whole chain in order and checks every link and every hash.
    pub async fn verify_audit_chain(&self) -> Result<AuditVerdict, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query_raw(
                "SELECT seq, at, request_id, client, route, query, status, record_ids, prev_hash, hash
                 FROM audit_log ORDER BY seq",
                std::iter::empty::<i64>(),
            )
            .await?;
        pin_mut!(rows);
        let mut expected_prev = GENESIS.to_owned();
        let mut expected_seq = 1_i64;
        let mut count = 0_u64;
        while let Some(row) = rows.next().await {
            let row = row?;
            let seq: i64 = row.get(0);
            if seq != expected_seq {
                return Ok(AuditVerdict::Broken {
                    seq,
                    reason: format!("entry {expected_seq} is missing (the chain jumps to {seq})"),
                });
            }
            let Json(record_ids): Json<Vec<Uuid>> = row.get(7);
            let entry = AuditEntry {
                at: row.get(1),
                request_id: row.get(2),
                client: row.get(3),
                route: row.get(4),
                query: row.get(5),
                status: u16::try_from(row.get::<_, i32>(6)).unwrap_or(0),
                record_ids,
            };
            let prev_hash: String = row.get(8);
            let hash: String = row.get(9);
            if prev_hash != expected_prev {
                return Ok(AuditVerdict::Broken {
                    seq,
                    reason: "its prev_hash does not match the hash of the entry before it".to_owned(),
                });
            }
            if entry_hash(&prev_hash, seq, &entry) != hash {
                return Ok(AuditVerdict::Broken {
                    seq,
                    reason: "its content does not match its hash (the entry was edited)".to_owned(),
                });
            }
            expected_prev = hash;
            expected_seq += 1;
            count += 1;
        }
        Ok(AuditVerdict::Intact { entries: count })
    }
}
