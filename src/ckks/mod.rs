//! The CKKS scheme (Cheon, Kim, Kim, Song, ASIACRYPT 2017) for approximate arithmetic on real
//! and complex numbers, in its full-RNS form (Cheon, Han, Kim, Kim, Song, SAC 2018), on the
//! shared [`rlwe`](crate::rlwe) layer (keys, hybrid key switching, encryption core).
//!
//! * [`Parameters`] (builder and [`Preset`]s): the modulus chain, special primes, canonical
//!   scales per level.
//! * [`Encoder`]: the canonical embedding through the special FFT; [`Parameters::encode`] lifts
//!   an encoding into RNS at a level and scale. Slot `j` is the evaluation at `ζ^(5^j)`, so
//!   `X -> X^(5^k)` rotates the slots left by `k` and `X -> X^(2N-1)` conjugates them.
//! * [`encrypt`] (public key modulo `Q·P`, then divided by `P`), [`encrypt_symmetric`] (seeded),
//!   [`decrypt`], [`decrypt_decode_public`].
//! * [`Evaluator`]: additions, multiplications (lazy relinearisation), rescaling, level and
//!   scale alignment, rotations (hoisted too), conjugation, slot sums, inner products,
//!   polynomial evaluation in the Chebyshev basis and Newton iterations.
//! * [`NoiseEstimate`]: a public a-priori error estimate carried by every ciphertext;
//!   [`precision`] measures actual errors for tests.
//!
//! ```
//! use migrationfhe::ckks::{self, Evaluator, Parameters, Preset};
//! use migrationfhe::rlwe::{RelinearizationKey, SecretKey};
//! use rand_chacha::ChaCha20Rng;
//! use rand_core::SeedableRng;
//!
//! let params = Parameters::preset(Preset::InsecureN1024Depth4Scale30)?;
//! let mut rng = ChaCha20Rng::seed_from_u64(1);
//! let sk = SecretKey::generate(params.rlwe(), &mut rng)?;
//! let pk = ckks::PublicKey::generate(&sk, &mut rng)?;
//! let rlk = RelinearizationKey::generate(&sk, &mut rng)?;
//! let x = params.encode_real_top(&[0.5, -0.25, 0.75])?;
//! let ct = ckks::encrypt(&params, &pk, &x, &mut rng)?;
//! let ev = Evaluator::new(&params);
//! let sq = ev.mul_relin_rescale(&ct, &ct, &rlk)?;
//! let out = params.decode(&ckks::decrypt(&params, &sk, &sq)?)?;
//! assert!((out[1].re - 0.0625).abs() < 1e-4);
//! # Ok::<(), migrationfhe::Error>(())
//! ```

mod ciphertext;
mod encoding;
mod encrypt;
mod evaluator;
mod keyswitch;
mod noise;
mod params;
mod polyeval;

pub use ciphertext::{
    precision, precision_real, Ciphertext, NoiseEstimate, Plaintext, PrecisionReport,
};
pub use encoding::{Complex, Encoder, MAX_COEFF, SLOT_GENERATOR};
pub use encrypt::{
    decrypt, decrypt_decode_public, encrypt, encrypt_symmetric, GaloisKeys, PublicKey,
};
pub use evaluator::{Evaluator, SCALE_TOLERANCE};
pub use params::{Parameters, ParametersBuilder, Preset};
pub use polyeval::{chebyshev_coefficients, Interval};
