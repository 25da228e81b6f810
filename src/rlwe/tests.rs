#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use super::*;
use crate::math::poly::Coeff;

fn to_ntt(p: &Poly<Coeff>) -> Poly<Ntt> {
    p.clone().into_ntt()
}
use crate::math::primes::ntt_primes;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// Largest centred coefficient magnitude of `p`.
fn max_abs(p: &Poly<Coeff>) -> u64 {
    let n = p.context().degree();
    let q = &p.context().moduli()[0];
    p.residues()[..n]
        .iter()
        .map(|&x| q.center(x).unsigned_abs())
        .max()
        .unwrap_or(0)
}

fn params(n: usize, l: usize, k: usize, dnum: usize) -> Arc<RlweParams> {
    let primes = ntt_primes(50, n, l + k).unwrap();
    RlweParams::new(
        n,
        &primes[..l],
        &primes[l..],
        dnum,
        SecurityLevel::InsecureForTesting,
    )
    .unwrap()
}

#[test]
fn parameter_checks() {
    let primes = ntt_primes(50, 1024, 4).unwrap();
    assert!(RlweParams::new(
        1024,
        &primes[..3],
        &primes[3..],
        2,
        SecurityLevel::Classic128
    )
    .is_err());
    let ok = RlweParams::new(
        1024,
        &primes[..3],
        &primes[3..],
        2,
        SecurityLevel::InsecureForTesting,
    )
    .unwrap();
    assert_eq!(ok.digits_at(3), vec![(0, 2), (2, 3)]);
    assert_eq!(ok.digits_at(1), vec![(0, 1)]);
    assert!(RlweParams::new(
        1024,
        &primes[..3],
        &primes[2..],
        2,
        SecurityLevel::InsecureForTesting
    )
    .is_err());
    assert!(RlweParams::new(
        1024,
        &primes[..3],
        &[],
        1,
        SecurityLevel::InsecureForTesting
    )
    .is_err());
    assert!(RlweParams::new(
        1024,
        &primes[..3],
        &primes[3..],
        4,
        SecurityLevel::InsecureForTesting
    )
    .is_err());
    let secure = ntt_primes(54, 8192, 4).unwrap();
    assert!(RlweParams::new(
        8192,
        &secure[..3],
        &secure[3..],
        3,
        SecurityLevel::Classic128
    )
    .is_ok());
}

#[test]
fn public_key_encryptions_of_zero_have_small_phase() {
    let p = params(256, 3, 1, 3);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let sk = SecretKey::generate(&p, &mut rng).unwrap();
    let pk = PublicKey::generate(&sk, &mut rng).unwrap();
    let ct = encrypt_zero_pk(&pk, &mut rng).unwrap();
    let ph = phase(&sk, &ct).unwrap().into_coeff();
    // e0 + e1·s + e·u with |e| <= 19 and s, u ternary: at most 19 (1 + 2N).
    assert!(max_abs(&ph) <= 19 * (1 + 2 * 256), "{}", max_abs(&ph));
    let ct = encrypt_zero_sk(&sk, &[7; 32], &mut rng).unwrap();
    assert!(max_abs(&phase(&sk, &ct).unwrap().into_coeff()) <= 19);
    assert_eq!(format!("{sk:?}"), "SecretKey { .. }");
}

#[test]
fn key_switching_is_correct_at_every_level_and_digit_count() {
    let n = 256;
    for (l, k, dnum) in [(3, 1, 3), (4, 2, 2), (5, 2, 3), (2, 1, 1)] {
        let p = params(n, l, k, dnum);
        let mut rng = ChaCha20Rng::seed_from_u64(l as u64 * 10 + dnum as u64);
        let sk = SecretKey::generate(&p, &mut rng).unwrap();
        let other = SecretKey::generate(&p, &mut rng).unwrap();
        let ksk = KeySwitchingKey::generate(&sk, other.s_q(), &mut rng).unwrap();
        for level in 1..=l {
            let data =
                crate::math::sampling::uniform_poly(&mut rng, &p.ctx_q().moduli()[..level], n)
                    .unwrap();
            let d = Poly::<Coeff>::from_residues(p.ctx_q(), data).unwrap();
            let (c0, c1) = p.key_switch(&d, &ksk).unwrap();
            // c0 + c1 s - d s' must be small.
            let mut got = phase(&sk, &[to_ntt(&c0), to_ntt(&c1)]).unwrap();
            let want = to_ntt(&d).mul(&other.s_q().prefix(level).unwrap()).unwrap();
            got.sub_assign(&want).unwrap();
            let err = max_abs(&got.into_coeff());
            // Bound (module docs): digits d_j < (alpha + 1) D_j, so the inner product adds at
            // most dnum N (alpha+1) 19 max(D_j)/P, and the ModDown rounding at most (1 + N)/2.
            let alpha = l.div_ceil(dnum) as f64;
            let d_max = 2f64.powi(50 * alpha as i32);
            let p_min = 2f64.powi(49 * k as i32);
            let bound = dnum as f64 * n as f64 * (alpha + 1.0) * 19.0 * d_max / p_min
                + (1.0 + n as f64) / 2.0;
            assert!(
                (err as f64) <= bound,
                "l={l} k={k} dnum={dnum} level={level}: {err} > {bound}"
            );
            // Hoisting: decompose once, rotate the decomposition.
            let dec = p.decompose(&d).unwrap();
            let dec5 = dec.automorphism(5).unwrap();
            let d5 = d.automorphism(5).unwrap();
            assert_eq!(
                p.key_switch_decomposed(&dec5, &ksk).unwrap().1.limbs(),
                level
            );
            let direct = p.key_switch(&d5, &ksk).unwrap();
            let hoisted = p.key_switch_decomposed(&dec5, &ksk).unwrap();
            let mut diff = phase(&sk, &[to_ntt(&direct.0), to_ntt(&direct.1)]).unwrap();
            diff.sub_assign(&phase(&sk, &[to_ntt(&hoisted.0), to_ntt(&hoisted.1)]).unwrap())
                .unwrap();
            assert!((max_abs(&diff.into_coeff()) as f64) <= 2.0 * bound);
        }
    }
}

#[test]
fn relinearisation_and_galois_keys_switch_the_right_secrets() {
    let n = 128;
    let p = params(n, 3, 1, 3);
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let sk = SecretKey::generate(&p, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let gk = GaloisKey::generate(&sk, 5, &mut rng).unwrap();
    assert_eq!(gk.element(), 5);
    let data = crate::math::sampling::uniform_poly(&mut rng, p.ctx_q().moduli(), n).unwrap();
    let d = Poly::<Coeff>::from_residues(p.ctx_q(), data).unwrap();
    let s = sk.s_q().clone();
    for (key, target) in [
        (rlk.key(), s.mul(&s).unwrap()),
        (gk.key(), s.automorphism(5).unwrap()),
    ] {
        let (c0, c1) = p.key_switch(&d, key).unwrap();
        let mut got = phase(&sk, &[to_ntt(&c0), to_ntt(&c1)]).unwrap();
        got.sub_assign(&to_ntt(&d).mul(&target).unwrap()).unwrap();
        assert!(max_abs(&got.into_coeff()) < 1 << 20);
    }
    assert!(GaloisKey::generate(&sk, 4, &mut rng).is_err());
}
