#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| migrationfhe::fuzzing::decode_ckks_public_key(data));
