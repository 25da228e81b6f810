//! Known-answer NTT vectors (vectors/ntt/, produced by an independent Python script) under every
//! backend this CPU offers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod common;

use common::SplitMix64;
use migrationfhe::math::ntt::{Backend, NttPlan};
use migrationfhe::math::primes::minimal_primitive_root;
use migrationfhe::math::Modulus;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

fn records(text: &str) -> Vec<HashMap<String, String>> {
    let mut out = Vec::new();
    let mut cur = HashMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        if line.is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let (k, v) = line.split_once('=').expect("key = value");
        cur.insert(k.trim().to_string(), v.trim().to_string());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn words(s: &str) -> Vec<u64> {
    s.split_whitespace().map(|w| w.parse().unwrap()).collect()
}

#[test]
fn ntt_known_answers_on_every_backend() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/ntt");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut checked = 0;
    let mut ran = std::collections::BTreeSet::new();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
    {
        for rec in records(&std::fs::read_to_string(path).unwrap()) {
            let n: usize = rec["n"].parse().unwrap();
            let q: u64 = rec["q"].parse().unwrap();
            let psi: u64 = rec["psi"].parse().unwrap();
            let seed: u64 = rec["input_seed"].parse().unwrap();
            assert_eq!(minimal_primitive_root(n, q).unwrap(), psi, "{path:?} n={n}");
            let input: Vec<u64> = SplitMix64(seed).take(n).map(|x| x % q).collect();
            if let Some(s) = rec.get("input") {
                assert_eq!(words(s), input, "{path:?} n={n}: input generator");
            }
            for backend in Backend::available(&Modulus::new(q).unwrap()) {
                let plan = NttPlan::with_backend(n, q, backend).unwrap();
                let mut a = input.clone();
                plan.forward(&mut a).unwrap();
                if let Some(s) = rec.get("output") {
                    assert_eq!(words(s), a, "{path:?} n={n} {backend}");
                }
                let bytes: Vec<u8> = a.iter().flat_map(|x| x.to_le_bytes()).collect();
                let digest: String = Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                assert_eq!(digest, rec["output_sha256"], "{path:?} n={n} {backend}");
                plan.inverse(&mut a).unwrap();
                assert_eq!(a, input, "{path:?} n={n} {backend}: inverse");
                ran.insert(backend);
                checked += 1;
            }
        }
    }
    println!("checked {checked} (vector, backend) pairs; backends: {ran:?}");
    assert!(checked >= 14, "the vector files were not all read");
}
