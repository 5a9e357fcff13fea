//! Any bytes as one line: where `check`'s scanner reads the line, the `serde` visitors read the
//! same `FastLine` (see `scan_agrees`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rekcheck_analyze::scan_agrees(data);
});
