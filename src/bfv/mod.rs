//! The BFV scheme (Brakerski, "Fully Homomorphic Encryption without Modulus Switching from
//! Classical GapSVP", CRYPTO 2012; Fan and Vercauteren, eprint 2012/144) for exact integer
//! arithmetic modulo a plaintext modulus `t`.
//!
//! Built so far: the plaintext encodings ([`BatchEncoder`], [`CoefficientEncoder`]). Keys,
//! encryption and the evaluator follow on the shared `rlwe` layer.

mod encoding;

pub use encoding::{BatchEncoder, CoefficientEncoder, ROW_GENERATOR};
