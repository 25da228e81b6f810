//! The CKKS scheme (Cheon, Kim, Kim, Song, ASIACRYPT 2017) for approximate arithmetic on real
//! and complex numbers, in its full-RNS form (Cheon, Han, Kim, Kim, Song, SAC 2018), on the
//! shared [`rlwe`](crate::rlwe) layer (keys, hybrid key switching, encryption core).
//!
//! * [`Parameters`] (builder and [`Preset`]s): the modulus chain, special primes, canonical
//!   scales per level.
//! * [`Encoder`]: the canonical embedding through the special FFT; [`Parameters::encode`] lifts
//!   an encoding into RNS at a level and scale. Slot `j` is the evaluation at `ζ^(5^j)`, so
//!   `X -> X^(5^k)` rotates the slots left by `k` and `X -> X^(2N-1)` conjugates them.
//! * [`encrypt`] (public key modulo `Q·p_0`, then divided by the special prime `p_0`),
//!   [`encode_encrypt`] (the same in one pass from the values), [`encrypt_symmetric`] (seeded),
//!   [`decrypt`], [`decrypt_decode_public`].
//! * [`Evaluator`]: additions, multiplications (lazy relinearisation), rescaling, level and
//!   scale alignment, rotations (hoisted too), conjugation, slot sums, inner products,
//!   polynomial evaluation in the Chebyshev basis and Newton iterations.
//! * [`NoiseEstimate`]: a public a-priori error estimate carried by every ciphertext;
//!   [`precision`] measures actual errors for tests.
//!
//! ## Levels, scales and slots
//! A ciphertext at level `l` uses the first `l` primes; the top level is `L + 1`
//! ([`Parameters::max_level`]) and each rescale drops one prime. Every level has a canonical
//! scale ([`Parameters::scale_at`], `2^scale_bits` at the top); multiply-and-rescale keeps
//! ciphertexts on these scales, and the [`Evaluator`] aligns the levels and scales of operands
//! where that is unambiguous (see its module docs), returning a
//! [`CkksError`](crate::error::CkksError) that names the levels and scales otherwise. A real
//! vector occupies the real parts of the `N/2` slots; rotations by `k` use the Galois element
//! `5^k mod 2N` ([`Parameters::rotation_element`]), conjugation `2N - 1`.
//!
//! With **composite scaling** ([`ParametersBuilder::scale_primes`]) a level's scale is carried
//! by `k` primes (scales up to `2^120`, for threshold decryption, whose smudging noise needs
//! about 80 bits of scale below the wanted precision); a level is still a prime count and a
//! rescale drops `k` of them ([`Parameters::rescale_level`], [`Parameters::depth_left`]).
//!
//! ## Precision (measured, `tests/ckks_precision.rs`)
//! At `n16384_depth5_scale40`, 8,192 values uniform in `[-1, 1]`, public-key encryption,
//! `-log2` of the largest error, over nine seeds: fresh median 25.8 bits (25.65 … 26.1), after
//! one multiply-relinearise-rescale median 25.4 bits (24.8 … 25.65), about 23.6 after five.
//! These match SEAL 4.4 (25.4 / 25.1 measured once), whose encryption we follow
//! (encrypt modulo `Q` times a special prime, divide by it); the errors are dominated by the rounding terms
//! `r_0 + r_1·s` of that division and of each rescale.
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
    decrypt, decrypt_decode_public, encode_encrypt, encode_encrypt_real, encrypt,
    encrypt_symmetric, GaloisKeys, PublicKey,
};
pub use evaluator::{Evaluator, SCALE_TOLERANCE};
pub use params::{Parameters, ParametersBuilder, Preset, MAX_SCALE_BITS, MAX_SCALE_PRIMES};
pub use polyeval::{chebyshev_coefficients, Interval};
