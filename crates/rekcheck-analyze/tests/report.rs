//! The CSV report: exact headers, safe cells, identical bytes for any thread count, atomic files,
//! and the comparison with Rekognition's manifest summary.

use std::path::Path;

use rekcheck_analyze::{
    CODES_HEADER, Dataset, IMAGES_HEADER, ISSUES_HEADER, LABELS_HEADER, ManifestContext,
    ManifestSummary, REPORT_FILES, ReportOptions, ReportWriter, SUMMARY_HEADER,
};
use rekcheck_testkit::generate::{GenOptions, generate};

fn ctx(dataset: Dataset) -> ManifestContext {
    ManifestContext {
        project: "p".into(),
        version: "v1".into(),
        dataset,
        manifest: "m.json".into(),
    }
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn write_report(dir: &Path, manifest: &[u8], threads: usize, csv_raw: bool) {
    let options = ReportOptions {
        threads,
        csv_raw,
        analyze: rekcheck_analyze::AnalyzeOptions {
            block_bytes: 4096,
            ..Default::default()
        },
        ..ReportOptions::default()
    };
    let mut w = ReportWriter::create(dir, options).unwrap();
    w.add_manifest(&ctx(Dataset::Training), manifest, None, &mut |_| {})
        .unwrap();
    w.finish().unwrap();
}

#[test]
fn headers_are_exact_and_rows_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let m = br#"{"source-ref":"s3://b/a.jpg","bb":{"annotations":[{"class_id":0,"errors":[{"code":"ERROR_INVALID_BOUNDING_BOX","message":"off, \"frame\"\nnext"}]}]},"bb-metadata":{"class-map":{"0":"cat"}}}

not json
"#;
    write_report(dir.path(), m, 2, false);
    let expected: [&[&str]; 5] = [
        ISSUES_HEADER,
        IMAGES_HEADER,
        SUMMARY_HEADER,
        CODES_HEADER,
        LABELS_HEADER,
    ];
    for (name, header) in REPORT_FILES.iter().zip(expected) {
        let (h, _) = read_csv(&dir.path().join(name));
        assert_eq!(
            h,
            header.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
            "{name}"
        );
    }
    let (h, rows) = read_csv(&dir.path().join(rekcheck_analyze::VERSIONS_FILE));
    assert_eq!(
        h.join(","),
        "project,version,status,status_message,terminal_code,created,training_ended,lines,ok,warning,error,unparsable,report"
    );
    assert!(rows.is_empty());
    assert_eq!(
        ISSUES_HEADER.join(","),
        "project,version,dataset,manifest,line,source_ref,level,attribute,annotation,label,severity,code,message"
    );
    let (_, issues) = read_csv(&dir.path().join("issues.csv"));
    assert_eq!(issues.len(), 2);
    assert_eq!(
        issues[0],
        [
            "p",
            "v1",
            "training",
            "m.json",
            "1",
            "s3://b/a.jpg",
            "annotation",
            "bb",
            "0",
            "cat",
            "error",
            "ERROR_INVALID_BOUNDING_BOX",
            "off, \"frame\"\nnext"
        ]
    );
    assert_eq!(issues[1][4], "3");
    assert_eq!(issues[1][11], "REKCHECK_UNPARSABLE_LINE");
    let (_, summary) = read_csv(&dir.path().join("summary.csv"));
    assert_eq!(summary[0][4..12], ["3", "1", "1", "0", "0", "1", "2", "0"]);
    let (_, images) = read_csv(&dir.path().join("images.csv"));
    // Its only error is on a box: Rekognition still uses the image (`used`).
    assert_eq!(images[0][6..], ["error", "1", "0", "cat", "1", "yes"]);
    assert_eq!(images[1][6..], ["unparsable", "1", "0", "", "0", "no"]);
    let (_, codes) = read_csv(&dir.path().join("codes.csv"));
    assert_eq!(
        codes[0][3..8],
        ["error", "ERROR_INVALID_BOUNDING_BOX", "1", "1", "1"]
    );
    assert!(!codes[0][8].is_empty(), "meaning from the code table");
    let (_, labels) = read_csv(&dir.path().join("labels.csv"));
    assert_eq!(labels, [["p", "v1", "training", "cat", "1", "1", "1"]]);
    // RFC 4180 record terminators.
    let bytes = std::fs::read(dir.path().join("labels.csv")).unwrap();
    assert!(bytes.ends_with(b"\r\n"));
}

#[test]
fn formula_cells_are_defused_unless_raw() {
    let m = br#"{"source-ref":"=HYPERLINK(\"x\")","l":1,"l-metadata":{"class-name":"+cmd"},"errors":[{"code":"@X","message":"-1"}]}"#;
    let dir = tempfile::tempdir().unwrap();
    write_report(dir.path(), m, 1, false);
    let (_, issues) = read_csv(&dir.path().join("issues.csv"));
    assert_eq!(issues[0][5], "'=HYPERLINK(\"x\")");
    assert_eq!(issues[0][11], "'@X");
    assert_eq!(issues[0][12], "'-1");
    let (_, images) = read_csv(&dir.path().join("images.csv"));
    assert_eq!(images[0][9], "'+cmd");
    let raw = tempfile::tempdir().unwrap();
    write_report(raw.path(), m, 1, true);
    let (_, issues) = read_csv(&raw.path().join("issues.csv"));
    assert_eq!(issues[0][5], "=HYPERLINK(\"x\")");
    assert_eq!(issues[0][12], "-1");
}

#[test]
fn output_bytes_do_not_depend_on_the_thread_count() {
    let mut m = Vec::new();
    generate(
        &mut m,
        400_000,
        &GenOptions {
            seed: 5,
            issue_per_mille: 200,
            ..GenOptions::default()
        },
    )
    .unwrap();
    let one = tempfile::tempdir().unwrap();
    let four = tempfile::tempdir().unwrap();
    write_report(one.path(), &m, 1, false);
    write_report(four.path(), &m, 4, false);
    for name in REPORT_FILES {
        let a = std::fs::read(one.path().join(name)).unwrap();
        let b = std::fs::read(four.path().join(name)).unwrap();
        assert!(a.len() > 100, "{name} is nearly empty");
        assert!(a == b, "{name} differs between 1 and 4 threads");
    }
}

#[test]
fn nothing_appears_under_final_names_until_finish_and_a_dropped_report_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ReportWriter::create(dir.path(), ReportOptions::default()).unwrap();
    w.add_manifest(&ctx(Dataset::Training), &b"{}\n"[..], None, &mut |_| {})
        .unwrap();
    for name in REPORT_FILES {
        assert!(
            !dir.path().join(name).exists(),
            "{name} visible before finish"
        );
    }
    drop(w);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "temporary files left behind"
    );

    let w = ReportWriter::create(dir.path(), ReportOptions::default()).unwrap();
    let summary = w.finish().unwrap();
    assert_eq!(summary.files.len(), 6);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
}

/// The temporary names used to be `.<file>.<pid>.partial`, opened with `File::create`: a link
/// planted there had its target overwritten.
#[cfg(unix)]
#[test]
fn links_planted_at_the_old_temporary_names_are_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("precious");
    std::fs::write(&target, "keep me").unwrap();
    let pid = std::process::id();
    let mut planted = Vec::new();
    for name in REPORT_FILES
        .iter()
        .chain([&rekcheck_analyze::VERSIONS_FILE])
    {
        let link = dir.path().join(format!(".{name}.{pid}.partial"));
        std::os::unix::fs::symlink(&target, &link).unwrap();
        planted.push(link);
    }
    let mut w = ReportWriter::create(dir.path(), ReportOptions::default()).unwrap();
    w.add_manifest(&ctx(Dataset::Training), &b"{}\n"[..], None, &mut |_| {})
        .unwrap();
    w.finish().unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    for name in REPORT_FILES {
        let meta = std::fs::symlink_metadata(dir.path().join(name)).unwrap();
        assert!(meta.file_type().is_file(), "{name} is not a plain file");
    }
    for link in planted {
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}

/// Another run holds the folder: the second writer stops before touching anything.
#[test]
fn a_second_writer_into_the_same_folder_is_refused_until_the_first_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let first = ReportWriter::create(dir.path(), ReportOptions::default()).unwrap();
    let err = ReportWriter::create(dir.path(), ReportOptions::default()).unwrap_err();
    assert!(
        matches!(err, rekcheck_analyze::Error::Locked { pid: Some(p), .. } if p == std::process::id()),
        "{err}"
    );
    assert!(err.to_string().contains("another rekcheck run"), "{err}");
    first.finish().unwrap();
    // finish_holding_lock: the files are final, the folder stays locked until the lock drops
    // (report.html is written in that window).
    let (summary, lock) = ReportWriter::create(dir.path(), ReportOptions::default())
        .unwrap()
        .finish_holding_lock()
        .unwrap();
    assert!(summary.files.iter().all(|f| f.is_file()));
    assert!(matches!(
        ReportWriter::create(dir.path(), ReportOptions::default()),
        Err(rekcheck_analyze::Error::Locked { .. })
    ));
    drop(lock);
    ReportWriter::create(dir.path(), ReportOptions::default())
        .unwrap()
        .finish()
        .unwrap();
}

fn compare(indices: &str, total: u64) -> rekcheck_analyze::RekognitionCounts {
    let summary = ManifestSummary::from_slice(
        format!(r#"{{"statistics":{{"training":{{"total_json_lines":{total},"error_json_line_indices":{indices}}}}}}}"#).as_bytes(),
    )
    .unwrap();
    let m =
        b"{}\n{\"errors\":[{\"code\":\"ERROR_X\"}]}\n{}\n{\"errors\":[{\"code\":\"ERROR_Y\"}]}\n";
    let dir = tempfile::tempdir().unwrap();
    let mut w = ReportWriter::create(dir.path(), ReportOptions::default()).unwrap();
    let side = summary.statistics.training.as_ref();
    let r = w
        .add_manifest(&ctx(Dataset::Training), &m[..], side, &mut |_| {})
        .unwrap();
    r.rekognition.clone().unwrap()
}

#[test]
fn the_index_base_is_worked_out_from_the_lines_in_error() {
    let one = compare("[2,4]", 4);
    assert_eq!((one.index_base, one.agrees), (Some(1), true));
    let zero = compare("[1,3]", 4);
    assert_eq!((zero.index_base, zero.agrees), (Some(0), true));
    let short = compare("[2]", 4);
    assert_eq!((short.agrees, short.errors_not_indexed), (false, 1));
    let wrong_total = compare("[2,4]", 5);
    assert!(!wrong_total.agrees);
}

/// The summary's statistics for the four-line manifest of `compare`: lines 2 and 4 in error.
fn compare_with(training: &str) -> rekcheck_analyze::RekognitionCounts {
    let summary = ManifestSummary::from_slice(
        format!(r#"{{"statistics":{{"training":{training}}}}}"#).as_bytes(),
    )
    .unwrap();
    let m = b"{}\n{\"errors\":[{\"code\":\"ERROR_X\"}]}\n\n{\"b\":{\"annotations\":[{\"errors\":[{\"code\":\"ERROR_BOUNDING_BOX_TOO_SMALL\"}]}]}}\n";
    let mut w = ReportWriter::in_memory(ReportOptions::default()).unwrap();
    let side = summary.statistics.training.as_ref();
    let r = w
        .add_manifest(&ctx(Dataset::Training), &m[..], side, &mut |_| {})
        .unwrap();
    r.rekognition.clone().unwrap()
}

/// Agreement is each count and the index set: 4 lines, of which line 1 is valid, line 2
/// invalid (a line-level error), line 3 blank (invalid), line 4 valid (only its box is dropped).
#[test]
fn agreement_is_every_count_and_the_index_set_and_says_what_differs() {
    let same = compare_with(
        r#"{"total_json_lines":4,"valid_json_lines":2,"invalid_json_lines":2,"ignored_json_lines":0,"error_json_line_indices":[2,4]}"#,
    );
    assert!(same.agrees, "{same:?}");
    assert_eq!(same.agreement(), "yes");
    // Same total and indices, other counts: not an agreement any more.
    let other = compare_with(
        r#"{"total_json_lines":4,"valid_json_lines":1,"invalid_json_lines":3,"ignored_json_lines":0,"error_json_line_indices":[2,4]}"#,
    );
    assert!(!other.agrees);
    assert_eq!(other.agreement(), "no: valid 2 vs 1; invalid 2 vs 3");
    // No indices at all while rekcheck finds lines in error.
    let unlisted = compare_with(
        r#"{"total_json_lines":4,"valid_json_lines":2,"invalid_json_lines":2,"ignored_json_lines":0,"error_json_line_indices":[]}"#,
    );
    assert_eq!(
        unlisted.agreement(),
        "no: lines with errors not listed: 2, 4"
    );
    // A summary that contradicts itself.
    let contradicts = compare_with(
        r#"{"total_json_lines":4,"valid_json_lines":2,"invalid_json_lines":2,"ignored_json_lines":1,"error_json_line_indices":[2,4,9]}"#,
    );
    assert_eq!(
        contradicts.agreement(),
        "no: the summary contradicts itself: total 4 is not valid 2 + invalid 2 + ignored 1; \
         the summary contradicts itself: indices outside its 4 lines (1-based): 9; \
         ignored 0 vs 1; listed lines without errors: 9"
    );
}
