//! The append-only, hash-chained audit log of access to personal data.
//!
//! Entry `n` stores `hash_n = SHA-256(hash_{n-1} || "\n" || canonical_n)`, where
//! `canonical_n` is the entry's content as JSON with a fixed field order. Editing an
//! entry changes its hash; removing one breaks the link from the next. Appends take a
//! transaction-scoped advisory lock, so gateway replicas sharing one database extend
//! one chain.
//!
//! The chain alone cannot tell a cut tail from a shorter chain, nor a chain rewritten
//! from some entry on (its hashes are unkeyed) from the real one: signed
//! [`checkpoint`]s anchor it, and [`Store::verify_audit_chain`] checks it against them.

use chrono::{DateTime, SubsecRound, Utc};
use futures_util::{StreamExt, pin_mut};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use uuid::Uuid;

use crate::{Store, StoreError};

pub mod checkpoint;

use checkpoint::{ALGORITHM, Checkpoint, CheckpointFault, CheckpointKey, check_with};

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
    /// Every entry is there, links to the one before and matches its hash, and the
    /// chain agrees with every checkpoint; the newest vouches for entry `checkpointed`
    /// (0: none yet). Entries after it are protected by the chain's links alone.
    Intact { entries: u64, checkpointed: u64 },
    /// The first problem found, at entry `seq`.
    Broken { seq: i64, problem: AuditProblem },
}

/// How the chain is broken (see [`AuditVerdict::Broken`] for the entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditProblem {
    /// The entry's content does not match its hash.
    Edited,
    /// The entry's `prev_hash` is not the hash of the entry before it.
    Unlinked,
    /// The entry, and any up to `next`, are gone: the chain jumps to `next`.
    Missing { next: i64 },
    /// The chain ends at entry `last`, before the entry `vouched` that a checkpoint (or
    /// a head given) vouches for: its tail was cut (the verdict names the first entry
    /// missing).
    CutTail {
        last: i64,
        vouched: i64,
        by: Voucher,
    },
    /// The entry's hash is not the one a checkpoint signed for it (or a head given
    /// names): the chain was rewritten (hashes recomputed) at or before it.
    Rewritten { by: Voucher },
    /// A checkpoint naming this entry does not bear the configured key's signature.
    BadCheckpoint {
        checkpoint: i64,
        fault: CheckpointFault,
    },
}

/// What vouches for an entry's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voucher {
    /// The stored checkpoint of this id, its signature verified.
    Checkpoint(i64),
    /// A head kept outside the system (`audit head` printed it), given to verify.
    Given,
}

impl std::fmt::Display for Voucher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Checkpoint(id) => write!(f, "signed checkpoint {id}"),
            Self::Given => f.write_str("the head given"),
        }
    }
}

impl std::fmt::Display for AuditVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (seq, problem) = match self {
            Self::Intact {
                entries,
                checkpointed: 0,
            } => return write!(f, "intact: {entries} entries; no checkpoint yet"),
            Self::Intact {
                entries,
                checkpointed,
            } => {
                return write!(
                    f,
                    "intact: {entries} entries; the newest signed checkpoint vouches for entry {checkpointed}"
                );
            }
            Self::Broken { seq, problem } => (*seq, problem),
        };
        match problem {
            AuditProblem::Edited => write!(
                f,
                "BROKEN at entry {seq}: it was edited (its content does not match its hash)"
            ),
            AuditProblem::Unlinked => write!(
                f,
                "BROKEN at entry {seq}: its prev_hash is not the hash of entry {}",
                seq - 1
            ),
            AuditProblem::Missing { next } if *next == seq + 1 => write!(
                f,
                "BROKEN at entry {seq}: it was deleted (the chain jumps from entry {} to {next})",
                seq - 1
            ),
            AuditProblem::Missing { next } => write!(
                f,
                "BROKEN at entry {seq}: entries {seq} to {} were deleted (the chain jumps from entry {} to {next})",
                next - 1,
                seq - 1
            ),
            AuditProblem::CutTail { last, vouched, by } => write!(
                f,
                "BROKEN at entry {seq}: the tail was cut (the chain ends at entry {last}, but \
                 {by} vouches for entry {vouched}: entries {seq} to {vouched} are missing)"
            ),
            AuditProblem::Rewritten { by } => write!(
                f,
                "BROKEN at entry {seq}: its hash is not the one {by} vouches for \
                 (the chain was rewritten at or before it)"
            ),
            AuditProblem::BadCheckpoint { checkpoint, fault } => write!(
                f,
                "BROKEN at entry {seq}: checkpoint {checkpoint}, for this entry, is not valid: {fault}"
            ),
        }
    }
}

/// The newest entry: what to copy elsewhere to anchor the chain outside the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// 0 for an empty chain.
    pub seq: i64,
    pub hash: String,
    /// `None` for an empty chain.
    pub at: Option<DateTime<Utc>>,
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
        let (seq, prev): (i64, String) = last.unwrap_or((0, GENESIS.to_owned()));
        let chained = chain_on(seq, prev, entries);
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

    /// Reads the whole chain in order and checks every link and every hash, then
    /// checks it against the checkpoints: each must bear the signature of the key in
    /// `keys` it names (the current key, and retired ones still trusted), the chain must
    /// reach the entry each vouches for, and that entry must have the hash it signed.
    /// Without keys, a chain with checkpoints is an error (they cannot be trusted
    /// unchecked); one without is checked by its links alone.
    pub async fn verify_audit_chain(
        &self,
        keys: &[CheckpointKey],
    ) -> Result<AuditVerdict, StoreError> {
        self.verify_audit_chain_against(keys, &[]).await
    }

    /// [`Store::verify_audit_chain`], and the chain must also reach each head `given`
    /// (kept outside the system: `audit head` printed it) with the hash it names: the
    /// anchor for entries no checkpoint covers, and for checkpoints deleted with them.
    pub async fn verify_audit_chain_against(
        &self,
        keys: &[CheckpointKey],
        given: &[AuditHead],
    ) -> Result<AuditVerdict, StoreError> {
        let client = self.client().await?;
        // Only what the walk needs is kept of each checkpoint: there is one a minute.
        let rows = client
            .query_raw(
                "SELECT id, seq, hash, at, algorithm, key_id, signature
                 FROM audit_checkpoints ORDER BY seq, id",
                std::iter::empty::<i64>(),
            )
            .await?;
        pin_mut!(rows);
        let mut anchors = Vec::new();
        while let Some(row) = rows.next().await {
            let row = row?;
            let cp = Checkpoint {
                id: row.get(0),
                seq: row.get(1),
                hash: row.get(2),
                at: row.get(3),
                algorithm: row.get(4),
                key_id: row.get(5),
                signature: row.get(6),
            };
            if keys.is_empty() {
                return Err(StoreError::CheckpointKeyMissing);
            }
            if let Err(fault) = check_with(keys, &cp) {
                return Ok(AuditVerdict::Broken {
                    seq: cp.seq,
                    problem: AuditProblem::BadCheckpoint {
                        checkpoint: cp.id,
                        fault,
                    },
                });
            }
            anchors.push(Anchor {
                by: Voucher::Checkpoint(cp.id),
                seq: cp.seq,
                hash: cp.hash,
            });
        }
        // An empty chain's head (entry 0) asks nothing of it.
        anchors.extend(given.iter().filter(|h| h.seq > 0).map(|h| Anchor {
            by: Voucher::Given,
            seq: h.seq,
            hash: h.hash.clone(),
        }));
        let rows = client
            .query_raw(
                "SELECT seq, at, request_id, client, route, query, status, record_ids, prev_hash, hash, entry_id
                 FROM audit_log ORDER BY seq",
                std::iter::empty::<i64>(),
            )
            .await?;
        pin_mut!(rows);
        let mut check = ChainCheck::new(anchors);
        while let Some(row) = rows.next().await {
            let row = row?;
            let entry = AuditEntry {
                id: row.get(10),
                at: row.get(1),
                request_id: row.get(2),
                client: row.get(3),
                route: row.get(4),
                query: row.get(5),
                status: u16::try_from(row.get::<_, i32>(6)).unwrap_or(0),
                record_ids: row.get(7),
            };
            let prev_hash: String = row.get(8);
            let hash: String = row.get(9);
            if let Err(broken) = check.entry(row.get(0), &entry, &prev_hash, hash) {
                return Ok(broken);
            }
        }
        Ok(check.finish())
    }

    /// The chain's newest entry.
    pub async fn audit_head(&self) -> Result<AuditHead, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT seq, hash, at FROM audit_log ORDER BY seq DESC LIMIT 1",
                &[],
            )
            .await?;
        Ok(match row {
            Some(r) => AuditHead {
                seq: r.get(0),
                hash: r.get(1),
                at: Some(r.get(2)),
            },
            None => AuditHead {
                seq: 0,
                hash: GENESIS.to_owned(),
                at: None,
            },
        })
    }

    /// Signs and stores a checkpoint of the chain's head, unless the head already has
    /// one or the newest checkpoint (any replica's) is younger than `min_age`. Taken
    /// under the appends' lock, so the head read is the chain's head: no batch is half
    /// seen, and replicas do not checkpoint the same head twice. Returns the checkpoint
    /// written, if any.
    pub async fn checkpoint_audit(
        &self,
        key: &CheckpointKey,
        min_age: std::time::Duration,
    ) -> Result<Option<Checkpoint>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK])
            .await?;
        // After the lock, in a statement of its own (as an append reads the head).
        let head = tx
            .query_one(
                "SELECT now(), last.seq, last.hash, cp.seq, cp.at
                 FROM (SELECT 1) AS one
                 LEFT JOIN (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS last ON true
                 LEFT JOIN (SELECT seq, at FROM audit_checkpoints ORDER BY seq DESC, id DESC LIMIT 1) AS cp ON true",
                &[],
            )
            .await?;
        let now: DateTime<Utc> = head.get(0);
        let Some((seq, hash)) = head
            .get::<_, Option<i64>>(1)
            .zip(head.get::<_, Option<String>>(2))
        else {
            return Ok(None);
        };
        let newest: Option<(i64, DateTime<Utc>)> = head.get::<_, Option<i64>>(3).zip(head.get(4));
        if let Some((checkpointed, at)) = newest {
            let age = (now - at).to_std().unwrap_or_default();
            if checkpointed >= seq || age < min_age {
                return Ok(None);
            }
        }
        let signature = key.sign(seq, &hash, now);
        let id: i64 = tx
            .query_one(
                "INSERT INTO audit_checkpoints (seq, hash, at, algorithm, key_id, signature)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[&seq, &hash, &now, &ALGORITHM, &key.id(), &signature],
            )
            .await?
            .get(0);
        tx.commit().await?;
        Ok(Some(Checkpoint {
            id,
            seq,
            hash,
            at: now,
            algorithm: ALGORITHM.to_owned(),
            key_id: key.id().to_owned(),
            signature,
        }))
    }
}

/// Chains `entries` on after entry `seq` with hash `prev`: (seq, entry as stored,
/// prev_hash, hash) each.
fn chain_on(
    mut seq: i64,
    mut prev: String,
    entries: &[AuditEntry],
) -> Vec<(i64, AuditEntry, String, String)> {
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
    chained
}

/// What a checkpoint whose signature verified (or a head given) says: entry `seq`
/// has hash `hash`.
#[derive(Debug)]
struct Anchor {
    by: Voucher,
    seq: i64,
    hash: String,
}

/// Checks the chain an entry at a time, in order, against the anchors.
#[derive(Debug)]
struct ChainCheck {
    /// By entry, ascending.
    anchors: Vec<Anchor>,
    /// The first anchor not yet reached.
    next_anchor: usize,
    expected_seq: i64,
    expected_prev: String,
}

impl ChainCheck {
    fn new(mut anchors: Vec<Anchor>) -> Self {
        anchors.sort_by_key(|a| a.seq);
        Self {
            anchors,
            next_anchor: 0,
            expected_seq: 1,
            expected_prev: GENESIS.to_owned(),
        }
    }

    /// The next entry read, as stored.
    fn entry(
        &mut self,
        seq: i64,
        entry: &AuditEntry,
        prev_hash: &str,
        hash: String,
    ) -> Result<(), AuditVerdict> {
        let broken = |seq, problem| Err(AuditVerdict::Broken { seq, problem });
        if seq != self.expected_seq {
            return broken(self.expected_seq, AuditProblem::Missing { next: seq });
        }
        if prev_hash != self.expected_prev {
            return broken(seq, AuditProblem::Unlinked);
        }
        if entry_hash(prev_hash, seq, entry) != hash {
            return broken(seq, AuditProblem::Edited);
        }
        while let Some(a) = self.anchors.get(self.next_anchor) {
            if a.seq > seq {
                break;
            }
            // (An anchor before entry 1 cannot be signed: an empty chain gets none.)
            if a.seq == seq && a.hash != hash {
                return broken(seq, AuditProblem::Rewritten { by: a.by });
            }
            self.next_anchor += 1;
        }
        self.expected_prev = hash;
        self.expected_seq += 1;
        Ok(())
    }

    /// The verdict once the last entry was read.
    fn finish(self) -> AuditVerdict {
        let last = self.expected_seq - 1;
        match self.anchors.last() {
            Some(a) if a.seq > last => AuditVerdict::Broken {
                seq: last + 1,
                problem: AuditProblem::CutTail {
                    last,
                    vouched: a.seq,
                    by: a.by,
                },
            },
            _ => AuditVerdict::Intact {
                entries: u64::try_from(last).unwrap_or(0),
                checkpointed: self
                    .anchors
                    .iter()
                    .filter(|a| matches!(a.by, Voucher::Checkpoint(_)))
                    .map(|a| u64::try_from(a.seq).unwrap_or(0))
                    .max()
                    .unwrap_or(0),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: usize) -> Vec<AuditEntry> {
        (0..n)
            .map(|i| AuditEntry {
                id: Uuid::from_u128(i as u128 + 1),
                at: DateTime::from_timestamp(1_700_000_000 + i as i64, 0).expect("time"),
                request_id: format!("req-{i}"),
                client: "client".to_owned(),
                route: "/v1/staff".to_owned(),
                query: String::new(),
                status: 200,
                record_ids: vec![Uuid::from_u128(1000 + i as u128)],
            })
            .collect()
    }

    type Row = (i64, AuditEntry, String, String);

    fn check(rows: &[Row], anchors: &[(i64, &str)]) -> AuditVerdict {
        let anchors = anchors
            .iter()
            .enumerate()
            .map(|(i, (seq, hash))| Anchor {
                by: Voucher::Checkpoint(i as i64 + 1),
                seq: *seq,
                hash: (*hash).to_owned(),
            })
            .collect();
        let mut c = ChainCheck::new(anchors);
        for (seq, e, prev, hash) in rows {
            if let Err(v) = c.entry(*seq, e, prev, hash.clone()) {
                return v;
            }
        }
        c.finish()
    }

    fn chain(n: usize) -> Vec<Row> {
        chain_on(0, GENESIS.to_owned(), &entries(n))
    }

    #[test]
    fn an_untouched_chain_is_intact_up_to_its_checkpoints() {
        let rows = chain(6);
        assert_eq!(
            check(&rows, &[]),
            AuditVerdict::Intact {
                entries: 6,
                checkpointed: 0
            }
        );
        let at4 = rows[3].3.clone();
        let at6 = rows[5].3.clone();
        assert_eq!(
            check(&rows, &[(4, &at4), (6, &at6)]),
            AuditVerdict::Intact {
                entries: 6,
                checkpointed: 6
            }
        );
        assert_eq!(
            check(&[], &[]),
            AuditVerdict::Intact {
                entries: 0,
                checkpointed: 0
            }
        );
    }

    #[test]
    fn appending_in_batches_makes_the_same_chain_as_at_once() {
        let all = entries(5);
        let first = chain_on(0, GENESIS.to_owned(), &all[..2]);
        let rest = chain_on(2, first[1].3.clone(), &all[2..]);
        let batched: Vec<Row> = first.into_iter().chain(rest).collect();
        assert_eq!(batched, chain(5));
    }

    #[test]
    fn an_edited_entry_is_named() {
        let mut rows = chain(6);
        rows[2].1.client = "someone-else".to_owned();
        assert_eq!(
            check(&rows, &[]),
            AuditVerdict::Broken {
                seq: 3,
                problem: AuditProblem::Edited
            }
        );
    }

    #[test]
    fn a_deleted_entry_is_named_not_the_one_after_it() {
        let mut rows = chain(6);
        rows.remove(4);
        let v = check(&rows, &[]);
        assert_eq!(
            v,
            AuditVerdict::Broken {
                seq: 5,
                problem: AuditProblem::Missing { next: 6 }
            }
        );
        assert!(v.to_string().contains("entry 5: it was deleted"), "{v}");
        rows.drain(1..3);
        assert_eq!(
            check(&rows, &[]),
            AuditVerdict::Broken {
                seq: 2,
                problem: AuditProblem::Missing { next: 4 }
            }
        );
    }

    #[test]
    fn a_tail_cut_behind_a_checkpoint_is_caught_and_one_ahead_of_all_is_not() {
        let rows = chain(8);
        let at6 = rows[5].3.clone();
        let v = check(&rows[..4], &[(6, &at6)]);
        assert_eq!(
            v,
            AuditVerdict::Broken {
                seq: 5,
                problem: AuditProblem::CutTail {
                    last: 4,
                    vouched: 6,
                    by: Voucher::Checkpoint(1)
                }
            }
        );
        assert!(v.to_string().contains("entries 5 to 6 are missing"), "{v}");
        // Cut everything.
        assert!(matches!(
            check(&[], &[(6, &at6)]),
            AuditVerdict::Broken {
                seq: 1,
                problem: AuditProblem::CutTail { last: 0, .. }
            }
        ));
        // Entries after the newest checkpoint are the documented limit.
        assert_eq!(
            check(&rows[..7], &[(6, &at6)]),
            AuditVerdict::Intact {
                entries: 7,
                checkpointed: 6
            }
        );
    }

    #[test]
    fn a_rewritten_chain_is_caught_at_the_checkpoint() {
        // Edit entry 2 and recompute every hash from there: the links all hold.
        let original = chain(5);
        let at4 = original[3].3.clone();
        let mut edited = entries(5);
        edited[1].client = "someone-else".to_owned();
        let rewritten = chain_on(0, GENESIS.to_owned(), &edited);
        assert_eq!(
            check(&rewritten, &[]),
            AuditVerdict::Intact {
                entries: 5,
                checkpointed: 0
            }
        );
        assert_eq!(
            check(&rewritten, &[(4, &at4)]),
            AuditVerdict::Broken {
                seq: 4,
                problem: AuditProblem::Rewritten {
                    by: Voucher::Checkpoint(1)
                }
            }
        );
    }

    #[test]
    fn a_relinked_entry_is_named() {
        let mut rows = chain(4);
        rows[2].2 = "f".repeat(64);
        assert_eq!(
            check(&rows, &[]),
            AuditVerdict::Broken {
                seq: 3,
                problem: AuditProblem::Unlinked
            }
        );
    }

    #[test]
    fn a_given_head_anchors_what_no_checkpoint_covers() {
        let rows = chain(6);
        let at4 = rows[3].3.clone();
        let at6 = rows[5].3.clone();
        let given = |anchors: Vec<Anchor>, rows: &[Row]| {
            let mut c = ChainCheck::new(anchors);
            for (seq, e, prev, hash) in rows {
                if let Err(v) = c.entry(*seq, e, prev, hash.clone()) {
                    return v;
                }
            }
            c.finish()
        };
        let anchors = || {
            vec![
                Anchor {
                    by: Voucher::Checkpoint(1),
                    seq: 4,
                    hash: at4.clone(),
                },
                Anchor {
                    by: Voucher::Given,
                    seq: 6,
                    hash: at6.clone(),
                },
            ]
        };
        // Intact; `checkpointed` counts signed checkpoints only.
        assert_eq!(
            given(anchors(), &rows),
            AuditVerdict::Intact {
                entries: 6,
                checkpointed: 4
            }
        );
        // Entry 6 cut: no checkpoint saw it, the head kept outside did.
        let v = given(anchors(), &rows[..5]);
        assert_eq!(
            v,
            AuditVerdict::Broken {
                seq: 6,
                problem: AuditProblem::CutTail {
                    last: 5,
                    vouched: 6,
                    by: Voucher::Given
                }
            }
        );
        assert!(
            v.to_string().contains("the head given vouches for entry 6"),
            "{v}"
        );
    }
}
