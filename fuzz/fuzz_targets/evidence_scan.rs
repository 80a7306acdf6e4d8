#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| xwal::internals::fuzzing::evidence_scan(data));
