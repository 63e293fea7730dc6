//! The one source of randomness: SplitMix64, seeded per purpose, so the same seed
//! gives the same world on every machine and a change to one generator does not
//! shift the numbers another one draws.

/// A deterministic pseudo-random number generator (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

/// SplitMix64's output function: a good 64-bit mixer on its own.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator for one purpose (`stream`) under one seed.
    pub(crate) fn new(seed: u64, stream: &str) -> Self {
        let mut state = mix(seed ^ 0x9E37_79B9_7F4A_7C15);
        for byte in stream.bytes() {
            state = mix(state ^ u64::from(byte));
        }
        Self(state)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// An index into a collection of `len` items (0 when empty).
    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// A number in `low..=high`.
    pub(crate) fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1).max(0) as u64) as i64
    }

    /// A float in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// An index chosen with the given weights (all zero: the first).
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut target = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if target < w {
                return i;
            }
            target -= w;
        }
        0
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.index(i + 1);
            items.swap(i, j);
        }
    }
}

/// Picks from many items by weight in O(log n) per draw.
#[derive(Debug)]
pub(crate) struct WeightedTable {
    cumulative: Vec<u64>,
}

impl WeightedTable {
    pub(crate) fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let mut total = 0u64;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += u64::from(w);
                total
            })
            .collect();
        Self { cumulative }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.cumulative.last().is_none_or(|t| *t == 0)
    }

    /// An index drawn by weight. The table must not be empty.
    pub(crate) fn draw(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        let target = rng.below(total);
        self.cumulative.partition_point(|c| *c <= target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_other_stream_other_numbers() {
        let a: Vec<u64> = (0..5).map(|_| Rng::new(7, "x").next_u64()).collect();
        let mut r1 = Rng::new(7, "x");
        let mut r2 = Rng::new(7, "x");
        let mut r3 = Rng::new(7, "y");
        let s1: Vec<u64> = (0..5).map(|_| r1.next_u64()).collect();
        let s2: Vec<u64> = (0..5).map(|_| r2.next_u64()).collect();
        let s3: Vec<u64> = (0..5).map(|_| r3.next_u64()).collect();
        assert_eq!(s1, s2);
        assert_ne!(s1, s3);
        assert_eq!(a.len(), 5);
    }

    #[test]
    fn weighted_table_respects_zero_weights() {
        let table = WeightedTable::new([0, 5, 0, 1]);
        let mut rng = Rng::new(1, "t");
        for _ in 0..1000 {
            let i = table.draw(&mut rng);
            assert!(i == 1 || i == 3);
        }
    }
}
