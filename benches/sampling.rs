//! Sampler benches at N = 2^14: ternary and discrete Gaussian (σ = 3.2) secrets and errors,
//! signed and lifted to 8 primes of 50 bits (the shape of a BFV public-key encryption at
//! N = 2^14), and the uniform sampler for comparison.
//!
//! IDs: `sampling/{ternary,gaussian}/16384`, `sampling/{ternary_rns,gaussian_rns,uniform_poly}/
//! 16384/8`, and `sampling/chacha20_fill_bytes/131072` (the generator alone, the bytes one
//! Gaussian polynomial reads). All draw from a seeded ChaCha20 generator.

#![allow(clippy::expect_used)] // Bench setup: a failure is a bug to see at once.
#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use migrationfhe::math::primes::ntt_primes;
use migrationfhe::math::sampling::{gaussian, gaussian_rns, ternary, ternary_rns, uniform_poly};
use migrationfhe::math::Modulus;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::time::Duration;

const N: usize = 1 << 14;

fn bench_sampling(c: &mut Criterion) {
    let moduli: Vec<Modulus> = ntt_primes(50, N, 8)
        .expect("8 primes of 50 bits")
        .into_iter()
        .map(|q| Modulus::new(q).expect("prime"))
        .collect();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut group = c.benchmark_group("sampling");
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));

    group.bench_function(BenchmarkId::new("ternary", N), |b| {
        b.iter(|| ternary(&mut rng, black_box(N)).expect("ternary"));
    });
    group.bench_function(BenchmarkId::new("gaussian", N), |b| {
        b.iter(|| gaussian(&mut rng, black_box(N)).expect("gaussian"));
    });
    group.bench_function(BenchmarkId::new("ternary_rns", format!("{N}/8")), |b| {
        b.iter(|| ternary_rns(&mut rng, black_box(&moduli), N).expect("ternary"));
    });
    group.bench_function(BenchmarkId::new("gaussian_rns", format!("{N}/8")), |b| {
        b.iter(|| gaussian_rns(&mut rng, black_box(&moduli), N).expect("gaussian"));
    });
    group.bench_function(BenchmarkId::new("uniform_poly", format!("{N}/8")), |b| {
        b.iter(|| uniform_poly(&mut rng, black_box(&moduli), N).expect("uniform"));
    });
    // The generator alone: the keystream one Gaussian polynomial reads (8 bytes a sample).
    let mut buf = vec![0u8; 8 * N];
    group.bench_function(BenchmarkId::new("chacha20_fill_bytes", 8 * N), |b| {
        b.iter(|| rng.fill_bytes(black_box(&mut buf)));
    });
    group.finish();
}

criterion_group!(benches, bench_sampling);
criterion_main!(benches);
