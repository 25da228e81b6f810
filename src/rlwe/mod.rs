//! What BFV and CKKS share: ring parameters with the special primes of hybrid key switching,
//! secret and public keys, key-switching keys (relinearisation, Galois), the key-switching
//! procedure with its separate decomposition step (for hoisting), and the encryption core.
//!
//! Everything here lives in `R_Q = Z_Q[X]/(X^N + 1)` for the ciphertext modulus
//! `Q = q_0 ⋯ q_{L-1}`, extended by the special modulus `P = p_0 ⋯ p_{K-1}` during key
//! switching. A polynomial at *level* `l` uses the first `l` primes of `Q`.
//!
//! ## Hybrid key switching
//! After Han and Ki ("Better Bootstrapping for Approximate Homomorphic Encryption", CT-RSA
//! 2020) and Kim, Polyakov and Zucca (ASIACRYPT 2021), as Lattigo implements it: the primes of `Q`
//! are cut into `dnum` digits `D_j` of `α = ⌈L / dnum⌉` consecutive primes. A key switching key
//! from `s'` to `s` holds, per digit, `(b_j, a_j)` over `QP` with
//! `b_j = -a_j s + e_j + P·T_j·s'`, where `T_j = (Q/D_j)·[(Q/D_j)^-1]_{D_j}` is `1` modulo the
//! primes of `D_j` and `0` modulo the others (and `P·T_j = 0` modulo `P`). To switch `d`
//! (a polynomial at level `l`, decryptable as `d·s'`):
//! 1. **ModUp** ([`RlweParams::decompose`]): for each digit, the residues of `d` modulo `D_j`
//!    are extended to the whole basis `Q_l ∪ P` by fast base conversion (Bajard et al., SAC 2016);
//!    the result is `d + u_j D_j` with a small `u_j`, exact modulo `D_j`;
//! 2. **inner product** with the key: `(Σ_j d_j b_j, Σ_j d_j a_j)` over `Q_l P`, which decrypts
//!    under `s` to `P·d·s' + Σ_j d_j e_j` (the `u_j D_j T_j` terms vanish modulo `Q`);
//! 3. **ModDown**: divide by `P` and round (exact, `math::rns::ScaleDown`), leaving
//!    `d·s' + (Σ_j d_j e_j)/P + rounding` over `Q_l`. With `P` at least as large as each digit the
//!    added noise is about `N·σ·√dnum` plus the rounding, independent of `Q`.
//!
//! Step 1 depends only on `d`: [`RlweParams::decompose`] exposes it, so several rotations of
//! one ciphertext share it (hoisting; the automorphism is applied to the decomposed digits), and
//! the threshold layer can reuse it.
//!
//! ## Noise of fresh encryptions
//! Errors are discrete Gaussians with σ = 3.2 cut at 19 (`math::sampling`); secrets and the
//! public-key randomness `u` are ternary.

mod keys;
mod keyswitch;

pub use keys::{
    GaloisKey, KeySwitchingKey, PublicKey, RelinearizationKey, SecretKey, DOMAIN_CIPHERTEXT,
    DOMAIN_KEY_SWITCH, DOMAIN_PUBLIC_KEY,
};
pub use keyswitch::Decomposed;

use crate::error::{Error, Result};
use crate::math::poly::{Context, Ntt, Poly};
use crate::math::rns::{BaseConverter, RnsBasis, ScaleDown};
use crate::params::{check_security, SecretDistribution, SecurityLevel};
use std::sync::{Arc, OnceLock};

/// Ring parameters shared by the schemes: degree, ciphertext and special primes, digits.
pub struct RlweParams {
    n: usize,
    security: SecurityLevel,
    ctx_q: Arc<Context>,
    ctx_p: Arc<Context>,
    dnum: usize,
    alpha: usize,
    /// `P mod q_i`.
    p_mod_q: Vec<u64>,
    /// Per level `l` (index `l - 1`): the ModUp converters of each digit and the ModDown.
    levels: Vec<OnceLock<LevelTables>>,
}

/// Precomputation for key switching at one level.
pub(crate) struct LevelTables {
    /// For digit `j`: the primes of `Q_l` it covers (`start..end`) and the converter from those
    /// primes to `(Q_l \ D_j) ∪ P`, in that order.
    pub(crate) modup: Vec<(usize, usize, BaseConverter)>,
    /// Divide-and-round by `P` on the basis `Q_l ∪ P`.
    pub(crate) moddown: ScaleDown,
}

impl core::fmt::Debug for RlweParams {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RlweParams")
            .field("n", &self.n)
            .field("q", &self.q_moduli())
            .field("p", &self.p_moduli())
            .field("dnum", &self.dnum)
            .field("security", &self.security)
            .finish()
    }
}

impl PartialEq for RlweParams {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n
            && self.ctx_q == other.ctx_q
            && self.ctx_p == other.ctx_p
            && self.dnum == other.dnum
            && self.security == other.security
    }
}
impl Eq for RlweParams {}

impl RlweParams {
    /// Ring parameters for degree `n`, ciphertext primes `q` (level order: `q[0]` is kept
    /// longest), special primes `p` and `dnum` key-switching digits, checked against the
    /// security table for `log2(Q·P)`.
    ///
    /// # Errors
    /// [`Error::InvalidBasis`] for empty `q` or `p`, a prime repeated across `q ∪ p`, or `dnum`
    /// outside `1..=q.len()`; the errors of [`Context::new`] for non-NTT-friendly primes or a bad
    /// degree; [`Error::InsecureParameters`] if the table does not rate `(n, Q·P)` at `security`.
    pub fn new(
        n: usize,
        q: &[u64],
        p: &[u64],
        dnum: usize,
        security: SecurityLevel,
    ) -> Result<Arc<Self>> {
        if q.is_empty() || p.is_empty() {
            return Err(Error::InvalidBasis {
                reason: "need at least one ciphertext and one special prime",
            });
        }
        if dnum == 0 || dnum > q.len() {
            return Err(Error::InvalidBasis {
                reason: "dnum must be between 1 and the number of ciphertext primes",
            });
        }
        let all: Vec<u64> = q.iter().chain(p).copied().collect();
        for (i, x) in all.iter().enumerate() {
            if all[..i].contains(x) {
                return Err(Error::InvalidBasis {
                    reason: "repeated prime",
                });
            }
        }
        check_security(n, &all, security, SecretDistribution::Ternary)?;
        let ctx_q = Context::new(n, q)?;
        let ctx_p = Context::new(n, p)?;
        let p_mod_q = ctx_q
            .moduli()
            .iter()
            .map(|qi| p.iter().fold(1u64, |acc, &pj| qi.mul(acc, qi.reduce(pj))))
            .collect();
        let alpha = q.len().div_ceil(dnum);
        let levels = (0..q.len()).map(|_| OnceLock::new()).collect();
        Ok(Arc::new(Self {
            n,
            security,
            ctx_q,
            ctx_p,
            dnum,
            alpha,
            p_mod_q,
            levels,
        }))
    }

    /// Ring degree `N`.
    pub fn degree(&self) -> usize {
        self.n
    }

    /// Number of ciphertext primes `L` (the top level).
    pub fn max_level(&self) -> usize {
        self.ctx_q.len()
    }

    /// The ciphertext primes.
    pub fn q_moduli(&self) -> Vec<u64> {
        self.ctx_q.moduli().iter().map(|m| m.value()).collect()
    }

    /// The special primes.
    pub fn p_moduli(&self) -> Vec<u64> {
        self.ctx_p.moduli().iter().map(|m| m.value()).collect()
    }

    /// Number of key-switching digits.
    pub fn dnum(&self) -> usize {
        self.dnum
    }

    /// Security level the parameters were checked against.
    pub fn security(&self) -> SecurityLevel {
        self.security
    }

    /// Context of the ciphertext primes.
    pub fn ctx_q(&self) -> &Arc<Context> {
        &self.ctx_q
    }

    /// Context of the special primes.
    pub fn ctx_p(&self) -> &Arc<Context> {
        &self.ctx_p
    }

    /// Digits in use at level `l`: `(start, end)` ranges of prime indices.
    pub(crate) fn digits_at(&self, level: usize) -> Vec<(usize, usize)> {
        (0..level.div_ceil(self.alpha))
            .map(|j| (j * self.alpha, ((j + 1) * self.alpha).min(level)))
            .collect()
    }

    pub(crate) fn check_level(&self, level: usize) -> Result<()> {
        if level == 0 || level > self.max_level() {
            return Err(Error::InvalidOperation {
                reason: "level outside the modulus chain",
            });
        }
        Ok(())
    }

    /// Key-switching tables for level `l`, built on first use.
    pub(crate) fn level_tables(&self, level: usize) -> Result<&LevelTables> {
        self.check_level(level)?;
        if let Some(t) = self.levels[level - 1].get() {
            return Ok(t);
        }
        let q = self.q_moduli();
        let p = self.p_moduli();
        let mut modup = Vec::new();
        for (start, end) in self.digits_at(level) {
            let from = RnsBasis::new(&q[start..end])?;
            let rest: Vec<u64> = q[..start]
                .iter()
                .chain(&q[end..level])
                .chain(&p)
                .copied()
                .collect();
            let to = RnsBasis::new(&rest)?;
            modup.push((start, end, BaseConverter::new(&from, &to)?));
        }
        let qp: Vec<u64> = q[..level].iter().chain(&p).copied().collect();
        let moddown = ScaleDown::new(&RnsBasis::new(&qp)?, p.len())?;
        let tables = LevelTables { modup, moddown };
        Ok(self.levels[level - 1].get_or_init(|| tables))
    }

    pub(crate) fn p_mod_q(&self) -> &[u64] {
        &self.p_mod_q
    }
}

/// A polynomial over `Q_l ∪ P` in NTT form: its `Q` part (first `l` primes) and its `P` part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolyQP {
    /// Residues modulo the ciphertext primes in use.
    pub q: Poly<Ntt>,
    /// Residues modulo the special primes.
    pub p: Poly<Ntt>,
}

impl PolyQP {
    fn zero(params: &RlweParams, level: usize) -> Result<Self> {
        Ok(Self {
            q: Poly::zero_at(params.ctx_q(), level)?,
            p: Poly::zero(params.ctx_p()),
        })
    }
}

/// `c0 + c1·s + c2·s^2 + …` over `Q_l` in NTT form: the phase of a ciphertext of any degree.
///
/// # Errors
/// [`Error::InvalidOperation`] for an empty ciphertext; [`Error::ContextMismatch`] if the
/// polynomials do not belong to `sk`'s parameters.
pub fn phase(sk: &SecretKey, cts: &[Poly<Ntt>]) -> Result<Poly<Ntt>> {
    let (first, rest) = cts.split_first().ok_or(Error::InvalidOperation {
        reason: "empty ciphertext",
    })?;
    let level = first.limbs();
    let s = sk.s_q().prefix(level)?;
    // Horner: ((c_d s + c_{d-1}) s + …) s + c_0.
    let Some((last, middle)) = rest.split_last() else {
        return Ok(first.clone());
    };
    let mut acc = last.clone();
    for c in middle.iter().rev() {
        acc.mul_assign(&s)?;
        acc.add_assign(c)?;
    }
    acc.mul_assign(&s)?;
    acc.add_assign(first)?;
    Ok(acc)
}

/// An encryption of zero under the public key, over all ciphertext primes, NTT form:
/// `(b·u + e0, a·u + e1)` with `u` ternary and `e0, e1` Gaussian.
///
/// # Errors
/// Only for inconsistent parameters.
pub fn encrypt_zero_pk(
    pk: &PublicKey,
    rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
) -> Result<[Poly<Ntt>; 2]> {
    use zeroize::Zeroize;
    let ctx = pk.a.context();
    let u_coeffs = crate::math::sampling::ternary_rns(rng, ctx.moduli(), ctx.degree())?;
    let mut u = Poly::from_raw(ctx, ctx.len(), u_coeffs.to_vec()).into_ntt();
    let mut c0 = keys::gaussian_ntt(ctx, rng)?;
    let mut c1 = keys::gaussian_ntt(ctx, rng)?;
    c0.mul_add_assign(&pk.b, &u)?;
    c1.mul_add_assign(&pk.a, &u)?;
    u.zeroize();
    Ok([c0, c1])
}

/// An encryption of zero under the secret key, NTT form: `(-a·s + e, a)` with `a` expanded
/// from `seed` (domain `ct`, index 0), so `c1` can be sent as the seed.
///
/// # Errors
/// Only for inconsistent parameters.
pub fn encrypt_zero_sk(
    sk: &SecretKey,
    seed: &[u8; 32],
    rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
) -> Result<[Poly<Ntt>; 2]> {
    let ctx = sk.params().ctx_q();
    let a = keys::seeded_uniform(
        ctx,
        seed,
        crate::math::sampling::Domain::new(keys::DOMAIN_CIPHERTEXT, 0),
    )?;
    let mut c0 = keys::gaussian_ntt(ctx, rng)?;
    let mut as_ = a.mul(sk.s_q())?;
    c0.sub_assign(&as_)?;
    zeroize::Zeroize::zeroize(&mut as_);
    Ok([c0, a])
}

#[cfg(test)]
mod tests;
