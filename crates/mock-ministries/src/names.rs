//! Cambodian personal names: a family name and a given name made of one or two
//! syllables, each in Khmer script (NFC) and in the usual Latin spelling. (The
//! other spellings clerks write are in `spelling`.)

use crate::random::Rng;
use crate::spelling::{KhmerParts, LatinParts, join_given};

/// Family names, Khmer and Latin.
const FAMILY: &[(&str, &str)] = &[
    ("សុខ", "Sok"),
    ("ចាន់", "Chan"),
    ("ហេង", "Heng"),
    ("លី", "Ly"),
    ("គឹម", "Kim"),
    ("ស៊ុន", "Sun"),
    ("ម៉ៅ", "Mao"),
    ("ជា", "Chea"),
    ("ឈិម", "Chhim"),
    ("ញឹម", "Nhim"),
    ("ពៅ", "Pov"),
    ("សៀង", "Sieng"),
    ("ទេព", "Tep"),
    ("ឡុង", "Long"),
    ("អ៊ុំ", "Um"),
    ("ហ៊ុន", "Hun"),
    ("ខៀវ", "Khiev"),
    ("យិន", "Yin"),
    ("នួន", "Nuon"),
    ("ព្រំ", "Prum"),
    ("ស៊ិន", "Sin"),
    ("ម៉េង", "Meng"),
    ("ឃុន", "Khun"),
    ("វ៉ាន់", "Van"),
    ("ប៊ុន", "Bun"),
    ("សេង", "Seng"),
    ("អ៊ុក", "Ouk"),
    ("កែវ", "Keo"),
    ("ចេង", "Cheng"),
    ("ផល", "Phal"),
    ("ស្រេង", "Sreng"),
    ("ទូច", "Touch"),
    ("ម៉ម", "Mom"),
    ("សួន", "Suon"),
    ("អ៊ាង", "Ang"),
    ("ឡាយ", "Lay"),
    ("ងួន", "Nguon"),
    ("ចិន", "Chin"),
    ("តាំង", "Taing"),
    ("រស់", "Ros"),
    ("សំ", "Sam"),
    ("មាស", "Meas"),
    ("ប្រាក់", "Prak"),
    ("អ៊ួង", "Ung"),
    ("ភួង", "Phoung"),
    ("ហួត", "Huot"),
    ("ជុំ", "Chum"),
    ("ពេជ្រ", "Pech"),
    ("ឌួង", "Duong"),
    ("លឹម", "Lim"),
    ("ថាច់", "Thach"),
    ("យឹម", "Yim"),
    ("ណុប", "Nop"),
    ("សោម", "Saom"),
    ("ឯក", "Ek"),
    ("ឆាយ", "Chhay"),
    ("ម៉ក់", "Mak"),
    ("គង់", "Kong"),
    ("ទិត្យ", "Tith"),
    ("អ៊ិត", "Ith"),
];

/// First syllables of given names. The first entry (ស្រី, "woman") is for women only.
const GIVEN_FIRST: &[(&str, &str)] = &[
    ("ស្រី", "Srey"),
    ("សុ", "So"),
    ("ចាន់", "Chan"),
    ("ដា", "Da"),
    ("សុខ", "Sok"),
    ("ពិ", "Pi"),
    ("វិ", "Vi"),
    ("បុ", "Bo"),
    ("ម", "Ma"),
    ("សំ", "Sam"),
    ("ធា", "Thea"),
    ("រ៉ា", "Ra"),
    ("លី", "Li"),
    ("ណា", "Na"),
    ("គុណ", "Kun"),
    ("ប៊ុន", "Bun"),
    ("សី", "Sei"),
    ("ភា", "Phea"),
    ("ពុទ្ធ", "Puth"),
    ("មុនី", "Moni"),
    ("វណ្ណ", "Vann"),
];

/// Second syllables of given names.
const GIVEN_SECOND: &[(&str, &str)] = &[
    ("ថា", "tha"),
    ("ភា", "phea"),
    ("រី", "ry"),
    ("ណា", "na"),
    ("ដា", "da"),
    ("ណេត", "net"),
    ("ផល", "phal"),
    ("ខា", "kha"),
    ("មុំ", "mom"),
    ("និច", "nich"),
    ("រ៉ា", "ra"),
    ("លី", "ly"),
    ("វី", "vy"),
    ("ធី", "thy"),
    ("ពៅ", "pov"),
    ("រ័ត្ន", "rath"),
    ("ធារី", "theary"),
    ("សា", "sa"),
    ("វុធ", "vuth"),
    ("រិទ្ធ", "rith"),
    ("ណាង", "nang"),
    ("ពិសី", "pisey"),
    ("មករា", "makara"),
    ("សុភ័ក្រ", "sopheak"),
];

/// Whole given names (Khmer and Latin syllables) that only the linkage noise draws,
/// so the base world's draws stay as they are: names whose Khmer holds the letters
/// clerks confuse (subscript ta and da, a split vowel, a visarga) and names with
/// several romanisations in use.
const GIVEN_WHOLE: &[(&[&str], &[&str])] = &[
    (&["ចិន្តា"], &["Chenda"]),
    (&["ឧត្តម"], &["Oudom"]),
    (&["សម្បត្តិ"], &["Sambath"]),
    (&["សុ", "ភាព"], &["So", "pheap"]),
    (&["វណ្ណៈ"], &["Vannak"]),
    (&["គីម", "ហេង"], &["Kim", "heng"]),
    (&["ចំរើន"], &["Chamroeun"]),
    (&["សោ", "ភា"], &["So", "phea"]),
    (&["ធី", "តា"], &["Thi", "da"]),
    (&["ពិ", "សិដ្ឋ"], &["Pi", "seth"]),
    (&["រតនា"], &["Ratana"]),
    (&["បុប្ផា"], &["Bopha"]),
    (&["ចន្ទ្រា"], &["Chantrea"]),
    (&["សុ", "ធារី"], &["So", "theary"]),
    (&["កុសល"], &["Kosal"]),
];

const NONE: u8 = u8::MAX;
/// `first` of a name whose given name is `GIVEN_WHOLE[second]`.
const WHOLE: u8 = u8::MAX - 1;

/// A person's name as indices into the syllable lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PersonName {
    family: u8,
    first: u8,
    second: u8,
}

impl PersonName {
    pub(crate) fn random(rng: &mut Rng, female: bool) -> Self {
        let family = rng.index(FAMILY.len()) as u8;
        let first = if female && rng.chance(0.2) {
            0
        } else {
            1 + rng.index(GIVEN_FIRST.len() - 1) as u8
        };
        let second = if rng.chance(0.1) {
            NONE
        } else {
            rng.index(GIVEN_SECOND.len()) as u8
        };
        Self {
            family,
            first,
            second,
        }
    }

    /// A name for a person of the linkage noise: as [`PersonName::random`], or, a
    /// third of the time, with a given name only the noise draws.
    pub(crate) fn random_noise(rng: &mut Rng, female: bool) -> Self {
        let mut name = Self::random(rng, female);
        if rng.chance(0.35) {
            name.first = WHOLE;
            name.second = rng.index(GIVEN_WHOLE.len()) as u8;
        }
        name
    }

    /// The Khmer family name and given name's syllables.
    pub(crate) fn khmer_parts(self) -> KhmerParts {
        KhmerParts {
            family: self.family_km().to_owned(),
            given: self
                .given_syllables()
                .iter()
                .map(|(km, _)| (*km).to_owned())
                .collect(),
        }
    }

    /// The Latin family name and the given name's syllables, as usually written.
    pub(crate) fn latin_parts(self) -> LatinParts {
        LatinParts {
            family: self.family_latin(),
            given: self.given_syllables().iter().map(|(_, l)| *l).collect(),
        }
    }

    /// The given name's syllables, Khmer and Latin.
    fn given_syllables(self) -> Vec<(&'static str, &'static str)> {
        if self.first == WHOLE {
            let (km, latin) = GIVEN_WHOLE[self.second as usize];
            return km.iter().copied().zip(latin.iter().copied()).collect();
        }
        let mut out = vec![GIVEN_FIRST[self.first as usize]];
        if self.second != NONE {
            out.push(GIVEN_SECOND[self.second as usize]);
        }
        out
    }

    /// The same family name with another given name.
    pub(crate) fn with_other_given(self, rng: &mut Rng) -> Self {
        let mut other = self;
        while other.first == self.first && other.second == self.second {
            other.first = 1 + rng.index(GIVEN_FIRST.len() - 1) as u8;
            other.second = rng.index(GIVEN_SECOND.len()) as u8;
        }
        other
    }

    pub(crate) fn family_km(self) -> &'static str {
        FAMILY[self.family as usize].0
    }

    pub(crate) fn family_latin(self) -> &'static str {
        FAMILY[self.family as usize].1
    }

    /// The given name in Khmer; `zwsp` puts a zero-width space between its syllables
    /// (or after it, when it has one), as Khmer input methods do.
    pub(crate) fn given_km(self, zwsp: bool) -> String {
        if self.first == WHOLE {
            let km = GIVEN_WHOLE[self.second as usize].0;
            let mut s = km.join(if zwsp { "\u{200B}" } else { "" });
            if zwsp && km.len() == 1 {
                s.push('\u{200B}');
            }
            return s;
        }
        let mut s = String::from(GIVEN_FIRST[self.first as usize].0);
        if zwsp {
            s.push('\u{200B}');
        }
        if self.second != NONE {
            s.push_str(GIVEN_SECOND[self.second as usize].0);
        }
        s
    }

    pub(crate) fn given_latin(self) -> String {
        if self.first == WHOLE {
            let latin: Vec<String> = GIVEN_WHOLE[self.second as usize]
                .1
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            return join_given(&latin);
        }
        let mut s = String::from(GIVEN_FIRST[self.first as usize].1);
        if self.second != NONE {
            let second = GIVEN_SECOND[self.second as usize].1;
            // `Vann` + `nich` is written `Vannich`, not `Vannnich`.
            if s.ends_with("nn") && second.starts_with('n') {
                s.pop();
            }
            s.push_str(second);
        }
        s
    }

    /// `សុខ ចាន់ថា`.
    pub(crate) fn khmer(self, zwsp: bool) -> String {
        format!("{} {}", self.family_km(), self.given_km(zwsp))
    }

    /// `Sok Chantha`.
    pub(crate) fn latin(self) -> String {
        format!("{} {}", self.family_latin(), self.given_latin())
    }

    /// `SOK Chantha`, as the civil-service roll writes it.
    pub(crate) fn latin_roll(self) -> String {
        format!(
            "{} {}",
            self.family_latin().to_uppercase(),
            self.given_latin()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_given_names_read_like_the_others() {
        let name = PersonName {
            family: 0,
            first: WHOLE,
            second: 5,
        };
        assert_eq!(name.khmer(false), "សុខ គីមហេង");
        assert_eq!(name.khmer(true), "សុខ គីម\u{200B}ហេង");
        assert_eq!(name.latin(), "Sok Kimheng");
        assert_eq!(name.khmer_parts().given, ["គីម", "ហេង"]);
        assert_eq!(name.latin_parts().given, ["Kim", "heng"]);
        let base = PersonName {
            family: 1,
            first: 2,
            second: 0,
        };
        assert_eq!(base.latin(), "Chan Chantha");
        assert_eq!(base.khmer_parts().given, ["ចាន់", "ថា"]);
    }
}
