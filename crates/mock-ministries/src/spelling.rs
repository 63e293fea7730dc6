//! How a clerk writes a name or a birth date they did not copy from the roll: the
//! variant spellings the linkage noise plants. Khmer as it is really typed (zero-width
//! spaces, a split vowel, the subscript ta and da confused, a long vowel for a short
//! one, a final ខ for a ក, a diacritic left out, spaces inside or missing, the given
//! name first), the other romanisations of each Latin syllable, and birth dates with
//! day and month swapped, a 01/01 placeholder for a year-only date, or one digit off.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::random::Rng;

/// What a noisy record's name, birth date, sex or ids differ from the roll by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Zero-width spaces inside the Khmer name (invisible; not a different name).
    KhmerZeroWidth,
    /// ោ typed as េ + ា (or ើ as េ + ី).
    KhmerSplitVowel,
    /// Subscript ta (្ត) for subscript da (្ដ), or the other way.
    KhmerSubscriptTaDa,
    /// A long vowel for its short one, or the other way (ី/ិ, ូ/ុ, ឺ/ឹ).
    KhmerVowelLength,
    /// A final ខ written ក, or the other way (សុខ / សុក).
    KhmerFinalKhaKa,
    /// A diacritic left out (៉ ៊ ់ ័ ៈ).
    KhmerDiacriticDropped,
    /// A space between the syllables of the given name.
    KhmerSpaceInside,
    /// No space between family and given name.
    KhmerSpaceMissing,
    /// The given name written before the family name.
    KhmerOrderSwapped,
    /// Another romanisation of a syllable (Chanthy / Chanthea, Srey / Srei).
    LatinRomanisation,
    /// Upper or lower case, a hyphen or a space inside the given name.
    LatinFormat,
    /// The given name first (in FHIR: family and given swapped).
    LatinOrderSwapped,
    /// Day and month swapped (07/03 for 03/07).
    BirthDateDayMonthSwapped,
    /// 01/01/YYYY: only the year was known.
    BirthDateYearOnly,
    /// One digit of the birth date off.
    BirthDateDigitOff,
    /// No sex given.
    SexMissing,
    /// No national id given.
    NationalIdMissing,
    /// The officer id with two adjacent digits transposed.
    OfficerIdTransposed,
    /// The officer id with one digit wrong.
    OfficerIdDigitOff,
}

impl Variant {
    /// Whether the variant changes the Khmer name's match key (NFC, zero-width
    /// characters removed, whitespace collapsed): the name is then written differently.
    pub fn changes_khmer_key(self) -> bool {
        matches!(
            self,
            Self::KhmerSplitVowel
                | Self::KhmerSubscriptTaDa
                | Self::KhmerVowelLength
                | Self::KhmerFinalKhaKa
                | Self::KhmerDiacriticDropped
                | Self::KhmerSpaceInside
                | Self::KhmerSpaceMissing
                | Self::KhmerOrderSwapped
        )
    }

    /// Whether the variant writes the birth date otherwise.
    pub fn is_birth_date(self) -> bool {
        matches!(
            self,
            Self::BirthDateDayMonthSwapped | Self::BirthDateYearOnly | Self::BirthDateDigitOff
        )
    }
}

/// A Khmer name's parts: the family name and the given name's syllables.
#[derive(Debug, Clone)]
pub(crate) struct KhmerParts {
    pub family: String,
    pub given: Vec<String>,
}

impl KhmerParts {
    fn joined(&self) -> String {
        format!("{} {}", self.family, self.given.concat())
    }
}

/// Swaps the first character of `from` found in `text` for its partner.
fn swap_first(text: &str, pairs: &[(char, char)]) -> Option<String> {
    for (i, c) in text.char_indices() {
        for (a, b) in pairs {
            let other = if c == *a {
                *b
            } else if c == *b {
                *a
            } else {
                continue;
            };
            let mut out = String::with_capacity(text.len() + 4);
            out.push_str(&text[..i]);
            out.push(other);
            out.push_str(&text[i + c.len_utf8()..]);
            return Some(out);
        }
    }
    None
}

/// The Khmer name written with `variant`, when it applies to this name.
pub(crate) fn khmer_with(parts: &KhmerParts, variant: Variant) -> Option<String> {
    let name = parts.joined();
    match variant {
        Variant::KhmerZeroWidth => {
            // Input methods put one between words, or between syllables.
            let given = parts.given.join("\u{200B}");
            Some(format!("{}\u{200B} {given}", parts.family))
        }
        Variant::KhmerSplitVowel => {
            if name.contains('\u{17C4}') {
                Some(name.replacen('\u{17C4}', "\u{17C1}\u{17B6}", 1))
            } else if name.contains('\u{17BE}') {
                Some(name.replacen('\u{17BE}', "\u{17C1}\u{17B8}", 1))
            } else {
                None
            }
        }
        Variant::KhmerSubscriptTaDa => {
            if name.contains("\u{17D2}\u{178F}") {
                Some(name.replacen("\u{17D2}\u{178F}", "\u{17D2}\u{178A}", 1))
            } else if name.contains("\u{17D2}\u{178A}") {
                Some(name.replacen("\u{17D2}\u{178A}", "\u{17D2}\u{178F}", 1))
            } else {
                None
            }
        }
        Variant::KhmerVowelLength => swap_first(
            &name,
            &[
                ('\u{17B8}', '\u{17B7}'),
                ('\u{17BC}', '\u{17BB}'),
                ('\u{17BA}', '\u{17B9}'),
            ],
        ),
        Variant::KhmerFinalKhaKa => {
            // A word's last letter: ខ (U+1781) or ក (U+1780).
            let words: Vec<&str> = name.split(' ').collect();
            let k = words
                .iter()
                .position(|w| w.ends_with(['\u{1781}', '\u{1780}']))?;
            let mut out: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
            let word = &mut out[k];
            let last = word.pop()?;
            word.push(if last == '\u{1781}' {
                '\u{1780}'
            } else {
                '\u{1781}'
            });
            Some(out.join(" "))
        }
        Variant::KhmerDiacriticDropped => {
            let marks = ['\u{17C9}', '\u{17CA}', '\u{17CB}', '\u{17D0}', '\u{17C8}'];
            let i = name.find(marks)?;
            let mut out = name.clone();
            out.remove(i);
            Some(out)
        }
        Variant::KhmerSpaceInside => {
            (parts.given.len() > 1).then(|| format!("{} {}", parts.family, parts.given.join(" ")))
        }
        Variant::KhmerSpaceMissing => Some(format!("{}{}", parts.family, parts.given.concat())),
        Variant::KhmerOrderSwapped => Some(format!("{} {}", parts.given.concat(), parts.family)),
        _ => None,
    }
}

/// The Khmer variants that change the name, in the order they are tried.
pub(crate) const KHMER_SPELLINGS: [Variant; 8] = [
    Variant::KhmerFinalKhaKa,
    Variant::KhmerSubscriptTaDa,
    Variant::KhmerSplitVowel,
    Variant::KhmerVowelLength,
    Variant::KhmerDiacriticDropped,
    Variant::KhmerSpaceInside,
    Variant::KhmerSpaceMissing,
    Variant::KhmerOrderSwapped,
];

/// A Khmer spelling of the name different from the roll's, drawn among those that
/// apply (the letter confusions first: they are the commonest), sometimes with
/// zero-width spaces too. Returns the text and what was done.
pub(crate) fn khmer_variant(rng: &mut Rng, parts: &KhmerParts) -> (String, Vec<Variant>) {
    // The rarer confusions count double where they apply, so each class is seen.
    let letters: Vec<Variant> = KHMER_SPELLINGS[..5]
        .iter()
        .copied()
        .filter(|v| khmer_with(parts, *v).is_some())
        .flat_map(|v| {
            let weight = if KHMER_SPELLINGS[..3].contains(&v) {
                3
            } else {
                1
            };
            std::iter::repeat_n(v, weight)
        })
        .collect();
    let layout: Vec<Variant> = KHMER_SPELLINGS[5..]
        .iter()
        .copied()
        .filter(|v| khmer_with(parts, *v).is_some())
        .collect();
    let pool = if !letters.is_empty() && (layout.is_empty() || rng.chance(0.7)) {
        &letters
    } else {
        &layout
    };
    let variant = *rng.pick(pool);
    let mut text = khmer_with(parts, variant).unwrap_or_else(|| parts.joined());
    let mut done = vec![variant];
    if variant != Variant::KhmerSpaceMissing && rng.chance(0.15) {
        // A zero-width space after the family name as well.
        if let Some((family, rest)) = text.split_once(' ') {
            text = format!("{family}\u{200B} {rest}");
            done.push(Variant::KhmerZeroWidth);
        }
    }
    (text, done)
}

/// Other romanisations people use for a syllable or name, keyed by the usual one.
const ROMANISATIONS: &[(&str, &[&str])] = &[
    // Family names.
    ("Sok", &["Sokh", "Sook"]),
    ("Chan", &["Chann", "Chanh"]),
    ("Heng", &["Hieng", "Haeng"]),
    ("Ly", &["Lee", "Li"]),
    ("Kim", &["Keam", "Kym"]),
    ("Sun", &["Soun", "Sunn"]),
    ("Mao", &["Mau", "Mav"]),
    ("Chea", &["Chia", "Cheah"]),
    ("Chhim", &["Chim", "Chhem"]),
    ("Nhim", &["Nhem", "Nim"]),
    ("Pov", &["Pav", "Pau"]),
    ("Sieng", &["Seang", "Sien"]),
    ("Tep", &["Tepp", "Teb"]),
    ("Long", &["Loung", "Lung"]),
    ("Um", &["Oum", "Om"]),
    ("Hun", &["Houn", "Hunn"]),
    ("Khiev", &["Khieu", "Khiew"]),
    ("Yin", &["Yen", "Yinn"]),
    ("Nuon", &["Noun", "Nuan"]),
    ("Prum", &["Prom", "Proum"]),
    ("Sin", &["Sinn", "Syn"]),
    ("Meng", &["Mheng", "Meang"]),
    ("Khun", &["Khoun", "Kun"]),
    ("Van", &["Vann", "Vanh"]),
    ("Bun", &["Boun", "Bunn"]),
    ("Seng", &["Saeng", "Sreng"]),
    ("Ouk", &["Uk", "Ok"]),
    ("Keo", &["Kaev", "Keov"]),
    ("Cheng", &["Cheang", "Chheng"]),
    ("Phal", &["Pal", "Phall"]),
    ("Sreng", &["Sraeng", "Srenh"]),
    ("Touch", &["Toch", "Tuch"]),
    ("Mom", &["Morm", "Mum"]),
    ("Suon", &["Soun", "Suan"]),
    ("Ang", &["Aang", "Ung"]),
    ("Lay", &["Lai", "Laay"]),
    ("Nguon", &["Nguan", "Ngoun"]),
    ("Chin", &["Chen", "Chinn"]),
    ("Taing", &["Teang", "Taeng"]),
    ("Ros", &["Ross", "Rous"]),
    ("Sam", &["Samm", "Som"]),
    ("Meas", &["Mes", "Mias"]),
    ("Prak", &["Prakh", "Brak"]),
    ("Ung", &["Oung", "Ong"]),
    ("Phoung", &["Phuong", "Phong"]),
    ("Huot", &["Hout", "Huat"]),
    ("Chum", &["Chhum", "Choum"]),
    ("Pech", &["Pich", "Petch"]),
    ("Duong", &["Doung", "Duang"]),
    ("Lim", &["Leam", "Lym"]),
    ("Thach", &["Thac", "Tach"]),
    ("Yim", &["Yem", "Yeam"]),
    ("Nop", &["Norb", "Nob"]),
    ("Saom", &["Som", "Saum"]),
    ("Ek", &["Aek", "Ik"]),
    ("Chhay", &["Chay", "Chhai"]),
    ("Mak", &["Makk", "Mac"]),
    ("Kong", &["Kung", "Kaung"]),
    ("Tith", &["Tit", "Tet"]),
    ("Ith", &["It", "Eth"]),
    // First syllables of given names.
    ("Srey", &["Srei", "Srey"]),
    ("So", &["Sor", "Sow"]),
    ("Da", &["Dar", "Dah"]),
    ("Pi", &["Py", "Pee"]),
    ("Vi", &["Vy", "Ve"]),
    ("Bo", &["Bor", "Bou"]),
    ("Ma", &["Mar", "Mah"]),
    ("Thea", &["Thia", "Tea"]),
    ("Ra", &["Rah", "Rha"]),
    ("Li", &["Ly", "Lee"]),
    ("Na", &["Nar", "Nah"]),
    ("Kun", &["Kunn", "Koun"]),
    ("Sei", &["Sey", "Sai"]),
    ("Phea", &["Phia", "Pha"]),
    ("Puth", &["Pouth", "Put"]),
    ("Moni", &["Mony", "Monee"]),
    ("Vann", &["Van", "Vanh"]),
    // Second syllables.
    ("tha", &["thea", "thar"]),
    ("phea", &["phia", "pha"]),
    ("ry", &["ri", "rey"]),
    ("na", &["nha", "nar"]),
    ("da", &["dar", "dah"]),
    ("net", &["neth", "nit"]),
    ("phal", &["pal", "phall"]),
    ("kha", &["khar", "kah"]),
    ("mom", &["mum", "morm"]),
    ("nich", &["nith", "nech"]),
    ("ra", &["rah", "ro"]),
    ("ly", &["li", "lee"]),
    ("vy", &["vi", "vey"]),
    ("thy", &["thi", "thea"]),
    ("pov", &["pav", "pove"]),
    ("rath", &["rat", "roth"]),
    ("theary", &["thiri", "theari"]),
    ("sa", &["sar", "sah"]),
    ("vuth", &["vut", "vouth"]),
    ("rith", &["rit", "reth"]),
    ("nang", &["neang", "nange"]),
    ("pisey", &["pisei", "pesey"]),
    ("makara", &["makkara", "markara"]),
    ("sopheak", &["sophiek", "sopheakh"]),
    // Given names only the linkage noise draws (see `names::GIVEN_WHOLE`).
    ("Chenda", &["Chinda", "Chendar"]),
    ("Oudom", &["Udom", "Oudam"]),
    ("Sambath", &["Sambat", "Sombath"]),
    ("pheap", &["phiep", "pheab"]),
    ("Vannak", &["Vanak", "Vannac"]),
    ("heng", &["hieng", "haeng"]),
    ("Chamroeun", &["Chamreun", "Chamroen"]),
    ("Thi", &["Thy", "Tee"]),
    ("seth", &["set", "sith"]),
    ("Ratana", &["Rathana", "Rattana"]),
    ("Bopha", &["Bupha", "Bophar"]),
    ("Chantrea", &["Chantria", "Chanthrea"]),
    ("Kosal", &["Kusal", "Kosol"]),
];

/// The other romanisations of `usual` (none known: empty).
pub(crate) fn romanisations(usual: &str) -> &'static [&'static str] {
    ROMANISATIONS
        .iter()
        .find(|(u, _)| *u == usual)
        .map_or(&[], |(_, alts)| *alts)
}

/// A syllable in another romanisation, when one is known and differs.
pub(crate) fn respell_syllable(rng: &mut Rng, usual: &str) -> Option<String> {
    let alts: Vec<&str> = romanisations(usual)
        .iter()
        .copied()
        .filter(|a| !a.eq_ignore_ascii_case(usual))
        .collect();
    (!alts.is_empty()).then(|| (*rng.pick(&alts)).to_owned())
}

/// A name written in Latin letters, as a sector system holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LatinName {
    pub family: String,
    pub given: String,
    /// Written given name first (in FHIR: the given name in `family`).
    pub given_first: bool,
}

impl LatinName {
    /// As one text, in the written order.
    pub(crate) fn text(&self) -> String {
        if self.given_first {
            format!("{} {}", self.given, self.family)
        } else {
            format!("{} {}", self.family, self.given)
        }
    }
}

/// The Latin syllables of a name: the family name and the given name's syllables as
/// their usual romanisations (`Chan`, `tha`).
#[derive(Debug, Clone)]
pub(crate) struct LatinParts {
    pub family: &'static str,
    pub given: Vec<&'static str>,
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().collect::<String>() + &chars.as_str().to_lowercase()
    })
}

/// The usual Latin given name of syllables: `Chan` + `tha` is `Chantha`, `Vann` +
/// `nich` is `Vannich`.
pub(crate) fn join_given(syllables: &[String]) -> String {
    let mut s = String::new();
    for syllable in syllables {
        if s.ends_with("nn") && syllable.starts_with('n') {
            s.pop();
        }
        s.push_str(syllable);
    }
    s
}

/// The name in other romanisations and forms. `must_differ`: at least one change.
pub(crate) fn latin_variant(
    rng: &mut Rng,
    parts: &LatinParts,
    must_differ: bool,
) -> (LatinName, Vec<Variant>) {
    fn respell(rng: &mut Rng, usual: &str, done: &mut Vec<Variant>) -> String {
        if rng.chance(0.5)
            && let Some(other) = respell_syllable(rng, usual)
        {
            if !done.contains(&Variant::LatinRomanisation) {
                done.push(Variant::LatinRomanisation);
            }
            return other;
        }
        usual.to_owned()
    }
    let mut done = Vec::new();
    let family = respell(rng, parts.family, &mut done);
    let syllables: Vec<String> = parts
        .given
        .iter()
        .map(|s| respell(rng, s, &mut done))
        .collect();
    let mut given = capitalised(&join_given(&syllables));
    let mut family = capitalised(&family);
    if syllables.len() > 1 && rng.chance(0.25) {
        // `Chan Tha`, `Chan-tha`, `Kim Heng`.
        let first = capitalised(&syllables[0]);
        let rest = join_given(&syllables[1..]);
        given = if rng.chance(0.5) {
            format!("{first} {}", capitalised(&rest))
        } else {
            format!("{first}-{}", rest.to_lowercase())
        };
        done.push(Variant::LatinFormat);
    }
    if rng.chance(0.2) {
        if rng.chance(0.6) {
            family = family.to_uppercase();
        } else {
            family = family.to_lowercase();
            given = given.to_lowercase();
        }
        if !done.contains(&Variant::LatinFormat) {
            done.push(Variant::LatinFormat);
        }
    }
    let given_first = rng.chance(0.15);
    if given_first {
        done.push(Variant::LatinOrderSwapped);
    }
    if must_differ && done.is_empty() {
        // Nothing drawn: swap the order, the commonest slip of all.
        done.push(Variant::LatinOrderSwapped);
        return (
            LatinName {
                family,
                given,
                given_first: true,
            },
            done,
        );
    }
    done.sort();
    (
        LatinName {
            family,
            given,
            given_first,
        },
        done,
    )
}

/// A birth date written with `variant`, when it applies and gives another real date
/// between 1940 and 2010.
pub(crate) fn date_with(rng: &mut Rng, date: NaiveDate, variant: Variant) -> Option<NaiveDate> {
    let other = match variant {
        Variant::BirthDateDayMonthSwapped => {
            let (d, m) = (date.day(), date.month());
            (d <= 12 && d != m)
                .then(|| NaiveDate::from_ymd_opt(date.year(), d, m))
                .flatten()
        }
        Variant::BirthDateYearOnly => NaiveDate::from_ymd_opt(date.year(), 1, 1),
        Variant::BirthDateDigitOff => {
            let iso = date.format("%Y-%m-%d").to_string();
            let mut candidates = Vec::new();
            for (i, c) in iso.char_indices() {
                if c == '-' {
                    continue;
                }
                for d in '0'..='9' {
                    if d == c {
                        continue;
                    }
                    let mut s = iso.clone();
                    s.replace_range(i..=i, d.encode_utf8(&mut [0; 4]));
                    if let Ok(other) = NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                        && (1940..=2010).contains(&other.year())
                    {
                        candidates.push(other);
                    }
                }
            }
            (!candidates.is_empty()).then(|| *rng.pick(&candidates))
        }
        _ => None,
    }?;
    (other != date).then_some(other)
}

/// The birth date in a variant form, drawn among those that apply: day and month
/// swapped (the commonest slip) first when it applies, half of the time.
pub(crate) fn date_variant(rng: &mut Rng, date: NaiveDate) -> Option<(NaiveDate, Variant)> {
    if rng.chance(0.5)
        && let Some(other) = date_with(rng, date, Variant::BirthDateDayMonthSwapped)
    {
        return Some((other, Variant::BirthDateDayMonthSwapped));
    }
    let mut order = [
        Variant::BirthDateDayMonthSwapped,
        Variant::BirthDateYearOnly,
        Variant::BirthDateDigitOff,
    ];
    rng.shuffle(&mut order);
    order
        .into_iter()
        .find_map(|v| date_with(rng, date, v).map(|d| (d, v)))
}

/// The officer id (10 digits) with a typo: two adjacent digits transposed, or one
/// digit wrong. Every typo of the id, in a random order, with its kind.
pub(crate) fn id_typos(rng: &mut Rng, id: u64) -> Vec<(u64, Variant)> {
    let digits: Vec<u8> = format!("{id:010}").bytes().map(|b| b - b'0').collect();
    let number = |d: &[u8]| d.iter().fold(0_u64, |n, x| n * 10 + u64::from(*x));
    let mut out = Vec::new();
    for i in 0..digits.len() - 1 {
        if digits[i] != digits[i + 1] && !(i == 0 && digits[1] == 0) {
            let mut d = digits.clone();
            d.swap(i, i + 1);
            out.push((number(&d), Variant::OfficerIdTransposed));
        }
    }
    for i in 0..digits.len() {
        for x in 0..10 {
            if x != digits[i] && !(i == 0 && x == 0) {
                let mut d = digits.clone();
                d[i] = x;
                out.push((number(&d), Variant::OfficerIdDigitOff));
            }
        }
    }
    rng.shuffle(&mut out);
    // Transpositions are the commonest slip: put one first, half of the time.
    if rng.chance(0.5)
        && let Some(k) = out
            .iter()
            .position(|(_, v)| *v == Variant::OfficerIdTransposed)
    {
        out.swap(0, k);
    }
    out
}

/// Whether two 10-digit ids are one typo apart (an adjacent transposition or one
/// digit wrong).
#[cfg(test)]
pub(crate) fn one_typo_apart(a: u64, b: u64) -> bool {
    let (a, b) = (format!("{a:010}"), format!("{b:010}"));
    let diff: Vec<usize> = a
        .bytes()
        .zip(b.bytes())
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, _)| i)
        .collect();
    match diff.as_slice() {
        [_] => true,
        [i, j] => {
            *j == i + 1
                && a.as_bytes()[*i] == b.as_bytes()[*j]
                && a.as_bytes()[*j] == b.as_bytes()[*i]
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(family: &str, given: &[&str]) -> KhmerParts {
        KhmerParts {
            family: family.to_owned(),
            given: given.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn khmer_variants_as_typed() {
        let sok = parts("សុខ", &["ចាន់", "ថា"]);
        assert_eq!(
            khmer_with(&sok, Variant::KhmerFinalKhaKa).as_deref(),
            Some("សុក ចាន់ថា")
        );
        assert_eq!(
            khmer_with(&sok, Variant::KhmerDiacriticDropped).as_deref(),
            Some("សុខ ចានថា")
        );
        assert_eq!(
            khmer_with(&sok, Variant::KhmerSpaceInside).as_deref(),
            Some("សុខ ចាន់ ថា")
        );
        assert_eq!(
            khmer_with(&sok, Variant::KhmerSpaceMissing).as_deref(),
            Some("សុខចាន់ថា")
        );
        assert_eq!(
            khmer_with(&sok, Variant::KhmerOrderSwapped).as_deref(),
            Some("ចាន់ថា សុខ")
        );
        assert_eq!(
            khmer_with(&sok, Variant::KhmerZeroWidth).as_deref(),
            Some("សុខ\u{200B} ចាន់\u{200B}ថា")
        );
        assert_eq!(khmer_with(&sok, Variant::KhmerSubscriptTaDa), None);
        assert_eq!(khmer_with(&sok, Variant::KhmerSplitVowel), None);

        let oudom = parts("សោម", &["ឧត្តម"]);
        assert_eq!(
            khmer_with(&oudom, Variant::KhmerSplitVowel).as_deref(),
            Some("ស\u{17C1}\u{17B6}ម ឧត្តម")
        );
        assert_eq!(
            khmer_with(&oudom, Variant::KhmerSubscriptTaDa).as_deref(),
            Some("សោម ឧត្ដម")
        );
        assert_eq!(khmer_with(&oudom, Variant::KhmerSpaceInside), None);
        let ly = parts("លី", &["ធី"]);
        assert_eq!(
            khmer_with(&ly, Variant::KhmerVowelLength).as_deref(),
            Some("លិ ធី")
        );
    }

    #[test]
    fn every_drawn_khmer_variant_differs_from_the_name() {
        let mut rng = Rng::new(1, "t");
        for p in [parts("សុខ", &["ចាន់", "ថា"]), parts("ហេង", &["ដា"])]
        {
            for _ in 0..50 {
                let (text, done) = khmer_variant(&mut rng, &p);
                let key = |s: &str| s.replace('\u{200B}', "");
                assert_ne!(key(&text), key(&p.joined()), "{done:?}");
                assert!(done[0].changes_khmer_key());
            }
        }
    }

    #[test]
    fn romanisations_are_known_and_differ() {
        assert!(romanisations("thy").contains(&"thea"));
        assert!(romanisations("Srey").contains(&"Srei"));
        assert!(romanisations("Nobody").is_empty());
        let mut rng = Rng::new(2, "t");
        for _ in 0..20 {
            let other = respell_syllable(&mut rng, "Srey").expect("known");
            assert_ne!(other, "Srey");
        }
        let latin = LatinParts {
            family: "Sok",
            given: vec!["Chan", "thy"],
        };
        for _ in 0..50 {
            let (name, done) = latin_variant(&mut rng, &latin, true);
            assert!(!done.is_empty());
            assert!(name.text() != "Sok Chanthy" || done == [Variant::LatinOrderSwapped]);
        }
        assert_eq!(join_given(&["Vann".into(), "nich".into()]), "Vannich");
    }

    #[test]
    fn date_variants() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        let mut rng = Rng::new(3, "t");
        assert_eq!(
            date_with(&mut rng, d(1985, 3, 7), Variant::BirthDateDayMonthSwapped),
            Some(d(1985, 7, 3))
        );
        assert_eq!(
            date_with(&mut rng, d(1985, 3, 17), Variant::BirthDateDayMonthSwapped),
            None
        );
        assert_eq!(
            date_with(&mut rng, d(1985, 3, 17), Variant::BirthDateYearOnly),
            Some(d(1985, 1, 1))
        );
        assert_eq!(
            date_with(&mut rng, d(1985, 1, 1), Variant::BirthDateYearOnly),
            None
        );
        for _ in 0..50 {
            let other = date_with(&mut rng, d(1985, 3, 17), Variant::BirthDateDigitOff)
                .expect("a digit off");
            let (a, b) = (d(1985, 3, 17).to_string(), other.to_string());
            let differing = a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count();
            assert_eq!(differing, 1, "{b}");
        }
    }

    #[test]
    fn id_typos_are_one_typo_apart() {
        let mut rng = Rng::new(4, "t");
        let id = 1_234_567_890;
        let typos = id_typos(&mut rng, id);
        assert!(typos.len() > 90);
        for (t, _) in &typos {
            assert!(one_typo_apart(id, *t), "{t}");
            assert!(*t >= 1_000_000_000);
        }
        assert!(one_typo_apart(1_234_567_890, 1_234_567_809));
        assert!(!one_typo_apart(1_234_567_890, 1_234_569_870));
        assert!(!one_typo_apart(1_234_567_890, 1_234_567_890));
        assert!(!one_typo_apart(1_234_567_890, 1_234_568_800));
    }
}
