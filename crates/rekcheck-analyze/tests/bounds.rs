//! Memory and output stay bounded by the limits, not by the shape of the input (issue 12):
//! issues listed per line, shared strings, cell length, distinct keys per table, lines per
//! manifest.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use rekcheck_analyze::{
    AnalyzeOptions, CheckOptions, CheckTally, Dataset, ImageStatus, LineOutcome, MAX_CODE_ROWS,
    MAX_LABEL_ROWS, ManifestContext, OTHER_ROW, REKCHECK_MAX_LINES, REKCHECK_TOO_MANY_ISSUES,
    ReportOptions, ReportWriter, Severity, analyze_line, check_line,
};

fn ctx() -> ManifestContext {
    ManifestContext {
        project: "p".into(),
        version: "v1".into(),
        dataset: Dataset::Training,
        manifest: "m.json".into(),
    }
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// One line whose `errors` hold `n` distinct codes.
fn line_with_codes(source_ref: &str, n: usize) -> String {
    let mut line = format!(r#"{{"source-ref":"{source_ref}","errors":["#);
    for i in 0..n {
        if i > 0 {
            line.push(',');
        }
        write!(line, r#"{{"code":"ERROR_{i}","message":"m"}}"#).unwrap();
    }
    line.push_str("]}");
    line
}

#[test]
fn a_line_lists_at_most_max_issues_and_counts_the_rest() {
    // 100,000 distinct codes on one line (1.7 MB): 1,000 listed, one row says how many more.
    let line = line_with_codes("s3://b/a.jpg", 100_000);
    let LineOutcome::Image { row, issues } = analyze_line(1, line.as_bytes(), 1 << 24) else {
        panic!("blank");
    };
    assert_eq!(row.errors, 100_000, "every issue is counted");
    assert_eq!(row.status, ImageStatus::Error);
    assert_eq!(issues.len(), 1001);
    assert_eq!(issues[999].code, "ERROR_999");
    let last = &issues[1000];
    assert_eq!(last.code, REKCHECK_TOO_MANY_ISSUES);
    assert_eq!(last.severity, Severity::Warning);
    assert!(
        last.message.starts_with("99000 more issues"),
        "{}",
        last.message
    );

    // check predicts per line too, with the same cap.
    let options = CheckOptions {
        max_line_bytes: 1 << 24,
        images: None,
    };
    let boxes: Vec<String> = (0..3000)
        .map(|_| r#"{"class_id":0,"top":-5,"left":1,"width":10,"height":10}"#.to_owned())
        .collect();
    let objects = vec![r#"{"confidence":1}"#; 3000].join(",");
    let line = format!(
        r#"{{"source-ref":"s3://bucket/k.jpg","bb":{{"image_size":[{{"width":100,"height":100,"depth":3}}],"annotations":[{}]}},"bb-metadata":{{"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2026-01-01T00:00:00","objects":[{objects}],"class-map":{{"0":"cat"}}}}}}"#,
        boxes.join(",")
    );
    let (LineOutcome::Image { row, issues }, _) = check_line(1, line.as_bytes(), &options) else {
        panic!("blank");
    };
    // 3000 bad boxes and the line's own errors (too many boxes, no valid annotation...).
    assert!(row.errors > 3000);
    assert_eq!(issues.len(), 1001);
    assert_eq!(issues[1000].code, REKCHECK_TOO_MANY_ISSUES);
    let more = format!("{} more issues", row.errors - 1000);
    assert!(
        issues[1000].message.starts_with(&more),
        "{}",
        issues[1000].message
    );
}

#[test]
fn the_issues_of_a_line_share_its_strings() {
    let source_ref = format!("s3://b/{}.jpg", "k".repeat(100_000));
    let attribute = "a".repeat(10_000);
    let mut line = format!(r#"{{"source-ref":"{source_ref}","{attribute}":{{"annotations":["#);
    for i in 0..50 {
        if i > 0 {
            line.push(',');
        }
        line.push_str(r#"{"class_id":0,"errors":[{"code":"E","message":""}]}"#);
    }
    write!(
        line,
        r#"]}},"{attribute}-metadata":{{"class-map":{{"0":"{}"}}}}}}"#,
        "c".repeat(10_000)
    )
    .unwrap();
    let LineOutcome::Image { issues, .. } = analyze_line(1, line.as_bytes(), 1 << 24) else {
        panic!("blank");
    };
    assert_eq!(issues.len(), 50);
    for i in &issues[1..] {
        assert!(Arc::ptr_eq(&i.source_ref, &issues[0].source_ref));
        assert!(Arc::ptr_eq(&i.attribute, &issues[0].attribute));
        assert!(Arc::ptr_eq(&i.label, &issues[0].label));
    }
    assert_eq!(&*issues[0].source_ref, source_ref);
    assert_eq!(issues[0].label.len(), 10_000);
}

#[test]
fn long_cells_are_cut_with_a_marker_raw_or_not() {
    // The 1001st byte falls inside a two-byte character: 1000 bytes are kept. Raw cells (the
    // default for S3) are cut too, so that a hostile line cannot turn into gigabytes of CSV;
    // only the spreadsheet defusing differs.
    let source_ref = format!("s3://bb/{}.jpg", "é".repeat(50_000));
    let manifest = format!("{}\n", line_with_codes(&source_ref, 3));
    for raw in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let options = ReportOptions {
            csv_raw: raw,
            max_cell_bytes: 1001,
            ..ReportOptions::default()
        };
        let mut w = ReportWriter::create(dir.path(), options).unwrap();
        w.add_manifest(&ctx(), manifest.as_bytes(), None, &mut |_| {})
            .unwrap();
        w.finish().unwrap();
        for file in ["issues.csv", "images.csv"] {
            let rows = read_csv(&dir.path().join(file));
            assert!(!rows.is_empty());
            for r in rows {
                let cell = &r[5];
                let kept = &source_ref[..1000];
                let cut = source_ref.len() - 1000;
                assert_eq!(*cell, format!("{kept}…[truncated {cut} bytes]"), "{file}");
            }
        }
    }
}

#[test]
fn tables_keep_at_most_their_distinct_keys_and_add_up_the_rest() {
    // One classification label per line, MAX_LABEL_ROWS + 50 labels; one code per line,
    // MAX_CODE_ROWS + 50 codes.
    let mut manifest = String::new();
    for i in 0..MAX_LABEL_ROWS + 50 {
        let code = i % (MAX_CODE_ROWS + 50);
        writeln!(
            manifest,
            r#"{{"source-ref":"s3://b/{i}.jpg","x":0,"x-metadata":{{"class-name":"label{i:05}"}},"errors":[{{"code":"ERROR_{code:04}","message":""}}]}}"#
        )
        .unwrap();
    }
    let mut w = ReportWriter::in_memory(ReportOptions {
        threads: 2,
        ..ReportOptions::default()
    })
    .unwrap();
    w.add_manifest(&ctx(), manifest.as_bytes(), None, &mut |_| {})
        .unwrap();
    let summary = w.finish().unwrap();

    assert_eq!(summary.labels.len(), MAX_LABEL_ROWS + 1);
    let other: Vec<_> = summary
        .labels
        .iter()
        .filter(|l| l.label == OTHER_ROW)
        .collect();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].images, 50);
    assert_eq!(summary.labels_overflow, 50);
    let images: u64 = summary.labels.iter().map(|l| l.images).sum();
    assert_eq!(
        images,
        (MAX_LABEL_ROWS + 50) as u64,
        "every image is counted"
    );

    assert_eq!(summary.codes.len(), MAX_CODE_ROWS + 1);
    let other = summary
        .codes
        .iter()
        .find(|c| c.code == OTHER_ROW)
        .expect("an (other) row");
    assert_eq!(summary.codes_overflow, other.issues);
    assert!(other.issues > 0);
    let issues: u64 = summary.codes.iter().map(|c| c.issues).sum();
    assert_eq!(
        issues,
        (MAX_LABEL_ROWS + 50) as u64,
        "every issue is counted"
    );
}

#[test]
fn lines_past_max_lines_are_counted_not_analyzed() {
    let mut manifest = String::new();
    for i in 0..25 {
        writeln!(manifest, r#"{{"source-ref":"s3://b/{i}.jpg"}}"#).unwrap();
    }
    // In one block (cut inside it) and in many small blocks (whole blocks skipped).
    for block_bytes in [1 << 20, 64] {
        let dir = tempfile::tempdir().unwrap();
        let options = ReportOptions {
            analyze: AnalyzeOptions {
                max_lines: 10,
                block_bytes,
                ..AnalyzeOptions::default()
            },
            ..ReportOptions::default()
        };
        let mut w = ReportWriter::create(dir.path(), options).unwrap();
        let m = w
            .add_manifest(&ctx(), manifest.as_bytes(), None, &mut |_| {})
            .unwrap();
        assert_eq!(m.stats.lines, 10);
        assert_eq!(m.stats.ok, 10);
        assert_eq!(m.bytes, manifest.len() as u64, "every byte is read");
        let summary = w.finish().unwrap();
        let (_, issue) = summary
            .terminal
            .iter()
            .find(|(_, i)| i.code == REKCHECK_MAX_LINES)
            .expect("a REKCHECK_MAX_LINES issue");
        assert_eq!(issue.severity, Severity::Error);
        assert!(
            issue
                .message
                .starts_with("The manifest has 15 more lines after line 10"),
            "{}",
            issue.message
        );
        let images = read_csv(&dir.path().join("images.csv"));
        assert_eq!(images.len(), 10);
        assert_eq!(images[9][4], "10");
    }
}

#[test]
fn check_tallies_keep_at_most_their_distinct_keys() {
    use rekcheck_analyze::{Block, BlockKind, MAX_TALLY_BUCKETS, check_block};
    let meta = r#"{"type":"groundtruth/image-classification","class-name":"cat","confidence":1,"human-annotated":"yes","creation-date":"2026-01-01T00:00:00"}"#;
    let mut data = String::new();
    let n = MAX_TALLY_BUCKETS + 20;
    for i in 0..n {
        writeln!(
            data,
            r#"{{"source-ref":"s3://bucket-{i:05}/k.jpg","x":0,"x-metadata":{meta}}}"#
        )
        .unwrap();
    }
    let block = Block::new(0, 1, BlockKind::Lines(data.into_bytes()));
    let options = CheckOptions {
        max_line_bytes: 1 << 20,
        images: None,
    };
    let (mut analysis, checked) = check_block(&block, &options);
    let mut tally = CheckTally::new();
    tally.absorb(&mut analysis, &checked);
    assert_eq!(tally.buckets().len(), MAX_TALLY_BUCKETS);
    assert_eq!(tally.overflow(), 20);
    let issues = tally.dataset_issues(&analysis.stats, 0);
    let buckets = issues
        .iter()
        .find(|i| i.code == "ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS")
        .unwrap();
    assert!(
        buckets.message.contains("at least 1000 buckets"),
        "{}",
        buckets.message
    );
}

#[test]
fn a_block_whose_csv_is_too_big_for_a_worker_is_written_whole_and_in_order() {
    // Three lines of 1,000 issues with a 10 KB source-ref: over 30 MB of issues.csv from one
    // block, rendered by the writer in chunks; the same bytes whatever the thread count.
    let source_ref = format!("s3://b/{}.jpg", "k".repeat(10_000));
    let mut manifest = String::new();
    for _ in 0..3 {
        manifest.push_str(&line_with_codes(&source_ref, 1000));
        manifest.push('\n');
    }
    let mut outputs = Vec::new();
    for threads in [1, 4] {
        let dir = tempfile::tempdir().unwrap();
        let options = ReportOptions {
            threads,
            ..ReportOptions::default()
        };
        let mut w = ReportWriter::create(dir.path(), options).unwrap();
        w.add_manifest(&ctx(), manifest.as_bytes(), None, &mut |_| {})
            .unwrap();
        w.finish().unwrap();
        let issues = std::fs::read(dir.path().join("issues.csv")).unwrap();
        assert!(issues.len() > 30_000_000);
        let rows = read_csv(&dir.path().join("issues.csv"));
        assert_eq!(rows.len(), 3000);
        let lines: Vec<&str> = rows.iter().map(|r| r[4].as_str()).collect();
        assert!(lines[..1000].iter().all(|l| *l == "1"));
        assert!(lines[2000..].iter().all(|l| *l == "3"));
        assert_eq!(rows[1999][11], "ERROR_999");
        outputs.push(issues);
    }
    assert!(outputs[0] == outputs[1]);
}
