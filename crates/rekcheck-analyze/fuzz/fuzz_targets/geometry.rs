//! Any bytes as one line: the drawing's geometry read by the serde visitors equals the one read
//! through a `serde_json::Value` of the line, wherever the line is a valid `Value` (see
//! `geometry_agrees`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rekcheck_analyze::geometry_agrees(data);
});
