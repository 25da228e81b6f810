//! Key switching for BFV's coefficient-form ciphertexts: thin wrappers over the shared fast path
//! [`RlweParams::key_switch_into`](crate::rlwe::RlweParams) (module `rlwe::keyswitch`: the
//! limb-by-limb hybrid key switching, bit-identical to
//! [`RlweParams::key_switch`](crate::rlwe::RlweParams::key_switch)), and the fused rotation.

use super::params::Parameters;
use crate::error::Result;
use crate::math::poly::{Coeff, Poly};
use crate::rlwe::KeySwitchingKey;

/// `(c0, c1)` over `Q_l` (coefficient form) with `c0 + c1·s ≈ d·s'` for the key `s' -> s`.
#[cfg(test)]
pub(crate) fn key_switch(
    params: &Parameters,
    d: &Poly<Coeff>,
    key: &KeySwitchingKey,
) -> Result<(Poly<Coeff>, Poly<Coeff>)> {
    let ctx_q = params.ring().ctx_q();
    let level = d.limbs();
    let n = params.degree();
    let (mut r0, mut r1) = (vec![0; level * n], vec![0; level * n]);
    key_switch_into(params, d, None, key, (&mut r0, false), (&mut r1, false))?;
    Ok((
        Poly::from_raw(ctx_q, level, r0),
        Poly::from_raw(ctx_q, level, r1),
    ))
}

/// Key switching of `d(X^g)` (`galois = Some(g)`) or of `d`, written into or added to `out0`
/// and `out1` ([`RlweParams::key_switch_into`](crate::rlwe::RlweParams)).
///
/// # Errors
/// As `RlweParams::key_switch_into`.
pub(crate) fn key_switch_into(
    params: &Parameters,
    d: &Poly<Coeff>,
    galois: Option<u64>,
    key: &KeySwitchingKey,
    out0: (&mut [u64], bool),
    out1: (&mut [u64], bool),
) -> Result<()> {
    params.ring().key_switch_into(d, galois, key, out0, out1)
}

/// A rotation's `(c_0(X^g) + k_0, k_1)`, `(k_0, k_1)` the key switch of `c_1(X^g)`, written
/// into `out0` and `out1` ([`RlweParams::rotate_into`](crate::rlwe::RlweParams): the rotated
/// `c_0` is gathered inside ModDown's last pass).
///
/// # Errors
/// As `RlweParams::rotate_into`.
pub(crate) fn rotate_into(
    params: &Parameters,
    c0: &Poly<Coeff>,
    c1: &Poly<Coeff>,
    g: u64,
    key: &KeySwitchingKey,
    out0: &mut [u64],
    out1: &mut [u64],
) -> Result<()> {
    params.ring().rotate_into(c0, c1, g, key, out0, out1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::math::ntt::automorphism_coeff;
    use crate::rlwe::{GaloisKey, RelinearizationKey, SecretKey};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// `σ_g(c)` over `Q_l` (coefficient form), in a pooled buffer (the reference the fused
    /// rotation is tested against).
    fn automorphism_pooled(params: &Parameters, c: &Poly<Coeff>, g: u64) -> Result<Vec<u64>> {
        if g.is_multiple_of(2) {
            return Err(Error::InvalidOperation {
                reason: "automorphism exponent must be odd",
            });
        }
        let n = params.degree();
        let mut out = crate::math::pool::take_dirty(c.residues().len());
        for ((dst, limb), q) in out
            .chunks_exact_mut(n)
            .zip(c.residues().chunks_exact(n))
            .zip(c.context().moduli())
        {
            automorphism_coeff(dst, limb, g, q.value(), false);
        }
        Ok(out)
    }

    #[test]
    fn identical_to_the_rlwe_key_switch_at_every_level() {
        // One-prime digits, two-prime digits (the last one shorter at odd levels), three-prime
        // digits with two special primes.
        for (q_primes, p_primes, dnum) in [(4, 1, 4), (5, 1, 3), (5, 2, 2), (4, 1, 1)] {
            let params = Parameters::builder()
                .degree(64)
                .plaintext_modulus(257)
                .ciphertext_moduli_bits(&vec![50; q_primes])
                .special_moduli_bits(&vec![50; p_primes])
                .dnum(dnum)
                .security(crate::params::SecurityLevel::InsecureForTesting)
                .allow_small_degree_for_testing()
                .build()
                .unwrap();
            let ring = params.ring();
            let mut rng = ChaCha20Rng::seed_from_u64(5);
            let sk = SecretKey::generate(ring, &mut rng).unwrap();
            let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
            let gk = GaloisKey::generate(&sk, 3, &mut rng).unwrap();
            for level in 1..=q_primes {
                let data = crate::math::sampling::uniform_poly(
                    &mut rng,
                    &ring.ctx_q().moduli()[..level],
                    64,
                )
                .unwrap();
                let d = Poly::<Coeff>::from_residues(ring.ctx_q(), data).unwrap();
                for key in [rlk.key(), gk.key()] {
                    assert_eq!(
                        key_switch(&params, &d, key).unwrap(),
                        ring.key_switch(&d, key).unwrap(),
                        "{q_primes} primes, dnum {dnum}, level {level}"
                    );
                }
                // The automorphism applied while switching, with the results written into or
                // added to the outputs: the same as rotating first, then switching, then adding.
                let n = 64;
                let base = crate::math::sampling::uniform_poly(
                    &mut rng,
                    &ring.ctx_q().moduli()[..level],
                    n,
                )
                .unwrap();
                let base = Poly::<Coeff>::from_residues(ring.ctx_q(), base).unwrap();
                for g in [3u64, 5, 2 * 64 - 1, 3 + 2 * 64] {
                    let (w0, w1) = ring
                        .key_switch(&d.automorphism(g).unwrap(), gk.key())
                        .unwrap();
                    let mut want0 = base.clone();
                    want0.add_assign(&w0).unwrap();
                    let mut got0 = base.residues().to_vec();
                    let mut got1 = vec![7u64; level * n];
                    key_switch_into(
                        &params,
                        &d,
                        Some(g),
                        gk.key(),
                        (&mut got0, true),
                        (&mut got1, false),
                    )
                    .unwrap();
                    assert_eq!(got0, want0.residues(), "g {g}, level {level}");
                    assert_eq!(got1, w1.residues(), "g {g}, level {level}");
                    assert_eq!(
                        automorphism_pooled(&params, &base, g).unwrap(),
                        base.automorphism(g).unwrap().residues()
                    );
                    // The fused rotation: c_0(X^g) + k_0 and k_1 in one pass.
                    let mut want_rot = base.automorphism(g).unwrap();
                    want_rot.add_assign(&w0).unwrap();
                    let (mut r0, mut r1) = (vec![3u64; level * n], vec![5u64; level * n]);
                    rotate_into(&params, &base, &d, g, gk.key(), &mut r0, &mut r1).unwrap();
                    assert_eq!(r0, want_rot.residues(), "rotate g {g}, level {level}");
                    assert_eq!(r1, w1.residues(), "rotate g {g}, level {level}");
                }
                assert!(key_switch_into(
                    &params,
                    &d,
                    Some(4),
                    gk.key(),
                    (&mut vec![0; level * 64], false),
                    (&mut vec![0; level * 64], false),
                )
                .is_err());
            }
        }
    }
}
