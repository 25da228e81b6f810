//! Hybrid key switching: ModUp (decomposition), inner product with the key, ModDown.

use super::{KeySwitchingKey, PolyQP, RlweParams};
use crate::error::{Error, Result};
use crate::math::poly::{Coeff, Poly};

/// A polynomial decomposed for key switching: one [`PolyQP`] (NTT form) per digit in use at its
/// level. Computed once by [`RlweParams::decompose`], it can be switched under several keys, and
/// [`Decomposed::automorphism`] maps it to the decomposition of `d(X^k)` (hoisted rotations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decomposed {
    level: usize,
    digits: Vec<PolyQP>,
}

impl Decomposed {
    /// The level (number of ciphertext primes) of the decomposed polynomial.
    pub fn level(&self) -> usize {
        self.level
    }

    /// The decomposition of `d(X^k)` from that of `d` (a permutation of every digit's slots).
    ///
    /// # Errors
    /// [`Error::InvalidOperation`] if `k` is even.
    pub fn automorphism(&self, k: u64) -> Result<Self> {
        let digits = self
            .digits
            .iter()
            .map(|d| {
                Ok(PolyQP {
                    q: d.q.automorphism(k)?,
                    p: d.p.automorphism(k)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            level: self.level,
            digits,
        })
    }
}

impl RlweParams {
    /// ModUp: extends each digit of `d` (coefficient form, level `l`) to `Q_l ∪ P` and
    /// transforms it to NTT form.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if `d` is not over these parameters' ciphertext primes.
    pub fn decompose(&self, d: &Poly<Coeff>) -> Result<Decomposed> {
        if **d.context() != **self.ctx_q() {
            return Err(Error::ContextMismatch);
        }
        let level = d.limbs();
        let tables = self.level_tables(level)?;
        let n = self.degree();
        let k_p = self.ctx_p().len();
        let src = d.residues();
        let mut digits = Vec::with_capacity(tables.modup.len());
        for (start, end, conv) in &tables.modup {
            let (start, end) = (*start, *end);
            let others = level - (end - start);
            let mut ext = vec![0u64; (others + k_p) * n];
            conv.convert_approx(&src[start * n..end * n], &mut ext)?;
            // Reassemble Q_l in prime order: converted limbs before the digit, the digit's own
            // residues, converted limbs after it; then the P limbs.
            let mut q = Vec::with_capacity(level * n);
            q.extend_from_slice(&ext[..start * n]);
            q.extend_from_slice(&src[start * n..end * n]);
            q.extend_from_slice(&ext[start * n..others * n]);
            let p = ext[others * n..].to_vec();
            digits.push(PolyQP {
                q: Poly::from_raw(self.ctx_q(), level, q).into_ntt(),
                p: Poly::from_raw(self.ctx_p(), k_p, p).into_ntt(),
            });
        }
        Ok(Decomposed { level, digits })
    }

    /// Inner product of a decomposition with a key switching key, then ModDown: returns
    /// `(c0, c1)` over `Q_l` in coefficient form with `c0 + c1·s ≈ d·s'`.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if the key has another number of digits than these
    /// parameters use.
    pub fn key_switch_decomposed(
        &self,
        dec: &Decomposed,
        key: &KeySwitchingKey,
    ) -> Result<(Poly<Coeff>, Poly<Coeff>)> {
        let level = dec.level;
        if key.digits.len() < dec.digits.len() {
            return Err(Error::ContextMismatch);
        }
        let mut acc0 = PolyQP::zero(self, level)?;
        let mut acc1 = PolyQP::zero(self, level)?;
        for (d, (b, a)) in dec.digits.iter().zip(&key.digits) {
            acc0.q.mul_add_assign_prefix(&d.q, &b.q)?;
            acc0.p.mul_add_assign_prefix(&d.p, &b.p)?;
            acc1.q.mul_add_assign_prefix(&d.q, &a.q)?;
            acc1.p.mul_add_assign_prefix(&d.p, &a.p)?;
        }
        Ok((self.mod_down(acc0, level)?, self.mod_down(acc1, level)?))
    }

    /// Key switching of `d` (coefficient form): [`decompose`](Self::decompose) then
    /// [`key_switch_decomposed`](Self::key_switch_decomposed).
    ///
    /// # Errors
    /// As those two.
    pub fn key_switch(
        &self,
        d: &Poly<Coeff>,
        key: &KeySwitchingKey,
    ) -> Result<(Poly<Coeff>, Poly<Coeff>)> {
        self.key_switch_decomposed(&self.decompose(d)?, key)
    }

    /// Divides a `Q_l ∪ P` polynomial by `P` with rounding, returning it over `Q_l`.
    fn mod_down(&self, x: PolyQP, level: usize) -> Result<Poly<Coeff>> {
        let n = self.degree();
        let mut all = x.q.into_coeff().into_residues();
        all.extend_from_slice(x.p.into_coeff().residues());
        let mut out = vec![0u64; level * n];
        self.level_tables(level)?
            .moddown
            .divide_round(&all, &mut out)?;
        Ok(Poly::from_raw(self.ctx_q(), level, out))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::math::poly::Ntt;
    use crate::math::primes::ntt_primes;
    use crate::math::sampling::{gaussian_rns, seeded_rng, uniform_poly, Domain};
    use crate::params::SecurityLevel;
    use crate::rlwe::{RelinearizationKey, SecretKey, DOMAIN_KEY_SWITCH};
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    /// Key-switching keys are the textbook `b_j = -a_j s + e_j + P·T_j·s'` with `a_j` and
    /// `e_j` drawn exactly as before the generation was optimised (uniform `a_j` from the seed,
    /// `e_j` from `gaussian_rns` over `Q ∪ P`): same randomness, same residues.
    #[test]
    fn key_generation_matches_the_reference() {
        for (l, k, dnum) in [(4, 1, 4), (5, 2, 2), (3, 1, 1)] {
            let primes = ntt_primes(50, 256, l + k).unwrap();
            let params = RlweParams::new(
                256,
                &primes[..l],
                &primes[l..],
                dnum,
                SecurityLevel::InsecureForTesting,
            )
            .unwrap();
            let mut rng = ChaCha20Rng::seed_from_u64(11);
            let sk = SecretKey::generate(&params, &mut rng).unwrap();
            let mut r2 = rng.clone();
            let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
            // Reference.
            let s2 = sk.s_q().mul(sk.s_q()).unwrap();
            let mut seed = [0u8; 32];
            r2.fill_bytes(&mut seed);
            assert_eq!(&seed, rlk.key().seed());
            let n = 256;
            let all: Vec<_> = params
                .ctx_q()
                .moduli()
                .iter()
                .chain(params.ctx_p().moduli())
                .copied()
                .collect();
            for (j, (start, end)) in params.digits_at(l).into_iter().enumerate() {
                let mut ra = seeded_rng(
                    &seed,
                    Domain::new(DOMAIN_KEY_SWITCH, u32::try_from(j).unwrap()),
                );
                let aq = uniform_poly(&mut ra, params.ctx_q().moduli(), n).unwrap();
                let ap = uniform_poly(&mut ra, params.ctx_p().moduli(), n).unwrap();
                let e = gaussian_rns(&mut r2, &all, n).unwrap();
                let aq = Poly::<Ntt>::from_raw(params.ctx_q(), l, aq);
                let ap = Poly::<Ntt>::from_raw(params.ctx_p(), k, ap);
                let mut bq =
                    Poly::<Coeff>::from_raw(params.ctx_q(), l, e[..l * n].to_vec()).into_ntt();
                let mut bp =
                    Poly::<Coeff>::from_raw(params.ctx_p(), k, e[l * n..].to_vec()).into_ntt();
                bq.sub_assign(&aq.mul(sk.s_q()).unwrap()).unwrap();
                bp.sub_assign(&ap.mul(sk.s_p()).unwrap()).unwrap();
                let data = bq.residues_mut();
                for i in start..end {
                    let q = &params.ctx_q().moduli()[i];
                    let w = params.p_mod_q()[i];
                    for c in 0..n {
                        let x = &mut data[i * n + c];
                        *x = q.add(*x, q.mul(s2.residues()[i * n + c], w));
                    }
                }
                let (b, a) = &rlk.key().digits[j];
                assert_eq!((&a.q, &a.p), (&aq, &ap));
                assert_eq!((&b.q, &b.p), (&bq, &bp), "digit {j}");
            }
        }
    }
}
