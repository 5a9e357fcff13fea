//! Any bytes as a manifest: the report's fast path (a writer without a block callback renders
//! well-formed lines straight to CSV) and the full analyzer (a writer with a callback needs the
//! typed rows of every line) write the same files, byte for byte, with any cell and issue caps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rekcheck_analyze::{
    AnalyzeOptions, Dataset, ManifestContext, REPORT_FILES, ReportOptions, ReportWriter,
};

fn report(data: &[u8], callback: bool, options: ReportOptions) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ReportWriter::create(dir.path(), options).unwrap();
    if callback {
        w.on_block(Box::new(|_, _| {}));
    }
    let context = ManifestContext {
        project: "p".into(),
        dataset: Dataset::Training,
        manifest: "m.json".into(),
        ..ManifestContext::default()
    };
    w.add_manifest(&context, data, None, &mut |_| {}).unwrap();
    w.finish().unwrap();
    REPORT_FILES
        .iter()
        .map(|f| std::fs::read(dir.path().join(f)).unwrap_or_default())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, data)) = data.split_first() else {
        return;
    };
    let options = ReportOptions {
        threads: 1,
        csv_raw: knobs & 1 == 1,
        max_cell_bytes: if knobs & 2 == 2 { 16 } else { 64 << 10 },
        analyze: AnalyzeOptions {
            max_issues_per_line: usize::from(knobs >> 4).max(1),
            max_line_bytes: 4096,
            block_bytes: 256,
            ..AnalyzeOptions::default()
        },
        ..ReportOptions::default()
    };
    assert_eq!(report(data, false, options), report(data, true, options));
});
