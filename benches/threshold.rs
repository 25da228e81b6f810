//! Threshold protocol benches (issue 6), single thread, per party and for aggregation, at
//! CKKS N = 2^14 (`n16384_depth5_scale40`, log Q 260) and BFV N = 2^14 (`n16384_logq438_t20bit`),
//! 3 and 10 parties. Ids: `threshold/{scheme}/{op}/{parties}`. Each iteration uses fresh share
//! logs (a party never shares twice for one input), which is part of what is measured.
//! Message sizes are printed once: the encoded wire frames (bit-packed residues, no CRS parts).
//! `MIGRATIONFHE_BENCH_CPU_TIME=1` measures the thread's CPU time instead of wall time.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss
)]

use criterion::measurement::Measurement;
use criterion::{black_box, BatchSize, Criterion};
use migrationfhe::bfv;
use migrationfhe::ckks;
use migrationfhe::rlwe::RlweParams;
use migrationfhe::threshold::{
    ActiveSet, BfvDecryption, CkksDecryption, Committee, Crp, Crs, DecryptionPolicy,
    GaloisKeyShare, InMemoryShareLogForTesting, PartySecret, ProtocolKind, PublicKeyShare,
    RelinRound1Share, RelinRound2Share,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::Arc;
use std::time::Duration;

struct Setup {
    params: Arc<RlweParams>,
    set: ActiveSet,
    secrets: Vec<PartySecret>,
    crs: Crs,
}

fn setup(params: &Arc<RlweParams>, n: u32) -> Setup {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let committee = Committee::numbered(n, n as usize).unwrap();
    let secrets = committee
        .ids()
        .iter()
        .map(|&id| PartySecret::generate(params, &committee, id, &mut rng).unwrap())
        .collect();
    Setup {
        params: Arc::clone(params),
        set: committee.all().unwrap(),
        secrets,
        crs: Crs::random(&mut rng),
    }
}

fn logs(n: usize) -> Vec<InMemoryShareLogForTesting> {
    (0..n).map(|_| InMemoryShareLogForTesting::new()).collect()
}

fn mib(bits: f64) -> f64 {
    bits / 8.0 / 1024.0 / 1024.0
}

/// Bits of one bit-packed residue polynomial over the given primes.
fn poly_bits(moduli: &[u64], n: usize) -> f64 {
    moduli
        .iter()
        .map(|q| f64::from(64 - q.leading_zeros()))
        .sum::<f64>()
        * n as f64
}

fn keygen_benches<M: Measurement>(c: &mut Criterion<M>, scheme: &str, s: &Setup) {
    let p = &s.params;
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let parties = s.secrets.len();
    let id = |op: &str| format!("threshold/{scheme}/{op}/{parties}");
    let mut g = c.benchmark_group("threshold");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(300));
    let a0 = s.secrets[0].active(&s.set).unwrap();
    let inst_pk = Crp::new(
        &s.params,
        &s.crs.instance(ProtocolKind::PublicKey, b"bench/pk"),
    )
    .unwrap();
    let inst_r = Crp::new(
        &s.params,
        &s.crs.instance(ProtocolKind::RelinRound1, b"bench/rlk"),
    )
    .unwrap();
    let inst_g = Crp::new(
        &s.params,
        &s.crs.instance(ProtocolKind::Galois, b"bench/gal"),
    )
    .unwrap();
    if parties == 3 {
        g.bench_function(id("pk_share_per_party"), |b| {
            b.iter_batched(
                InMemoryShareLogForTesting::new,
                |mut log| a0.public_key_share(&inst_pk, &mut log, &mut rng).unwrap(),
                BatchSize::SmallInput,
            )
        });
        let actives: Vec<_> = s
            .secrets
            .iter()
            .map(|x| x.active(&s.set).unwrap())
            .collect();
        let mut ls = logs(parties);
        let mut eph = Vec::new();
        let mut r1 = Vec::new();
        for (a, l) in actives.iter().zip(&mut ls) {
            let (e, sh) = a.relin_round1(&inst_r, l, &mut rng).unwrap();
            eph.push(e);
            r1.push(sh);
        }
        let agg = RelinRound1Share::aggregate(p, &inst_r, &s.set, &r1).unwrap();
        g.bench_function(id("relin_both_rounds_per_party"), |b| {
            b.iter_batched(
                InMemoryShareLogForTesting::new,
                |mut log| {
                    let (e, sh) = a0.relin_round1(&inst_r, &mut log, &mut rng).unwrap();
                    // Round 2 on the (fixed) aggregate: the work of one party.
                    let e = black_box(e);
                    let r2 = a0
                        .relin_round2(&inst_r, e, &agg, &mut log, &mut rng)
                        .unwrap();
                    (sh, r2)
                },
                BatchSize::SmallInput,
            )
        });
        let r2: Vec<_> = actives
            .iter()
            .zip(eph)
            .zip(&mut ls)
            .map(|((a, e), l)| a.relin_round2(&inst_r, e, &agg, l, &mut rng).unwrap())
            .collect();
        g.bench_function(id("relin_aggregate_both_rounds"), |b| {
            b.iter(|| {
                let agg = RelinRound1Share::aggregate(p, &inst_r, &s.set, black_box(&r1)).unwrap();
                let k = RelinRound2Share::aggregate(p, &inst_r, &s.set, &r2).unwrap();
                (agg, k)
            })
        });
        // Message sizes: the encoded wire frames (bit-packed residues, no CRS parts).
        let pk_share = a0
            .public_key_share(&inst_pk, &mut InMemoryShareLogForTesting::new(), &mut rng)
            .unwrap();
        let gal_share = a0
            .galois_key_share(&inst_g, 5, &mut InMemoryShareLogForTesting::new(), &mut rng)
            .unwrap();
        let len = |b: Vec<u8>| mib(8.0 * b.len() as f64);
        eprintln!(
            "sizes {scheme}: pk share {:.3} MiB, relin round 1 {:.3} MiB, round 2 {:.3} MiB, Galois share {:.3} MiB",
            len(pk_share.to_bytes(p).unwrap()),
            len(r1[0].to_bytes(p).unwrap()),
            len(r2[0].to_bytes(p).unwrap()),
            len(gal_share.to_bytes(p).unwrap()),
        );
    }
    // One rotation key for all parties (shares + aggregation).
    let g5 = 5u64;
    let actives: Vec<_> = s
        .secrets
        .iter()
        .map(|x| x.active(&s.set).unwrap())
        .collect();
    g.bench_function(id("rotation_key_all_parties"), |b| {
        b.iter_batched(
            || logs(parties),
            |mut ls| {
                let shares: Vec<_> = actives
                    .iter()
                    .zip(&mut ls)
                    .map(|(a, l)| a.galois_key_share(&inst_g, g5, l, &mut rng).unwrap())
                    .collect();
                GaloisKeyShare::aggregate(p, &inst_g, &s.set, &shares).unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    if parties == 3 {
        let shares: Vec<_> = actives
            .iter()
            .map(|a| {
                a.public_key_share(&inst_pk, &mut InMemoryShareLogForTesting::new(), &mut rng)
                    .unwrap()
            })
            .collect();
        g.bench_function(id("pk_aggregate"), |b| {
            b.iter(|| PublicKeyShare::aggregate(p, &inst_pk, &s.set, black_box(&shares)).unwrap())
        });
    }
    g.finish();
}

fn ckks_benches<M: Measurement>(c: &mut Criterion<M>) {
    let params = ckks::Parameters::preset(ckks::Preset::N16384Depth5Scale40).unwrap();
    for parties in [3u32, 10] {
        let s = setup(params.rlwe(), parties);
        keygen_benches(c, "ckks", &s);
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        // A collective public key and a ciphertext after one product (degree 1, level 5).
        let inst = Crp::new(
            &s.params,
            &s.crs.instance(ProtocolKind::PublicKey, b"bench/ckks-pk"),
        )
        .unwrap();
        let shares: Vec<_> = s
            .secrets
            .iter()
            .map(|x| {
                x.active(&s.set)
                    .unwrap()
                    .public_key_share(&inst, &mut InMemoryShareLogForTesting::new(), &mut rng)
                    .unwrap()
            })
            .collect();
        let pk = ckks::PublicKey::from_rlwe(
            &PublicKeyShare::aggregate(params.rlwe(), &inst, &s.set, &shares).unwrap(),
        );
        let values: Vec<f64> = (0..params.slots())
            .map(|j| (j % 100) as f64 / 100.0)
            .collect();
        let ct = ckks::encrypt(
            &params,
            &pk,
            &params.encode_real_top(&values).unwrap(),
            &mut rng,
        )
        .unwrap();
        let actives: Vec<_> = s
            .secrets
            .iter()
            .map(|x| x.active(&s.set).unwrap())
            .collect();
        // lambda = 40 smudging (the cost measured); the precision check is off: none is left at 2^40.
        let policy = DecryptionPolicy::default().with_min_precision_bits(f64::NEG_INFINITY);
        let dec = CkksDecryption::new(&params, &ct, &s.set, &policy).unwrap();
        if parties == 3 {
            eprintln!(
                "sizes ckks: decryption share {:.3} MiB (level {}, {}-bit smudging)",
                mib(poly_bits(
                    &params.q_moduli()[..dec.input().level()],
                    params.degree()
                )),
                dec.input().level(),
                dec.input().smudging_bits()
            );
        }
        let mut g = c.benchmark_group("threshold");
        g.sample_size(10)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_millis(300));
        g.bench_function(
            format!("threshold/ckks/decrypt_all_shares_and_combine/{parties}"),
            |b| {
                b.iter_batched(
                    || logs(parties as usize),
                    |mut ls| {
                        let d =
                            CkksDecryption::new(&params, black_box(&ct), &s.set, &policy).unwrap();
                        let shares: Vec<_> = actives
                            .iter()
                            .zip(&mut ls)
                            .map(|(a, l)| a.decryption_share(d.input(), l, &mut rng).unwrap())
                            .collect();
                        d.combine(&s.set, &shares).unwrap()
                    },
                    BatchSize::SmallInput,
                )
            },
        );
        g.bench_function(
            format!("threshold/ckks/decryption_share_per_party/{parties}"),
            |b| {
                b.iter_batched(
                    InMemoryShareLogForTesting::new,
                    |mut l| {
                        actives[0]
                            .decryption_share(dec.input(), &mut l, &mut rng)
                            .unwrap()
                    },
                    BatchSize::SmallInput,
                )
            },
        );
        g.finish();
    }
}

fn bfv_benches<M: Measurement>(c: &mut Criterion<M>) {
    let params = bfv::Parameters::n16384_logq438_t20bit().unwrap();
    for parties in [3u32, 10] {
        let s = setup(params.ring(), parties);
        keygen_benches(c, "bfv", &s);
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let inst = Crp::new(
            &s.params,
            &s.crs.instance(ProtocolKind::PublicKey, b"bench/bfv-pk"),
        )
        .unwrap();
        let shares: Vec<_> = s
            .secrets
            .iter()
            .map(|x| {
                x.active(&s.set)
                    .unwrap()
                    .public_key_share(&inst, &mut InMemoryShareLogForTesting::new(), &mut rng)
                    .unwrap()
            })
            .collect();
        let pk = PublicKeyShare::aggregate(params.ring(), &inst, &s.set, &shares).unwrap();
        let v: Vec<u64> = (0..params.degree() as u64).map(|j| j % 1000).collect();
        let ct = bfv::Ciphertext::encrypt_pk(
            &pk,
            &bfv::Plaintext::encode(&params, &v).unwrap(),
            &mut rng,
        )
        .unwrap();
        let actives: Vec<_> = s
            .secrets
            .iter()
            .map(|x| x.active(&s.set).unwrap())
            .collect();
        let policy = DecryptionPolicy::default();
        let dec = BfvDecryption::new(&ct, &s.set, &policy).unwrap();
        if parties == 3 {
            eprintln!(
                "sizes bfv: decryption share {:.3} MiB (level {}, {}-bit smudging)",
                mib(poly_bits(
                    &params.ring().q_moduli()[..dec.input().level()],
                    params.degree()
                )),
                dec.input().level(),
                dec.input().smudging_bits()
            );
        }
        let mut g = c.benchmark_group("threshold");
        g.sample_size(10)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_millis(300));
        g.bench_function(
            format!("threshold/bfv/decrypt_all_shares_and_combine/{parties}"),
            |b| {
                b.iter_batched(
                    || logs(parties as usize),
                    |mut ls| {
                        let d = BfvDecryption::new(black_box(&ct), &s.set, &policy).unwrap();
                        let shares: Vec<_> = actives
                            .iter()
                            .zip(&mut ls)
                            .map(|(a, l)| a.decryption_share(d.input(), l, &mut rng).unwrap())
                            .collect();
                        d.combine(&s.set, &shares).unwrap()
                    },
                    BatchSize::SmallInput,
                )
            },
        );
        g.finish();
    }
}

#[path = "support/cpu_time.rs"]
mod cpu_time;

/// Wall time by default; the thread's CPU time with `MIGRATIONFHE_BENCH_CPU_TIME=1` (for a
/// shared, oversubscribed machine, see `support/cpu_time.rs`).
fn main() {
    if cpu_time::requested() {
        let mut c = Criterion::default()
            .with_measurement(cpu_time::CpuTime)
            .configure_from_args();
        ckks_benches(&mut c);
        bfv_benches(&mut c);
        c.final_summary();
    } else {
        let mut c = Criterion::default().configure_from_args();
        ckks_benches(&mut c);
        bfv_benches(&mut c);
        c.final_summary();
    }
}
