//! RNS benches: fast base extension and divide-and-round at N = 2^14 with ~50-bit primes.
//!
//! IDs: `rns/base_extension/{approx,exact}/16384/8to9` (8 primes to 9 disjoint primes, the BFV
//! multiplication shape), `rns/divide_round/16384/{9to8,9to6,17to8}` (l = 1 is the CKKS rescale,
//! l = 9 the BFV-style division by a product of 9 primes) and
//! `rns/divide_round_in_place/16384/9to8`.

#![allow(clippy::expect_used)] // Bench setup: a failure is a bug to see at once.
#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use migrationfhe::math::primes::ntt_primes;
use migrationfhe::math::rns::{BaseConverter, RnsBasis, ScaleDown};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::time::Duration;

const N: usize = 1 << 14;

/// A random limb-major polynomial over `basis`.
fn random_poly(basis: &RnsBasis, seed: u64) -> Vec<u64> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    basis
        .moduli()
        .iter()
        .flat_map(|q| {
            let q = q.value();
            (0..N).map(|_| rng.next_u64() % q).collect::<Vec<_>>()
        })
        .collect()
}

fn bench_rns(c: &mut Criterion) {
    let primes = ntt_primes(50, N, 17).expect("17 primes of 50 bits");
    let mut group = c.benchmark_group("rns");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));

    let from = RnsBasis::new(&primes[..8]).expect("basis");
    let to = RnsBasis::new(&primes[8..17]).expect("basis");
    let conv = BaseConverter::new(&from, &to).expect("converter");
    let input = random_poly(&from, 1);
    let mut output = vec![0u64; to.len() * N];
    group.bench_function(
        BenchmarkId::new("base_extension/approx", format!("{N}/8to9")),
        |b| b.iter(|| conv.convert_approx(black_box(&input), &mut output)),
    );
    group.bench_function(
        BenchmarkId::new("base_extension/exact", format!("{N}/8to9")),
        |b| b.iter(|| conv.convert_exact(black_box(&input), &mut output)),
    );

    for (k, l) in [(9usize, 1usize), (9, 3), (17, 9)] {
        let basis = RnsBasis::new(&primes[..k]).expect("basis");
        let sd = ScaleDown::new(&basis, l).expect("scale down");
        let input = random_poly(&basis, 2);
        let mut output = vec![0u64; (k - l) * N];
        group.bench_function(
            BenchmarkId::new("divide_round", format!("{N}/{k}to{}", k - l)),
            |b| b.iter(|| sd.divide_round(black_box(&input), &mut output)),
        );
        if l == 1 {
            let mut data = input.clone();
            group.bench_function(
                BenchmarkId::new("divide_round_in_place", format!("{N}/{k}to{}", k - l)),
                |b| {
                    b.iter(|| {
                        // Re-running on its own output keeps the values canonical: the first
                        // k - l limbs are overwritten with reduced values, the last l unchanged.
                        sd.divide_round_in_place(black_box(&mut data))
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench_rns);
criterion_main!(benches);
