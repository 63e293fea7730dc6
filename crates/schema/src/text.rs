//! Khmer text as ministries write it.
//!
//! Khmer arrives in several Unicode spellings of the same text (decomposed vowels,
//! zero-width spaces that Khmer input methods insert between words, Khmer digits).
//! [`normalize`] gives the canonical form to store and show; [`match_key`] gives the
//! form to compare and search on, where those differences must not matter.

use unicode_normalization::{IsNormalized, UnicodeNormalization};

/// Characters that are invisible in Khmer text and only split words for line breaking.
const INVISIBLE: [char; 4] = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{FEFF}'];

/// NFC, trimmed, with runs of whitespace collapsed to one space. Zero-width
/// characters are kept: they are part of how the source wrote the name.
pub fn normalize(input: &str) -> String {
    // Text already in NFC (all stored text, most input) skips the recomposition.
    if unicode_normalization::is_nfc_quick(input.chars()) == IsNormalized::Yes {
        return collapse_whitespace(input);
    }
    let nfc: String = input.nfc().collect();
    collapse_whitespace(&nfc)
}

/// The key two spellings of one name share: NFC, zero-width characters removed,
/// Khmer digits as ASCII digits, lower case, whitespace collapsed.
pub fn match_key(input: &str) -> String {
    let cleaned: String = input
        .nfc()
        .filter(|c| !INVISIBLE.contains(c))
        .map(ascii_digit_of)
        .flat_map(char::to_lowercase)
        .collect();
    collapse_whitespace(&cleaned)
}

/// Whether `text` has nothing a match key keeps: only whitespace and zero-width
/// characters (a single character's match key is empty exactly for those).
pub(crate) fn is_blank_for_matching(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || INVISIBLE.contains(&c))
}

/// Khmer digits (០-៩) read as ASCII digits; every other character unchanged.
pub fn khmer_digits_to_ascii(input: &str) -> String {
    input.chars().map(ascii_digit_of).collect()
}

/// Text ready for reading codes and dates: NFC, zero-width characters removed,
/// Khmer digits as ASCII, trimmed.
pub(crate) fn for_reading(input: &str) -> String {
    let s: String = input
        .nfc()
        .filter(|c| !INVISIBLE.contains(c))
        .map(ascii_digit_of)
        .collect();
    s.trim().to_owned()
}

fn ascii_digit_of(c: char) -> char {
    match c {
        '\u{17E0}'..='\u{17E9}' => {
            char::from(b'0' + u8::try_from(u32::from(c) - 0x17E0).unwrap_or(0))
        }
        _ => c,
    }
}

fn collapse_whitespace(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for word in input.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}
