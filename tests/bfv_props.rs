//! BFV homomorphism properties: `decrypt(op(enc a, enc b)) == op(a, b)` for every operation,
//! the public noise estimate against the measured noise, the exact multiplication against a
//! big-integer reference, and the errors. Small **insecure** parameters (named as such) keep
//! it fast; a few cases run at a real preset.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::needless_range_loop
)]

use migrationfhe::bfv::{
    Ciphertext, Evaluator, GaloisKeys, Parameters, Plaintext, PublicKey, RelinearizationKey,
    SecretKey,
};
use migrationfhe::math::rns::RnsBasis;
use migrationfhe::Error;
use num_bigint::{BigInt, BigUint, Sign};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::{Arc, OnceLock};

/// Insecure test parameters: N = 256, t = 12289 (a batching prime for N <= 2048), three
/// 50-bit ciphertext primes, one special prime.
const N: usize = 256;
const T: u64 = 12289;

struct Ctx {
    params: Arc<Parameters>,
    sk: SecretKey,
    pk: PublicKey,
    rlk: RelinearizationKey,
    gks: GaloisKeys,
    ev: Evaluator,
}

fn ctx() -> &'static Ctx {
    static CTX: OnceLock<Ctx> = OnceLock::new();
    CTX.get_or_init(|| {
        let params = Parameters::insecure_for_testing(N, T, 3).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        let sk = SecretKey::generate(params.ring(), &mut rng).unwrap();
        let pk = PublicKey::generate(&sk, &mut rng).unwrap();
        let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
        let mut gks = GaloisKeys::power_of_two(&sk, &mut rng).unwrap();
        let extra = GaloisKeys::for_rotations(&sk, &[5, -1], false, &mut rng).unwrap();
        for g in extra.elements() {
            gks.insert(extra.get(g).unwrap().clone());
        }
        let ev = Evaluator::new(&params);
        Ctx {
            params,
            sk,
            pk,
            rlk,
            gks,
            ev,
        }
    })
}

fn values(seed: u64) -> Vec<u64> {
    let mut s = seed;
    (0..N)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 20) % T
        })
        .collect()
}

fn enc(c: &Ctx, v: &[u64], rng: &mut ChaCha20Rng, pk: bool) -> Ciphertext {
    let pt = Plaintext::encode(&c.params, v).unwrap();
    if pk {
        Ciphertext::encrypt_pk(&c.pk, &pt, rng).unwrap()
    } else {
        Ciphertext::encrypt_sk(&c.sk, &pt, rng).unwrap()
    }
}

fn dec(c: &Ctx, ct: &Ciphertext) -> Vec<u64> {
    ct.decrypt(&c.sk).unwrap().decode().unwrap()
}

/// The public estimate must bound the measured noise.
fn check_noise(c: &Ctx, ct: &Ciphertext, what: &str) {
    let measured = ct.noise_log2_vartime(&c.sk).unwrap();
    let bound = ct.noise_estimate().log2_bound(N, 40);
    assert!(
        measured <= bound,
        "{what}: measured log2 noise {measured:.2} above the estimate {bound:.2}"
    );
    let budget = ct.noise_budget_vartime(&c.sk).unwrap();
    assert!(ct.estimated_budget() <= budget + 1e-9, "{what}");
}

fn add(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| (x + y) % T).collect()
}
fn sub(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| (x + T - y) % T).collect()
}
fn mul(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x * y % T).collect()
}
fn rot(a: &[u64], k: i64) -> Vec<u64> {
    let h = N / 2;
    let k = k.rem_euclid(h as i64) as usize;
    (0..N).map(|i| a[(i / h) * h + (i % h + k) % h]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn every_operation_decrypts_to_the_plain_result(seed in any::<u64>(), steps in -200i64..200, k in 0u64..T) {
        let c = ctx();
        let ev = &c.ev;
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (a, b) = (values(seed), values(seed ^ 0xdead_beef));
        let ca = enc(c, &a, &mut rng, true);
        let cb = enc(c, &b, &mut rng, false);
        prop_assert!(cb.seed().is_some());
        prop_assert_eq!(dec(c, &ca), a.clone());
        prop_assert_eq!(dec(c, &cb), b.clone());
        check_noise(c, &ca, "fresh pk");
        check_noise(c, &cb, "fresh sk");
        let pb = Plaintext::encode(&c.params, &b).unwrap();

        let r = ev.add(&ca, &cb).unwrap();
        prop_assert_eq!(dec(c, &r), add(&a, &b));
        check_noise(c, &r, "add");
        let r = ev.sub(&ca, &cb).unwrap();
        prop_assert_eq!(dec(c, &r), sub(&a, &b));
        check_noise(c, &r, "sub");
        let r = ev.neg(&ca).unwrap();
        prop_assert_eq!(dec(c, &r), sub(&vec![0; N], &a));
        let r = ev.add_plain(&ca, &pb).unwrap();
        prop_assert_eq!(dec(c, &r), add(&a, &b));
        check_noise(c, &r, "add_plain");
        let r = ev.sub_plain(&ca, &pb).unwrap();
        prop_assert_eq!(dec(c, &r), sub(&a, &b));
        let r = ev.mul_plain(&ca, &pb).unwrap();
        prop_assert_eq!(dec(c, &r), mul(&a, &b));
        check_noise(c, &r, "mul_plain");
        let r = ev.add_scalar(&ca, k).unwrap();
        prop_assert_eq!(dec(c, &r), add(&a, &vec![k; N]));
        let r = ev.mul_scalar(&ca, k).unwrap();
        prop_assert_eq!(dec(c, &r), mul(&a, &vec![k; N]));
        check_noise(c, &r, "mul_scalar");

        let p = ev.multiply(&ca, &cb).unwrap();
        prop_assert_eq!(p.degree(), 2);
        prop_assert_eq!(dec(c, &p), mul(&a, &b));
        check_noise(c, &p, "multiply");
        let r = ev.relinearize(&p, &c.rlk).unwrap();
        prop_assert_eq!(r.degree(), 1);
        prop_assert_eq!(dec(c, &r), mul(&a, &b));
        check_noise(c, &r, "relinearize");
        let sq = ev.relinearize(&ev.square(&ca).unwrap(), &c.rlk).unwrap();
        prop_assert_eq!(dec(c, &sq), mul(&a, &a));
        check_noise(c, &sq, "square");

        // Lazy relinearisation: a·b + a·a + b·b relinearised once.
        let mut acc = ev.multiply(&ca, &cb).unwrap();
        ev.mul_then_add(&mut acc, &ca, &ca).unwrap();
        ev.mul_then_add(&mut acc, &cb, &cb).unwrap();
        let want = add(&add(&mul(&a, &b), &mul(&a, &a)), &mul(&b, &b));
        prop_assert_eq!(dec(c, &acc), want.clone());
        let acc = ev.relinearize(&acc, &c.rlk).unwrap();
        prop_assert_eq!(dec(c, &acc), want.clone());
        check_noise(c, &acc, "lazy sum of products");
        let ip = ev.inner_product(&[(&ca, &cb), (&ca, &ca), (&cb, &cb)], &c.rlk).unwrap();
        prop_assert_eq!(dec(c, &ip), want);

        // Rotations: direct key (5, -1), composite through powers of two (any step), row swap.
        for s in [5, -1, steps, 1] {
            let r = ev.rotate_rows(&ca, s, &c.gks).unwrap();
            prop_assert_eq!(dec(c, &r), rot(&a, s), "steps {}", s);
            check_noise(c, &r, "rotate");
        }
        let h = N / 2;
        let sw = ev.rotate_columns(&ca, &c.gks).unwrap();
        let want: Vec<u64> = (0..N).map(|i| a[(i + h) % N]).collect();
        prop_assert_eq!(dec(c, &sw), want);
        let hoisted = ev.rotate_rows_hoisted(&ca, &[1, 2, 5, -1, 0], &c.gks).unwrap();
        for (r, s) in hoisted.iter().zip([1, 2, 5, -1, 0]) {
            prop_assert_eq!(dec(c, r), rot(&a, s));
            check_noise(c, r, "hoisted rotation");
        }
        let total = a.iter().sum::<u64>() % T;
        let s = ev.sum_slots(&ca, &c.gks).unwrap();
        prop_assert_eq!(dec(c, &s), vec![total; N]);
        check_noise(c, &s, "sum_slots");

        // Modulus switching keeps the plaintext, also after a product.
        let m = ev.mod_switch_to_next(&r).unwrap();
        prop_assert_eq!(m.level(), 2);
        prop_assert_eq!(dec(c, &m), mul(&a, &b));
        check_noise(c, &m, "mod switch");
        let m = ev.mod_switch_to_level(&ca, 1).unwrap();
        prop_assert_eq!(dec(c, &m), a.clone());
        check_noise(c, &m, "mod switch to 1");
        // Operations still work at the lower level.
        let mb = ev.mod_switch_to_level(&cb, 1).unwrap();
        prop_assert_eq!(dec(c, &ev.add(&m, &mb).unwrap()), add(&a, &b));
    }

    #[test]
    fn signed_and_coefficient_encodings(seed in any::<u64>()) {
        let c = ctx();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let half = (T as i64 - 1) / 2;
        let v: Vec<i64> = values(seed).iter().map(|&x| x as i64 - half).collect();
        let pt = Plaintext::encode_signed(&c.params, &v).unwrap();
        let ct = Ciphertext::encrypt_pk(&c.pk, &pt, &mut rng).unwrap();
        prop_assert_eq!(ct.decrypt(&c.sk).unwrap().decode_signed().unwrap(), v.clone());
        // Coefficient encoding: the product is the negacyclic convolution mod t.
        let a: Vec<i64> = v.iter().map(|x| x % 50).collect();
        let b: Vec<i64> = v.iter().rev().map(|x| x % 7).collect();
        let ca = Ciphertext::encrypt_sk(&c.sk, &Plaintext::encode_coefficients_signed(&c.params, &a).unwrap(), &mut rng).unwrap();
        let cb = Ciphertext::encrypt_pk(&c.pk, &Plaintext::encode_coefficients_signed(&c.params, &b).unwrap(), &mut rng).unwrap();
        let p = c.ev.multiply_relin(&ca, &cb, &c.rlk).unwrap();
        let mut want = vec![0i64; N];
        for i in 0..N { for j in 0..N {
            let x = a[i] * b[j];
            if i + j < N { want[i + j] += x } else { want[i + j - N] -= x }
        }}
        let want: Vec<i64> = want.iter().map(|&x| { let r = x.rem_euclid(T as i64); if r > half { r - T as i64 } else { r } }).collect();
        prop_assert_eq!(p.decrypt(&c.sk).unwrap().decode_coefficients_signed().unwrap(), want);
    }
}

/// Centered big integer of the residues of coefficient `j` of `poly` over `basis`.
fn big_coeff(basis: &RnsBasis, residues: &[u64], n: usize, j: usize) -> BigInt {
    let k = basis.len();
    let r: Vec<u64> = (0..k).map(|i| residues[i * n + j]).collect();
    let sw = basis.compose_centered(&r).unwrap();
    let mag = BigUint::from_slice(
        &sw.magnitude
            .iter()
            .flat_map(|w| [*w as u32, (w >> 32) as u32])
            .collect::<Vec<_>>(),
    );
    BigInt::from_biguint(if sw.negative { Sign::Minus } else { Sign::Plus }, mag)
}

/// `round(x / q)` for big integers, ties up (`floor((2x + q) / 2q)`).
fn round_div(x: &BigInt, q: &BigInt) -> BigInt {
    let num = x * 2 + q;
    let den = q * 2;
    // Floor division for any sign.
    let d: BigInt = &num / &den;
    let r: BigInt = &num % &den;
    if r.sign() == Sign::Minus {
        d - 1
    } else {
        d
    }
}

#[test]
fn multiplication_is_exactly_the_scaled_tensor() {
    // Small ring so the schoolbook big-integer reference is quick.
    let n = 32;
    let t = 193; // 193 = 3·64 + 1: batching prime for n = 32
    let params = Parameters::insecure_for_testing(n, t, 3).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let sk = SecretKey::generate(params.ring(), &mut rng).unwrap();
    let pk = PublicKey::generate(&sk, &mut rng).unwrap();
    let ev = Evaluator::new(&params);
    let basis = RnsBasis::new(&params.ring().q_moduli()).unwrap();
    let q_big = BigInt::from_biguint(
        Sign::Plus,
        BigUint::from_slice(
            &basis
                .product_words()
                .iter()
                .flat_map(|w| [*w as u32, (w >> 32) as u32])
                .collect::<Vec<_>>(),
        ),
    );
    for trial in 0..3 {
        let a = Ciphertext::encrypt_pk(
            &pk,
            &Plaintext::encode(&params, &[trial + 1; 4]).unwrap(),
            &mut rng,
        )
        .unwrap();
        let b = Ciphertext::encrypt_sk(
            &sk,
            &Plaintext::encode(&params, &[trial + 2; 7]).unwrap(),
            &mut rng,
        )
        .unwrap();
        let p = if trial == 2 {
            ev.square(&a).unwrap()
        } else {
            ev.multiply(&a, &b).unwrap()
        };
        let b = if trial == 2 { &a } else { &b };
        let lift = |ct: &Ciphertext, k: usize| -> Vec<BigInt> {
            (0..n)
                .map(|j| big_coeff(&basis, ct.polys()[k].residues(), n, j))
                .collect()
        };
        let (a0, a1, b0, b1) = (lift(&a, 0), lift(&a, 1), lift(b, 0), lift(b, 1));
        let conv = |x: &[BigInt], y: &[BigInt]| -> Vec<BigInt> {
            let mut out = vec![BigInt::from(0); n];
            for i in 0..n {
                for j in 0..n {
                    let pr = &x[i] * &y[j];
                    if i + j < n {
                        out[i + j] += pr;
                    } else {
                        out[i + j - n] -= pr;
                    }
                }
            }
            out
        };
        let d0 = conv(&a0, &b0);
        let d1: Vec<BigInt> = conv(&a0, &b1)
            .into_iter()
            .zip(conv(&a1, &b0))
            .map(|(x, y)| x + y)
            .collect();
        let d2 = conv(&a1, &b1);
        for (k, d) in [d0, d1, d2].iter().enumerate() {
            for j in 0..n {
                let want = round_div(&(&d[j] * BigInt::from(t)), &q_big);
                let got = big_coeff(&basis, p.polys()[k].residues(), n, j);
                // Equal modulo Q.
                let diff = (&want - &got) % &q_big;
                assert_eq!(diff, BigInt::from(0), "trial {trial} poly {k} coeff {j}");
            }
        }
    }
}

#[test]
fn errors_say_what_to_do() {
    let c = ctx();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    // Plaintext values >= t.
    assert!(matches!(
        Plaintext::encode(&c.params, &[T]),
        Err(Error::ValueOutOfRange { .. })
    ));
    assert!(matches!(
        c.ev.mul_scalar(&enc(c, &[1], &mut rng, true), T),
        Err(Error::ValueOutOfRange { .. })
    ));
    // Parameters mismatch: another parameter set (different t).
    let other = Parameters::insecure_for_testing(N, 7681, 3).unwrap();
    let osk = SecretKey::generate(other.ring(), &mut rng).unwrap();
    let opt = Plaintext::encode(&other, &[1]).unwrap();
    let oct = Ciphertext::encrypt_sk(&osk, &opt, &mut rng).unwrap();
    let ct = enc(c, &[1, 2], &mut rng, true);
    assert_eq!(c.ev.add(&ct, &oct).unwrap_err(), Error::ContextMismatch);
    assert_eq!(
        c.ev.mul_plain(&ct, &opt).unwrap_err(),
        Error::ContextMismatch
    );
    // Another ring: key of other parameters.
    let other_ring = Parameters::insecure_for_testing(N, T, 2).unwrap();
    let osk = SecretKey::generate(other_ring.ring(), &mut rng).unwrap();
    assert_eq!(ct.decrypt(&osk).unwrap_err(), Error::ContextMismatch);
    // Rotation without a key.
    let empty = GaloisKeys::default();
    assert!(matches!(
        c.ev.rotate_rows(&ct, 3, &empty),
        Err(Error::InvalidOperation { reason }) if reason.contains("no Galois key")
    ));
    assert!(c.ev.rotate_columns(&ct, &empty).is_err());
    // Degree and level errors.
    let p = c.ev.multiply(&ct, &ct).unwrap();
    assert!(c.ev.multiply(&p, &ct).is_err());
    assert!(c.ev.rotate_rows(&p, 1, &c.gks).is_err());
    let low = c.ev.mod_switch_to_level(&ct, 1).unwrap();
    assert!(c.ev.add(&low, &ct).is_err());
    assert!(c.ev.mod_switch_to_next(&low).is_err());
    // Exhausted budget (public estimate): square until the estimate runs out.
    let mut x = ct.clone();
    let mut refused = false;
    for _ in 0..10 {
        match c.ev.square(&x) {
            Ok(s) => x = c.ev.relinearize(&s, &c.rlk).unwrap(),
            Err(Error::InvalidOperation { reason }) => {
                assert!(reason.contains("noise budget exhausted"));
                refused = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(refused);
    // Insecure parameters are refused at the default level.
    assert!(matches!(
        Parameters::builder()
            .degree(4096)
            .plaintext_modulus(T)
            .ciphertext_moduli_bits(&[50, 50])
            .special_moduli_bits(&[50])
            .build(),
        Err(Error::InsecureParameters { .. })
    ));
    assert!(Parameters::builder()
        .degree(256)
        .plaintext_modulus(T)
        .ciphertext_moduli_bits(&[50])
        .special_moduli_bits(&[50])
        .build()
        .is_err());
    assert!(Parameters::builder()
        .degree(4096)
        .plaintext_modulus(12)
        .ciphertext_moduli_bits(&[50])
        .special_moduli_bits(&[50])
        .build()
        .is_err());
}

#[test]
fn presets_are_secure_and_named_by_their_parameters() {
    use migrationfhe::params::log_qp;
    for (p, n, log) in [
        (Parameters::n8192_logq218_t20bit().unwrap(), 8192, 218),
        (Parameters::n16384_logq438_t20bit().unwrap(), 16384, 438),
        (Parameters::n32768_logq881_t20bit().unwrap(), 32768, 881),
        (Parameters::n16384_count_t31bit().unwrap(), 16384, 438),
        (Parameters::n32768_count_t45bit().unwrap(), 32768, 881),
    ] {
        assert_eq!(p.degree(), n);
        let mut all = p.ring().q_moduli();
        all.extend(p.ring().p_moduli());
        assert_eq!(log_qp(&all), log);
        assert!(all.iter().all(|&q| q < 1 << 50));
        assert!(p.batch_encoder().is_ok());
    }
    let c = Parameters::n16384_count_t31bit().unwrap();
    assert!(c.plaintext_modulus() >= 1 << 30);
    // Threshold headroom (λ = 40, 256 parties) after a product and a sum of 1000 such, from
    // the top level: how many primes must stay.
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for (p, want) in [(c, 2), (Parameters::n32768_count_t45bit().unwrap(), 3)] {
        let sk = SecretKey::generate(p.ring(), &mut rng).unwrap();
        let pk = PublicKey::generate(&sk, &mut rng).unwrap();
        let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
        let ev = Evaluator::new(&p);
        let x =
            Ciphertext::encrypt_pk(&pk, &Plaintext::encode(&p, &[3]).unwrap(), &mut rng).unwrap();
        let prod = ev.multiply_relin(&x, &x, &rlk).unwrap();
        let mut sum = prod.clone();
        for _ in 0..10 {
            sum = ev.add(&sum, &sum).unwrap(); // noise of 1024 products, at least
        }
        let level = p
            .threshold_level(sum.noise_estimate(), p.max_level(), 40, 256)
            .unwrap();
        eprintln!("t = {}: threshold level {level}", p.plaintext_modulus());
        assert!(level <= want, "{level}");
        let low = ev.mod_switch_for_threshold(&sum, 40, 256).unwrap();
        assert_eq!(low.level(), level);
        assert!(low.estimated_budget() > 48.0);
        assert_eq!(
            low.decrypt(&sk).unwrap().decode().unwrap()[0],
            9 * 1024 % p.plaintext_modulus()
        );
    }
}

#[test]
fn a_few_cases_at_a_real_preset() {
    let params = Parameters::n8192_logq218_t20bit().unwrap();
    let t = params.plaintext_modulus();
    let n = params.degree();
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let sk = SecretKey::generate(params.ring(), &mut rng).unwrap();
    let pk = PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let gks = GaloisKeys::for_rotations(&sk, &[1, 7], true, &mut rng).unwrap();
    let ev = Evaluator::new(&params);
    let a: Vec<u64> = (0..n as u64).map(|i| (i * 7919 + 13) % t).collect();
    let b: Vec<u64> = (0..n as u64).map(|i| (i * i + 5) % t).collect();
    let ca =
        Ciphertext::encrypt_pk(&pk, &Plaintext::encode(&params, &a).unwrap(), &mut rng).unwrap();
    let cb =
        Ciphertext::encrypt_sk(&sk, &Plaintext::encode(&params, &b).unwrap(), &mut rng).unwrap();
    let d = |ct: &Ciphertext| ct.decrypt(&sk).unwrap().decode().unwrap();
    let prod: Vec<u64> = a.iter().zip(&b).map(|(x, y)| x * y % t).collect();
    let sum: Vec<u64> = a.iter().zip(&b).map(|(x, y)| (x + y) % t).collect();
    assert_eq!(d(&ev.add(&ca, &cb).unwrap()), sum);
    let p = ev.multiply_relin(&ca, &cb, &rlk).unwrap();
    assert_eq!(d(&p), prod);
    let h = n / 2;
    let r = ev.rotate_rows(&p, 7, &gks).unwrap();
    let want: Vec<u64> = (0..n)
        .map(|i| prod[(i / h) * h + (i % h + 7) % h])
        .collect();
    assert_eq!(d(&r), want);
    let low = ev.mod_switch_to_level(&r, 1).unwrap();
    assert_eq!(d(&low), want);
    for ct in [&ca, &cb, &p, &r, &low] {
        let measured = ct.noise_log2_vartime(&sk).unwrap();
        assert!(measured <= ct.noise_estimate().log2_bound(n, 40));
    }
}

#[test]
fn explicit_primes_and_two_prime_digits() {
    use migrationfhe::math::primes::ntt_primes;
    use migrationfhe::params::SecurityLevel;
    let n = 128;
    let t = 257; // batching prime for n <= 128
    let primes = ntt_primes(45, n, 6).unwrap();
    let params = Parameters::builder()
        .degree(n)
        .plaintext_modulus(t)
        .ciphertext_moduli(&primes[..4])
        .special_moduli(&primes[4..])
        .dnum(2)
        .security(SecurityLevel::InsecureForTesting)
        .allow_small_degree_for_testing()
        .build()
        .unwrap();
    assert_eq!(params.ring().q_moduli(), primes[..4].to_vec());
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let sk = SecretKey::generate(params.ring(), &mut rng).unwrap();
    let pk = PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let gks = GaloisKeys::for_rotations(&sk, &[3], true, &mut rng).unwrap();
    let ev = Evaluator::new(&params);
    let a: Vec<u64> = (0..n as u64).map(|i| i * 3 % t).collect();
    let ca =
        Ciphertext::encrypt_pk(&pk, &Plaintext::encode(&params, &a).unwrap(), &mut rng).unwrap();
    let sq = ev.relinearize(&ev.square(&ca).unwrap(), &rlk).unwrap();
    let r = ev.rotate_rows(&sq, 3, &gks).unwrap();
    let h = n / 2;
    let want: Vec<u64> = (0..n)
        .map(|i| {
            let x = a[(i / h) * h + (i % h + 3) % h];
            x * x % t
        })
        .collect();
    assert_eq!(r.decrypt(&sk).unwrap().decode().unwrap(), want);
    let measured = r.noise_log2_vartime(&sk).unwrap();
    assert!(measured <= r.noise_estimate().log2_bound(n, 40));
    // t must differ from every prime; explicit primes repeated are refused.
    assert!(Parameters::builder()
        .degree(n)
        .plaintext_modulus(primes[0])
        .ciphertext_moduli(&primes[..4])
        .special_moduli(&primes[4..])
        .security(SecurityLevel::InsecureForTesting)
        .allow_small_degree_for_testing()
        .build()
        .is_err());
    assert!(Parameters::builder()
        .degree(n)
        .plaintext_modulus(t)
        .ciphertext_moduli(&primes[..4])
        .special_moduli(&primes[3..])
        .security(SecurityLevel::InsecureForTesting)
        .allow_small_degree_for_testing()
        .build()
        .is_err());
}
