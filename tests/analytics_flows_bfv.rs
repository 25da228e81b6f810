#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]
//! CHECK at real BFV encryption (n16384_count_t31bit): the Abel–Sander 196 × 196 flows aggregate
//! to the source's 10 × 10 region table in all 100 cells and all four periods, exactly.

use migrationfhe::analytics::data::AbelSander;
use migrationfhe::analytics::flows::{self, FlowResults};
use migrationfhe::analytics::PlainInt;
mod flows_support;
use flows_support::{abel_sander_spec, data_dir, submit};

use rand_core::SeedableRng;

/// CHECK at real BFV encryption: all 100 region cells, all four periods, exactly; and every
/// other output equal to the stand-in's.
#[test]
fn abel_sander_bfv_four_periods_region_check() {
    use migrationfhe::analytics::{BfvBackend, BfvEncryptor, BfvSecretKeyDecryptor};
    use migrationfhe::bfv;
    use migrationfhe::rlwe::{PublicKey, SecretKey};
    let d = AbelSander::load(&data_dir()).unwrap();
    let usa = d.index("USA").unwrap();
    let mex = d.index("MEX").unwrap();
    let spec = abel_sander_spec(&d, vec![(mex, usa)]);
    let params = bfv::Parameters::n16384_count_t31bit().unwrap();
    let t = params.plaintext_modulus();
    // Plan the rotations on the stand-in (zero data: they depend on the layout only).
    let (steps, swap) = flows::plan_rotations(&spec, params.degree(), t).unwrap();
    let steps: Vec<i64> = steps.iter().map(|&s| s as i64).collect();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let sk = SecretKey::generate(params.ring(), &mut rng).unwrap();
    let pk = PublicKey::generate(&sk, &mut rng).unwrap();
    let now = std::time::Instant::now();
    let gk = bfv::GaloisKeys::for_rotations(&sk, &steps, swap, &mut rng).unwrap();
    println!("{} galois keys in {:?}", steps.len(), now.elapsed());
    let be = BfvBackend::new(&params, gk, None);
    let enc = BfvEncryptor::new(&params, pk);
    let now = std::time::Instant::now();
    let subs = submit(&be, &enc, &spec, &d.flows);
    println!("{} submissions in {:?}", subs.len(), now.elapsed());
    let now = std::time::Instant::now();
    let eval = flows::evaluate(&be, &spec, t, &subs).unwrap();
    println!("evaluate in {:?}: {}", now.elapsed(), eval.counts);
    let budgets: Vec<f64> = eval
        .outputs
        .iter()
        .flat_map(|o| o.cts.iter().map(|c| c.noise_budget_vartime(&sk).unwrap()))
        .collect();
    let min_budget = budgets.iter().copied().fold(f64::INFINITY, f64::min);
    println!("smallest output noise budget {min_budget:.1} bits");
    assert!(min_budget > 100.0);
    let dec = BfvSecretKeyDecryptor::new(sk);
    let res = FlowResults::open(&be, &dec, &spec, &eval).unwrap();
    for p in 0..4 {
        let want: Vec<i64> = d.region_flows[p].iter().map(|&x| x as i64).collect();
        assert_eq!(res.periods[p].groups[0].1, want, "period {p}");
    }
    let plain = PlainInt::like_bfv(&params).unwrap();
    let psubs = submit(&plain, &plain, &spec, &d.flows);
    let peval = flows::evaluate(&plain, &spec, t, &psubs).unwrap();
    assert_eq!(
        res,
        FlowResults::open(&plain, &plain, &spec, &peval).unwrap()
    );
    assert_eq!(res.periods[3].net[usa], 4_955_675);
}
