//! Shared set-up of the flow-matrix tests (`analytics_flows`, `analytics_flows_bfv`,
//! `analytics_hierarchy`): the bundled data folder, the count prime, the Abel–Sander flow
//! specification and the agencies' signed submissions.
#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use migrationfhe::analytics::data::AbelSander;
use migrationfhe::analytics::flows::{contribution, contribution_label, FlowSpec};
use migrationfhe::analytics::{SlotBackend, Submission};
use rand_core::SeedableRng;
use std::path::PathBuf;

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The 31-bit count prime of `bfv::Parameters::n16384_count_t31bit`.
pub fn t31() -> u64 {
    migrationfhe::math::primes::largest_ntt_prime(31, 1 << 14).unwrap()
}

pub fn abel_sander_spec(d: &AbelSander, corridors: Vec<(usize, usize)>) -> FlowSpec {
    let codes: Vec<(&str, &str)> = corridors
        .iter()
        .map(|&(o, t)| (d.countries[o].iso3.as_str(), d.countries[t].iso3.as_str()))
        .collect();
    let spec = FlowSpec::abel_sander("test abel-sander flows", d, 10_000_000, 100_000_000, &codes)
        .unwrap();
    assert_eq!(spec.corridors, corridors);
    spec
}

pub fn submit<B: SlotBackend<Value = i64>, E: migrationfhe::analytics::Encryptor<B>>(
    be: &B,
    enc: &E,
    spec: &FlowSpec,
    flows: &[Vec<u64>],
) -> Vec<Submission<B::Ct>> {
    let layout = spec.layout(be.slots(), be.row_len()).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let mut subs = Vec::new();
    for (a, ag) in spec.agencies.iter().enumerate() {
        let key = SigningKey::from_bytes(&[a as u8 + 1; 32]);
        for (p, pname) in spec.periods.iter().enumerate() {
            let (fwd, rev) = contribution(spec, &layout, a, &flows[p]).unwrap();
            for (rv, vecs) in [(false, fwd), (true, rev)] {
                let cts = vecs
                    .iter()
                    .map(|v| enc.encrypt(v, &mut rng).unwrap())
                    .collect();
                subs.push(Submission::sign(
                    be,
                    &spec.analysis,
                    &ag.name,
                    &contribution_label(pname, rv),
                    cts,
                    &key,
                ));
            }
        }
    }
    subs
}
