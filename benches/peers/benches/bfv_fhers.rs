//! BFV side by side with fhe.rs 0.1 (`fhe` on crates.io) at the same ring degree, the same total
//! modulus `log2(Q·P)` and `t = 786433`, single thread, one interleaved run (ours, then fhe.rs,
//! for every operation).
//!
//! | N | ours | fhe.rs |
//! |---|---|---|
//! | 2^13 | `n8192_logq218_t20bit`: Q of 43, 43, 44, 44 bits + one 44-bit special prime (218 bits) | its 128-bit default: 43, 43, 44, 44, 44 bits (218 bits), no special prime |
//! | 2^14 | `n16384_logq438_t20bit`: Q of 3 × 48 + 5 × 49 bits + one 49-bit special prime (438 bits) | its 128-bit default: 3 × 48 + 6 × 49 bits (438 bits) |
//!
//! Operations (ids `bfv-peers/{op}/{ours,fhers}/{N}`):
//! * `mul_relin`: ours `Evaluator::multiply_relin`; fhe.rs `Multiplicator::default(rk).multiply`
//!   (its fastest multiply-and-relinearise);
//! * `rotate`: a row rotation by one slot (ours `rotate_rows(·, 1)`, fhe.rs
//!   `rotates_columns_by(·, 1)`, the same permutation of the `2 × N/2` slot matrix);
//! * `encrypt_pk`: public-key encryption of an encoded plaintext;
//! * `decrypt_decode`: decryption and batch decoding to `N` values;
//! * `relin_keygen`: relinearisation key generation.
//!
//! `MIGRATIONFHE_BENCH_CPU_TIME=1` measures each thread's CPU time instead of wall time.
//! Both libraries sample from ChaCha-based generators seeded here. fhe.rs is built with its
//! default features (its own NTT); `--features fhe-tfhe-ntt` switches it to tfhe-ntt's.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::measurement::Measurement;
use criterion::Criterion;
use fhe::bfv as theirs;
use fhe_traits::{FheDecoder, FheDecrypter, FheEncoder, FheEncrypter};
use migrationfhe::bfv as ours;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

const T: u64 = 786_433;

/// One of our presets.
type Preset = fn() -> migrationfhe::Result<Arc<ours::Parameters>>;

/// fhe.rs's 128-bit default primes at `n` (from `BfvParameters::default_parameters_128`).
fn their_primes(n: usize) -> Vec<u64> {
    match n {
        8192 => vec![
            0x07ff_fffd_8001,
            0x07ff_fffc_8001,
            0x0fff_ffff_c001,
            0x0fff_fff6_c001,
            0x0fff_ffeb_c001,
        ],
        _ => vec![
            0xffff_fffd_8001,
            0xffff_fffa_0001,
            0xffff_fff0_0001,
            0x0001_ffff_fff6_8001,
            0x0001_ffff_fff5_0001,
            0x0001_ffff_ffee_8001,
            0x0001_ffff_ffea_0001,
            0x0001_ffff_ffe8_8001,
            0x0001_ffff_ffe4_8001,
        ],
    }
}

fn bench<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("bfv-peers");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let want = std::env::var("PEERS_BFV_N").unwrap_or_default();
    let presets: [(usize, Preset); 2] = [
        (8192, ours::Parameters::n8192_logq218_t20bit),
        (16384, ours::Parameters::n16384_logq438_t20bit),
    ];
    for (n, preset) in presets {
        if !want.is_empty() && !want.split(',').any(|w| w.trim() == n.to_string()) {
            continue;
        }
        // Ours.
        let params = preset().unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let sk = ours::SecretKey::generate(params.ring(), &mut rng).unwrap();
        let pk = ours::PublicKey::generate(&sk, &mut rng).unwrap();
        let rlk = ours::RelinearizationKey::generate(&sk, &mut rng).unwrap();
        let gks = ours::GaloisKeys::for_rotations(&sk, &[1], false, &mut rng).unwrap();
        let ev = ours::Evaluator::new(&params);
        let values: Vec<u64> = (0..n).map(|_| rng.next_u64() % T).collect();
        let pt = ours::Plaintext::encode(&params, &values).unwrap();
        let a = ours::Ciphertext::encrypt_pk(&pk, &pt, &mut rng).unwrap();
        let b = ours::Ciphertext::encrypt_pk(&pk, &pt, &mut rng).unwrap();

        // fhe.rs.
        let tp = theirs::BfvParametersBuilder::new()
            .set_degree(n)
            .set_plaintext_modulus(T)
            .set_moduli(&their_primes(n))
            .build_arc()
            .unwrap();
        let mut trng = <rand_chacha09::ChaCha20Rng as rand09::SeedableRng>::seed_from_u64(2);
        let tsk = theirs::SecretKey::random(&tp, &mut trng);
        let tpk = theirs::PublicKey::new(&tsk, &mut trng);
        let trk = theirs::RelinearizationKey::new(&tsk, &mut trng).unwrap();
        let tek = theirs::EvaluationKeyBuilder::new(&tsk)
            .unwrap()
            .enable_column_rotation(1)
            .unwrap()
            .build(&mut trng)
            .unwrap();
        let tpt = theirs::Plaintext::try_encode(&values, theirs::Encoding::simd(), &tp).unwrap();
        let ta: theirs::Ciphertext = tpk.try_encrypt(&tpt, &mut trng).unwrap();
        let tb: theirs::Ciphertext = tpk.try_encrypt(&tpt, &mut trng).unwrap();
        let mult = theirs::Multiplicator::default(&trk).unwrap();
        // Both decrypt what they encrypted (a sanity check of the setup, not timed).
        let back = <Vec<u64>>::try_decode(&tsk.try_decrypt(&ta).unwrap(), theirs::Encoding::simd())
            .unwrap();
        assert_eq!(back, values);
        assert_eq!(a.decrypt(&sk).unwrap().decode().unwrap(), values);

        g.bench_function(format!("mul_relin/ours/{n}"), |bch| {
            bch.iter(|| {
                ev.multiply_relin(black_box(&a), black_box(&b), &rlk)
                    .unwrap()
            })
        });
        g.bench_function(format!("mul_relin/fhers/{n}"), |bch| {
            bch.iter(|| mult.multiply(black_box(&ta), black_box(&tb)).unwrap())
        });
        g.bench_function(format!("rotate/ours/{n}"), |bch| {
            bch.iter(|| ev.rotate_rows(black_box(&a), 1, &gks).unwrap())
        });
        g.bench_function(format!("rotate/fhers/{n}"), |bch| {
            bch.iter(|| tek.rotates_columns_by(black_box(&ta), 1).unwrap())
        });
        g.bench_function(format!("encrypt_pk/ours/{n}"), |bch| {
            bch.iter(|| ours::Ciphertext::encrypt_pk(&pk, black_box(&pt), &mut rng).unwrap())
        });
        g.bench_function(format!("encrypt_pk/fhers/{n}"), |bch| {
            bch.iter(|| {
                let ct: theirs::Ciphertext = tpk.try_encrypt(black_box(&tpt), &mut trng).unwrap();
                ct
            })
        });
        g.bench_function(format!("decrypt_decode/ours/{n}"), |bch| {
            bch.iter(|| a.decrypt(&sk).unwrap().decode().unwrap())
        });
        g.bench_function(format!("decrypt_decode/fhers/{n}"), |bch| {
            bch.iter(|| {
                let p = tsk.try_decrypt(black_box(&ta)).unwrap();
                <Vec<u64>>::try_decode(&p, theirs::Encoding::simd()).unwrap()
            })
        });
        g.bench_function(format!("relin_keygen/ours/{n}"), |bch| {
            bch.iter(|| ours::RelinearizationKey::generate(&sk, &mut rng).unwrap())
        });
        g.bench_function(format!("relin_keygen/fhers/{n}"), |bch| {
            bch.iter(|| theirs::RelinearizationKey::new(&tsk, &mut trng).unwrap())
        });
    }
    g.finish();
}

#[path = "../../support/cpu_time.rs"]
mod cpu_time;

/// Wall time by default; the thread's CPU time with `MIGRATIONFHE_BENCH_CPU_TIME=1` (shared
/// machines; both libraries run single-threaded here).
fn main() {
    if cpu_time::requested() {
        let mut c = Criterion::default()
            .with_measurement(cpu_time::CpuTime)
            .configure_from_args();
        bench(&mut c);
        c.final_summary();
    } else {
        let mut c = Criterion::default().configure_from_args();
        bench(&mut c);
        c.final_summary();
    }
}
