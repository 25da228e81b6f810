#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| migrationfhe::fuzzing::decode_threshold_setup(data));
