//! Fuzz target: the dotenv parser of procmux must return on any input, never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    procmux::manifest::fuzzing::dotenv(data);
});
