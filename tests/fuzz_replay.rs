//! Replays the fuzz seed corpora (`fuzz/corpus/<target>/`) and random byte strings through the
//! same `migrationfhe::fuzzing` entry points the cargo-fuzz targets call, so every target runs
//! in the ordinary test suite.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use migrationfhe::fuzzing;
use proptest::prelude::*;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = format!("{}/fuzz/corpus/{target}", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        f(&std::fs::read(entry.unwrap().path()).unwrap());
        count += 1;
    }
    count
}

#[test]
fn corpora_replay() {
    assert!(replay("ntt_roundtrip", fuzzing::ntt_roundtrip) >= 3);
    assert!(replay("modulus_ops", fuzzing::modulus_ops) >= 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        fuzzing::ntt_roundtrip(&data);
        fuzzing::modulus_ops(&data);
    }
}
