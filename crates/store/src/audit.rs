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
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use uuid::Uuid;

use crate::{Store, StoreError};

/// The hash before the first entry.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The advisory lock key that serialises appends (ASCII "audit").
const APPEND_LOCK: i64 = 0x61_75_64_69_74;

/// One access to personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Unique per entry, so that appending the same entry again writes it once. Use
    /// [`AuditEntry::new_id`]: time-ordered ids land at the end of the unique index
    /// instead of dirtying a random page of it for every entry.
    pub id: Uuid,
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

impl AuditEntry {
    /// A fresh entry id (UUIDv7: unique, and ordered by time).
    pub fn new_id() -> Uuid {
        Uuid::now_v7()
    }
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
    id: Uuid,
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
        id: e.id,
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
    /// Appends entries, in order, to the chain: one transaction, one insert. A batch
    /// commits whole or not at all, so a retried batch (after a commit whose answer was
    /// lost) is recognised by its first entry and not written twice. Callers retry a
    /// batch as it was; they never split or reorder it.
    pub async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Prepared once per connection: the writer runs these for every batch.
        let lock = tx
            .prepare_cached("SELECT pg_advisory_xact_lock($1)")
            .await?;
        tx.execute(&lock, &[&APPEND_LOCK]).await?;
        // Read after the lock, in a statement of its own, so that it sees every batch
        // committed before the lock was granted.
        let head = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM audit_log WHERE entry_id = $1), last.seq, last.hash
                 FROM (SELECT 1) AS one
                 LEFT JOIN (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS last ON true",
            )
            .await?;
        let head = tx.query_one(&head, &[&entries[0].id]).await?;
        if head.get::<_, bool>(0) {
            return Ok(());
        }
        let last: Option<(i64, String)> = head.get::<_, Option<i64>>(1).zip(head.get(2));
        let (mut seq, mut prev): (i64, String) = last.unwrap_or((0, GENESIS.to_owned()));
        // Chain the new entries on: (seq, entry as stored, prev_hash, hash).
        let mut chained = Vec::with_capacity(entries.len());
        for e in entries {
            // Stored with microsecond precision, so hash what will be read back.
            let e = AuditEntry {
                at: e.at.trunc_subsecs(6),
                ..e.clone()
            };
            seq += 1;
            let hash = entry_hash(&prev, seq, &e);
            chained.push((seq, e, std::mem::replace(&mut prev, hash.clone()), hash));
        }
        // Binary COPY: no SQL to parse or plan per batch, no array casts per row. The
        // log is written on every read of personal data, so this is the read path's
        // largest database cost after the read itself.
        let copy = tx
            .prepare_cached(
                "COPY audit_log (seq, entry_id, at, request_id, client, route, query, status, record_ids, prev_hash, hash)
                 FROM STDIN BINARY",
            )
            .await?;
        let sink = tx.copy_in(&copy).await?;
        let types = [
            Type::INT8,
            Type::UUID,
            Type::TIMESTAMPTZ,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::INT4,
            Type::UUID_ARRAY,
            Type::TEXT,
            Type::TEXT,
        ];
        let writer = BinaryCopyInWriter::new(sink, &types);
        pin_mut!(writer);
        for (seq, e, prev_hash, hash) in &chained {
            let status = i32::from(e.status);
            writer
                .as_mut()
                .write(&[
                    seq,
                    &e.id,
                    &e.at,
                    &e.request_id,
                    &e.client,
                    &e.route,
                    &e.query,
                    &status,
                    &e.record_ids,
                    prev_hash,
                    hash,
                ])
                .await?;
        }
        writer.finish().await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reads the whole chain in order and checks every link and every hash.
    pub async fn verify_audit_chain(&self) -> Result<AuditVerdict, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query_raw(
                "SELECT seq, at, request_id, client, route, query, status, record_ids, prev_hash, hash, entry_id
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
            let record_ids: Vec<Uuid> = row.get(7);
            let entry = AuditEntry {
                id: row.get(10),
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
                    reason: "its prev_hash does not match the hash of the entry before it"
                        .to_owned(),
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
