//! Any line: check never panics and gives one row (or a blank), the fast path agrees with what
//! fix keeps, and a line fix writes is valid JSON that check finds no line-level error in.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rekcheck_analyze::{
    CheckOptions, FixOptions, Level, LineOutcome, Severity, check_line, fix_line,
};

fuzz_target!(|data: &[u8]| {
    let options = CheckOptions {
        max_line_bytes: 1 << 16,
        images: None,
    };
    let line = data.split(|&b| b == b'\n').next().unwrap_or_default();
    let (outcome, _) = check_line(1, line, &options);
    if let LineOutcome::Image { row, issues } = &outcome {
        assert_eq!(row.errors as usize + row.warnings as usize, issues.len());
    }
    let fixed = fix_line(
        1,
        line,
        &FixOptions {
            drop_warnings: false,
            max_line_bytes: 1 << 16,
            threads: 1,
            csv_raw: false,
        },
    );
    if let Some(out) = fixed.output {
        assert!(
            serde_json::from_slice::<serde_json::Value>(&out).is_ok(),
            "{}",
            String::from_utf8_lossy(&out)
        );
        let (again, _) = check_line(1, &out, &options);
        if let LineOutcome::Image { issues, .. } = again {
            assert!(
                !issues
                    .iter()
                    .any(|i| i.severity == Severity::Error && i.level != Level::Annotation),
                "{issues:?}"
            );
        }
    }
});
