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

use migrationfhe::analytics::data::AbelSander;
use migrationfhe::analytics::flows::{self, contribution, FlowResults};
use migrationfhe::analytics::{PlainInt, SlotBackend};
mod flows_support;
use flows_support::{abel_sander_spec, data_dir, submit, t31};

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
