#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
//! Flow-matrix analytics on the Abel–Sander and US Census data: the plaintext stand-in at full
//! size (all CHECKs), and real BFV encryption.

use ed25519_dalek::SigningKey;
use migrationfhe::analytics::data::{AbelSander, UsMigration};
use migrationfhe::analytics::flows::{
    self, contribution, contribution_label, AgencySpec, Contingency, FlowResults, FlowSpec, Level,
};
use migrationfhe::analytics::{PlainInt, SlotBackend, Submission};
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The 31-bit count prime of `bfv::Parameters::n16384_count_t31bit`.
fn t31() -> u64 {
    migrationfhe::math::primes::largest_ntt_prime(31, 1 << 14).unwrap()
}

fn abel_sander_spec(d: &AbelSander, corridors: Vec<(usize, usize)>) -> FlowSpec {
    let regions = d.region_of();
    let agencies = (0..10)
        .map(|r| AgencySpec {
            name: format!("agency-{}", d.regions[r]),
            members: (0..d.n()).filter(|&i| regions[i] == r).collect(),
            max_cell: 10_000_000,
            max_total: 100_000_000,
        })
        .collect();
    FlowSpec {
        analysis: "test abel-sander flows".into(),
        nodes: d.countries.iter().map(|c| c.iso3.clone()).collect(),
        periods: d.periods.clone(),
        agencies,
        levels: vec![Level {
            name: "region".into(),
            names: d.regions.clone(),
            grouping: regions,
        }],
        corridors,
        stacked: false,
    }
}

fn submit<B: SlotBackend<Value = i64>, E: migrationfhe::analytics::Encryptor<B>>(
    be: &B,
    enc: &E,
    spec: &FlowSpec,
    flows: &[Vec<u64>],
) -> Vec<Submission<B::Ct>> {
    let layout = spec.layout(be.slots(), be.row_len()).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let mut subs = Vec::new();
    for (a, ag) in spec.agencies.iter().enumerate() {
        let key = SigningKey::from_bytes(&[a as u8 + 1; 32]);
        for (p, pname) in spec.periods.iter().enumerate() {
            let (fwd, rev) = contribution(spec, &layout, a, &flows[p]).unwrap();
            for (rv, vecs) in [(false, fwd), (true, rev)] {
                let cts = vecs
                    .iter()
                    .map(|v| enc.encrypt(v, &mut rng).unwrap())
                    .collect();
                subs.push(Submission::sign(
                    be,
                    &spec.analysis,
                    &ag.name,
                    &contribution_label(pname, rv),
                    cts,
                    &key,
                ));
            }
        }
    }
    subs
}
use rand_core::SeedableRng;

#[test]
fn abel_sander_plain_stand_in_all_checks() {
    let d = AbelSander::load(&data_dir()).unwrap();
    let n = d.n();
    let usa = d.index("USA").unwrap();
    let mex = d.index("MEX").unwrap();
    let ind = d.index("IND").unwrap();
    let are = d.index("ARE").unwrap();
    let spec = abel_sander_spec(&d, vec![(mex, usa), (ind, are)]);
    let be = PlainInt::new(1 << 14, 2, t31()).unwrap();
    let subs = submit(&be, &be, &spec, &d.flows);
    let eval = flows::evaluate(&be, &spec, t31(), &subs).unwrap();
    let res = FlowResults::open(&be, &be, &spec, &eval).unwrap();
    for (p, pr) in res.periods.iter().enumerate() {
        // CHECK: 10 x 10 region table equals the source's, all cells, all periods.
        let want: Vec<i64> = d.region_flows[p].iter().map(|&x| x as i64).collect();
        assert_eq!(pr.groups[0].1, want, "region table, period {p}");
        let f = &d.flows[p];
        for i in 0..n {
            let inflow: u64 = (0..n).map(|o| f[o * n + i]).sum();
            let outflow: u64 = (0..n).map(|x| f[i * n + x]).sum();
            assert_eq!(pr.inflow[i], inflow as i64);
            assert_eq!(pr.outflow[i], outflow as i64);
            assert_eq!(pr.net[i], inflow as i64 - outflow as i64);
        }
        assert_eq!(pr.world, f.iter().sum::<u64>() as i64);
        let c = &pr.corridors[0];
        assert_eq!(c.forward, f[mex * n + usa] as i64);
        assert_eq!(c.reverse, f[usa * n + mex] as i64);
    }
    let last = &res.periods[3];
    assert_eq!(last.net[usa], 4_955_675);
    assert_eq!(last.net[ind], -2_959_006);
    assert_eq!(last.world, 41_485_600);
    let (dyin, _) = last.yoy.as_ref().unwrap();
    assert_eq!(dyin[usa], last.inflow[usa] - res.periods[2].inflow[usa]);
    // verify re-executes bit for bit
    flows::verify(&be, &spec, t31(), &subs, &eval.transcript).unwrap();
    println!("plain ops: {}", eval.counts);
}

#[test]
fn abel_sander_bfv_one_period_region_check() {
    use migrationfhe::analytics::{BfvBackend, BfvEncryptor, BfvSecretKeyDecryptor};
    use migrationfhe::bfv;
    use migrationfhe::rlwe::{PublicKey, SecretKey};
    let d = AbelSander::load(&data_dir()).unwrap();
    let mut spec = abel_sander_spec(&d, vec![]);
    spec.periods.truncate(1);
    let params = bfv::Parameters::n16384_count_t31bit().unwrap();
    let t = params.plaintext_modulus();
    // Plan the rotations on the stand-in.
    let plain = PlainInt::like_bfv(&params).unwrap();
    let psubs = submit(&plain, &plain, &spec, &d.flows);
    flows::evaluate(&plain, &spec, t, &psubs).unwrap();
    let steps: Vec<i64> = plain
        .counter()
        .rotation_steps()
        .iter()
        .map(|&s| s as i64)
        .collect();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let sk = SecretKey::generate(params.ring(), &mut rng).unwrap();
    let pk = PublicKey::generate(&sk, &mut rng).unwrap();
    let now = std::time::Instant::now();
    let gk = bfv::GaloisKeys::for_rotations(&sk, &steps, plain.counter().used_row_swap(), &mut rng)
        .unwrap();
    println!("{} galois keys in {:?}", steps.len(), now.elapsed());
    let be = BfvBackend::new(&params, gk, None);
    let enc = BfvEncryptor::new(&params, pk);
    let now = std::time::Instant::now();
    let subs = submit(&be, &enc, &spec, &d.flows);
    println!("{} submissions in {:?}", subs.len(), now.elapsed());
    let now = std::time::Instant::now();
    let eval = flows::evaluate(&be, &spec, t, &subs).unwrap();
    println!("evaluate in {:?}: {}", now.elapsed(), eval.counts);
    let dec = BfvSecretKeyDecryptor::new(sk);
    let res = FlowResults::open(&be, &dec, &spec, &eval).unwrap();
    let want: Vec<i64> = d.region_flows[0].iter().map(|&x| x as i64).collect();
    assert_eq!(res.periods[0].groups[0].1, want);
}
