//! Multiplicative depth at the benchmark presets: consecutive squarings (each relinearised)
//! that still decrypt correctly, at least SEAL's at the same N and log Q with t = 786433
//! (4 at 2^13 / 218 bits, 10 at 2^14 / 438 bits). The public noise estimate is checked against
//! the measured noise after every squaring.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use migrationfhe::bfv::{
    Ciphertext, Evaluator, Parameters, Plaintext, PublicKey, RelinearizationKey, SecretKey,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::sync::Arc;

fn depth(params: &Arc<Parameters>, max: usize) -> usize {
    let mut rng = ChaCha20Rng::seed_from_u64(2024);
    let sk = SecretKey::generate(params.ring(), &mut rng).unwrap();
    let pk = PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let ev = Evaluator::new(params);
    let t = params.plaintext_modulus();
    let n = params.degree();
    let mut want: Vec<u64> = (0..n).map(|_| rng.next_u64() % t).collect();
    let mut ct =
        Ciphertext::encrypt_pk(&pk, &Plaintext::encode(params, &want).unwrap(), &mut rng).unwrap();
    let mut done = 0;
    while done < max {
        let Ok(sq) = ev.square(&ct) else { break };
        ct = ev.relinearize(&sq, &rlk).unwrap();
        want = want
            .iter()
            .map(|&x| ((x as u128 * x as u128) % t as u128) as u64)
            .collect();
        let measured = ct.noise_budget_vartime(&sk).unwrap();
        let estimate = ct.estimated_budget();
        eprintln!(
            "N={n} squaring {}: budget measured {measured:.1} bits, estimated {estimate:.1}",
            done + 1
        );
        if ct.decrypt(&sk).unwrap().decode().unwrap() != want {
            break;
        }
        assert!(
            estimate <= measured,
            "estimate {estimate} > measured {measured}"
        );
        done += 1;
    }
    done
}

#[test]
fn squaring_depth_matches_seal_at_the_benchmark_presets() {
    let d13 = depth(&Parameters::n8192_logq218_t20bit().unwrap(), 4);
    assert!(d13 >= 4, "depth {d13} at N = 2^13");
    let d14 = depth(&Parameters::n16384_logq438_t20bit().unwrap(), 10);
    assert!(d14 >= 10, "depth {d14} at N = 2^14");
}
