#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
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
    let want: Vec<i64> = d.region_flows[0].iter().map(|&x| x as i64).collect();
    assert_eq!(res.periods[0].groups[0].1, want);
}

fn us_spec(u: &UsMigration, years: &[usize]) -> FlowSpec {
    let (div_names, divisions) = u.divisions();
    let (reg_names, regions) = u.regions();
    FlowSpec {
        analysis: "test us flows".into(),
        nodes: u.states.iter().map(|s| s.name.clone()).collect(),
        periods: years.iter().map(|&y| u.years[y].to_string()).collect(),
        agencies: (0..div_names.len())
            .map(|g| AgencySpec {
                name: format!("division-{}", div_names[g]),
                members: (0..u.states.len()).filter(|&i| divisions[i] == g).collect(),
                max_cell: 1_000_000,
                max_total: 10_000_000,
            })
            .collect(),
        levels: vec![
            Level {
                name: "division".into(),
                names: div_names,
                grouping: divisions,
            },
            Level {
                name: "census_region".into(),
                names: reg_names,
                grouping: regions,
            },
        ],
        corridors: vec![],
        stacked: true,
    }
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

/// Synthetic age/sex split of the real 2005-2010 region totals (the bundled data has no
/// breakdown): shares age 0-14 20 %, 15-29 40 %, 30-44 25 %, 45+ 15 %; sex 52 % / 48 %;
/// integer parts by largest remainder so every split sums exactly to the real cell.
fn split(total: u64, shares: &[u64]) -> Vec<u64> {
    let sum: u64 = shares.iter().sum();
    let mut parts: Vec<u64> = shares.iter().map(|s| total * s / sum).collect();
    let mut rem: Vec<(u64, usize)> = shares
        .iter()
        .enumerate()
        .map(|(i, s)| ((total * s) % sum, i))
        .collect();
    rem.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let short = total - parts.iter().sum::<u64>();
    for &(_, i) in rem.iter().take(short as usize) {
        parts[i] += 1;
    }
    parts
}

#[test]
fn disaggregation_marginals_synthetic_age_sex() {
    use migrationfhe::analytics::{BfvBackend, BfvEncryptor, BfvSecretKeyDecryptor, Encryptor};
    use migrationfhe::bfv;
    use migrationfhe::rlwe::{PublicKey, SecretKey};
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
    let mut cells = vec![0i64; 800];
    for o in 0..10 {
        for de in 0..10 {
            let ages = split(d.region_flows[3][o * 10 + de], &[20, 40, 25, 15]);
            for (a, &x) in ages.iter().enumerate() {
                for (s, &y) in split(x, &[52, 48]).iter().enumerate() {
                    cells[((o * 10 + de) * 4 + a) * 2 + s] = y as i64;
                }
            }
        }
    }
    // agency `de` holds the slice of its destination region.
    let slice = |de: usize| -> Vec<i64> {
        (0..800)
            .map(|k| if (k / 8) % 10 == de { cells[k] } else { 0 })
            .collect()
    };
    let marginal_plain = |keep: &[bool]| -> Vec<i64> {
        let kept: Vec<usize> = (0..4).filter(|&j| keep[j]).collect();
        let size: usize = kept.iter().map(|&j| table.dims[j]).product();
        let mut out = vec![0i64; size];
        for (k, &v) in cells.iter().enumerate() {
            let idx = [k / 80, (k / 8) % 10, (k / 2) % 4, k % 2];
            let pos = kept.iter().fold(0, |acc, &j| acc * table.dims[j] + idx[j]);
            out[pos] += v;
        }
        out
    };
    let params = bfv::Parameters::n16384_count_t31bit().unwrap();
    let plain = PlainInt::like_bfv(&params).unwrap();
    let ptable = (0..10)
        .map(|de| plain.encode(&slice(de)).unwrap())
        .reduce(|a, b| plain.add(&a, &b).unwrap())
        .unwrap();
    for mask_bits in 0..16u32 {
        let keep: Vec<bool> = (0..4).map(|j| mask_bits >> j & 1 == 1).collect();
        let (ct, slots) = table.marginal(&plain, &ptable, &keep).unwrap();
        let got: Vec<i64> = slots.iter().map(|&s| ct.0[s]).collect();
        assert_eq!(got, marginal_plain(&keep), "keep {keep:?}");
    }
    // Real BFV: age x sex, dest region, and the grand total.
    let steps: Vec<i64> = plain
        .counter()
        .rotation_steps()
        .iter()
        .map(|&s| s as i64)
        .collect();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
    let sk = SecretKey::generate(params.ring(), &mut rng).unwrap();
    let pk = PublicKey::generate(&sk, &mut rng).unwrap();
    let gk = bfv::GaloisKeys::for_rotations(&sk, &steps, false, &mut rng).unwrap();
    let be = BfvBackend::new(&params, gk, None);
    let enc = BfvEncryptor::new(&params, pk);
    let dec = BfvSecretKeyDecryptor::new(sk);
    let ct = (0..10)
        .map(|de| enc.encrypt(&slice(de), &mut rng).unwrap())
        .reduce(|a, b| be.add(&a, &b).unwrap())
        .unwrap();
    use migrationfhe::analytics::Decryptor;
    for keep in [
        [false, false, true, true],
        [false, true, false, false],
        [false; 4],
    ] {
        let (m, slots) = table.marginal(&be, &ct, &keep).unwrap();
        let v = dec.decrypt(&m).unwrap();
        let got: Vec<i64> = slots.iter().map(|&s| v[s]).collect();
        assert_eq!(got, marginal_plain(&keep));
    }
    assert_eq!(marginal_plain(&[false; 4])[0], 41_485_600);
}

#[test]
fn refusals_bound_maxima_authorisation_signatures() {
    use migrationfhe::analytics::{open_output, DeclaredOutput};
    let d = AbelSander::load(&data_dir()).unwrap();
    let mut spec = abel_sander_spec(&d, vec![]);
    spec.periods.truncate(1);
    // Count bound: 10 agencies x 10^9 exceed the 31-bit t, fit a 45-bit one.
    let mut big = spec.clone();
    for a in &mut big.agencies {
        a.max_total = 1_000_000_000;
    }
    let err = big.check_count_bound(t31()).unwrap_err().to_string();
    assert!(err.contains("n32768_count_t45bit"), "{err}");
    let t45 = migrationfhe::math::primes::largest_ntt_prime(45, 1 << 15).unwrap();
    assert!(big.check_count_bound(t45).is_ok());
    // Declared maxima are enforced by the contribution builder.
    let be = PlainInt::new(1 << 14, 2, t31()).unwrap();
    let layout = spec.layout(be.slots(), be.row_len()).unwrap();
    let mut small = spec.clone();
    small.agencies[0].max_cell = 1;
    let usa = d.index("USA").unwrap();
    let na = d.countries[usa].region;
    assert!(contribution(&small, &layout, na, &d.flows[0]).is_err());
    // Undeclared ciphertexts are not decrypted.
    let subs = submit(&be, &be, &spec, &d.flows);
    let eval = flows::evaluate(&be, &spec, t31(), &subs).unwrap();
    let forged = DeclaredOutput {
        name: "inflow/1990-1995".into(),
        cts: vec![subs[0].cts[0].clone()],
        slots: vec![(0, 0)],
    };
    assert!(open_output(&be, &be, &eval.transcript, &forged).is_err());
    let mut wider = eval.outputs[0].clone();
    wider.slots.push((0, 1));
    assert!(open_output(&be, &be, &eval.transcript, &wider).is_err());
    // A tampered signature or ciphertext is refused.
    let mut bad = subs.clone();
    bad[3].signature[0] ^= 1;
    assert!(flows::evaluate(&be, &spec, t31(), &bad).is_err());
    let mut bad = subs.clone();
    bad[2].cts[0].0[5] += 1;
    assert!(flows::evaluate(&be, &spec, t31(), &bad).is_err());
    // A missing agency is refused, naming it.
    let err = flows::evaluate(&be, &spec, t31(), &subs[2..])
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing submission"), "{err}");
    // A tampered transcript does not verify.
    let mut other_spec = spec.clone();
    other_spec.corridors = vec![(0, 1)];
    let other = flows::evaluate(&be, &other_spec, t31(), &subs).unwrap();
    assert!(eval.transcript.same_as(&other.transcript).is_err());
}

#[test]
fn data_errors_are_clear() {
    use migrationfhe::analytics::data::Table;
    let t = Table::parse("x.csv", "a,b\n1,\"q,\"\"r\"\"\"\n2\n");
    let e = t.unwrap_err().to_string();
    assert!(e.contains("x.csv, line 3"), "{e}");
    let t = Table::parse("x.csv", "orig,dest,n\nAAA,BBB,-3\n").unwrap();
    let e = t.count(2, "n", "-3").unwrap_err().to_string();
    assert!(e.contains("negative count"), "{e}");
    let e = t.count(2, "n", "").unwrap_err().to_string();
    assert!(e.contains("missing value"), "{e}");
    let ok = Table::parse("q.csv", "a,b\n1,\"q,\"\"r\"\"\"\n").unwrap();
    assert_eq!(ok.rows[0].1[1], "q,\"r\"");
    // A flows file with an unknown code.
    let dir = std::env::temp_dir().join(format!("mfhe-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in [
        "abel_sander_2014_countries.csv",
        "abel_sander_2014_region_flows.csv",
    ] {
        std::fs::copy(data_dir().join(f), dir.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(data_dir().join("abel_sander_2014_country_flows.csv"))
        .unwrap()
        .replacen("\nAFG,", "\nZZZ,", 1);
    std::fs::write(dir.join("abel_sander_2014_country_flows.csv"), text).unwrap();
    let e = AbelSander::load(&dir).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(e.contains("unknown origin code `ZZZ`"), "{e}");
}
