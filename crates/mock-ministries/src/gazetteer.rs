//! Cambodia's real administrative gazetteer, embedded (see `data/README.md`).

use crate::MockError;

const TSV: &str = include_str!("../data/gazetteer.tsv");

/// One unit of the gazetteer.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub code: &'static str,
    pub type_km: &'static str,
    pub name_km: &'static str,
    /// Empty where the source has no Latin name.
    pub name_latin: &'static str,
    pub point: Option<(f64, f64)>,
}

/// All units, sorted by code: a unit's descendants follow it directly.
#[derive(Debug)]
pub(crate) struct Gazetteer {
    places: Vec<Place>,
}

impl Gazetteer {
    pub(crate) fn load() -> Result<Self, MockError> {
        let mut places = Vec::with_capacity(16_500);
        for (n, line) in TSV.lines().enumerate() {
            let fields: Vec<&'static str> = line.split('\t').collect();
            let [code, type_km, name_km, name_latin, lat, lon] = fields.as_slice() else {
                return Err(MockError::Gazetteer(format!(
                    "line {} has {} fields, not 6",
                    n + 1,
                    fields.len()
                )));
            };
            let point = match (lat.parse::<f64>(), lon.parse::<f64>()) {
                (Ok(lat), Ok(lon)) => Some((lat, lon)),
                _ => None,
            };
            places.push(Place {
                code,
                type_km,
                name_km,
                name_latin,
                point,
            });
        }
        if !places.windows(2).all(|w| w[0].code < w[1].code) {
            return Err(MockError::Gazetteer("codes are not sorted".into()));
        }
        Ok(Self { places })
    }

    pub(crate) fn places(&self) -> &[Place] {
        &self.places
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
                // Phnom Penh, should a province ever lack a point.
                return (11.5564, 104.9282);
            }
            code = &code[..code.len() - 2];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_country_is_there() {
        let g = Gazetteer::load().expect("embedded gazetteer loads");
        assert_eq!(g.level(2).len(), 25);
        assert_eq!(g.level(4).len(), 210);
        assert_eq!(g.level(6).len(), 1652);
        assert_eq!(g.level(8).len(), 14578);
        let bmc = g.find("01").expect("province 01");
        assert!(g.children(bmc, 4).len() > 5);
        let commune = g.find("010201").expect("commune 010201");
        assert_eq!(g.ancestor(commune, 4), g.find("0102"));
    }
}
