//! Every real public manifest under `../shared/real-manifests` (outside the repository: those
//! files may not be redistributed) is read without panicking, and every physical line is
//! accounted for. Set `REKCHECK_REAL_MANIFESTS` to read them from elsewhere.

// Counting newlines naively is the point: it is independent of the framer under test.
#![allow(clippy::naive_bytecount)]

use std::path::PathBuf;

use rekcheck_analyze::{AnalyzeOptions, Analyzer, BlockAnalysis, ImageStatus, ManifestSummary};

fn folder() -> Option<PathBuf> {
    let dir = std::env::var_os("REKCHECK_REAL_MANIFESTS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/real-manifests"),
        PathBuf::from,
    );
    dir.is_dir().then_some(dir)
}

/// Physical lines as Rekognition counts them, computed independently of the framer.
fn physical_lines(bytes: &[u8]) -> u64 {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if body.is_empty() {
        return 0;
    }
    let newlines = body.iter().filter(|&&b| b == b'\n').count() as u64;
    newlines + u64::from(!body.ends_with(b"\n"))
}

#[test]
fn every_real_manifest_is_accounted_for() {
    let Some(dir) = folder() else {
        eprintln!("skipped: ../shared/real-manifests is not here (set REKCHECK_REAL_MANIFESTS)");
        return;
    };
    let mut files = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        files += 1;
        if ManifestSummary::sniff(&bytes[..]).is_some() {
            ManifestSummary::from_slice(&bytes).unwrap();
            continue;
        }
        let options = AnalyzeOptions {
            block_bytes: 4096,
            ..AnalyzeOptions::default()
        };
        let mut all = BlockAnalysis::default();
        let analyzer = Analyzer::new(2).unwrap().with_options(options);
        analyzer
            .analyze_reader(&bytes[..], |a| {
                all.rows.extend(a.rows);
                all.issues.extend(a.issues);
                all.stats += a.stats;
            })
            .unwrap();
        let s = all.stats;
        assert_eq!(s.lines, physical_lines(&bytes), "{name}");
        assert_eq!(
            s.lines,
            s.blank + s.unparsable + s.ok + s.warning + s.error,
            "{name}"
        );
        assert_eq!(all.rows.len() as u64, s.lines - s.blank, "{name}");
        let unparsable = all
            .rows
            .iter()
            .filter(|r| r.status == ImageStatus::Unparsable)
            .count();
        assert_eq!(unparsable as u64, s.unparsable, "{name}");
        // Spot checks from SOURCES.md.
        if name == "Armand-Lluka__rb-hackit-2024__manifest.json" {
            // SOURCES.md counts 4 lines that parse as JSON, but line 11 is a bare string, which
            // is not a JSON object: 9 unparsable lines.
            assert_eq!((s.lines, s.unparsable), (12, 9), "{name}");
        }
        if name == "rzarno__classify-dogs-tensorflow-aws-ground-truth__output.manifest.json" {
            assert_eq!((s.lines, s.unparsable), (28, 27), "{name}");
        }
        if name == "themacedo__Face_Detection__training_manifest_with_validation.json" {
            assert_eq!((s.lines, s.ok), (129, 129), "{name}");
            assert!(all.rows.iter().all(|r| !r.labels.is_empty()), "{name}");
        }
        if name == "awsdocs__example-validation-results-combined.jsonl" {
            assert_eq!((s.lines, s.error, s.warning), (4, 2, 2), "{name}");
        }
    }
    assert!(files > 40, "found only {files} files in {}", dir.display());
}
