#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]
//! Hierarchies and disaggregation: US state -> division -> region -> nation (stand-in, all
//! years; BFV, two years), contingency-table marginals on a synthetic age/sex split.

use ed25519_dalek::SigningKey;
use migrationfhe::analytics::data::{AbelSander, UsMigration};
use migrationfhe::analytics::flows::{self, Contingency, FlowResults, FlowSpec};
use migrationfhe::analytics::{PlainInt, SlotBackend, Submission};
mod flows_support;
use flows_support::{data_dir, submit, t31};

use rand_core::SeedableRng;

fn us_spec(u: &UsMigration, years: &[usize]) -> FlowSpec {
    FlowSpec::us_states("test us flows", u, years, 1_000_000, 10_000_000)
}

/// US state -> division -> region -> nation, all ten years on the stand-in.
#[test]
fn us_hierarchy_plain_stand_in() {
    let u = UsMigration::load(&data_dir()).unwrap();
    let years: Vec<usize> = (0..u.years.len()).collect();
    let spec = us_spec(&u, &years);
    let be = PlainInt::new(1 << 14, 2, t31()).unwrap();
    let subs = submit(&be, &be, &spec, &u.flows);
    let eval = flows::evaluate(&be, &spec, t31(), &subs).unwrap();
    let res = FlowResults::open(&be, &be, &spec, &eval).unwrap();
    let last = res.periods.last().unwrap();
    assert_eq!(last.period, "2019");
    // README: 2019 Census-region matrix (Midwest, Northeast, South, West).
    assert_eq!(
        last.groups[1].1,
        vec![
            551_583, 92_244, 505_575, 265_979, 125_464, 502_678, 510_660, 191_758, 405_875,
            311_781, 1_500_152, 488_103, 238_411, 133_239, 562_074, 901_798
        ]
    );
    let div = &last.groups[0].1;
    let within: i64 = (0..9).map(|g| div[g * 9 + g]).sum();
    assert_eq!(within, 1_991_821);
    assert_eq!(div.iter().sum::<i64>() - within, 5_295_553);
    assert_eq!(last.world, 7_287_374);
    let fl = u.states.iter().position(|s| s.name == "Florida").unwrap();
    let ca = u
        .states
        .iter()
        .position(|s| s.name == "California")
        .unwrap();
    assert_eq!(last.net[fl], 143_101);
    assert_eq!(last.inflow[ca], 477_129);
    assert_eq!(last.outflow[ca], 650_114);
    let totals = [
        6_635_933, 6_889_618, 6_957_002, 7_103_675, 7_218_797, 7_405_488, 7_434_410, 7_350_244,
        7_463_364, 7_287_374,
    ];
    for (p, want) in res.periods.iter().zip(totals) {
        assert_eq!(p.world, want);
    }
    let stacked = res.stacked_inflow.unwrap();
    assert_eq!(stacked.iter().sum::<i64>(), totals.iter().sum::<i64>());
}

/// The same at real BFV encryption for 2018 and 2019 (year-over-year change included).
#[test]
fn us_hierarchy_bfv_two_years() {
    use migrationfhe::analytics::{BfvBackend, BfvEncryptor, BfvSecretKeyDecryptor};
    use migrationfhe::bfv;
    use migrationfhe::rlwe::{PublicKey, SecretKey};
    let u = UsMigration::load(&data_dir()).unwrap();
    let spec = us_spec(&u, &[8, 9]);
    let flows2 = vec![u.flows[8].clone(), u.flows[9].clone()];
    let params = bfv::Parameters::n16384_count_t31bit().unwrap();
    let t = params.plaintext_modulus();
    let plain = PlainInt::like_bfv(&params).unwrap();
    let psubs = submit(&plain, &plain, &spec, &flows2);
    let pres = FlowResults::open(
        &plain,
        &plain,
        &spec,
        &flows::evaluate(&plain, &spec, t, &psubs).unwrap(),
    )
    .unwrap();
    let steps: Vec<i64> = plain
        .counter()
        .rotation_steps()
        .iter()
        .map(|&s| s as i64)
        .collect();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
    let sk = SecretKey::generate(params.ring(), &mut rng).unwrap();
    let pk = PublicKey::generate(&sk, &mut rng).unwrap();
    let gk = bfv::GaloisKeys::for_rotations(&sk, &steps, plain.counter().used_row_swap(), &mut rng)
        .unwrap();
    let be = BfvBackend::new(&params, gk, None);
    let subs = submit(&be, &BfvEncryptor::new(&params, pk), &spec, &flows2);
    let eval = flows::evaluate(&be, &spec, t, &subs).unwrap();
    let res = FlowResults::open(&be, &BfvSecretKeyDecryptor::new(sk), &spec, &eval).unwrap();
    assert_eq!(res, pres);
    let (dyin, _) = res.periods[1].yoy.as_ref().unwrap();
    let tx = u.states.iter().position(|s| s.name == "Texas").unwrap();
    assert_eq!(
        dyin[tx],
        res.periods[1].inflow[tx] - res.periods[0].inflow[tx]
    );
    flows::verify(&be, &spec, t, &subs, &eval.transcript).unwrap();
    println!("US, 2 years, BFV: {}", eval.counts);
}

/// Disaggregation on a documented synthetic age/sex split of the real 2005-2010 region totals
/// (the bundled data has no breakdown; `flows::synthetic_age_sex_split`): every one of the 16
/// marginals on the stand-in, three at real BFV, with the transcript.
#[test]
fn disaggregation_marginals_synthetic_age_sex() {
    use migrationfhe::analytics::Encryptor;
    use migrationfhe::analytics::{open_output, BfvBackend, BfvEncryptor, BfvSecretKeyDecryptor};
    use migrationfhe::bfv;
    use migrationfhe::rlwe::{PublicKey, SecretKey};
    use rand_core::SeedableRng;
    let d = AbelSander::load(&data_dir()).unwrap();
    let table = Contingency {
        names: vec![
            "origin_region".into(),
            "dest_region".into(),
            "age".into(),
            "sex".into(),
        ],
        dims: vec![10, 10, 4, 2],
    };
    let cells = flows::synthetic_age_sex_split(&d.region_flows[3]);
    assert_eq!(
        cells.iter().sum::<u64>(),
        d.region_flows[3].iter().sum::<u64>()
    );
    let marginal_plain = |keep: &[bool]| -> Vec<i64> {
        let kept: Vec<usize> = (0..4).filter(|&j| keep[j]).collect();
        let size: usize = kept.iter().map(|&j| table.dims[j]).product();
        let mut out = vec![0i64; size];
        for (k, &v) in cells.iter().enumerate() {
            let idx = [k / 80, (k / 8) % 10, (k / 2) % 4, k % 2];
            let pos = kept.iter().fold(0, |acc, &j| acc * table.dims[j] + idx[j]);
            out[pos] += v as i64;
        }
        out
    };
    let all: Vec<Vec<bool>> = (0..16u32)
        .map(|m| (0..4).map(|j| m >> j & 1 == 1).collect())
        .collect();
    let mut spec = flows::TableSpec {
        analysis: "test disaggregation".into(),
        name: "region_age_sex_2005".into(),
        table: table.clone(),
        agencies: (0..10)
            .map(|r| (format!("agency-{r}"), 100_000_000))
            .collect(),
        marginals: all.clone(),
    };
    // Agency r holds the slice of destination region r.
    let params = bfv::Parameters::n16384_count_t31bit().unwrap();
    let t = params.plaintext_modulus();
    let plain = PlainInt::like_bfv(&params).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
    let key = SigningKey::from_bytes(&[9; 32]);
    let psubs: Vec<_> = (0..10)
        .map(|r| {
            let v = table.slice(&cells, 1, &[r]).unwrap();
            let ct = plain.encrypt(&v, &mut rng).unwrap();
            Submission::sign(
                &plain,
                &spec.analysis,
                &spec.agencies[r].0,
                &spec.label(),
                vec![ct],
                &key,
            )
        })
        .collect();
    let pe = flows::evaluate_marginals(&plain, &spec, t, &psubs).unwrap();
    for (keep, out) in all.iter().zip(&pe.outputs) {
        assert_eq!(out.name, spec.output_name(keep));
        let got = open_output(&plain, &plain, &pe.transcript, out).unwrap();
        assert_eq!(got, marginal_plain(keep), "keep {keep:?}");
    }
    // Real BFV: age x sex, destination region, and the grand total.
    spec.marginals = vec![
        vec![false, false, true, true],
        vec![false, true, false, false],
        vec![false; 4],
    ];
    let plain = PlainInt::like_bfv(&params).unwrap();
    flows::evaluate_marginals(&plain, &spec, t, &psubs).unwrap();
    let steps: Vec<i64> = plain
        .counter()
        .rotation_steps()
        .iter()
        .map(|&s| s as i64)
        .collect();
    let sk = SecretKey::generate(params.ring(), &mut rng).unwrap();
    let pk = PublicKey::generate(&sk, &mut rng).unwrap();
    let gk = bfv::GaloisKeys::for_rotations(&sk, &steps, false, &mut rng).unwrap();
    let be = BfvBackend::new(&params, gk, None);
    let enc = BfvEncryptor::new(&params, pk);
    let dec = BfvSecretKeyDecryptor::new(sk);
    let subs: Vec<_> = (0..10)
        .map(|r| {
            let v = table.slice(&cells, 1, &[r]).unwrap();
            let ct = enc.encrypt(&v, &mut rng).unwrap();
            Submission::sign(
                &be,
                &spec.analysis,
                &spec.agencies[r].0,
                &spec.label(),
                vec![ct],
                &key,
            )
        })
        .collect();
    let e = flows::evaluate_marginals(&be, &spec, t, &subs).unwrap();
    for (keep, out) in spec.marginals.iter().zip(&e.outputs) {
        assert_eq!(
            open_output(&be, &dec, &e.transcript, out).unwrap(),
            marginal_plain(keep)
        );
    }
    assert_eq!(marginal_plain(&[false; 4])[0], 41_485_600);
    println!("3 marginals, BFV: {}", e.counts);
}
