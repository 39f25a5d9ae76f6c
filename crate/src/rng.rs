//! The one random number generator: SplitMix64, tiny, fast and identical on every platform, so
//! a seed means the same melody natively and in the browser.

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in the open interval (0, 1).
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize
    }

    /// Standard Gumbel noise: `argmax(logits + g)` samples `softmax(logits)`.
    pub fn gumbel(&mut self) -> f32 {
        -(-self.unit().ln()).ln() as f32
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_uniform() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<f64> = (0..10_000).map(|_| a.unit()).collect();
        assert!(xs.iter().zip((0..).map(|_| b.unit())).all(|(x, y)| *x == y));
        assert!(xs.iter().all(|&x| x > 0.0 && x < 1.0));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        let mut counts = [0; 4];
        for _ in 0..4000 {
            counts[a.below(4)] += 1;
        }
        assert!(counts.iter().all(|&c| (900..1100).contains(&c)), "{counts:?}");
    }

    #[test]
    fn gumbel_max_samples_the_softmax() {
        // P(argmax(log p + g) = i) = p_i.
        let p = [0.5f32, 0.3, 0.2];
        let mut rng = Rng::new(1);
        let mut counts = [0usize; 3];
        let n = 20_000;
        for _ in 0..n {
            let i = (0..3).map(|i| p[i].ln() + rng.gumbel()).enumerate().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
            counts[i] += 1;
        }
        for i in 0..3 {
            let f = counts[i] as f32 / n as f32;
            assert!((f - p[i]).abs() < 0.015, "{i}: {f} vs {}", p[i]);
        }
    }
}
