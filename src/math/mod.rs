//! The ring `R_Q = Z_Q[X]/(X^N + 1)` in residue-number-system form. Knows nothing about
//! encryption.
//!
//! Layers, each using only the ones above it: [`modulus`] (word-size prime arithmetic),
//! [`primes`] (NTT-friendly primes and roots), [`ntt`] (the transform and its SIMD backends),
//! [`rns`] (CRT, base extension, divide-and-round), [`poly`] (RNS polynomials with their
//! representation in the type), [`sampling`] (uniform, ternary, Gaussian, seeded, smudging).

pub(crate) mod arith;
pub mod modulus;
pub mod ntt;
pub mod poly;
pub(crate) mod pool;
pub mod primes;
pub mod rns;
pub mod sampling;

pub use modulus::Modulus;
