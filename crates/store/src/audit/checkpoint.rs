//! Checkpoints: the chain's head, signed with a key kept outside the database.
//!
//! Anyone who can write to the database can cut the chain's newest entries off, or
//! rewrite it from some entry on (its hashes are unkeyed, so they can be recomputed).
//! A checkpoint records an entry number and that entry's hash, signed (HMAC-SHA256)
//! with the key the gateway is configured with and the database never sees: the chain
//! must still reach that entry, with that hash. What this cannot show is a checkpoint
//! deleted together with the entries it vouched for: `audit head`, copied somewhere
//! else, is the anchor for that.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// The one algorithm checkpoints are signed with (recorded with each).
pub const ALGORITHM: &str = "hmac-sha256";

/// The key checkpoints are signed and checked with. Its `Debug` shows only its id.
#[derive(Clone)]
pub struct CheckpointKey {
    id: String,
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The checkpoint's own number (its row).
    pub id: i64,
    /// The entry it vouches for: the chain's head when it was taken.
    pub seq: i64,
    /// That entry's hash.
    pub hash: String,
    pub at: DateTime<Utc>,
    pub algorithm: String,
    pub key_id: String,
    /// Hex.
    pub signature: String,
}

/// Why a checkpoint does not vouch for anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointFault {
    /// Signed with the configured key's id, but the signature does not verify: forged,
    /// or edited after it was signed.
    BadSignature,
    /// Signed with a key that is not among those configured.
    OtherKey {
        key_id: String,
    },
    UnknownAlgorithm {
        algorithm: String,
    },
}

impl std::fmt::Display for CheckpointFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadSignature => f.write_str("its signature does not verify (forged or edited)"),
            Self::OtherKey { key_id } => write!(
                f,
                "it is signed with key {key_id}, not a configured checkpoint key"
            ),
            Self::UnknownAlgorithm { algorithm } => {
                write!(f, "it is signed with an unknown algorithm {algorithm:?}")
            }
        }
    }
}

impl CheckpointKey {
    /// The shortest secret accepted, in bytes: a short one could be guessed from the
    /// signatures stored beside the chain.
    pub const MIN_LEN: usize = 16;

    /// An HMAC-SHA256 key from a secret of at least [`Self::MIN_LEN`] bytes.
    pub fn hmac_sha256(secret: &[u8]) -> Result<Self, StoreError> {
        if secret.len() < Self::MIN_LEN {
            return Err(StoreError::CheckpointKeyTooShort {
                min_len: Self::MIN_LEN,
            });
        }
        // HMAC takes a key of any length.
        let mac = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|e| StoreError::CheckpointKey(e.to_string()))?;
        // The id names the key without revealing it: a hash of it, under a label of its
        // own so it is no other hash of the same secret.
        let mut h = Sha256::new();
        h.update(b"interop-gateway audit checkpoint key id\n");
        h.update(secret);
        let id = hex::encode(&h.finalize()[..8]);
        Ok(Self { id, mac })
    }

    /// The key's id, recorded with each checkpoint it signs.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The signature (hex) of a checkpoint of entry `seq` with hash `hash`, taken `at`.
    pub(crate) fn sign(&self, seq: i64, hash: &str, at: DateTime<Utc>) -> String {
        let mut mac = self.mac.clone();
        mac.update(&message(seq, hash, at, &self.id));
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `cp` was signed with this key, as it stands.
    pub fn check(&self, cp: &Checkpoint) -> Result<(), CheckpointFault> {
        if cp.algorithm != ALGORITHM {
            return Err(CheckpointFault::UnknownAlgorithm {
                algorithm: cp.algorithm.clone(),
            });
        }
        if cp.key_id != self.id {
            return Err(CheckpointFault::OtherKey {
                key_id: cp.key_id.clone(),
            });
        }
        let signature = hex::decode(&cp.signature).map_err(|_| CheckpointFault::BadSignature)?;
        let mut mac = self.mac.clone();
        mac.update(&message(cp.seq, &cp.hash, cp.at, &cp.key_id));
        // Constant time: a forger learns nothing from how long a refusal took.
        mac.verify_slice(&signature)
            .map_err(|_| CheckpointFault::BadSignature)
    }
}

/// Whether `cp` bears the signature of the key in `keys` it names (the current key and
/// any retired ones still trusted for the checkpoints they signed).
pub fn check_with(keys: &[CheckpointKey], cp: &Checkpoint) -> Result<(), CheckpointFault> {
    match keys.iter().find(|k| k.id == cp.key_id) {
        Some(key) => key.check(cp),
        None if cp.algorithm != ALGORITHM => Err(CheckpointFault::UnknownAlgorithm {
            algorithm: cp.algorithm.clone(),
        }),
        None => Err(CheckpointFault::OtherKey {
            key_id: cp.key_id.clone(),
        }),
    }
}

/// What is signed: every field of the checkpoint but its row number, in a fixed form.
fn message(seq: i64, hash: &str, at: DateTime<Utc>, key_id: &str) -> Vec<u8> {
    format!(
        "interop-gateway audit checkpoint v1\nalgorithm={ALGORITHM}\nkey_id={key_id}\nseq={seq}\nhash={hash}\nat={}\n",
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> CheckpointKey {
        CheckpointKey::hmac_sha256(secret.as_bytes()).expect("key")
    }

    fn signed(key: &CheckpointKey, seq: i64, hash: &str) -> Checkpoint {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456Z")
            .expect("time")
            .with_timezone(&Utc);
        Checkpoint {
            id: 1,
            seq,
            hash: hash.to_owned(),
            at,
            algorithm: ALGORITHM.to_owned(),
            key_id: key.id().to_owned(),
            signature: key.sign(seq, hash, at),
        }
    }

    #[test]
    fn a_checkpoint_verifies_with_the_key_that_signed_it() {
        let k = key("a-checkpoint-key-of-some-length");
        assert_eq!(k.check(&signed(&k, 7, &"ab".repeat(32))), Ok(()));
    }

    #[test]
    fn any_signed_field_changed_breaks_the_signature() {
        let k = key("a-checkpoint-key-of-some-length");
        let good = signed(&k, 7, &"ab".repeat(32));
        let edits: [fn(&mut Checkpoint); 4] = [
            |c| c.seq = 8,
            |c| c.hash = "cd".repeat(32),
            |c| c.at += chrono::Duration::microseconds(1),
            |c| c.signature = "00".repeat(32),
        ];
        for edit in edits {
            let mut cp = good.clone();
            edit(&mut cp);
            assert_eq!(k.check(&cp), Err(CheckpointFault::BadSignature), "{cp:?}");
        }
        let mut garbage = good.clone();
        garbage.signature = "not hex".to_owned();
        assert_eq!(k.check(&garbage), Err(CheckpointFault::BadSignature));
    }

    #[test]
    fn another_key_or_algorithm_is_named_as_such() {
        let k = key("a-checkpoint-key-of-some-length");
        let other = key("another-checkpoint-key-entirely");
        assert_ne!(k.id(), other.id());
        assert_eq!(
            k.check(&signed(&other, 7, "h")),
            Err(CheckpointFault::OtherKey {
                key_id: other.id().to_owned()
            })
        );
        // A forger who copies the key id still cannot sign.
        let mut forged = signed(&other, 7, "h");
        forged.key_id = k.id().to_owned();
        assert_eq!(k.check(&forged), Err(CheckpointFault::BadSignature));
        // A retired key still vouches for what it signed.
        let old = signed(&other, 7, "h");
        assert_eq!(check_with(&[k.clone(), other.clone()], &old), Ok(()));
        assert!(matches!(
            check_with(std::slice::from_ref(&k), &old),
            Err(CheckpointFault::OtherKey { .. })
        ));
        let mut ed = signed(&k, 7, "h");
        ed.algorithm = "ed25519".to_owned();
        assert!(matches!(
            k.check(&ed),
            Err(CheckpointFault::UnknownAlgorithm { .. })
        ));
    }

    #[test]
    fn a_short_key_is_refused_and_no_key_shows_in_debug() {
        assert!(CheckpointKey::hmac_sha256(b"short").is_err());
        let k = key("a-checkpoint-key-of-some-length");
        let shown = format!("{k:?}");
        assert!(!shown.contains("a-checkpoint-key"), "{shown}");
        assert!(shown.contains(k.id()));
        // The id is stable for a key: checkpoints name it across restarts.
        assert_eq!(k.id(), key("a-checkpoint-key-of-some-length").id());
    }
}
