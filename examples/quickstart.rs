//! Prints the NTT backends this CPU offers, multiplies two random polynomials of degree 2^14 on
//! each of them, checks that all products agree bit for bit, and prints the median time of one
//! forward and one inverse NTT per backend.
//!
//! Run: `cargo run --release --example quickstart`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use migrationfhe::math::ntt::{Backend, NttPlan};
use migrationfhe::math::primes::largest_ntt_prime;
use migrationfhe::math::Modulus;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::time::Instant;

fn median_micros(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..101)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const N: usize = 1 << 14;
    println!("MigrationFHE quickstart: negacyclic products in Z_q[X]/(X^{N} + 1)");
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    for bits in [50u32, 60] {
        let q = largest_ntt_prime(bits, N)?;
        let m = Modulus::new(q)?;
        let backends = Backend::available(&m);
        println!("\nq = {q} ({bits}-bit prime); backends on this CPU: {backends:?}");
        let a: Vec<u64> = (0..N).map(|_| rng.next_u64() % q).collect();
        let b: Vec<u64> = (0..N).map(|_| rng.next_u64() % q).collect();
        let mut reference: Option<Vec<u64>> = None;
        for backend in backends {
            let plan = NttPlan::with_backend(N, q, backend)?;
            let (mut fa, mut fb) = (a.clone(), b.clone());
            plan.forward(&mut fa)?;
            plan.forward(&mut fb)?;
            let mut c: Vec<u64> = fa.iter().zip(&fb).map(|(&x, &y)| m.mul(x, y)).collect();
            plan.inverse(&mut c)?;
            let agrees = match &reference {
                None => {
                    reference = Some(c);
                    "reference".to_string()
                }
                Some(r) if *r == c => "identical to scalar".to_string(),
                Some(_) => return Err(format!("backend {backend} disagrees with scalar").into()),
            };
            let mut buf = a.clone();
            let fwd = median_micros(|| plan.forward(&mut buf).unwrap_or(()));
            let inv = median_micros(|| plan.inverse(&mut buf).unwrap_or(()));
            println!(
                "  {backend:>7}: forward {fwd:8.1} us, inverse {inv:8.1} us, product {agrees}"
            );
        }
    }
    println!("\nAll backends agree bit for bit.");
    Ok(())
}
