//! The synthetic gazetteer: a made-up Cambodia, shaped like the NCDD gazetteer.
//!
//! 25 provinces coded `01`..`25`, `12` the capital (រាជធានី, whose districts are
//! khans, ខណ្ឌ, and whose communes are sangkats, សង្កាត់); the others are provinces
//! (ខេត្ត) of districts (ស្រុក) and one or two municipalities (ក្រុង, communes
//! សង្កាត់), other communes ឃុំ; villages ភូមិ. About 210 districts, 1,650 communes
//! and 14,500 villages. Each code extends its parent's by a two-digit serial from
//! `01`. Names are built from common Khmer place-name words with their
//! romanisation ([`super::words`]); provinces, districts and communes have a point
//! inside Cambodia's bounding box, near their parent's; villages have none.
//!
//! It depends on nothing but a fixed seed: the same everywhere, at every scale and
//! under every mock seed.

use std::collections::HashSet;

use super::words::{FEATURES, QUALITIES, SIDES, THINGS, Word};
use crate::random::Rng;

/// The generator's own seed ("KHGAZETT"), independent of the mock's seed.
const SEED: u64 = 0x4B48_4741_5A45_5454;

pub(super) const PROVINCES: usize = 25;
/// The capital's serial (`12`).
pub(super) const CAPITAL: usize = 12;
/// Totals the counts are tuned to.
pub(super) const DISTRICTS: usize = 210;
pub(super) const COMMUNES: usize = 1_650;
pub(super) const VILLAGES: usize = 14_500;

/// Children per parent: districts per province, communes per district, villages
/// per commune.
pub(super) const DISTRICTS_PER_PROVINCE: (usize, usize) = (4, 14);
pub(super) const COMMUNES_PER_DISTRICT: (usize, usize) = (5, 15);
pub(super) const VILLAGES_PER_COMMUNE: (usize, usize) = (4, 15);

/// Cambodia's bounding box: (south, north), (west, east).
pub(super) const LAT: (f64, f64) = (10.4, 14.7);
pub(super) const LON: (f64, f64) = (102.3, 107.6);

pub(super) const CAPITAL_KM: &str = "រាជធានី";
pub(super) const PROVINCE_KM: &str = "ខេត្ត";
pub(super) const KHAN_KM: &str = "ខណ្ឌ";
pub(super) const MUNICIPALITY_KM: &str = "ក្រុង";
pub(super) const DISTRICT_KM: &str = "ស្រុក";
pub(super) const SANGKAT_KM: &str = "សង្កាត់";
pub(super) const COMMUNE_KM: &str = "ឃុំ";
pub(super) const VILLAGE_KM: &str = "ភូមិ";

/// One generated unit.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Unit {
    pub code: String,
    pub type_km: &'static str,
    pub name_km: String,
    pub name_latin: String,
    pub point: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DistrictKind {
    Khan,
    Municipality,
    District,
}

impl DistrictKind {
    fn type_km(self) -> &'static str {
        match self {
            Self::Khan => KHAN_KM,
            Self::Municipality => MUNICIPALITY_KM,
            Self::District => DISTRICT_KM,
        }
    }

    fn commune_type_km(self) -> &'static str {
        match self {
            Self::Khan | Self::Municipality => SANGKAT_KM,
            Self::District => COMMUNE_KM,
        }
    }

    /// Communes it has: (fewest, most).
    fn communes(self) -> (usize, usize) {
        match self {
            Self::Khan => (5, 13),
            Self::Municipality => (5, 10),
            Self::District => COMMUNES_PER_DISTRICT,
        }
    }
}

/// How many units of each level, before names and points.
#[derive(Debug)]
struct Counts {
    /// Per province, the kind of each of its districts, in serial order.
    districts: Vec<Vec<DistrictKind>>,
    /// Per district (in code order), its number of communes.
    communes: Vec<usize>,
    /// Per commune (in code order), its number of villages.
    villages: Vec<usize>,
}

/// `low..=high`, drawn so small numbers are likelier (`power` > 1).
fn skewed(rng: &mut Rng, (low, high): (usize, usize), power: f64) -> usize {
    let span = (high - low + 1) as f64;
    (low + (span * rng.unit().powf(power)) as usize).min(high)
}

/// Moves `counts` one step at a time, each within its bounds, until they sum to
/// `target` (or as near as the bounds allow).
fn adjust(counts: &mut [usize], bounds: &[(usize, usize)], target: usize, rng: &mut Rng) {
    let low: usize = bounds.iter().map(|b| b.0).sum();
    let high: usize = bounds.iter().map(|b| b.1).sum();
    let target = target.clamp(low, high);
    let mut sum: usize = counts.iter().sum();
    while sum != target {
        let i = rng.index(counts.len());
        if sum < target && counts[i] < bounds[i].1 {
            counts[i] += 1;
            sum += 1;
        } else if sum > target && counts[i] > bounds[i].0 {
            counts[i] -= 1;
            sum -= 1;
        }
    }
}

impl Counts {
    fn draw() -> Self {
        let mut rng = Rng::new(SEED, "gazetteer-counts");

        // Districts per province; the capital has 12 to 14 khans.
        let capital_khans = rng.between(12, 14) as usize;
        let mut per_province: Vec<usize> = (1..=PROVINCES)
            .map(|p| {
                if p == CAPITAL {
                    capital_khans
                } else {
                    skewed(&mut rng, DISTRICTS_PER_PROVINCE, 1.1)
                }
            })
            .collect();
        let bounds: Vec<(usize, usize)> = (1..=PROVINCES)
            .map(|p| {
                if p == CAPITAL {
                    (capital_khans, capital_khans)
                } else {
                    DISTRICTS_PER_PROVINCE
                }
            })
            .collect();
        adjust(&mut per_province, &bounds, DISTRICTS, &mut rng);

        // Each province's kinds of district: one or two municipalities among them.
        let districts: Vec<Vec<DistrictKind>> = per_province
            .iter()
            .enumerate()
            .map(|(p, &n)| {
                if p + 1 == CAPITAL {
                    return vec![DistrictKind::Khan; n];
                }
                let mut kinds = vec![DistrictKind::District; n];
                let municipalities = if rng.chance(0.4) { 2 } else { 1 };
                for _ in 0..municipalities {
                    loop {
                        let i = rng.index(n);
                        if kinds[i] == DistrictKind::District {
                            kinds[i] = DistrictKind::Municipality;
                            break;
                        }
                    }
                }
                kinds
            })
            .collect();

        // Communes per district, denser in some provinces than in others.
        let mut communes = Vec::with_capacity(DISTRICTS);
        let mut commune_bounds = Vec::with_capacity(DISTRICTS);
        let mut density = Vec::with_capacity(DISTRICTS);
        for kinds in &districts {
            let d = 0.8 + 0.45 * rng.unit();
            for kind in kinds {
                let bounds = kind.communes();
                let n = (d * skewed(&mut rng, bounds, 1.8) as f64).round() as usize;
                communes.push(n.clamp(bounds.0, bounds.1));
                commune_bounds.push(bounds);
                density.push((d, *kind));
            }
        }
        adjust(&mut communes, &commune_bounds, COMMUNES, &mut rng);

        // Villages per commune; urban sangkats have fewer.
        let mut villages = Vec::with_capacity(COMMUNES);
        let mut village_bounds = Vec::with_capacity(COMMUNES);
        for (&n, &(d, kind)) in communes.iter().zip(&density) {
            let bounds = match kind {
                DistrictKind::District => VILLAGES_PER_COMMUNE,
                _ => (VILLAGES_PER_COMMUNE.0, 12),
            };
            for _ in 0..n {
                let v = ((1.0 + (d - 1.0) / 2.0) * skewed(&mut rng, bounds, 1.4) as f64).round()
                    as usize;
                villages.push(v.clamp(bounds.0, bounds.1));
                village_bounds.push(bounds);
            }
        }
        adjust(&mut villages, &village_bounds, VILLAGES, &mut rng);

        Self {
            districts,
            communes,
            villages,
        }
    }
}

/// A name as its parts, Khmer and romanised in parallel.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Name(Vec<Word>);

impl Name {
    /// Khmer writes a name's parts together.
    fn km(&self) -> String {
        self.0.iter().map(|w| w.0).collect()
    }

    /// The romanisation separates them with spaces.
    fn latin(&self) -> String {
        let parts: Vec<&str> = self.0.iter().map(|w| w.1).collect();
        parts.join(" ")
    }
}

#[derive(Debug, Clone, Copy)]
enum Level {
    Province,
    District,
    Commune,
    Village,
}

/// Shapes of names: which lists their parts come from.
const SHAPES: &[&[&[Word]]] = &[
    &[FEATURES, THINGS],
    &[THINGS, QUALITIES],
    &[FEATURES, QUALITIES],
    &[THINGS, SIDES],
    &[FEATURES, THINGS, QUALITIES],
    &[FEATURES, THINGS, SIDES],
    &[THINGS],
    &[FEATURES],
];

impl Level {
    /// The weight of each of [`SHAPES`] at this level.
    fn shape_weights(self) -> [u32; 8] {
        match self {
            Self::Province => [45, 25, 20, 10, 0, 0, 0, 0],
            Self::District => [40, 25, 20, 10, 5, 0, 0, 0],
            Self::Commune => [35, 20, 15, 10, 12, 8, 0, 0],
            Self::Village => [28, 16, 10, 10, 12, 12, 6, 2],
        }
    }
}

fn draw_name(rng: &mut Rng, level: Level) -> Name {
    let shape = SHAPES[rng.weighted(&level.shape_weights())];
    Name(shape.iter().map(|list| *rng.pick(list)).collect())
}

/// A name not yet in `taken` (sibling names, by their Khmer form), which it joins.
fn unique_name(rng: &mut Rng, level: Level, taken: &mut HashSet<String>) -> Name {
    let mut name = draw_name(rng, level);
    let mut tries = 0;
    while taken.contains(&name.km()) {
        tries += 1;
        name = draw_name(rng, level);
        if tries > 50 {
            name.0.push(*rng.pick(QUALITIES));
        }
    }
    taken.insert(name.km());
    name
}

/// A village's name: often its commune's, or its commune's and a side (`... Thmei`,
/// `... Khang Cheung`), as in the real gazetteer; otherwise a name of its own.
fn village_name(rng: &mut Rng, commune: &Name, taken: &mut HashSet<String>) -> Name {
    if commune.0.len() <= 2 && rng.chance(0.15) {
        let mut name = commune.clone();
        if taken.contains(&name.km()) || rng.chance(0.5) {
            let side = *rng.pick(SIDES);
            if !name.0.contains(&side) {
                name.0.push(side);
            }
        }
        if taken.insert(name.km()) {
            return name;
        }
    }
    unique_name(rng, Level::Village, taken)
}

/// A point within `radius` degrees of `centre`, inside the bounding box, rounded
/// to 6 decimals (about 0.1 m).
fn near(rng: &mut Rng, (lat, lon): (f64, f64), radius: f64) -> (f64, f64) {
    let angle = std::f64::consts::TAU * rng.unit();
    let r = radius * rng.unit().sqrt();
    let round = |x: f64| (x * 1e6).round() / 1e6;
    (
        round((lat + r * angle.sin()).clamp(LAT.0 + 0.01, LAT.1 - 0.01)),
        round((lon + r * angle.cos()).clamp(LON.0 + 0.01, LON.1 - 0.01)),
    )
}

/// Province centres, spread over the country; the capital's where the real one is.
fn province_centres(rng: &mut Rng) -> Vec<(f64, f64)> {
    let capital = (11.56, 104.92);
    let mut centres: Vec<(f64, f64)> = vec![capital];
    let mut spacing: f64 = 0.75;
    while centres.len() < PROVINCES {
        let mut placed = false;
        for _ in 0..60 {
            let lat = 10.8 + 3.5 * rng.unit();
            let lon = 102.7 + 4.5 * rng.unit();
            let far = centres
                .iter()
                .all(|(a, b)| ((a - lat).powi(2) + (b - lon).powi(2)).sqrt() >= spacing);
            if far {
                centres.push(((lat * 1e6).round() / 1e6, (lon * 1e6).round() / 1e6));
                placed = true;
                break;
            }
        }
        if !placed {
            spacing *= 0.9;
        }
    }
    // The capital goes to its serial; the rest keep their drawn order.
    let mut ordered: Vec<(f64, f64)> = centres[1..].to_vec();
    ordered.insert(CAPITAL - 1, capital);
    ordered
}

/// The whole synthetic gazetteer, sorted by code.
pub(super) fn generate() -> Vec<Unit> {
    let counts = Counts::draw();
    let mut names = Rng::new(SEED, "gazetteer-names");
    let mut points = Rng::new(SEED, "gazetteer-points");
    let centres = province_centres(&mut points);
    let districts: usize = counts.districts.iter().map(Vec::len).sum();
    let total = PROVINCES + districts + counts.communes.len() + counts.villages.len();
    let mut units = Vec::with_capacity(total);
    let mut communes = counts.communes.iter();
    let mut villages = counts.villages.iter();
    let mut province_names = HashSet::new();

    for (p, kinds) in counts.districts.iter().enumerate() {
        let capital = p + 1 == CAPITAL;
        let code = format!("{:02}", p + 1);
        let province = unique_name(&mut names, Level::Province, &mut province_names);
        let centre = centres[p];
        let radius = if capital {
            0.1
        } else {
            0.18 + 0.035 * kinds.len() as f64
        };
        units.push(Unit {
            code: code.clone(),
            type_km: if capital { CAPITAL_KM } else { PROVINCE_KM },
            name_km: province.km(),
            name_latin: province.latin(),
            point: Some(centre),
        });

        let mut district_names = HashSet::new();
        let mut town_named = false;
        let district_radius = 1.2 * radius / (kinds.len() as f64).sqrt();
        for (d, kind) in kinds.iter().enumerate() {
            let code = format!("{code}{:02}", d + 1);
            // The first municipality is the provincial town: it shares the
            // province's name.
            let district = if *kind == DistrictKind::Municipality && !town_named {
                town_named = true;
                district_names.insert(province.km());
                province.clone()
            } else {
                unique_name(&mut names, Level::District, &mut district_names)
            };
            let district_point = near(&mut points, centre, 0.75 * radius);
            units.push(Unit {
                code: code.clone(),
                type_km: kind.type_km(),
                name_km: district.km(),
                name_latin: district.latin(),
                point: Some(district_point),
            });

            let mut commune_names = HashSet::new();
            for c in 0..communes.next().copied().unwrap_or(0) {
                let code = format!("{code}{:02}", c + 1);
                let commune = unique_name(&mut names, Level::Commune, &mut commune_names);
                units.push(Unit {
                    code: code.clone(),
                    type_km: kind.commune_type_km(),
                    name_km: commune.km(),
                    name_latin: commune.latin(),
                    point: Some(near(&mut points, district_point, 0.8 * district_radius)),
                });

                let mut village_names = HashSet::new();
                for v in 0..villages.next().copied().unwrap_or(0) {
                    let village = village_name(&mut names, &commune, &mut village_names);
                    units.push(Unit {
                        code: format!("{code}{:02}", v + 1),
                        type_km: VILLAGE_KM,
                        name_km: village.km(),
                        name_latin: village.latin(),
                        point: None,
                    });
                }
            }
        }
    }
    units
}
