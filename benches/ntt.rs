//! Criterion benches of the negacyclic NTT: `ntt/{forward,inverse}/{backend}/{N}/{bits}` for
//! `N = 2^12 .. 2^17`, the largest NTT-friendly primes below `2^50` and `2^60`, and every backend
//! this CPU offers for the prime. Short runs by default (`sample_size(10)`); pass
//! `--measurement-time` / `--sample-size` on the command line for careful numbers.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{criterion_group, criterion_main, Criterion};
use migrationfhe::math::ntt::{Backend, NttPlan};
use migrationfhe::math::primes::largest_ntt_prime;
use migrationfhe::math::Modulus;
use std::hint::black_box;
use std::time::Duration;

fn or_die<T>(r: migrationfhe::Result<T>) -> T {
    match r {
        Ok(x) => x,
        Err(e) => panic!("bench setup failed: {e:?}"),
    }
}

fn ntt(c: &mut Criterion) {
    let mut group = c.benchmark_group("ntt");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(500));
    for bits in [50u32, 60] {
        let q = or_die(largest_ntt_prime(bits, 1 << 17));
        for backend in Backend::available(&or_die(Modulus::new(q))) {
            for log_n in 12..=17 {
                let n = 1usize << log_n;
                let plan = or_die(NttPlan::with_backend(n, q, backend));
                // Any canonical input will do; transforms of canonical values are canonical, so
                // the buffer can be transformed again and again in place.
                let mut a: Vec<u64> = (0..n as u64)
                    .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % q)
                    .collect();
                group.bench_function(format!("forward/{backend}/{n}/{bits}"), |b| {
                    b.iter(|| or_die(plan.forward(black_box(&mut a))));
                });
                group.bench_function(format!("inverse/{backend}/{n}/{bits}"), |b| {
                    b.iter(|| or_die(plan.inverse(black_box(&mut a))));
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, ntt);
criterion_main!(benches);
