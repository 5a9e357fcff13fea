//! Any bytes as a block of lines: the report's fast path (well-formed lines rendered straight to
//! CSV) and the full analyzer (`analyze_line` for every line, then the typed rows rendered) give
//! the same `issues.csv` and `images.csv` bytes and the same counts, with any cell and issue caps.
//! The first byte picks the options (see `fast_path_agrees`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, data)) = data.split_first() else {
        return;
    };
    rekcheck_analyze::fast_path_agrees(data, knobs);
});
