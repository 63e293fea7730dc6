//! Field comparators for two person records, each giving a level (exact, close,
//! similar, different, or missing: no evidence either way) that the score weighs.
//! They are written for Cambodian records: Khmer names in several Unicode spellings and
//! variant letters, romanised names with no standard spelling, birth dates with
//! placeholders and swapped day and month, ids with one digit mistyped.

pub mod dates;
pub mod fields;
pub mod names;
