//! Every CKKS operation against `f64`/complex reference arithmetic at a small insecure preset,
//! with error bounds taken from the public noise estimate (derived from the parameters).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use migrationfhe::ckks::{
    self, precision, Ciphertext, Complex, Evaluator, GaloisKeys, Parameters, Preset,
};
use migrationfhe::error::CkksError;
use migrationfhe::rlwe::{RelinearizationKey, SecretKey};
use migrationfhe::Error;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::sync::{Arc, OnceLock};

struct Fixture {
    params: Arc<Parameters>,
    sk: SecretKey,
    pk: ckks::PublicKey,
    rlk: RelinearizationKey,
    gks: GaloisKeys,
    ev: Evaluator,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let params = Parameters::preset(Preset::InsecureN1024Depth4Scale30).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        let sk = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
        let pk = ckks::PublicKey::generate(&sk, &mut rng).unwrap();
        let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
        let gks = GaloisKeys::generate(&params, &sk, &[1, 2, 3, -1, 4], true, &mut rng).unwrap();
        let ev = Evaluator::new(&params);
        Fixture {
            params,
            sk,
            pk,
            rlk,
            gks,
            ev,
        }
    })
}

fn random_values(rng: &mut ChaCha20Rng, n: usize) -> Vec<Complex> {
    let mut u = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
    (0..n).map(|_| Complex::new(u(), u())).collect()
}

fn enc(f: &Fixture, z: &[Complex], rng: &mut ChaCha20Rng) -> Ciphertext {
    let l = f.params.max_level();
    let pt = f
        .params
        .encode(z, l, f.params.scale_at(l).unwrap())
        .unwrap();
    ckks::encrypt(&f.params, &f.pk, &pt, rng).unwrap()
}

fn dec(f: &Fixture, ct: &Ciphertext) -> Vec<Complex> {
    f.params
        .decode(&ckks::decrypt(&f.params, &f.sk, ct).unwrap())
        .unwrap()
}

/// Checks `ct` against `want` within the ciphertext's public error estimate.
fn check(f: &Fixture, ct: &Ciphertext, want: &[Complex], what: &str) {
    let got = dec(f, ct);
    let r = precision(want, &got);
    let bound = ct.estimate().max_error(f.params.slots());
    assert!(
        r.max_error <= bound,
        "{what}: error {:e} above the estimate {:e} ({r})",
        r.max_error,
        bound
    );
}

#[test]
fn fresh_encryptions_decrypt_within_the_estimate() {
    let f = fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let z = random_values(&mut rng, f.params.slots());
    let ct = enc(f, &z, &mut rng);
    check(f, &ct, &z, "public key");
    let l = f.params.max_level();
    let pt = f
        .params
        .encode(&z, l, f.params.scale_at(l).unwrap())
        .unwrap();
    let ct = ckks::encrypt_symmetric(&f.params, &f.sk, &pt, &mut rng).unwrap();
    assert!(ct.seed().is_some());
    check(f, &ct, &z, "secret key");
    let pk_q = ckks::PublicKey::from_rlwe(&f.pk.to_rlwe());
    assert!(!pk_q.is_over_qp());
    let ct = ckks::encrypt(&f.params, &pk_q, &pt, &mut rng).unwrap();
    check(f, &ct, &z, "public key mod Q");
}

/// The one-pass `encode_encrypt` is `encrypt(encode(..))` exactly: same randomness, same
/// ciphertext bits, at every level, with both kinds of public key.
#[test]
fn encode_encrypt_is_encode_then_encrypt() {
    let f = fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let z = random_values(&mut rng, f.params.slots() - 3);
    let pk_q = ckks::PublicKey::from_rlwe(&f.pk.to_rlwe());
    for pk in [&f.pk, &pk_q] {
        for level in 1..=f.params.max_level() {
            let scale = f.params.scale_at(level).unwrap();
            let pt = f.params.encode(&z, level, scale).unwrap();
            let two_pass =
                ckks::encrypt(&f.params, pk, &pt, &mut ChaCha20Rng::seed_from_u64(5)).unwrap();
            let one_pass = ckks::encode_encrypt(
                &f.params,
                pk,
                &z,
                level,
                scale,
                &mut ChaCha20Rng::seed_from_u64(5),
            )
            .unwrap();
            assert_eq!(one_pass, two_pass, "level {level}");
            check(f, &one_pass, &z, "encode_encrypt");
        }
    }
    let re: Vec<f64> = z.iter().map(|c| c.re).collect();
    let ct = ckks::encode_encrypt_real(
        &f.params,
        &f.pk,
        &re,
        2,
        f.params.scale_at(2).unwrap(),
        &mut rng,
    )
    .unwrap();
    let want: Vec<Complex> = re.iter().map(|&x| Complex::new(x, 0.0)).collect();
    check(f, &ct, &want, "encode_encrypt_real");
    // Values too large for the level: the encoder's error, before any randomness is drawn.
    let err = ckks::encode_encrypt_real(&f.params, &f.pk, &[1e30], 1, 2f64.powi(30), &mut rng)
        .unwrap_err();
    assert!(
        matches!(err, Error::Ckks(CkksError::ValueTooLarge { .. })),
        "{err}"
    );
}

#[test]
fn multiply_relinearise_rescale() {
    let f = fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let a = random_values(&mut rng, f.params.slots());
    let b = random_values(&mut rng, f.params.slots());
    let (ca, cb) = (enc(f, &a, &mut rng), enc(f, &b, &mut rng));
    let prod: Vec<Complex> = a.iter().zip(&b).map(|(x, y)| *x * *y).collect();
    let m = f.ev.mul(&ca, &cb).unwrap();
    assert_eq!(m.degree(), 2);
    check(f, &m, &prod, "degree-2 product");
    let r = f.ev.relinearize(&m, &f.rlk).unwrap();
    check(f, &r, &prod, "relinearised");
    let s = f.ev.rescale(&r).unwrap();
    assert_eq!(s.level(), f.params.max_level() - 1);
    assert_eq!(s.scale(), f.params.scale_at(s.level()).unwrap());
    check(f, &s, &prod, "rescaled");
    let sq =
        f.ev.rescale(
            &f.ev
                .relinearize(&f.ev.square(&ca).unwrap(), &f.rlk)
                .unwrap(),
        )
        .unwrap();
    let want: Vec<Complex> = a.iter().map(|x| *x * *x).collect();
    check(f, &sq, &want, "square");
}

fn map2(a: &[Complex], b: &[Complex], f: impl Fn(Complex, Complex) -> Complex) -> Vec<Complex> {
    a.iter().zip(b).map(|(x, y)| f(*x, *y)).collect()
}

fn rotl(z: &[Complex], k: usize) -> Vec<Complex> {
    (0..z.len()).map(|j| z[(j + k) % z.len()]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn additions_and_constants(seed in any::<u64>(), c in -4.0f64..4.0, k in -50i64..50) {
        let f = fixture();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let a = random_values(&mut rng, f.params.slots());
        let b = random_values(&mut rng, f.params.slots());
        let (ca, cb) = (enc(f, &a, &mut rng), enc(f, &b, &mut rng));
        check(f, &f.ev.add(&ca, &cb).unwrap(), &map2(&a, &b, |x, y| x + y), "add");
        check(f, &f.ev.sub(&ca, &cb).unwrap(), &map2(&a, &b, |x, y| x - y), "sub");
        let neg: Vec<Complex> = a.iter().map(|x| Complex::new(-x.re, -x.im)).collect();
        check(f, &f.ev.negate(&ca), &neg, "negate");
        let l = ca.level();
        let pb = f.params.encode(&b, l, ca.scale()).unwrap();
        check(f, &f.ev.add_plain(&ca, &pb).unwrap(), &map2(&a, &b, |x, y| x + y), "add_plain");
        check(f, &f.ev.sub_plain(&ca, &pb).unwrap(), &map2(&a, &b, |x, y| x - y), "sub_plain");
        let cc = Complex::new(c, -c / 2.0);
        let want: Vec<Complex> = a.iter().map(|x| *x + cc).collect();
        check(f, &f.ev.add_const_complex(&ca, cc).unwrap(), &want, "add_const");
        let want: Vec<Complex> = a.iter().map(|x| Complex::new(x.re * k as f64, x.im * k as f64)).collect();
        let m = f.ev.mul_int(&ca, k).unwrap();
        prop_assert_eq!(m.level(), ca.level());
        check(f, &m, &want, "mul_int");
        let want: Vec<Complex> = a.iter().map(|x| *x * Complex::new(0.0, 1.0)).collect();
        check(f, &f.ev.mul_i(&ca).unwrap(), &want, "mul_i");
    }

    #[test]
    fn multiplications(seed in any::<u64>(), c in -4.0f64..4.0) {
        let f = fixture();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let a = random_values(&mut rng, f.params.slots());
        let b = random_values(&mut rng, f.params.slots());
        let (ca, cb) = (enc(f, &a, &mut rng), enc(f, &b, &mut rng));
        let l = ca.level();
        let pb = f.params.encode(&b, l, f.params.scale_at(l).unwrap()).unwrap();
        let mp = f.ev.rescale(&f.ev.mul_plain(&ca, &pb).unwrap()).unwrap();
        check(f, &mp, &map2(&a, &b, |x, y| x * y), "mul_plain");
        let cc = Complex::new(c, 0.5);
        let mc = f.ev.rescale(&f.ev.mul_const_complex(&ca, cc).unwrap()).unwrap();
        prop_assert_eq!(mc.scale(), f.params.scale_at(l - 1).unwrap());
        let want: Vec<Complex> = a.iter().map(|x| *x * cc).collect();
        check(f, &mc, &want, "mul_const");
        // Lazy relinearisation: a·b + b·b summed at degree 2, relinearised once.
        let lazy = f.ev.add(&f.ev.mul(&ca, &cb).unwrap(), &f.ev.square(&cb).unwrap()).unwrap();
        prop_assert_eq!(lazy.degree(), 2);
        let r = f.ev.rescale(&f.ev.relinearize(&lazy, &f.rlk).unwrap()).unwrap();
        check(f, &r, &map2(&a, &b, |x, y| x * y + y * y), "lazy relinearisation");
        // Automatic alignment: a level-(l-1) product plus a fresh level-l ciphertext.
        let sum = f.ev.add(&r, &ca).unwrap();
        prop_assert_eq!(sum.level(), l - 1);
        check(f, &sum, &map2(&a, &b, |x, y| x * y + y * y + x), "aligned add");
        // Degree-2 product plus a degree-1 ciphertext at scale Δ (integer scale factor).
        let p = f.ev.mul(&ca, &cb).unwrap();
        let mixed = f.ev.add(&p, &ca).unwrap();
        let mixed = f.ev.rescale(&f.ev.relinearize(&mixed, &f.rlk).unwrap()).unwrap();
        check(f, &mixed, &map2(&a, &b, |x, y| x * y + x), "product plus fresh");
        // Product of operands at different levels.
        let m2 = f.ev.mul_relin_rescale(&r, &ca, &f.rlk).unwrap();
        prop_assert_eq!(m2.scale(), f.params.scale_at(l - 2).unwrap());
        check(f, &m2, &map2(&a, &b, |x, y| (x * y + y * y) * x), "mixed-level product");
    }

    #[test]
    fn rotations_and_conjugation(seed in any::<u64>()) {
        let f = fixture();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let a = random_values(&mut rng, f.params.slots());
        let ca = enc(f, &a, &mut rng);
        let slots = f.params.slots();
        for k in [1i64, 3, -1, 4] {
            let want = rotl(&a, k.rem_euclid(slots as i64) as usize);
            check(f, &f.ev.rotate(&ca, k, &f.gks).unwrap(), &want, "rotate");
        }
        // 6 and 7 have no key of their own: 2 + 4 and 1 + 2 + 4 through power-of-two keys.
        for k in [6usize, 7] {
            let want = rotl(&a, k);
            check(f, &f.ev.rotate(&ca, k as i64, &f.gks).unwrap(), &want, "rotation (fallback)");
        }
        let hoisted = f.ev.rotate_hoisted(&ca, &[1, 3, 4, -1, 0], &f.gks).unwrap();
        for (ct, k) in hoisted.iter().zip([1i64, 3, 4, -1, 0]) {
            let want = rotl(&a, k.rem_euclid(slots as i64) as usize);
            check(f, ct, &want, "hoisted rotation");
        }
        let conj: Vec<Complex> = a.iter().map(|x| x.conj()).collect();
        check(f, &f.ev.conjugate(&ca, &f.gks).unwrap(), &conj, "conjugate");
    }
}

#[test]
fn slot_sums_and_inner_products() {
    let f = fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let gks = GaloisKeys::generate_power_of_two(&f.params, &f.sk, &mut rng).unwrap();
    let a = random_values(&mut rng, f.params.slots());
    let b = random_values(&mut rng, f.params.slots());
    let (ca, cb) = (enc(f, &a, &mut rng), enc(f, &b, &mut rng));
    let total = a.iter().fold(Complex::default(), |s, x| s + *x);
    let s = f.ev.sum_slots(&ca, &gks).unwrap();
    check(f, &s, &vec![total; f.params.slots()], "sum_slots");
    let ip = b
        .iter()
        .zip(&a)
        .fold(Complex::default(), |s, (x, y)| s + *x * *y);
    let c = f.ev.inner_product(&ca, &cb, &f.rlk, &gks).unwrap();
    check(f, &c, &vec![ip; f.params.slots()], "inner product");
    // Rotation by 5 through power-of-two keys only.
    let r = f.ev.rotate(&ca, 5, &gks).unwrap();
    check(f, &r, &rotl(&a, 5), "rotation by 5 from 4 + 1");
}

#[test]
fn errors_name_levels_scales_and_keys() {
    let f = fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let a = random_values(&mut rng, 8);
    let ca = enc(f, &a, &mut rng);
    // Levels run out.
    let mut c = ca.clone();
    for _ in 0..f.params.depth() {
        c = f.ev.mul_relin_rescale(&c, &c, &f.rlk).unwrap();
    }
    assert_eq!(c.level(), 1);
    let e = f.ev.rescale(&c).unwrap_err();
    assert_eq!(
        e,
        Error::Ckks(CkksError::LevelExhausted {
            level: 1,
            needed: 2
        })
    );
    assert!(e.to_string().contains("level 1"), "{e}");
    // Scale mismatch with a plaintext.
    let pt = f.params.encode(&a, ca.level(), 2f64.powi(20)).unwrap();
    let e = f.ev.add_plain(&ca, &pt).unwrap_err();
    assert!(
        matches!(e, Error::Ckks(CkksError::ScaleMismatch { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("2^20.000"), "{e}");
    // Scale mismatch between ciphertexts at one level that no integer fixes.
    let odd = f
        .params
        .encode(&a, ca.level(), 2f64.powi(30) * 1.5)
        .unwrap();
    let co = ckks::encrypt(&f.params, &f.pk, &odd, &mut rng).unwrap();
    assert!(matches!(
        f.ev.add(&ca, &co),
        Err(Error::Ckks(CkksError::ScaleMismatch { .. }))
    ));
    // Values too large for the scale.
    let l = f.params.max_level();
    let e = f
        .params
        .encode_real(&[1e30], l, f.params.scale_at(l).unwrap())
        .unwrap_err();
    assert!(
        matches!(e, Error::Ckks(CkksError::ValueTooLarge { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("lower the scale"), "{e}");
    // Rotation without a key.
    let none = GaloisKeys::default();
    let e = f.ev.rotate(&ca, 3, &none).unwrap_err();
    assert_eq!(
        e,
        Error::Ckks(CkksError::MissingRotationKey {
            step: 3,
            element: f.params.rotation_element(3)
        })
    );
    assert!(f.ev.conjugate(&ca, &none).is_err());
    assert!(f.ev.rotate_hoisted(&ca, &[6], &f.gks).is_err());
    // Multiplying a degree-2 ciphertext, relinearising degree 3: refused.
    let d2 = f.ev.mul(&ca, &ca).unwrap();
    assert!(f.ev.mul(&d2, &ca).is_err());
    // Other parameters.
    let other = Parameters::preset(Preset::InsecureN2048Depth12Scale40).unwrap();
    assert_eq!(
        Evaluator::new(&other).add(&ca, &ca).unwrap_err(),
        Error::ContextMismatch
    );
}

#[test]
fn public_decoding_rounds_to_the_estimate() {
    let f = fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let a = random_values(&mut rng, f.params.slots());
    let ca = enc(f, &a, &mut rng);
    let bits = ca.estimate().precision_bits(f.params.slots());
    let step = (-bits.floor()).exp2();
    let out = ckks::decrypt_decode_public(&f.params, &f.sk, &ca).unwrap();
    for (x, w) in out.iter().zip(&a) {
        assert_eq!((x.re / step).fract(), 0.0);
        assert!((*x - *w).abs() <= 2.0 * step);
    }
}

/// The largest centred coefficient of `decrypt(ct) - encode(want)` modulo the first prime.
fn phase_error_max(f: &Fixture, ct: &Ciphertext, want: &[Complex]) -> f64 {
    let got = ckks::decrypt(&f.params, &f.sk, ct).unwrap();
    let exact = f.params.encode(want, ct.level(), ct.scale()).unwrap();
    let e = got.poly().sub(exact.poly()).unwrap().into_coeff();
    let q = f.params.q_moduli()[0];
    e.limb(0)
        .iter()
        .map(|&v| if v > q / 2 { (q - v) as f64 } else { v as f64 })
        .fold(0.0, f64::max)
}

#[test]
fn coefficient_bound_covers_the_phase_error() {
    let f = fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let n = f.params.degree();
    let a = random_values(&mut rng, f.params.slots());
    let b = random_values(&mut rng, f.params.slots());
    let (ca, cb) = (enc(f, &a, &mut rng), enc(f, &b, &mut rng));
    let prod = f.ev.mul_relin_rescale(&ca, &cb, &f.rlk).unwrap();
    let ab = map2(&a, &b, |x, y| x * y);
    for (ct, want, what) in [(&ca, &a, "fresh"), (&prod, &ab, "product")] {
        let measured = phase_error_max(f, ct, want);
        let bound = ct.estimate().coefficient_bound(n, ct.scale(), 40);
        eprintln!(
            "{what}: max |e_i| = 2^{:.2}, bound 2^{:.2}",
            measured.log2(),
            bound.log2()
        );
        assert!(measured <= bound, "{what}: {measured:e} > {bound:e}");
        // Not vacuous: within a small factor of what is measured (a tail factor at 2^-40).
        assert!(
            bound <= 64.0 * measured,
            "{what}: {bound:e} vs {measured:e}"
        );
    }
}
