//! BFV benches at the three benchmark presets (t = 786433), single thread.
//!
//! IDs: `bfv/{operation}/{preset}`; operations: `keygen_secret`, `keygen_public`,
//! `keygen_relin`, `keygen_galois` (one key), `encode`, `encrypt_pk`, `encrypt_sk`, `add`,
//! `multiply`, `relinearize`, `multiply_relin`, `rotate`, `decrypt_decode`.
//! Set `BFV_BENCH_PRESETS=8192,16384` to run a subset, `MIGRATIONFHE_BENCH_CPU_TIME=1` to measure
//! the thread's CPU time instead of wall time (shared machines).

#![allow(clippy::expect_used, missing_docs)] // Bench setup: a failure is a bug to see at once.

use criterion::measurement::Measurement;
use criterion::{black_box, BatchSize, Criterion};
use migrationfhe::bfv::{
    Ciphertext, Evaluator, GaloisKey, GaloisKeys, Parameters, Plaintext, PublicKey,
    RelinearizationKey, SecretKey,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::sync::Arc;
use std::time::Duration;

type Preset = fn() -> migrationfhe::Result<Arc<Parameters>>;

fn presets() -> Vec<(&'static str, Arc<Parameters>)> {
    let want = std::env::var("BFV_BENCH_PRESETS").unwrap_or_default();
    let all: [(&str, usize, Preset); 3] = [
        (
            "n8192_logq218_t20bit",
            8192,
            Parameters::n8192_logq218_t20bit,
        ),
        (
            "n16384_logq438_t20bit",
            16384,
            Parameters::n16384_logq438_t20bit,
        ),
        (
            "n32768_logq881_t20bit",
            32768,
            Parameters::n32768_logq881_t20bit,
        ),
    ];
    all.into_iter()
        .filter(|(_, n, _)| want.is_empty() || want.split(',').any(|w| w.trim() == n.to_string()))
        .map(|(name, _, f)| (name, f().expect("preset")))
        .collect()
}

fn bench_bfv<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("bfv");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, params) in presets() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let sk = SecretKey::generate(params.ring(), &mut rng).expect("sk");
        let pk = PublicKey::generate(&sk, &mut rng).expect("pk");
        let rlk = RelinearizationKey::generate(&sk, &mut rng).expect("rlk");
        let gks = GaloisKeys::for_rotations(&sk, &[1], false, &mut rng).expect("gk");
        let ev = Evaluator::new(&params);
        let t = params.plaintext_modulus();
        let values: Vec<u64> = (0..params.degree()).map(|_| rng.next_u64() % t).collect();
        let pt = Plaintext::encode(&params, &values).expect("encode");
        let a = Ciphertext::encrypt_pk(&pk, &pt, &mut rng).expect("enc");
        let b = Ciphertext::encrypt_pk(&pk, &pt, &mut rng).expect("enc");
        let prod = ev.multiply(&a, &b).expect("mul");

        g.bench_function(format!("keygen_secret/{name}"), |bch| {
            bch.iter(|| SecretKey::generate(params.ring(), &mut rng).expect("sk"))
        });
        g.bench_function(format!("keygen_public/{name}"), |bch| {
            bch.iter(|| PublicKey::generate(&sk, &mut rng).expect("pk"))
        });
        g.bench_function(format!("keygen_relin/{name}"), |bch| {
            bch.iter(|| RelinearizationKey::generate(&sk, &mut rng).expect("rlk"))
        });
        g.bench_function(format!("keygen_galois/{name}"), |bch| {
            bch.iter(|| GaloisKey::generate(&sk, 3, &mut rng).expect("gk"))
        });
        g.bench_function(format!("encode/{name}"), |bch| {
            bch.iter(|| Plaintext::encode(&params, black_box(&values)).expect("encode"))
        });
        g.bench_function(format!("encrypt_pk/{name}"), |bch| {
            bch.iter(|| Ciphertext::encrypt_pk(&pk, &pt, &mut rng).expect("enc"))
        });
        g.bench_function(format!("encrypt_sk/{name}"), |bch| {
            bch.iter(|| Ciphertext::encrypt_sk(&sk, &pt, &mut rng).expect("enc"))
        });
        g.bench_function(format!("add/{name}"), |bch| {
            bch.iter(|| ev.add(black_box(&a), black_box(&b)).expect("add"))
        });
        g.bench_function(format!("multiply/{name}"), |bch| {
            bch.iter(|| ev.multiply(black_box(&a), black_box(&b)).expect("mul"))
        });
        g.bench_function(format!("relinearize/{name}"), |bch| {
            bch.iter_batched(
                || prod.clone(),
                |mut p| {
                    ev.relinearize_assign(&mut p, &rlk).expect("relin");
                    p
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function(format!("multiply_relin/{name}"), |bch| {
            bch.iter(|| {
                ev.multiply_relin(black_box(&a), black_box(&b), &rlk)
                    .expect("mul")
            })
        });
        g.bench_function(format!("rotate/{name}"), |bch| {
            bch.iter(|| ev.rotate_rows(black_box(&a), 1, &gks).expect("rot"))
        });
        g.bench_function(format!("decrypt_decode/{name}"), |bch| {
            bch.iter(|| a.decrypt(&sk).expect("dec").decode().expect("decode"))
        });
    }
    g.finish();
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
        bench_bfv(&mut c);
        c.final_summary();
    } else {
        let mut c = Criterion::default().configure_from_args();
        bench_bfv(&mut c);
        c.final_summary();
    }
}
