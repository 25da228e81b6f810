//! Secret, public and key-switching keys.

use super::{PolyQP, RlweParams};
use crate::error::{Error, Result};
use crate::math::poly::{Context, Ntt, Poly};
use crate::math::sampling::{expand_seed, gaussian_rns, lift_signed, ternary, Domain};
use core::fmt;
use rand_core::{CryptoRng, RngCore};
use std::sync::Arc;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Domain tag of a public key's seeded `a` (`math::sampling::Domain`, index 0).
pub const DOMAIN_PUBLIC_KEY: [u8; 4] = *b"pk\0\0";
/// Domain tag of a key switching key's seeded `a_j` (index `j`, the digit).
pub const DOMAIN_KEY_SWITCH: [u8; 4] = *b"ksk\0";
/// Domain tag of a secret-key ciphertext's seeded `a` (index 0).
pub const DOMAIN_CIPHERTEXT: [u8; 4] = *b"ct\0\0";

fn random_seed(rng: &mut (impl RngCore + CryptoRng)) -> [u8; 32] {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    seed
}

/// A uniform polynomial over `ctx` expanded from `seed`, read directly as NTT evaluations (the
/// NTT is a bijection, so it is uniform in either representation).
pub(crate) fn seeded_uniform(
    ctx: &Arc<Context>,
    seed: &[u8; 32],
    domain: Domain,
) -> Result<Poly<Ntt>> {
    let data = expand_seed(seed, domain, ctx.moduli(), ctx.degree())?;
    Ok(Poly::from_raw(ctx, ctx.len(), data))
}

/// A fresh Gaussian error over `ctx`, in NTT form.
pub(crate) fn gaussian_ntt(
    ctx: &Arc<Context>,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Poly<Ntt>> {
    let mut e = gaussian_rns(rng, ctx.moduli(), ctx.degree())?;
    // Moved, not copied: the buffer becomes the polynomial (which callers add into a
    // ciphertext or wipe), so there is no second copy to wipe.
    Ok(Poly::from_raw(ctx, ctx.len(), core::mem::take(&mut *e)).into_ntt())
}

/// The secret key `s`: a ternary polynomial, kept in NTT form modulo `Q` and `P`.
///
/// Zeroized on drop (the signed coefficients and both NTT forms); `Debug` prints nothing of it;
/// no `Clone` and no `PartialEq`: compare two keys with [`ConstantTimeEq`], which does not
/// stop at the first differing coefficient.
pub struct SecretKey {
    params: Arc<RlweParams>,
    coeffs: Zeroizing<Vec<i64>>,
    s_q: Poly<Ntt>,
    s_p: Poly<Ntt>,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey { .. }")
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.wipe();
    }
}
impl ZeroizeOnDrop for SecretKey {}

impl ConstantTimeEq for SecretKey {
    /// Equal iff both keys have equal parameters and equal coefficients. The parameters are
    /// public and compared in variable time; the coefficients with [`subtle`], in time that
    /// depends only on `N`.
    fn ct_eq(&self, other: &Self) -> Choice {
        if *self.params != *other.params {
            return Choice::from(0);
        }
        self.coeffs.as_slice().ct_eq(other.coeffs.as_slice())
    }
}

impl SecretKey {
    /// Samples a ternary secret key.
    ///
    /// # Errors
    /// Only if the parameters are inconsistent (not expected for validated parameters).
    pub fn generate(
        params: &Arc<RlweParams>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let coeffs = ternary(rng, params.degree())?;
        Self::from_coefficients(params, &coeffs)
    }

    /// A secret key with the given small signed coefficients (the threshold layer builds
    /// additive shares this way).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `coeffs.len() != N`.
    pub fn from_coefficients(params: &Arc<RlweParams>, coeffs: &[i64]) -> Result<Self> {
        if coeffs.len() != params.degree() {
            return Err(Error::LengthMismatch {
                expected: params.degree(),
                found: coeffs.len(),
            });
        }
        let lift = |ctx: &Arc<Context>| -> Result<Poly<Ntt>> {
            let r = lift_signed(coeffs, ctx.moduli())?;
            Ok(Poly::from_raw(ctx, ctx.len(), r.to_vec()).into_ntt())
        };
        Ok(Self {
            params: Arc::clone(params),
            coeffs: Zeroizing::new(coeffs.to_vec()),
            s_q: lift(params.ctx_q())?,
            s_p: lift(params.ctx_p())?,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &Arc<RlweParams> {
        &self.params
    }

    /// Overwrites every copy of the secret this key holds with zeros (what `Drop` does).
    fn wipe(&mut self) {
        self.coeffs.zeroize();
        self.s_q.zeroize();
        self.s_p.zeroize();
    }

    pub(crate) fn s_q(&self) -> &Poly<Ntt> {
        &self.s_q
    }

    pub(crate) fn s_p(&self) -> &Poly<Ntt> {
        &self.s_p
    }

    /// The secret's signed coefficients (crate-internal: noise measurement, threshold shares).
    #[allow(dead_code)]
    pub(crate) fn coefficients(&self) -> &[i64] {
        &self.coeffs
    }
}

/// The public key `(b, a) = (-a·s + e, a)` modulo `Q`, `a` expanded from a 32-byte seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub(crate) b: Poly<Ntt>,
    pub(crate) a: Poly<Ntt>,
    pub(crate) seed: [u8; 32],
}

impl PublicKey {
    /// Generates the public key of `sk`.
    ///
    /// # Errors
    /// Only for inconsistent parameters.
    pub fn generate(sk: &SecretKey, rng: &mut (impl RngCore + CryptoRng)) -> Result<Self> {
        let ctx = sk.params.ctx_q();
        let seed = random_seed(rng);
        let a = seeded_uniform(ctx, &seed, Domain::new(DOMAIN_PUBLIC_KEY, 0))?;
        let mut b = gaussian_ntt(ctx, rng)?;
        let mut as_ = a.mul(sk.s_q())?;
        b.sub_assign(&as_)?;
        as_.zeroize();
        Ok(Self { b, a, seed })
    }

    /// The seed `a` was expanded from.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }
}

/// A key switching key from some `s'` to `s` (see the [module docs](super)): per digit,
/// `(b_j, a_j)` over `Q·P`, the `a_j` expanded from one 32-byte seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySwitchingKey {
    pub(crate) digits: Vec<(PolyQP, PolyQP)>,
    pub(crate) seed: [u8; 32],
}

impl Drop for KeySwitchingKey {
    /// The key is public: its buffers go back to the per-thread pool (`math::pool`), so that
    /// generating keys again does not fault fresh pages in.
    fn drop(&mut self) {
        for (b, a) in self.digits.drain(..) {
            for part in [b.q, b.p, a.q, a.p] {
                part.recycle();
            }
        }
    }
}

impl KeySwitchingKey {
    /// A key switching from `s'` (given modulo `Q`, NTT form, all primes) to `sk`.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if `s_prime` is not over `sk`'s ciphertext primes.
    pub fn generate(
        sk: &SecretKey,
        s_prime: &Poly<Ntt>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        let params = &sk.params;
        if **s_prime.context() != **params.ctx_q() || s_prime.limbs() != params.max_level() {
            return Err(Error::ContextMismatch);
        }
        let seed = random_seed(rng);
        let n = params.degree();
        let neg_s = Zeroizing::new((sk.s_q().neg(), sk.s_p().neg()));
        let mut digits = Vec::new();
        for (j, (start, end)) in params.digits_at(params.max_level()).into_iter().enumerate() {
            let index = u32::try_from(j).map_err(|_| Error::InvalidOperation {
                reason: "too many digits",
            })?;
            let domain = Domain::new(DOMAIN_KEY_SWITCH, index);
            let mut rng_a = crate::math::sampling::seeded_rng(&seed, domain);
            let a = PolyQP {
                q: Poly::from_raw(
                    params.ctx_q(),
                    params.max_level(),
                    crate::math::sampling::uniform_poly(&mut rng_a, params.ctx_q().moduli(), n)?,
                ),
                p: Poly::from_raw(
                    params.ctx_p(),
                    params.ctx_p().len(),
                    crate::math::sampling::uniform_poly(&mut rng_a, params.ctx_p().moduli(), n)?,
                ),
            };
            // One integer error polynomial (the randomness of `gaussian_rns` over Q and P),
            // lifted into every prime; b = e - a·s with -s precomputed (one pass per part).
            let e = crate::math::sampling::gaussian(rng, n)?;
            let mut b = PolyQP {
                q: Poly::from_small(params.ctx_q(), params.max_level(), &e).into_ntt(),
                p: Poly::from_small(params.ctx_p(), params.ctx_p().len(), &e).into_ntt(),
            };
            b.q.mul_add_assign(&a.q, &neg_s.0)?;
            b.p.mul_add_assign(&a.p, &neg_s.1)?;
            // + P·T_j·s': P·s' on the primes of digit j, nothing elsewhere.
            let moduli = params.ctx_q().moduli();
            let bq = b.q.residues_mut();
            for i in start..end {
                let q = &moduli[i];
                let w = params.p_mod_q()[i];
                let ws = q.shoup(w);
                let sp = &s_prime.residues()[i * n..(i + 1) * n];
                for (x, &y) in bq[i * n..(i + 1) * n].iter_mut().zip(sp) {
                    *x = q.add(*x, q.mul_shoup(y, w, ws));
                }
            }
            digits.push((b, a));
        }
        Ok(Self { digits, seed })
    }

    /// The seed the `a_j` were expanded from.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }
}

/// Relinearisation key: switches `s^2` to `s`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelinearizationKey(pub(crate) KeySwitchingKey);

impl RelinearizationKey {
    /// Generates the relinearisation key of `sk`.
    ///
    /// # Errors
    /// Only for inconsistent parameters.
    pub fn generate(sk: &SecretKey, rng: &mut (impl RngCore + CryptoRng)) -> Result<Self> {
        let mut s2 = sk.s_q().mul(sk.s_q())?;
        let k = KeySwitchingKey::generate(sk, &s2, rng);
        s2.zeroize();
        Ok(Self(k?))
    }

    /// The underlying key switching key.
    pub fn key(&self) -> &KeySwitchingKey {
        &self.0
    }
}

/// Galois key for the automorphism `X -> X^k`: switches `s(X^k)` to `s`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GaloisKey {
    pub(crate) element: u64,
    pub(crate) key: KeySwitchingKey,
}

impl GaloisKey {
    /// Generates the key for the Galois element `k` (odd, taken modulo `2N`).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] if `k` is even.
    pub fn generate(sk: &SecretKey, k: u64, rng: &mut (impl RngCore + CryptoRng)) -> Result<Self> {
        let two_n = 2 * sk.params.degree() as u64;
        let mut sk_k = sk.s_q().automorphism(k)?;
        let key = KeySwitchingKey::generate(sk, &sk_k, rng);
        sk_k.zeroize();
        Ok(Self {
            element: k % two_n,
            key: key?,
        })
    }

    /// The Galois element `k` (in `[1, 2N)`).
    pub fn element(&self) -> u64 {
        self.element
    }

    /// The underlying key switching key.
    pub fn key(&self) -> &KeySwitchingKey {
        &self.key
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod secret_key_tests {
    use super::*;
    use crate::math::primes::ntt_primes;
    use crate::params::SecurityLevel;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn params() -> Arc<RlweParams> {
        let primes = ntt_primes(40, 64, 3).unwrap();
        RlweParams::new(
            64,
            &primes[..2],
            &primes[2..],
            1,
            SecurityLevel::InsecureForTesting,
        )
        .unwrap()
    }

    #[test]
    fn wipe_clears_every_copy_of_the_secret() {
        let p = params();
        let mut sk = SecretKey::generate(&p, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
        assert!(sk.coeffs.iter().any(|&c| c != 0));
        assert!(sk.s_q.residues().iter().any(|&c| c != 0));
        assert!(sk.s_p.residues().iter().any(|&c| c != 0));
        sk.wipe();
        // `Vec::zeroize` overwrites the whole capacity with volatile writes, then clears the
        // vector: what safe code can observe is that nothing of the secret is left readable.
        assert!(sk.coeffs.is_empty());
        assert!(sk.s_q.residues().is_empty());
        assert!(sk.s_p.residues().is_empty());
    }

    #[test]
    fn constant_time_equality() {
        let p = params();
        let a = SecretKey::generate(&p, &mut ChaCha20Rng::seed_from_u64(2)).unwrap();
        let same = SecretKey::from_coefficients(&p, a.coefficients()).unwrap();
        assert!(bool::from(a.ct_eq(&same)));
        let mut coeffs = a.coefficients().to_vec();
        coeffs[63] = if coeffs[63] == 1 { 0 } else { 1 };
        let other = SecretKey::from_coefficients(&p, &coeffs).unwrap();
        assert!(!bool::from(a.ct_eq(&other)));
        // Same coefficients under other parameters: not equal.
        let primes = ntt_primes(41, 64, 3).unwrap();
        let q = RlweParams::new(
            64,
            &primes[..2],
            &primes[2..],
            1,
            SecurityLevel::InsecureForTesting,
        )
        .unwrap();
        let moved = SecretKey::from_coefficients(&q, a.coefficients()).unwrap();
        assert!(!bool::from(a.ct_eq(&moved)));
    }
}
