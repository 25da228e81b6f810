//! Helpers shared by the integration tests.
#![allow(dead_code)]

/// SplitMix64, the input generator of the known-answer vectors (vectors/README.md).
pub struct SplitMix64(pub u64);

impl Iterator for SplitMix64 {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Some(z ^ (z >> 31))
    }
}

/// `n` pseudo-random residues mod `q`.
pub fn random_vec(seed: u64, n: usize, q: u64) -> Vec<u64> {
    SplitMix64(seed).take(n).map(|x| x % q).collect()
}
