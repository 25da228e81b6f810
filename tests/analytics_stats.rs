#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]
//! Statistics on the Abel–Sander 2005–2010 flows with WDI 2005 indicators: moments,
//! correlation (CHECK r = 0.3356 over 179 countries), OLS with public and encrypted regressors
//! (model: net migration rate per 1,000 on ln GDP per capita and urban population %), UNHCR
//! forecasts and k-means; plaintext stand-in and real CKKS.

use ed25519_dalek::SigningKey;
use migrationfhe::analytics::data::{AbelSander, Indicator, UnhcrSeries, Wdi};
use migrationfhe::analytics::stats::{
    self, ForecastSpec, KMeans, Method, StatOutput, StatsResults, StatsSpec,
};
use migrationfhe::analytics::{
    CkksBackend, CkksEncryptor, CkksSecretKeyDecryptor, Encryptor, PlainReal, SlotBackend,
    Submission,
};
use migrationfhe::ckks::{self, Parameters, Preset};
use migrationfhe::rlwe::{RelinearizationKey, SecretKey};
use rand_core::SeedableRng;
use std::path::PathBuf;
use std::sync::Arc;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn agencies(d: &AbelSander) -> Vec<(String, Vec<usize>)> {
    let regions = d.region_of();
    (0..10)
        .map(|r| {
            (
                format!("agency-{}", d.regions[r]),
                (0..d.n()).filter(|&i| regions[i] == r).collect(),
            )
        })
        .collect()
}

fn spec(d: &AbelSander, w: &Wdi) -> StatsSpec {
    StatsSpec::abel_sander_wdi(
        "test stats 2005-2010",
        d,
        w,
        3,
        &[Indicator::UrbanPopulation],
        (300.0, 30_000.0),
    )
}

fn submit<B: SlotBackend<Value = f64>, E: Encryptor<B>>(
    be: &B,
    enc: &E,
    s: &StatsSpec,
    flows: &[u64],
) -> Vec<Submission<B::Ct>> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let mut subs = Vec::new();
    for a in 0..s.agencies.len() {
        let key = SigningKey::from_bytes(&[a as u8 + 40; 32]);
        let f = stats::flow_contribution(s, a, flows).unwrap();
        let r = stats::regressor_contribution(s, a).unwrap();
        for (label, v) in [(stats::flow_label(s), f), (stats::regressor_label(s), r)] {
            let ct = enc.encrypt(&v, &mut rng).unwrap();
            subs.push(Submission::sign(
                be,
                &s.analysis,
                &s.agencies[a].0,
                &label,
                vec![ct],
                &key,
            ));
        }
    }
    subs
}

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

#[test]
fn stats_plain_stand_in_checks() {
    let d = AbelSander::load(&dir()).unwrap();
    let w = Wdi::load(&dir()).unwrap();
    let s = spec(&d, &w);
    assert_eq!(s.m(), 179);
    let be = PlainReal::new(1 << 13);
    let subs = submit(&be, &be, &s, &d.flows[3]);
    let all = [
        StatOutput::Moments,
        StatOutput::Correlation,
        StatOutput::OlsPublic,
        StatOutput::OlsEncrypted,
    ];
    let eval = stats::evaluate(&be, &s, &all, &subs).unwrap();
    let res = StatsResults::open(&be, &be, &s, &eval).unwrap();
    let plain = stats::plain_stats(&s, &d.flows[3]).unwrap();
    // CHECK: r = 0.3356 over the 179 countries.
    let r = res.correlation.unwrap();
    assert!((r - 0.3356).abs() < 1e-3, "r = {r}");
    assert!((plain.correlation - 0.3356).abs() < 1e-3);
    let (mean, var, cov) = res.moments.unwrap();
    assert!(rel(mean, plain.moments.0) < 1e-9 && rel(var, plain.moments.1) < 1e-9);
    assert!(rel(cov, plain.moments.2) < 1e-9);
    for (a, b) in res.ols_public.unwrap().iter().zip(&plain.ols) {
        assert!(rel(*a, *b) < 1e-9, "{a} vs {b}");
    }
    for (a, b) in res.ols_encrypted.unwrap().iter().zip(&plain.ols) {
        assert!(rel(*a, *b) < 1e-9, "{a} vs {b}");
    }
    println!(
        "plain r = {r:.6}, ols = {:?}, ops {}",
        plain.ols, eval.counts
    );
}

fn ckks_setup(
    preset: Preset,
    plan: impl FnOnce(&PlainReal),
) -> (
    Arc<Parameters>,
    CkksBackend,
    CkksEncryptor,
    CkksSecretKeyDecryptor,
) {
    let params = Parameters::preset(preset).unwrap();
    let plain = PlainReal::new(params.slots());
    plan(&plain);
    let steps: Vec<i64> = plain
        .counter()
        .rotation_steps()
        .iter()
        .map(|&k| k as i64)
        .collect();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(17);
    let sk = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
    let pk = ckks::PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let gk = ckks::GaloisKeys::generate(&params, &sk, &steps, false, &mut rng).unwrap();
    let be = CkksBackend::new(&params, gk, Some(rlk));
    let enc = CkksEncryptor::new(&params, pk);
    let dec = CkksSecretKeyDecryptor::new(&params, sk);
    (params, be, enc, dec)
}

#[test]
fn stats_ckks_depth5_moments_and_regressions() {
    let d = AbelSander::load(&dir()).unwrap();
    let w = Wdi::load(&dir()).unwrap();
    let s = spec(&d, &w);
    let outs = [
        StatOutput::Moments,
        StatOutput::OlsPublic,
        StatOutput::OlsEncrypted,
    ];
    let (_, be, enc, dec) = ckks_setup(Preset::N16384Depth5Scale40, |plain| {
        let subs = submit(plain, plain, &s, &d.flows[3]);
        stats::evaluate(plain, &s, &outs, &subs).unwrap();
    });
    let subs = submit(&be, &enc, &s, &d.flows[3]);
    let t = std::time::Instant::now();
    let eval = stats::evaluate(&be, &s, &outs, &subs).unwrap();
    println!("ckks depth5 stats {:?}: {}", t.elapsed(), eval.counts);
    let res = StatsResults::open(&be, &dec, &s, &eval).unwrap();
    let plain = stats::plain_stats(&s, &d.flows[3]).unwrap();
    let (mean, var, cov) = res.moments.unwrap();
    println!("moments {mean} {var} {cov} vs {:?}", plain.moments);
    assert!(rel(mean, plain.moments.0) < 1e-4 && rel(var, plain.moments.1) < 1e-4);
    assert!(rel(cov, plain.moments.2) < 1e-4);
    // CHECK (a): within 1e-3 relative; (b): within 1e-2 relative.
    let a = res.ols_public.unwrap();
    let b = res.ols_encrypted.unwrap();
    println!("ols plain {:?}\n public {a:?}\n encrypted {b:?}", plain.ols);
    for ((x, y), z) in a.iter().zip(&b).zip(&plain.ols) {
        assert!(rel(*x, *z) < 1e-3, "(a) {x} vs {z}");
        assert!(rel(*y, *z) < 1e-2, "(b) {y} vs {z}");
    }
    stats::evaluate(&be, &s, &outs, &subs)
        .unwrap()
        .transcript
        .same_as(&eval.transcript)
        .unwrap();
}

#[test]
fn unhcr_forecasts_ckks_and_kmeans() {
    let u = UnhcrSeries::load(&dir()).unwrap();
    let train = u.years.iter().position(|&y| y == 2025).unwrap();
    assert_eq!(u.years[0], 2000);
    let methods = vec![
        Method::LinearTrend,
        Method::Holt {
            alpha: 0.8,
            beta: 0.2,
        },
    ];
    let fs = ForecastSpec {
        analysis: "test forecast".into(),
        label: "2025".into(),
        series: u.regions.clone(),
        agencies: (0..u.regions.len())
            .map(|r| (format!("agency-{}", u.regions[r]), vec![r]))
            .collect(),
        len: train,
        methods: methods.clone(),
    };
    let (_, be, enc, dec) = ckks_setup(Preset::N16384Depth5Scale40, |plain| {
        let subs: Vec<_> = (0..fs.agencies.len())
            .map(|a| {
                let v = stats::forecast_contribution(&fs, a, &u.totals).unwrap();
                let ct = plain.encode(&v).unwrap();
                Submission::sign(
                    plain,
                    &fs.analysis,
                    &fs.agencies[a].0,
                    &stats::forecast_label(&fs),
                    vec![ct],
                    &SigningKey::from_bytes(&[1; 32]),
                )
            })
            .collect();
        stats::evaluate_forecast(plain, &fs, &subs).unwrap();
        // k-means plan: additions only, no rotations.
    });
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(23);
    let subs: Vec<_> = (0..fs.agencies.len())
        .map(|a| {
            let v = stats::forecast_contribution(&fs, a, &u.totals).unwrap();
            let ct = enc.encrypt(&v, &mut rng).unwrap();
            Submission::sign(
                &be,
                &fs.analysis,
                &fs.agencies[a].0,
                &stats::forecast_label(&fs),
                vec![ct],
                &SigningKey::from_bytes(&[a as u8 + 60; 32]),
            )
        })
        .collect();
    let eval = stats::evaluate_forecast(&be, &fs, &subs).unwrap();
    let out = migrationfhe::analytics::open_output(&be, &dec, &eval.transcript, &eval.outputs[0])
        .unwrap();
    let s_count = u.regions.len();
    for (k, &m) in methods.iter().enumerate() {
        for r in 0..s_count {
            let y: Vec<f64> = u.totals[r][..train].iter().map(|&x| x as f64).collect();
            let want = stats::forecast_plain(&y, m);
            let got = out[k * s_count + r];
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{m:?} {}: {got} vs {want}",
                u.regions[r]
            );
            println!(
                "{:>9} {:?}: forecast 2025 {:.0}, actual {}",
                u.regions[r], m, got, u.totals[r][train]
            );
        }
    }
    // k-means on outflow profiles by destination region (Abel-Sander 2005-2010), 4 clusters.
    let d = AbelSander::load(&dir()).unwrap();
    let profiles = stats::outflow_profiles(&d.flows[3], d.n(), &d.region_of(), 10);
    let init: Vec<Vec<f64>> = [2usize, 0, 4, 1]
        .iter()
        .map(|&r| (0..10).map(|q| if q == r { 1.0 } else { 0.0 }).collect())
        .collect();
    let km = KMeans {
        analysis: "test kmeans".into(),
        agencies: agencies(&d),
        features: 10,
        init: init.clone(),
        rounds: 5,
    };
    let keys: Vec<SigningKey> = (0..10)
        .map(|a| SigningKey::from_bytes(&[a as u8 + 80; 32]))
        .collect();
    let res = km.run(&be, &enc, &dec, &keys, &profiles, &mut rng).unwrap();
    let want = stats::plain_kmeans(&profiles, &init, 5);
    assert_eq!(res.assignments, want);
    res.transcript.verify_chain().unwrap();
    println!("k-means sizes per round {:?}; {}", res.sizes, res.counts);
}

/// The zero-data rotation plans equal the rotations a run on the real data uses.
#[test]
fn rotation_plans_match_real_runs() {
    let d = AbelSander::load(&dir()).unwrap();
    let w = Wdi::load(&dir()).unwrap();
    let s = spec(&d, &w);
    let outs = [
        StatOutput::Moments,
        StatOutput::Correlation,
        StatOutput::OlsPublic,
        StatOutput::OlsEncrypted,
    ];
    let plain = PlainReal::new(1 << 14);
    let subs = submit(&plain, &plain, &s, &d.flows[3]);
    stats::evaluate(&plain, &s, &outs, &subs).unwrap();
    assert_eq!(
        stats::plan_rotations(&s, &outs, 1 << 14).unwrap(),
        plain.counter().rotation_steps()
    );
}
