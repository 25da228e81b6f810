//! The CKKS scheme (Cheon, Kim, Kim, Song, ASIACRYPT 2017) for approximate arithmetic on real
//! and complex numbers, in its full-RNS form (Cheon, Han, Kim, Kim, Song, SAC 2018).
//!
//! Built so far: the canonical-embedding [`Encoder`], bit-identical on every platform. Keys,
//! encryption and the evaluator follow on the shared `rlwe` layer.

mod encoding;

pub use encoding::{Complex, Encoder, MAX_COEFF, SLOT_GENERATOR};
