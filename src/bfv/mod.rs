//! The BFV scheme (Brakerski, "Fully Homomorphic Encryption without Modulus Switching from
//! Classical GapSVP", CRYPTO 2012; Fan and Vercauteren, eprint 2012/144) for exact integer
//! arithmetic modulo a plaintext modulus `t`, in full-RNS form.
//!
//! A plaintext `m ∈ Z_t[X]/(X^N + 1)` is encrypted at level `l` (modulus `Q = Q_l`) as
//! `c = (c_0, c_1)` with `c_0 + c_1 s = round(Q m / t) + e (mod Q)`; decryption is
//! `round(t (c_0 + c_1 s) / Q) mod t`.
//!
//! - [`Parameters`]: builder checked against the HomomorphicEncryption.org table, named presets
//!   (benchmark presets with `t = 786433`, count presets with a batching `t >= 2^30`, an
//!   explicitly insecure test constructor);
//! - keys: [`SecretKey`], [`PublicKey`], [`RelinearizationKey`] (from the shared
//!   [`rlwe`](crate::rlwe) layer) and [`GaloisKeys`];
//! - [`Plaintext`] with batch ([`BatchEncoder`]) and coefficient ([`CoefficientEncoder`])
//!   encodings, signed and unsigned;
//! - [`Ciphertext`]: public- and (seeded) secret-key encryption, decryption, measured noise
//!   budget (secret key, variable time) and a public [`NoiseEstimate`];
//! - [`Evaluator`]: additions, plaintext and scalar operations, multiplication (exact full-RNS
//!   scaling after Halevi–Polyakov–Shoup, see [`evaluator`]'s docs), lazy relinearisation,
//!   rotations (hoisted too), slot sums, modulus switching.
//!
//! ```
//! use migrationfhe::bfv::{Ciphertext, Evaluator, Parameters, Plaintext};
//! use migrationfhe::rlwe::{PublicKey, RelinearizationKey, SecretKey};
//! use rand_chacha::ChaCha20Rng;
//! use rand_core::SeedableRng;
//! # fn main() -> migrationfhe::Result<()> {
//! let params = Parameters::insecure_for_testing(64, 257, 3)?; // tests only: NOT secure
//! let mut rng = ChaCha20Rng::seed_from_u64(1);
//! let sk = SecretKey::generate(params.ring(), &mut rng)?;
//! let pk = PublicKey::generate(&sk, &mut rng)?;
//! let rlk = RelinearizationKey::generate(&sk, &mut rng)?;
//! let a = Ciphertext::encrypt_pk(&pk, &Plaintext::encode(&params, &[3, 4])?, &mut rng)?;
//! let b = Ciphertext::encrypt_sk(&sk, &Plaintext::encode(&params, &[5, 6])?, &mut rng)?;
//! let ev = Evaluator::new(&params);
//! let c = ev.multiply_relin(&a, &b, &rlk)?;
//! assert_eq!(&c.decrypt(&sk)?.decode()?[..2], &[15, 24]);
//! # Ok(())
//! # }
//! ```

mod ciphertext;
mod encoding;
pub mod evaluator;
mod keyswitch;
pub mod noise;
mod params;

pub use crate::rlwe::{GaloisKey, PublicKey, RelinearizationKey, SecretKey};
pub use ciphertext::{Ciphertext, Plaintext};
pub use encoding::{BatchEncoder, CoefficientEncoder, ROW_GENERATOR};
pub use evaluator::{rotation_element, row_swap_element, Evaluator, GaloisKeys};
pub use noise::NoiseEstimate;
pub use params::{
    Parameters, ParametersBuilder, MAX_BFV_DEGREE, MIN_BFV_DEGREE, THRESHOLD_LAMBDA,
    THRESHOLD_MAX_PARTIES, T_20BIT,
};
