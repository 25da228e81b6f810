//! Our `NttPlan` (auto backend) against `tfhe-ntt` 0.7's `prime64::Plan`, side by side in one
//! run, at `N = 2^14, 2^15, 2^16` with the same primes: the largest NTT-friendly prime below
//! `2^50` (tfhe-ntt's IFMA path, `p < 2^50`) and the largest below `2^60` (its AVX-512 62-bit
//! path).
//!
//! What each side computes (only the transform itself is timed):
//! * ours, `forward`: natural order in, bit-reversed out, canonical `[0, q)`; `inverse`:
//!   bit-reversed in, natural out, canonical, **the factor `1/n` included**.
//! * tfhe-ntt, `fwd`: standard order in, bit-reversed out, canonical; `inv`: bit-reversed in,
//!   standard out, canonical, **without** `1/n` (that is its separate `normalize`, not timed).
//!   Its root of unity is its own choice, not necessarily our smallest one, so the outputs
//!   differ as numbers; the work per transform is the same shape.
//!
//! Benchmarks are interleaved: for every size and prime, ours then theirs, forward and inverse,
//! so both see the same machine state. Ids: `peers/{forward,inverse}/{ours,tfhe}/{N}/{bits}`.

use criterion::{criterion_group, criterion_main, Criterion};
use migrationfhe::math::ntt::NttPlan;
use migrationfhe::math::primes::largest_ntt_prime;
use std::hint::black_box;
use std::time::Duration;

fn input(n: usize, q: u64) -> Vec<u64> {
    (0..n as u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % q)
        .collect()
}

fn peers(c: &mut Criterion) {
    let mut group = c.benchmark_group("peers");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for bits in [50u32, 60] {
        let q = largest_ntt_prime(bits, 1 << 17).expect("prime");
        for log_n in 14..=16 {
            let n = 1usize << log_n;
            let ours = NttPlan::new(n, q).expect("our plan");
            let theirs = tfhe_ntt::prime64::Plan::try_new(n, q).expect("tfhe-ntt plan");
            let backend = ours.backend();
            let mut a = input(n, q);
            let mut b = input(n, q);
            group.bench_function(format!("forward/ours-{backend}/{n}/{bits}"), |bench| {
                bench.iter(|| ours.forward(black_box(&mut a)).expect("length"));
            });
            group.bench_function(format!("forward/tfhe/{n}/{bits}"), |bench| {
                bench.iter(|| theirs.fwd(black_box(&mut b)));
            });
            group.bench_function(format!("inverse/ours-{backend}/{n}/{bits}"), |bench| {
                bench.iter(|| ours.inverse(black_box(&mut a)).expect("length"));
            });
            group.bench_function(format!("inverse/tfhe/{n}/{bits}"), |bench| {
                bench.iter(|| theirs.inv(black_box(&mut b)));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, peers);
criterion_main!(benches);
