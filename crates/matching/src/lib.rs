//! Who is who: the rules that decide which registry person a source's record, or a
//! site's roster entry, is, and what the registry's record says once several sources
//! have spoken. Everything here is pure (no I/O, no clock, no database): the callers
//! (`sync` for a source's pages, `store` for roster entries) look the candidates up
//! and hand them in, so each rule is tested on its own, without PostgreSQL.
//!
//! - [`person`]: the one person-matching rule (civil-servant id, then a source id seen
//!   before, then national id never across two civil-servant ids; for a roster entry
//!   named by nothing else, the one person of that Khmer name at the site), whose
//!   outcome says when several records fit ([`Match::Ambiguous`]).
//! - [`people`]: an in-memory index of staff records that the matcher reads and that
//!   follows the records as a page's reports merge into them.
//! - [`merge`]: field ownership (MCS owns the civil-service fields, the sector
//!   ministry where a person serves) and the merge of a report into a record.
//! - [`facility`]: the facility records a posting's facility code may name, and
//!   where a posting places a person.
//! - [`stable_ids`]: ids derived from a source's ids, the same on every run.
//!
//! Scored linkage, for records no hard key joins:
//! - [`compare`]: field comparators for Cambodian records (Khmer and Latin names,
//!   birth dates, sex, place, ids), each giving a level;
//! - [`score`]: Fellegi–Sunter match weights per level, m and u probabilities, term
//!   frequencies of Khmer names;
//! - [`train`]: u from random pairs, m by expectation–maximisation per training rule;
//! - [`blocking`]: the record the matcher compares, and the keys that choose the
//!   candidate pairs near-linearly (ids with their one-typo neighbours, names with the
//!   birth year or the district, the birth date with the district);
//! - [`decide`]: two thresholds and the hard rules give link, review or distinct;
//! - [`linkage`]: all of it as one call (train, block, score, decide), and a trained
//!   [`linkage::Linker`] to score one pair again;
//! - [`trust`]: when a hard key joining a record to a person is not trusted (name and
//!   birth date strongly disagree), and a registry record's fields as the matcher
//!   compares them.
//!
//! Identifier systems themselves, and which are personal or hard keys, are a type of
//! the shared schema ([`schema::IdentifierSystem`]).

pub mod blocking;
pub mod compare;
pub mod decide;
pub mod facility;
pub mod linkage;
pub mod merge;
pub mod people;
pub mod person;
pub mod score;
pub mod stable_ids;
pub mod train;
pub mod trust;

pub use facility::{facility_candidates, place_posting};
pub use merge::{merge, owns_civil_service_fields};
pub use people::People;
pub use person::{
    Match, MatchedBy, PersonIndex, Probe, RegistryKeys, SitePeople, match_person,
    match_roster_entry,
};
pub use stable_ids::stable_id;
