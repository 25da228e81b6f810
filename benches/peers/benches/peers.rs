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
//! so both see the same machine state. Ids: `peers/{forward,inverse}/{ours-BACKEND,tfhe}/{N}/{bits}`.
//!
//! Both buffers start at the same offset from a 64-byte boundary, 0 by default and
//! `PEERS_OFFSET` bytes (a multiple of 8 below 64) if set: the allocator alone would give each
//! `Vec` its own alignment (for large ones, 16 bytes past a page boundary; after frees, anything),
//! and a misaligned buffer makes every vector load straddle two cache lines, which costs the two
//! libraries differently (about 5% for ours, 8-10% for tfhe-ntt at 16 or 48 bytes, nothing for
//! tfhe-ntt at 32 bytes).

use criterion::{criterion_group, criterion_main, Criterion};
use migrationfhe::math::ntt::NttPlan;
use migrationfhe::math::primes::largest_ntt_prime;
use std::hint::black_box;
use std::time::Duration;

/// A buffer of `n` canonical values inside `store`, `PEERS_OFFSET` bytes past a 64-byte boundary.
fn input(store: &mut Vec<u64>, n: usize, q: u64) -> std::ops::Range<usize> {
    let offset: usize = std::env::var("PEERS_OFFSET")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(
        offset.is_multiple_of(8) && offset < 64,
        "PEERS_OFFSET: a multiple of 8 below 64"
    );
    *store = vec![0; n + 16];
    let start = store.as_ptr().align_offset(64) + offset / 8;
    for (i, x) in (0u64..).zip(&mut store[start..start + n]) {
        *x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % q;
    }
    start..start + n
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
            let (mut sa, mut sb) = (Vec::new(), Vec::new());
            let ra = input(&mut sa, n, q);
            let rb = input(&mut sb, n, q);
            let a = &mut sa[ra];
            let b = &mut sb[rb];
            group.bench_function(format!("forward/ours-{backend}/{n}/{bits}"), |bench| {
                bench.iter(|| ours.forward(black_box(&mut *a)).expect("length"));
            });
            group.bench_function(format!("forward/tfhe/{n}/{bits}"), |bench| {
                bench.iter(|| theirs.fwd(black_box(&mut *b)));
            });
            group.bench_function(format!("inverse/ours-{backend}/{n}/{bits}"), |bench| {
                bench.iter(|| ours.inverse(black_box(&mut *a)).expect("length"));
            });
            group.bench_function(format!("inverse/tfhe/{n}/{bits}"), |bench| {
                bench.iter(|| theirs.inv(black_box(&mut *b)));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, peers);
criterion_main!(benches);
