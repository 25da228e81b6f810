//! CKKS benches (issue 4): encode, encrypt, add, multiply, relinearise, rescale,
//! multiply+relinearise+rescale, rotate, 8 hoisted rotations, conjugate, decrypt+decode and
//! key generation at N = 2^14 (log Q 260), 2^15 (log Q 660) and 2^16 (log Q 860), scale 2^40,
//! single thread. Ids: `ckks/{op}/{N}/{log Q}`. Filter with `cargo bench --bench ckks -- 16384`;
//! `CKKS_BENCH_PRESETS=16384` runs one preset;
//! `MIGRATIONFHE_BENCH_CPU_TIME=1` measures the thread's CPU time instead of wall time.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss
)]

use criterion::measurement::Measurement;
use criterion::{black_box, BatchSize, Criterion};
use migrationfhe::ckks::{self, Evaluator, GaloisKeys, Parameters, Preset};
use migrationfhe::rlwe::{GaloisKey, RelinearizationKey, SecretKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::time::Duration;

fn bench_preset<M: Measurement>(c: &mut Criterion<M>, preset: Preset) {
    let params = Parameters::preset(preset).unwrap();
    let n = params.degree();
    let log_q = params.log_q_at(params.max_level()).unwrap().round();
    let id = |op: &str| format!("ckks/{op}/{n}/{log_q}");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let sk = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
    let pk = ckks::PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let steps: Vec<i64> = (1..=8).collect();
    let gks = GaloisKeys::generate(&params, &sk, &steps, true, &mut rng).unwrap();
    let ev = Evaluator::new(&params);
    let values: Vec<f64> = (0..params.slots())
        .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
        .collect();
    let l = params.max_level();
    let scale = params.scale_at(l).unwrap();
    let pt = params.encode_real(&values, l, scale).unwrap();
    let ct = ckks::encrypt(&params, &pk, &pt, &mut rng).unwrap();
    let ct2 = ckks::encrypt(&params, &pk, &pt, &mut rng).unwrap();
    let prod = ev.mul(&ct, &ct2).unwrap();
    let relin = ev.relinearize(&prod, &rlk).unwrap();

    let mut g = c.benchmark_group("ckks");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    g.bench_function(id("encode"), |b| {
        b.iter(|| params.encode_real(black_box(&values), l, scale).unwrap())
    });
    g.bench_function(id("encrypt"), |b| {
        b.iter(|| ckks::encrypt(&params, &pk, black_box(&pt), &mut rng).unwrap())
    });
    g.bench_function(id("encode_encrypt"), |b| {
        b.iter(|| {
            ckks::encode_encrypt_real(&params, &pk, black_box(&values), l, scale, &mut rng).unwrap()
        })
    });
    g.bench_function(id("add"), |b| {
        b.iter(|| ev.add(black_box(&ct), &ct2).unwrap())
    });
    g.bench_function(id("multiply"), |b| {
        b.iter(|| ev.mul(black_box(&ct), &ct2).unwrap())
    });
    g.bench_function(id("relinearize"), |b| {
        b.iter(|| ev.relinearize(black_box(&prod), &rlk).unwrap())
    });
    g.bench_function(id("rescale"), |b| {
        b.iter_batched(
            || relin.clone(),
            |mut x| ev.rescale_assign(&mut x).unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.bench_function(id("multiply_relinearize"), |b| {
        b.iter(|| ev.mul_relin(black_box(&ct), &ct2, &rlk).unwrap())
    });
    g.bench_function(id("multiply_relinearize_rescale"), |b| {
        b.iter(|| ev.mul_relin_rescale(black_box(&ct), &ct2, &rlk).unwrap())
    });
    g.bench_function(id("rotate"), |b| {
        b.iter(|| ev.rotate(black_box(&ct), 1, &gks).unwrap())
    });
    g.bench_function(id("rotate_hoisted_8"), |b| {
        b.iter(|| ev.rotate_hoisted(black_box(&ct), &steps, &gks).unwrap())
    });
    g.bench_function(id("conjugate"), |b| {
        b.iter(|| ev.conjugate(black_box(&ct), &gks).unwrap())
    });
    g.bench_function(id("decrypt_decode"), |b| {
        b.iter(|| {
            let p = ckks::decrypt(&params, &sk, black_box(&ct)).unwrap();
            params.decode(&p).unwrap()
        })
    });
    g.bench_function(id("relin_keygen"), |b| {
        b.iter(|| RelinearizationKey::generate(&sk, &mut rng).unwrap())
    });
    let g5 = params.rotation_element(1);
    g.bench_function(id("rotation_keygen"), |b| {
        b.iter(|| GaloisKey::generate(&sk, g5, &mut rng).unwrap())
    });
    g.finish();
}

/// `CKKS_BENCH_PRESETS=16384,32768` runs a subset (by ring degree; default: all three), so
/// that a filtered run does not generate the larger presets' keys.
fn bench_ckks<M: Measurement>(c: &mut Criterion<M>) {
    let wanted = std::env::var("CKKS_BENCH_PRESETS").ok();
    let run = |n: &str| {
        wanted
            .as_deref()
            .is_none_or(|w| w.split(',').any(|x| x.trim() == n))
    };
    for (n, preset) in [
        ("16384", Preset::N16384Depth5Scale40),
        ("32768", Preset::N32768Depth15Scale40),
        ("65536", Preset::N65536Depth20Scale40),
    ] {
        if run(n) {
            bench_preset(c, preset);
        }
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
        bench_ckks(&mut c);
        c.final_summary();
    } else {
        let mut c = Criterion::default().configure_from_args();
        bench_ckks(&mut c);
        c.final_summary();
    }
}
