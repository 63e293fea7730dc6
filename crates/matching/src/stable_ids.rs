//! Ids of new registry records, derived from the source's id (UUID v5), so a run
//! resumed after a crash, or run twice, writes the same rows.

use schema::Ministry;
use uuid::Uuid;

/// The namespace of the registry's derived ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_3c2e_9b7d_4e15_8a40_5c2d_7e91_b3f0);

/// A stable id for a record first seen as `source_id` in `ministry`'s `kind` records
/// (`staff`, `facility`, `assignment`).
pub fn stable_id(kind: &str, ministry: Ministry, source_id: &str) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("{kind}:{ministry}:{source_id}").as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_source_record_always_gets_the_same_id() {
        let a = stable_id("staff", Ministry::Moh, "P-1");
        assert_eq!(a, stable_id("staff", Ministry::Moh, "P-1"));
        assert_eq!(a.get_version_num(), 5);
        assert_ne!(a, stable_id("staff", Ministry::Moh, "P-2"));
        assert_ne!(a, stable_id("staff", Ministry::Moeys, "P-1"));
        assert_ne!(a, stable_id("assignment", Ministry::Moh, "P-1"));
    }

    #[test]
    fn ids_already_stored_keep_their_value() {
        // Rows written by earlier runs carry these ids: the derivation may never change.
        assert_eq!(
            stable_id("staff", Ministry::Mcs, "1000123456").to_string(),
            "cb166208-c32c-53e8-b6b4-1698e00c6e5d"
        );
    }
}
