//! The administrative gazetteer the mock ministries are built on: synthetic,
//! generated in code ([`synthetic`]) and shaped like Cambodia's NCDD gazetteer
//! (25 provinces, about 210 districts, 1,650 communes and 14,500 villages, codes
//! of 2/4/6/8 digits, Khmer and Latin names, the Khmer kind of each unit). The
//! project must not depend on or copy the real one, so the names are made up.
//! Generated once per process, the same at every scale and under every seed.

use std::sync::OnceLock;

use crate::MockError;

mod synthetic;
mod words;

/// The generated units, owned for the whole process.
static UNITS: OnceLock<Vec<synthetic::Unit>> = OnceLock::new();
/// The same, as [`Place`]s borrowing from [`UNITS`].
static PLACES: OnceLock<Vec<Place>> = OnceLock::new();

fn all_places() -> &'static [Place] {
    PLACES.get_or_init(|| {
        UNITS
            .get_or_init(synthetic::generate)
            .iter()
            .map(|u| Place {
                code: &u.code,
                type_km: u.type_km,
                name_km: &u.name_km,
                name_latin: &u.name_latin,
                point: u.point,
            })
            .collect()
    })
}

/// One unit of the gazetteer.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub code: &'static str,
    pub type_km: &'static str,
    pub name_km: &'static str,
    /// Empty where a unit has no Latin name (never, in the synthetic gazetteer).
    pub name_latin: &'static str,
    pub point: Option<(f64, f64)>,
}

/// All units, sorted by code: a unit's descendants follow it directly.
#[derive(Debug)]
pub(crate) struct Gazetteer {
    places: &'static [Place],
}

impl Gazetteer {
    /// The gazetteer, generated on first use; checked for the shape the rest of
    /// the crate relies on.
    pub(crate) fn load() -> Result<Self, MockError> {
        let places = all_places();
        if !places.windows(2).all(|w| w[0].code < w[1].code) {
            return Err(MockError::Gazetteer("codes are not sorted".into()));
        }
        let gazetteer = Self { places };
        for p in places {
            let code = p.code;
            let well_formed = matches!(code.len(), 2 | 4 | 6 | 8)
                && code.bytes().all(|b| b.is_ascii_digit())
                && !code.ends_with("00");
            if !well_formed {
                return Err(MockError::Gazetteer(format!("code {code:?} is malformed")));
            }
            if code.len() > 2 && gazetteer.find(&code[..code.len() - 2]).is_none() {
                return Err(MockError::Gazetteer(format!("{code}: no parent")));
            }
        }
        Ok(gazetteer)
    }

    pub(crate) fn places(&self) -> &[Place] {
        self.places
    }

    pub(crate) fn place(&self, index: u32) -> &Place {
        &self.places[index as usize]
    }

    pub(crate) fn find(&self, code: &str) -> Option<u32> {
        self.places
            .binary_search_by(|p| p.code.cmp(code))
            .ok()
            .map(|i| i as u32)
    }

    /// Indices of every unit whose code has `digits` digits (2, 4, 6, 8), in code order.
    pub(crate) fn level(&self, digits: usize) -> Vec<u32> {
        self.places
            .iter()
            .enumerate()
            .filter(|(_, p)| p.code.len() == digits)
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// Indices of the units `digits` long inside unit `index`, in code order.
    pub(crate) fn children(&self, index: u32, digits: usize) -> Vec<u32> {
        let parent = self.places[index as usize].code;
        self.places[index as usize + 1..]
            .iter()
            .take_while(|p| p.code.starts_with(parent))
            .enumerate()
            .filter(|(_, p)| p.code.len() == digits)
            .map(|(i, _)| index + 1 + i as u32)
            .collect()
    }

    /// The index of the unit a code's first `digits` digits name.
    pub(crate) fn ancestor(&self, index: u32, digits: usize) -> Option<u32> {
        let code = self.places[index as usize].code;
        code.get(..digits).and_then(|c| self.find(c))
    }

    /// The unit's own point, or its nearest ancestor's.
    pub(crate) fn point(&self, index: u32) -> (f64, f64) {
        let mut code = self.places[index as usize].code;
        loop {
            if let Some(i) = self.find(code)
                && let Some(point) = self.places[i as usize].point
            {
                return point;
            }
            if code.len() <= 2 {
                // The capital's centre, should a province ever lack a point.
                return (11.56, 104.92);
            }
            code = &code[..code.len() - 2];
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};
    use std::time::Instant;

    use unicode_normalization::UnicodeNormalization;

    use super::synthetic::{self, *};
    use super::*;

    fn gazetteer() -> Gazetteer {
        Gazetteer::load().expect("generated gazetteer loads")
    }

    #[test]
    fn the_whole_country_is_there() {
        let g = gazetteer();
        let provinces = g.level(2);
        assert_eq!(provinces.len(), PROVINCES);
        let codes: Vec<&str> = provinces.iter().map(|p| g.place(*p).code).collect();
        let expected: Vec<String> = (1..=PROVINCES).map(|p| format!("{p:02}")).collect();
        assert_eq!(codes, expected);
        let (districts, communes, villages) = (g.level(4), g.level(6), g.level(8));
        assert!(
            (190..=230).contains(&districts.len()),
            "{}",
            districts.len()
        );
        assert!(
            (1_500..=1_800).contains(&communes.len()),
            "{}",
            communes.len()
        );
        assert!(
            (13_000..=16_000).contains(&villages.len()),
            "{}",
            villages.len()
        );
        assert_eq!(
            g.places().len(),
            25 + districts.len() + communes.len() + villages.len()
        );
        let first = g.find("01").expect("province 01");
        assert!(g.children(first, 4).len() >= 4);
        let commune = g.find("010201").expect("commune 010201");
        assert_eq!(g.ancestor(commune, 4), g.find("0102"));
        assert_eq!(g.ancestor(commune, 2), Some(first));
        assert_eq!(g.point(g.children(commune, 8)[0]), g.point(commune));
    }

    #[test]
    fn codes_extend_their_parents_with_serials_from_01() {
        let g = gazetteer();
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        for p in g.places() {
            let code = p.code;
            assert!(matches!(code.len(), 2 | 4 | 6 | 8), "{code}");
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
            assert!(!code.ends_with("00"), "{code}");
            let parent = &code[..code.len() - 2];
            children
                .entry(parent)
                .or_default()
                .push(&code[code.len() - 2..]);
        }
        for (parent, serials) in &children {
            let expected: Vec<String> = (1..=serials.len()).map(|s| format!("{s:02}")).collect();
            assert_eq!(serials, &expected, "children of {parent:?}");
            let range = match parent.len() {
                0 => (PROVINCES, PROVINCES),
                2 => DISTRICTS_PER_PROVINCE,
                4 => COMMUNES_PER_DISTRICT,
                _ => VILLAGES_PER_COMMUNE,
            };
            assert!(
                (range.0..=range.1).contains(&serials.len()),
                "{parent:?} has {} children",
                serials.len()
            );
        }
    }

    #[test]
    fn each_level_has_the_khmer_kinds_of_unit() {
        let g = gazetteer();
        let kinds = |digits| -> BTreeSet<&str> {
            g.level(digits)
                .iter()
                .map(|i| g.place(*i).type_km)
                .collect()
        };
        assert_eq!(kinds(2), BTreeSet::from([CAPITAL_KM, PROVINCE_KM]));
        assert_eq!(
            kinds(4),
            BTreeSet::from([KHAN_KM, MUNICIPALITY_KM, DISTRICT_KM])
        );
        assert_eq!(kinds(6), BTreeSet::from([SANGKAT_KM, COMMUNE_KM]));
        assert_eq!(kinds(8), BTreeSet::from([VILLAGE_KM]));
        for province in g.level(2) {
            let p = g.place(province);
            let districts = g.children(province, 4);
            let of_kind = |kind| {
                districts
                    .iter()
                    .filter(|d| g.place(**d).type_km == kind)
                    .count()
            };
            if p.code == format!("{CAPITAL:02}") {
                assert_eq!(p.type_km, CAPITAL_KM);
                assert_eq!(of_kind(KHAN_KM), districts.len());
            } else {
                assert_eq!(p.type_km, PROVINCE_KM);
                assert!((1..=2).contains(&of_kind(MUNICIPALITY_KM)), "{}", p.code);
                assert_eq!(of_kind(KHAN_KM), 0);
            }
            for d in districts {
                let urban = g.place(d).type_km != DISTRICT_KM;
                for c in g.children(d, 6) {
                    let expected = if urban { SANGKAT_KM } else { COMMUNE_KM };
                    assert_eq!(g.place(c).type_km, expected, "{}", g.place(c).code);
                }
            }
        }
    }

    #[test]
    fn names_are_khmer_with_a_matching_romanisation() {
        let g = gazetteer();
        for p in g.places() {
            assert!(
                !p.name_km.is_empty() && !p.name_latin.is_empty(),
                "{}",
                p.code
            );
            assert!(
                p.name_km
                    .chars()
                    .all(|c| ('\u{1780}'..='\u{17FF}').contains(&c)),
                "{}: {}",
                p.code,
                p.name_km
            );
            assert_eq!(p.name_km.nfc().collect::<String>(), p.name_km, "{}", p.code);
            assert!(
                p.name_latin.split(' ').all(|w| w
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_uppercase())
                    && w.chars().all(|c| c.is_ascii_alphabetic())),
                "{}: {:?}",
                p.code,
                p.name_latin
            );
        }
        // The same Khmer name is always romanised the same way.
        let mut latin_of: HashMap<&str, &str> = HashMap::new();
        for p in g.places() {
            let latin = *latin_of.entry(p.name_km).or_insert(p.name_latin);
            assert_eq!(latin, p.name_latin, "{}", p.name_km);
        }
        // Varied: no name is common, siblings differ.
        let villages = g.level(8);
        let mut uses: HashMap<&str, usize> = HashMap::new();
        for v in &villages {
            *uses.entry(g.place(*v).name_km).or_default() += 1;
        }
        assert!(uses.len() > villages.len() / 3, "{} names", uses.len());
        let most = uses.values().max().copied().unwrap_or(0);
        assert!(most < villages.len() / 100, "a name used {most} times");
        for parent in g.places().iter().filter(|p| p.code.len() < 8) {
            let index = g.find(parent.code).expect("found");
            let siblings = g.children(index, parent.code.len() + 2);
            let names: BTreeSet<&str> = siblings.iter().map(|s| g.place(*s).name_km).collect();
            assert_eq!(names.len(), siblings.len(), "children of {}", parent.code);
        }
        let provinces: BTreeSet<&str> = g.level(2).iter().map(|p| g.place(*p).name_km).collect();
        assert_eq!(provinces.len(), PROVINCES);
    }

    #[test]
    fn points_are_in_cambodia_near_their_parents() {
        let g = gazetteer();
        for (i, p) in g.places().iter().enumerate() {
            if p.code.len() == 8 {
                assert!(p.point.is_none());
                continue;
            }
            let (lat, lon) = p
                .point
                .expect("provinces, districts and communes have points");
            assert!((LAT.0..=LAT.1).contains(&lat), "{}: {lat}", p.code);
            assert!((LON.0..=LON.1).contains(&lon), "{}: {lon}", p.code);
            if p.code.len() > 2 {
                let parent = g.ancestor(i as u32, p.code.len() - 2).expect("parent");
                let (a, b) = g.point(parent);
                let distance = ((a - lat).powi(2) + (b - lon).powi(2)).sqrt();
                assert!(distance < 1.0, "{} is {distance} degrees away", p.code);
            }
        }
    }

    #[test]
    fn generated_the_same_every_time_and_quickly() {
        let started = Instant::now();
        let again = synthetic::generate();
        let took = started.elapsed();
        println!("generated {} units in {took:?}", again.len());
        let first = UNITS.get_or_init(synthetic::generate);
        assert_eq!(first, &again);
        // About 30 ms in a debug build; the bound leaves room for a busy machine.
        assert!(took.as_secs_f64() < 2.0, "took {took:?}");
    }
}
