//! Composite scaling (each level's scale carried by several primes; Agrawal et al.,
//! "High-precision RNS-CKKS on fixed but smaller word-size architectures", 2023) at the
//! threshold-ready presets `n32768_depth5_scale104` and `n16384_depth2_scale100`: parameters and
//! their wire round trip, encode/encrypt/multiply/rescale/rotate/decrypt against f64 reference
//! arithmetic with the public estimate as the error bound (derived from the parameters, not
//! tuned), the full depth, and the errors for values too large and exhausted levels.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

use migrationfhe::ckks::{self, precision_real, Evaluator, GaloisKeys, Parameters, Preset};
use migrationfhe::error::{CkksError, Error};
use migrationfhe::params::SecurityLevel;
use migrationfhe::rlwe::{RelinearizationKey, SecretKey};
use migrationfhe::wire::ParameterLimits;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

fn uniform(rng: &mut ChaCha20Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
        .collect()
}

#[test]
fn composite_presets_structure() {
    for (preset, n, depth, scale_bits, max_log_qp) in [
        (Preset::N32768Depth5Scale104, 1 << 15, 5, 104, 881),
        (Preset::N16384Depth2Scale100, 1 << 14, 2, 100, 438),
    ] {
        let p = Parameters::preset(preset).unwrap();
        assert_eq!(p.degree(), n);
        assert_eq!(p.depth(), depth, "{}", preset.name());
        assert_eq!(p.scale_bits(), scale_bits);
        assert_eq!((p.first_primes(), p.scale_primes()), (2, 2));
        assert_eq!(p.max_level(), 2 + 2 * depth);
        assert!(p.log_qp() <= max_log_qp, "{} {}", preset.name(), p.log_qp());
        // Levels are prime counts; a rescale drops the two primes of the top level.
        let mut l = p.max_level();
        for left in (1..=depth).rev() {
            assert_eq!(p.depth_left(l), left);
            let below = p.rescale_level(l).unwrap();
            assert_eq!(below, l - 2);
            let q = p.q_moduli();
            let d = q[below] as f64 * q[below + 1] as f64;
            assert!((p.rescale_divisor(l).unwrap() / d - 1.0).abs() < 1e-15);
            // Canonical scales stay within 2^-20 (relative) of 2^scale_bits.
            let s = p.scale_at(below).unwrap();
            assert!(
                (s.log2() - f64::from(scale_bits)).abs() < 1e-6,
                "{}",
                s.log2()
            );
            l = below;
        }
        assert_eq!(p.depth_left(2), 0);
        assert!(matches!(
            p.rescale_level(2),
            Err(Error::Ckks(CkksError::LevelExhausted { level: 2, .. }))
        ));
        // The wire format (ring + scale bits) rebuilds the same grouping.
        let back = Parameters::from_bytes(&p.to_bytes(), &ParameterLimits::default()).unwrap();
        assert_eq!(*back, *p);
        assert_eq!((back.first_primes(), back.scale_primes()), (2, 2));
        assert_eq!(back.scale_at(2).unwrap(), p.scale_at(2).unwrap());
    }
}

#[test]
fn builder_rejects_bad_composite_chains() {
    let b = || {
        Parameters::builder()
            .degree(1 << 12)
            .security(SecurityLevel::InsecureForTesting)
    };
    // More than 60 bits on one prime.
    assert!(matches!(
        b().scale_bits(100).build(),
        Err(Error::ValueOutOfRange { .. })
    ));
    // Composite scales must exceed one word, and primes carry 20…60 bits.
    for (bits, k) in [(50, 2), (130, 2), (61, 4)] {
        assert!(matches!(
            b().scale_bits(bits).scale_primes(k).first_primes(1).build(),
            Err(Error::ValueOutOfRange { .. })
        ));
    }
    // First modulus below the scale, or with more primes than a level.
    assert!(b()
        .scale_bits(100)
        .scale_primes(2)
        .first_primes(1)
        .first_prime_bits(60)
        .build()
        .is_err());
    assert!(b()
        .scale_bits(100)
        .scale_primes(2)
        .first_primes(3)
        .first_prime_bits(40)
        .build()
        .is_err());
    // The security check applies as for every chain: 2^12 holds 109 bits.
    assert!(matches!(
        Parameters::builder()
            .degree(1 << 12)
            .scale_bits(100)
            .scale_primes(2)
            .first_primes(2)
            .first_prime_bits(55)
            .levels(1)
            .build(),
        Err(Error::InsecureParameters { .. })
    ));
}

#[test]
fn n32768_depth5_scale104_operations() {
    let params = Parameters::preset(Preset::N32768Depth5Scale104).unwrap();
    let slots = params.slots();
    let mut rng = ChaCha20Rng::seed_from_u64(104);
    let sk = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
    let pk = ckks::PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let gk = GaloisKeys::generate(&params, &sk, &[1, -3], true, &mut rng).unwrap();
    let ev = Evaluator::new(&params);
    let a = uniform(&mut rng, slots);
    let b = uniform(&mut rng, slots);
    let dec = |ct: &ckks::Ciphertext| {
        params
            .decode(&ckks::decrypt(&params, &sk, ct).unwrap())
            .unwrap()
    };
    // Every result within its public estimate, and at least 40 bits (the f64 encoder's
    // limit is about 2^-50 at this size: the scale is not the limit).
    let check = |what: &str, want: &[f64], ct: &ckks::Ciphertext| {
        let r = precision_real(want, &dec(ct));
        eprintln!(
            "{what}: level {} scale 2^{:.3}: {r} (estimate {:.1})",
            ct.level(),
            ct.scale().log2(),
            ct.estimate().precision_bits(slots)
        );
        assert!(r.max_error <= ct.estimate().max_error(slots), "{what}: {r}");
        assert!(r.min_bits >= 40.0, "{what}: {r}");
    };
    let pa = params.encode_real_top(&a).unwrap();
    assert_eq!(pa.level(), params.max_level());
    let ca = ckks::encrypt(&params, &pk, &pa, &mut rng).unwrap();
    let cb = ckks::encrypt_symmetric(&params, &sk, &params.encode_real_top(&b).unwrap(), &mut rng)
        .unwrap();
    check("fresh (public key)", &a, &ca);
    check("fresh (secret key)", &b, &cb);
    // Rotations and conjugation.
    let r = ev.rotate(&ca, 1, &gk).unwrap();
    let want: Vec<f64> = (0..slots).map(|j| a[(j + 1) % slots]).collect();
    check("rotate 1", &want, &r);
    let r = ev.rotate(&ca, -3, &gk).unwrap();
    let want: Vec<f64> = (0..slots).map(|j| a[(j + slots - 3) % slots]).collect();
    check("rotate -3", &want, &r);
    check("conjugate", &a, &ev.conjugate(&ca, &gk).unwrap());
    // Constants (the factor before the rescale is about 2^104) and mixed-level sums.
    let c = ev.mul_const_rescale(&ca, -0.375).unwrap();
    assert_eq!(c.level(), params.max_level() - 2);
    assert!((c.scale() / params.scale_at(c.level()).unwrap() - 1.0).abs() < 1e-9);
    let want: Vec<f64> = a.iter().map(|x| -0.375 * x).collect();
    check("constant", &want, &c);
    let s = ev.add(&cb, &c).unwrap();
    let want: Vec<f64> = a.iter().zip(&b).map(|(x, y)| y - 0.375 * x).collect();
    check("sum across levels", &want, &s);
    check(
        "add constant",
        &a.iter().map(|x| x + 2.5).collect::<Vec<_>>(),
        &ev.add_const(&ca, 2.5).unwrap(),
    );
    // The full depth: five products, each rescale dropping two primes.
    let mut ct = ca.clone();
    let mut want = a.clone();
    for i in 0..5 {
        ct = ev.mul_relin_rescale(&ct, &cb, &rlk).unwrap();
        for (w, y) in want.iter_mut().zip(&b) {
            *w *= y;
        }
        assert_eq!(ct.level(), params.max_level() - 2 * (i + 1));
        assert!((ct.scale() / params.scale_at(ct.level()).unwrap() - 1.0).abs() < 1e-12);
        check(&format!("{} products", i + 1), &want, &ct);
    }
    assert_eq!(ct.level(), 2);
    assert!(matches!(
        ev.rescale(&ct),
        Err(Error::Ckks(CkksError::LevelExhausted { level: 2, .. }))
    ));
    // Squares at a lower level, then values too large for the level.
    let sq = ev
        .rescale(&ev.relinearize(&ev.square(&c).unwrap(), &rlk).unwrap())
        .unwrap();
    let want: Vec<f64> = a.iter().map(|x| 0.140_625 * x * x).collect();
    check("square", &want, &sq);
    // Level 2 holds 120 bits: 2^104 · 2^16 does not fit.
    let big = vec![70_000.0; 4];
    assert!(matches!(
        params.encode_real(&big, 2, params.scale_at(2).unwrap()),
        Err(Error::Ckks(CkksError::ValueTooLarge { level: 2, .. }))
    ));
    let ok = vec![1000.0, -2000.5];
    let p = params
        .encode_real(&ok, 2, params.scale_at(2).unwrap())
        .unwrap();
    let back = params.decode(&p).unwrap();
    assert!((back[1].re + 2000.5).abs() < 1e-9, "{}", back[1].re);
}

#[test]
fn n16384_depth2_scale100_operations() {
    let params = Parameters::preset(Preset::N16384Depth2Scale100).unwrap();
    let slots = params.slots();
    let mut rng = ChaCha20Rng::seed_from_u64(100);
    let sk = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
    let pk = ckks::PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let ev = Evaluator::new(&params);
    let a = uniform(&mut rng, slots);
    let ca = ckks::encrypt(&params, &pk, &params.encode_real_top(&a).unwrap(), &mut rng).unwrap();
    let mut ct = ca.clone();
    let mut want = a.clone();
    for _ in 0..2 {
        ct = ev.mul_relin_rescale(&ct, &ca, &rlk).unwrap();
        for (w, x) in want.iter_mut().zip(&a) {
            *w *= x;
        }
        let got = params
            .decode(&ckks::decrypt(&params, &sk, &ct).unwrap())
            .unwrap();
        let r = precision_real(&want, &got);
        eprintln!("n16384 scale 2^100, level {}: {r}", ct.level());
        assert!(r.max_error <= ct.estimate().max_error(slots));
        assert!(r.min_bits >= 40.0);
    }
    assert_eq!(ct.level(), 2);
}
