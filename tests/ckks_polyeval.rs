//! Chebyshev evaluation and Newton iterations: `1/x` and `1/√x` on [1, 64] to at least 12 bits
//! of relative precision within depth 10 (issue 4), at an insecure preset with 12 levels.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation
)]

use migrationfhe::ckks::{
    self, chebyshev_coefficients, Ciphertext, Evaluator, Interval, Parameters, Preset,
};
use migrationfhe::rlwe::{RelinearizationKey, SecretKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::sync::Arc;

struct Setup {
    params: Arc<Parameters>,
    sk: SecretKey,
    rlk: RelinearizationKey,
    ev: Evaluator,
    rng: ChaCha20Rng,
}

fn setup() -> Setup {
    let params = Parameters::preset(Preset::InsecureN2048Depth12Scale40).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let sk = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let ev = Evaluator::new(&params);
    Setup {
        params,
        sk,
        rlk,
        ev,
        rng,
    }
}

fn values(rng: &mut ChaCha20Rng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n)
        .map(|_| lo + (hi - lo) * ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64))
        .collect()
}

fn encrypt(s: &mut Setup, x: &[f64]) -> Ciphertext {
    let pt = s.params.encode_real_top(x).unwrap();
    ckks::encrypt_symmetric(&s.params, &s.sk, &pt, &mut s.rng).unwrap()
}

/// Smallest `-log2 |got/want - 1|` over the slots.
fn relative_bits(s: &Setup, ct: &Ciphertext, want: &[f64]) -> f64 {
    let got = s
        .params
        .decode(&ckks::decrypt(&s.params, &s.sk, ct).unwrap())
        .unwrap();
    want.iter()
        .zip(&got)
        .map(|(w, g)| -((g.re - w) / w).abs().log2())
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn chebyshev_interpolation_is_accurate_in_the_clear() {
    let iv = Interval::new(-1.0, 1.0).unwrap();
    // exp on [-1, 1]: degree 15 is accurate to about 2^-50.
    let c = chebyshev_coefficients(f64::exp, iv, 15).unwrap();
    for k in 0..100 {
        let t = -1.0 + 2.0 * k as f64 / 99.0;
        let (mut t0, mut t1, mut sum) = (1.0, t, c[0] + c[1] * t);
        for cj in &c[2..] {
            let t2 = 2.0 * t * t1 - t0;
            sum += cj * t2;
            (t0, t1) = (t1, t2);
        }
        assert!((sum - t.exp()).abs() < 1e-13, "t={t}");
    }
    assert!(Interval::new(1.0, 1.0).is_err());
    assert!(chebyshev_coefficients(|_| f64::NAN, Interval::new(-1.0, 1.0).unwrap(), 8).is_err());
}

#[test]
fn inverse_and_inverse_square_root_on_1_64() {
    let mut s = setup();
    let x = values(&mut s.rng, s.params.slots(), 1.0, 64.0);
    let ct = encrypt(&mut s, &x);
    let iv = Interval::new(1.0, 64.0).unwrap();
    let top = ct.level();
    let inv =
        s.ev.evaluate_function(&ct, |v| 1.0 / v, iv, 63, &s.rlk)
            .unwrap();
    let want: Vec<f64> = x.iter().map(|v| 1.0 / v).collect();
    let bits = relative_bits(&s, &inv, &want);
    eprintln!("1/x: depth {}, {bits:.2} bits", top - inv.level());
    assert!(top - inv.level() <= 10);
    assert!(bits >= 12.0, "1/x: {bits}");
    let isq =
        s.ev.evaluate_function(&ct, |v| 1.0 / v.sqrt(), iv, 63, &s.rlk)
            .unwrap();
    let want: Vec<f64> = x.iter().map(|v| 1.0 / v.sqrt()).collect();
    let bits = relative_bits(&s, &isq, &want);
    eprintln!("1/sqrt(x): depth {}, {bits:.2} bits", top - isq.level());
    assert!(top - isq.level() <= 10);
    assert!(bits >= 12.0, "1/sqrt(x): {bits}");
}

#[test]
fn newton_iterations_refine_a_chebyshev_start() {
    let mut s = setup();
    let x = values(&mut s.rng, s.params.slots(), 1.0, 4.0);
    let ct = encrypt(&mut s, &x);
    let iv = Interval::new(1.0, 4.0).unwrap();
    let top = ct.level();
    // Degree-3 starts (depth 4 with the interval map), then two Newton steps (depth 4 more).
    let y0 =
        s.ev.evaluate_function(&ct, |v| 1.0 / v, iv, 3, &s.rlk)
            .unwrap();
    let want: Vec<f64> = x.iter().map(|v| 1.0 / v).collect();
    let start = relative_bits(&s, &y0, &want);
    let y = s.ev.newton_inverse(&ct, &y0, 2, &s.rlk).unwrap();
    let bits = relative_bits(&s, &y, &want);
    eprintln!(
        "Newton 1/x: start {start:.2} bits, after 2 steps {bits:.2} bits, depth {}",
        top - y.level()
    );
    assert!(bits >= 3.5 * start.min(6.0), "{start} -> {bits}");
    assert!(bits >= 16.0);
    let z0 =
        s.ev.evaluate_function(&ct, |v| 1.0 / v.sqrt(), iv, 3, &s.rlk)
            .unwrap();
    let want: Vec<f64> = x.iter().map(|v| 1.0 / v.sqrt()).collect();
    let start = relative_bits(&s, &z0, &want);
    let z = s.ev.newton_inv_sqrt(&ct, &z0, 2, &s.rlk).unwrap();
    let bits = relative_bits(&s, &z, &want);
    eprintln!(
        "Newton 1/sqrt(x): start {start:.2} bits, after 2 steps {bits:.2} bits, depth {}",
        top - z.level()
    );
    assert!(bits >= 16.0, "{start} -> {bits}");
}

#[test]
fn chebyshev_sums_match_the_clear_evaluation() {
    let mut s = setup();
    let x = values(&mut s.rng, s.params.slots(), -1.0, 1.0);
    let ct = encrypt(&mut s, &x);
    let iv = Interval::new(-1.0, 1.0).unwrap();
    for (degree, seed) in [(0usize, 1u64), (1, 2), (5, 3), (20, 4)] {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let c = values(&mut rng, degree + 1, -0.5, 0.5);
        let out = s.ev.evaluate_chebyshev(&ct, &c, iv, &s.rlk).unwrap();
        let got = s
            .params
            .decode(&ckks::decrypt(&s.params, &s.sk, &out).unwrap())
            .unwrap();
        let bound = out.estimate().max_error(s.params.slots());
        for (t, g) in x.iter().zip(&got) {
            let (mut t0, mut t1) = (1.0, *t);
            let mut want = c[0] + if degree >= 1 { c[1] * t } else { 0.0 };
            for cj in c.iter().skip(2) {
                let t2 = 2.0 * t * t1 - t0;
                want += cj * t2;
                (t0, t1) = (t1, t2);
            }
            assert!(
                (g.re - want).abs() <= bound,
                "degree {degree}: {} vs {want} (bound {bound:e})",
                g.re
            );
        }
    }
}

#[test]
fn inverse_helpers_choose_the_degree_from_the_interval() {
    let mut s = setup();
    let x = values(&mut s.rng, s.params.slots(), 1.0, 64.0);
    let ct = encrypt(&mut s, &x);
    let iv = Interval::new(1.0, 64.0).unwrap();
    let inv = s.ev.inverse(&ct, iv, 12, &s.rlk).unwrap();
    assert_eq!(ct.level() - inv.level(), 8);
    let want: Vec<f64> = x.iter().map(|v| 1.0 / v).collect();
    assert!(relative_bits(&s, &inv, &want) >= 12.0);
    let narrow = Interval::new(1.0, 4.0).unwrap();
    let y = values(&mut s.rng, s.params.slots(), 1.0, 4.0);
    let cy = encrypt(&mut s, &y);
    let isq = s.ev.inverse_sqrt(&cy, narrow, 12, &s.rlk).unwrap();
    assert!(cy.level() - isq.level() <= 6);
    let want: Vec<f64> = y.iter().map(|v| 1.0 / v.sqrt()).collect();
    assert!(relative_bits(&s, &isq, &want) >= 12.0);
    assert!(s
        .ev
        .inverse(&ct, Interval::new(-1.0, 1.0).unwrap(), 12, &s.rlk)
        .is_err());
}

#[test]
fn goldschmidt_costs_one_level_per_iteration() {
    let mut s = setup();
    let x = values(&mut s.rng, s.params.slots(), 1.0, 4.0);
    let ct = encrypt(&mut s, &x);
    let iv = Interval::new(1.0, 4.0).unwrap();
    let want: Vec<f64> = x.iter().map(|v| 1.0 / v).collect();
    let top = ct.level();
    // Constant start: |e0| <= 0.6, five steps give 0.6^32 ~ 2^-23.6 (module docs).
    let y = s.ev.goldschmidt_inverse_on(&ct, iv, 5, &s.rlk).unwrap();
    let bits = relative_bits(&s, &y, &want);
    eprintln!(
        "Goldschmidt 1/x on [1, 4]: {bits:.2} bits, depth {}",
        top - y.level()
    );
    assert_eq!(top - y.level(), 6);
    assert!(bits >= 20.0, "{bits}");
    // Fewer iterations give the predicted, worse, precision: the result is not a fixed answer.
    let y2 = s.ev.goldschmidt_inverse_on(&ct, iv, 2, &s.rlk).unwrap();
    let bits2 = relative_bits(&s, &y2, &want);
    let predicted = -(0.6f64.powi(4)).log2();
    assert!(
        bits2 >= predicted - 0.5 && bits2 < bits,
        "{bits2} vs {predicted}"
    );
    // From a Chebyshev start on [1, 64] (degree 7), then 3 steps: one level for e0, one each.
    let wide = Interval::new(1.0, 64.0).unwrap();
    let xw = values(&mut s.rng, s.params.slots(), 1.0, 64.0);
    let cw = encrypt(&mut s, &xw);
    let y0 =
        s.ev.evaluate_function(&cw, |v| 1.0 / v, wide, 7, &s.rlk)
            .unwrap();
    let want: Vec<f64> = xw.iter().map(|v| 1.0 / v).collect();
    let start = relative_bits(&s, &y0, &want);
    // The public bound on |1 - x y0| for this degree, from the clear interpolant on a grid.
    let c = chebyshev_coefficients(|v| 1.0 / v, wide, 7).unwrap();
    let e0 = (0..=4096)
        .map(|k| {
            let v = 1.0 + 63.0 * k as f64 / 4096.0;
            let t = (2.0 * v - 65.0) / 63.0;
            let (mut t0, mut t1, mut sum) = (1.0, t, c[0] + c[1] * t);
            for cj in &c[2..] {
                let t2 = 2.0 * t * t1 - t0;
                sum += cj * t2;
                (t0, t1) = (t1, t2);
            }
            (1.0 - v * sum).abs()
        })
        .fold(0.0, f64::max)
        * 1.05;
    let y = s.ev.goldschmidt_inverse(&cw, &y0, e0, 3, &s.rlk).unwrap();
    let bits = relative_bits(&s, &y, &want);
    eprintln!(
        "Goldschmidt 1/x on [1, 64]: start {start:.2} bits (|e0| <= {e0:.3}), after 3 steps \
         {bits:.2} bits, depth {}",
        cw.level() - y.level()
    );
    assert_eq!(y0.level() - y.level(), 1 + 3);
    assert!(bits >= 12.0, "{start} -> {bits}");
    assert!(s.ev.goldschmidt_inverse(&cw, &y0, 1.0, 3, &s.rlk).is_err());
    assert!(s
        .ev
        .goldschmidt_inverse_on(&cw, Interval::new(-1.0, 1.0).unwrap(), 3, &s.rlk)
        .is_err());
}
