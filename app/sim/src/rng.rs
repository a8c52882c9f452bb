//! A small seeded PRNG (xoshiro256** seeded by SplitMix64) and the distributions the
//! simulator draws from. Written out here rather than taken from `rand` so that a seed
//! gives the same price path and the same agents on every platform and every future
//! version of the dependencies.

/// xoshiro256**: fast, 256 bits of state, good enough for simulation (not for keys).
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // SplitMix64 spreads any seed (even 0) over the whole state.
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng { s: [next(), next(), next(), next()] }
    }

    /// An independent stream for one part of the simulation, so that adding draws in
    /// one part (say, the agents) does not change another (the price path).
    pub fn fork(&mut self, label: u64) -> Rng {
        Rng::new(self.next_u64() ^ label.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Log-uniform in [lo, hi): as many values between 1k and 10k as between 10k and 100k.
    pub fn log_range(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.uniform()).exp()
    }

    /// An index below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n.saturating_sub(1))
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // in (0, 1]: ln is finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Student-t with `nu` (>= 3) degrees of freedom, scaled to unit variance: fat tails
    /// (a 5-sigma move is far likelier than under a normal) with a comparable scale.
    pub fn student_t(&mut self, nu: u32) -> f64 {
        let chi2: f64 = (0..nu).map(|_| self.normal().powi(2)).sum();
        let t = self.normal() / (chi2 / f64::from(nu)).sqrt();
        t * ((f64::from(nu) - 2.0) / f64::from(nu)).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let mut r = Rng::new(7);
        assert_eq!(a, (0..5).map(|_| r.next_u64()).collect::<Vec<_>>());
        let mut other = Rng::new(8);
        assert_ne!(a[0], other.next_u64());
    }

    #[test]
    fn distributions_have_the_right_shape() {
        let mut r = Rng::new(1);
        let n = 200_000;
        let u: Vec<f64> = (0..n).map(|_| r.uniform()).collect();
        assert!(u.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = u.iter().sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "uniform mean {mean}");
        let t: Vec<f64> = (0..n).map(|_| r.student_t(3)).collect();
        let var = t.iter().map(|x| x * x).sum::<f64>() / n as f64;
        // Unit variance in theory; t(3) has infinite fourth moment, so allow slack.
        assert!((0.7..1.3).contains(&var), "t variance {var}");
        let tail = t.iter().filter(|x| x.abs() > 4.0).count() as f64 / n as f64;
        // A normal has 6e-5 of its mass beyond 4 sigma; t(3) (unit variance) about 3e-3.
        assert!(tail > 1e-3, "fat tails: {tail}");
        assert!((0..1000).map(|_| r.log_range(1.0, 100.0)).all(|x| (1.0..100.0).contains(&x)));
        assert!((0..1000).map(|_| r.below(3)).all(|i| i < 3));
    }
}
