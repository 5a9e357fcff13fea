//! End-to-end tests of the `rekcheck` binary on the bundled sample scenarios.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rekcheck(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rekcheck"))
        .current_dir(root())
        .args(args)
        .arg("--out")
        .arg(out)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

const FILES: [&str; 6] = [
    "issues.csv",
    "images.csv",
    "summary.csv",
    "codes.csv",
    "labels.csv",
    "versions.csv",
];

/// A report file with the output folder (in `versions.csv`) replaced by `<out>`.
fn read_report(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .replace(&dir.display().to_string(), "<out>")
}

fn snapshot_scenario(name: &str, expected_exit: i32) {
    let out = tempfile::tempdir().unwrap();
    let path = format!("sample-manifests/{name}");
    let o = rekcheck(&["report", &path, "--threads", "2"], out.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(expected_exit), "{stderr}");
    assert!(o.stdout.is_empty(), "stdout carries data only");
    for file in FILES {
        let text = read_report(out.path(), file);
        insta::assert_snapshot!(format!("{name}__{file}"), text.replace("\r\n", "\n"));
    }
    // The same bytes with one thread.
    let one = tempfile::tempdir().unwrap();
    let o1 = rekcheck(&["report", &path, "--threads", "1"], one.path());
    assert_eq!(o1.status.code(), Some(expected_exit));
    for file in FILES {
        assert_eq!(
            read_report(out.path(), file),
            read_report(one.path(), file),
            "{file}"
        );
    }
}

#[test]
fn failed_object_detection_scenario() {
    snapshot_scenario("failed-object-detection", 1);
}

#[test]
fn failed_classification_scenario() {
    snapshot_scenario("failed-classification", 1);
}

#[test]
fn clean_training_scenario() {
    snapshot_scenario("clean-training", 0);
}

#[test]
fn two_versions_scenario() {
    snapshot_scenario("two-versions", 1);
}

#[test]
fn the_stderr_summary_explains_the_failure() {
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(
        &["report", "sample-manifests/failed-classification"],
        out.path(),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("9 lines: 7 ok, 0 warning, 2 error, 0 unparsable, 0 blank"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error indices are 0-based; agrees with rekcheck"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ERROR_INSUFFICIENT_LABEL_OVERLAP"),
        "{stderr}"
    );
    assert!(stderr.contains("\"fish\"; overlap is 0 %"), "{stderr}");
    assert!(
        stderr.contains("Fix: Write the image location as s3://bucket/key."),
        "{stderr}"
    );
}

#[test]
fn fail_on_sets_the_exit_code() {
    let out = tempfile::tempdir().unwrap();
    let scenario = "sample-manifests/failed-object-detection";
    let never = rekcheck(
        &["report", scenario, "--fail-on", "never", "-q"],
        out.path(),
    );
    assert_eq!(never.status.code(), Some(0));
    assert!(
        never.stderr.is_empty(),
        "quiet: {}",
        String::from_utf8_lossy(&never.stderr)
    );
    // Only warnings: exit 0 by default, 1 with --fail-on warning.
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("warnings-only.json");
    std::fs::write(
        &m,
        "{\"source-ref\":\"s3://b/a.jpg\",\"warnings\":[{\"code\":\"WARNING_UNANNOTATED_RECORD\",\"message\":\"Record is unannotated.\"}]}\n",
    )
    .unwrap();
    let m = m.to_str().unwrap();
    assert_eq!(rekcheck(&["report", m], out.path()).status.code(), Some(0));
    assert_eq!(
        rekcheck(&["report", m, "--fail-on", "warning"], out.path())
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn a_file_is_read_as_a_manifest_whatever_its_name_unless_it_is_a_summary() {
    let out = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("whatever.txt");
    std::fs::write(&m, "{\"source-ref\":\"s3://b/a.jpg\"}\n\n").unwrap();
    let s = dir.path().join("stats.txt");
    std::fs::write(&s, "{\"errors\":[{\"code\":\"ERROR_MANIFEST_TOO_FEW_LABELS\",\"message\":\"m\"}],\n \"statistics\":{}}").unwrap();
    let o = rekcheck(
        &["report", m.to_str().unwrap(), s.to_str().unwrap()],
        out.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary = std::fs::read_to_string(out.path().join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 2, "{summary}");
    assert!(summary.contains(",2,1,0,1,0,0,0,0,"), "{summary}");
    let issues = std::fs::read_to_string(out.path().join("issues.csv")).unwrap();
    assert!(
        issues.contains(",manifest,,,,error,ERROR_MANIFEST_TOO_FEW_LABELS,m"),
        "{issues}"
    );
}

#[test]
fn unreadable_inputs_exit_2_and_say_what_was_searched() {
    let out = tempfile::tempdir().unwrap();
    // A missing path alone still gets its row, as a missing S3 object does.
    let o = rekcheck(&["report", "no/such/path"], out.path());
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("rekcheck: error: no/such/path: cannot read it"),
        "{stderr}"
    );
    let summary = std::fs::read_to_string(out.path().join("summary.csv")).unwrap();
    assert!(
        summary.contains(",,,no/such/path,0,0,0,0,0,0,0,0,,,,,,fail: REKCHECK_READ_FAILED\r\n"),
        "{summary}"
    );

    let empty = tempfile::tempdir().unwrap();
    let o = rekcheck(&["report", empty.path().to_str().unwrap()], out.path());
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("no manifests found in"), "{stderr}");
    assert!(
        stderr.contains("TrainingManifestWithValidation-<project>-<version>.json"),
        "{stderr}"
    );

    // One bad path among good ones: the rest is still reported, and the exit code is 2.
    let o = rekcheck(
        &[
            "report",
            "sample-manifests/clean-training",
            "no/such/file.json",
        ],
        out.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let summary = std::fs::read_to_string(out.path().join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 4, "{summary}");
    assert!(
        summary
            .contains(",,,no/such/file.json,0,0,0,0,0,0,0,0,,,,,,fail: REKCHECK_READ_FAILED\r\n"),
        "{summary}"
    );
}

#[test]
fn every_manifest_named_gets_a_summary_row_even_when_it_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, "{\"source-ref\":\"s3://b/a.jpg\"}\n").unwrap();
    // gzip magic, then a header that is not gzip: the read fails before the first block.
    let broken = dir.path().join("broken.json.gz");
    std::fs::write(&broken, b"\x1f\x8b\x00\x00 not gzip at all").unwrap();
    let missing = dir.path().join("TrainingManifestWithValidation-p-v.json");
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(
        &[
            "report",
            good.to_str().unwrap(),
            broken.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
        out.path(),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let summary = std::fs::read_to_string(out.path().join("summary.csv")).unwrap();
    let rows: Vec<&str> = summary.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{summary}");
    // Without any validation result (no errors or warnings key) it is not validated.
    assert!(
        rows[0].ends_with("good.json,1,0,0,1,0,0,0,0,,,,,,not validated"),
        "{summary}"
    );
    for (row, name, names) in [
        (rows[1], "broken.json.gz", ",,"),
        (
            rows[2],
            "TrainingManifestWithValidation-p-v.json",
            "p,v,training",
        ),
    ] {
        assert!(row.starts_with(&format!("{names},")), "{summary}");
        assert!(
            row.ends_with(&format!(
                "{name},0,0,0,0,0,0,0,0,,,,,,fail: REKCHECK_READ_FAILED"
            )),
            "{summary}"
        );
    }
    let issues = std::fs::read_to_string(out.path().join("issues.csv")).unwrap();
    for name in ["broken.json.gz", "TrainingManifestWithValidation-p-v.json"] {
        assert!(
            issues
                .lines()
                .any(|l| l.contains(name) && l.contains(",error,REKCHECK_READ_FAILED,")),
            "{issues}"
        );
    }
}

#[test]
fn since_refuses_overflowing_durations_and_dates_not_on_the_calendar() {
    let out = tempfile::tempdir().unwrap();
    for (since, why) in [
        ("213503982334721d", "before 1970"),
        ("2026-02-31", "28 days"),
        ("2025-02-29", "28 days"),
    ] {
        let o = rekcheck(
            &[
                "report",
                "sample-manifests/clean-training",
                "--since",
                since,
            ],
            out.path(),
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{since}: {stderr}");
        assert!(
            stderr.contains("--since") && stderr.contains(since) && stderr.contains(why),
            "{stderr}"
        );
    }
    let o = rekcheck(
        &[
            "report",
            "sample-manifests/clean-training",
            "--since",
            "2024-02-29",
        ],
        out.path(),
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn threads_and_concurrency_are_capped_with_a_note() {
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(
        &[
            "report",
            "sample-manifests/clean-training",
            "--threads",
            "1000",
            "--concurrency",
            "100000",
        ],
        out.path(),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("--threads 1000 is more than the 256 allowed; using 256"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--concurrency 100000 is more than the 256 allowed; using 256"),
        "{stderr}"
    );
}

#[test]
fn file_names_differing_only_in_invalid_utf8_bytes_are_two_manifests() {
    use std::os::unix::ffi::OsStrExt as _;
    let dir = tempfile::tempdir().unwrap();
    for b in [0xfe_u8, 0xff] {
        let mut name = b"TrainingManifestWithValidation-p-".to_vec();
        name.push(b);
        name.extend_from_slice(b".json");
        std::fs::write(
            dir.path().join(std::ffi::OsStr::from_bytes(&name)),
            "{\"source-ref\":\"s3://b/a.jpg\"}\n",
        )
        .unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(&["report", dir.path().to_str().unwrap()], out.path());
    assert_eq!(o.status.code(), Some(0));
    let summary = std::fs::read_to_string(out.path().join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 3, "{summary}");
    assert!(summary.contains("-p-\\xFE.json,1,"), "{summary}");
    assert!(summary.contains("-p-\\xFF.json,1,"), "{summary}");
}

#[test]
fn json_summary_on_stdout_and_json_logs_on_stderr() {
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(
        &[
            "report",
            "sample-manifests/failed-object-detection",
            "--json",
            "-v",
            "--log-format",
            "json",
        ],
        out.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["versions"][0]["version"], "widgets.2026-11-20T10.00.00");
    assert_eq!(
        doc["versions"][0]["terminal_code"],
        "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST"
    );
    assert_eq!(doc["versions"][0]["lines"], 17);
    assert_eq!(doc["manifests"].as_array().unwrap().len(), 2);
    assert_eq!(doc["manifests"][0]["rekognition_agrees"], true);
    // The five CSV files, versions.csv and report.html.
    assert_eq!(doc["files"].as_array().unwrap().len(), 7);
    let codes = doc["codes"].as_array().unwrap();
    assert!(
        codes
            .iter()
            .any(|c| c["code"] == "ERROR_INVALID_BOUNDING_BOX" && c["issues"] == 1)
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    let logs: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        logs.iter().any(|l| l["fields"]["message"] == "analyzing"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "Next step: widgets/widgets.2026-11-20T10.00.00 ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST"
        ),
        "{stderr}"
    );
}

/// The bytes that must never reach a terminal from data: ESC, BEL, DEL, C1 CSI (U+009B) and
/// the right-to-left override (U+202E).
fn assert_no_terminal_controls(stderr: &[u8]) {
    let text = String::from_utf8_lossy(stderr);
    for bad in ['\u{1b}', '\u{7}', '\u{7f}', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(bad), "stderr carries {bad:?} raw: {text:?}");
    }
}

#[test]
fn names_codes_labels_and_messages_from_data_cannot_drive_the_terminal() {
    const TITLE: &str = "\u{1b}]0;pwned\u{7}";
    const CLIPBOARD: &str = "\u{1b}]52;c;cHduZWQ=\u{7}";
    const ERASE: &str = "\u{1b}[2J\u{9b}2J\u{202e}\u{7f}";
    let json = |s: &str| serde_json::to_string(s).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("describe-project-versions.json"),
        format!(
            r#"{{"ProjectVersionDescriptions":[{{"ProjectVersionArn":{},"Status":"TRAINING_FAILED","StatusMessage":{}}}]}}"#,
            json(&format!(
                "arn:aws:rekognition:us-east-1:1:project/p{TITLE}/version/v{ERASE}/1"
            )),
            json(CLIPBOARD)
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("manifest_summary.json"),
        format!(
            r#"{{"errors":[{{"code":{},"message":{}}}],"statistics":{{"training":{{"total_json_lines":1,"errors":[]}}}}}}"#,
            json(&format!("ERROR_{CLIPBOARD}")),
            json(ERASE)
        ),
    )
    .unwrap();
    let line = |label: &str, code: &str| {
        format!(
            r#"{{"source-ref":"s3://b/a.jpg","pets":1,"pets-metadata":{{"confidence":1,"class-name":{},"human-annotated":"yes","type":"groundtruth/image-classification"}},"errors":[{{"code":{},"message":{}}}]}}"#,
            json(label),
            json(code),
            json(&format!("{TITLE}{CLIPBOARD}{ERASE}"))
        ) + "\n"
    };
    std::fs::write(
        d.join("training_manifest_with_validation.json"),
        line(&format!("cat{TITLE}"), &format!("ERROR_{ERASE}")),
    )
    .unwrap();
    std::fs::write(
        d.join("testing_manifest_with_validation.json"),
        line(&format!("fish{CLIPBOARD}"), &format!("ERROR_{TITLE}")),
    )
    .unwrap();
    std::fs::write(
        d.join(format!(
            "TrainingManifestWithValidation-p-{TITLE}{ERASE}.json"
        )),
        line("dog", "ERROR_INVALID_SOURCE_REF_FORMAT"),
    )
    .unwrap();
    let missing = d.join(format!("missing-{CLIPBOARD}.json"));
    let (d, missing) = (d.to_str().unwrap(), missing.to_str().unwrap());

    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(&["report", d, missing, "-v"], out.path());
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    // The data is shown, escaped: in the summary, the notes, the errors and the log lines.
    assert!(
        stderr.contains("p\\u{1b}]0;pwned\\u{7}/v\\u{1b}[2J"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ERROR_\\u{1b}]52;c;cHduZWQ=\\u{7}"),
        "{stderr}"
    );
    assert!(stderr.contains("\"fish\\u{1b}]52;"), "{stderr}");
    assert!(
        stderr.contains("rekcheck: error: ") && stderr.contains("missing-\\u{1b}]52"),
        "{stderr}"
    );
    assert!(stderr.contains("analyzing manifest="), "{stderr}");
    assert_no_terminal_controls(&o.stderr);

    let o = rekcheck(
        &["report", d, missing, "-v", "--log-format", "json"],
        out.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("\"analyzing\""));
    assert_no_terminal_controls(&o.stderr);
    for line in String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.starts_with('{'))
    {
        let _: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    }

    // A fatal error's chain ({:#}) is escaped too.
    let empty = dir.path().join(format!("empty-{CLIPBOARD}"));
    std::fs::create_dir(&empty).unwrap();
    let o = rekcheck(&["report", empty.to_str().unwrap()], out.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no manifests found"));
    assert_no_terminal_controls(&o.stderr);
}

#[test]
fn table_caps_and_the_line_cap_are_said_on_stderr_and_in_the_report() {
    use std::fmt::Write as _;
    let out = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("TrainingManifestWithValidation-p-v.json");
    let mut text = String::new();
    for i in 0..10_003 {
        writeln!(
            text,
            r#"{{"source-ref":"s3://b/{i}.jpg","x":0,"x-metadata":{{"class-name":"label{i}"}}}}"#
        )
        .unwrap();
    }
    std::fs::write(&m, text).unwrap();
    let o = rekcheck(&["report", m.to_str().unwrap()], out.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("labels.csv keeps 10000 labels: 3 images of further labels are added up in its (other) rows"),
        "{stderr}"
    );
    let labels = std::fs::read_to_string(out.path().join("labels.csv")).unwrap();
    assert_eq!(
        labels.lines().count(),
        10_002,
        "header, 10,000 labels, (other)"
    );
    assert!(labels.contains(",(other),3,0,0"), "(other) row");

    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(
        &["report", m.to_str().unwrap(), "--max-lines", "100"],
        out.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let issues = std::fs::read_to_string(out.path().join("issues.csv")).unwrap();
    assert!(
        issues.contains(
            ",manifest,,,,error,REKCHECK_MAX_LINES,The manifest has 9903 more lines after line 100;"
        ),
        "{issues}"
    );
    let images = std::fs::read_to_string(out.path().join("images.csv")).unwrap();
    assert_eq!(images.lines().count(), 101);
}

/// A small gzip object that expands to a huge manifest (a decompression bomb) is said on stderr,
/// with its name, and `--max-lines` bounds the work.
#[test]
fn an_extreme_gzip_ratio_is_said_on_stderr() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("TrainingManifestWithValidation-p-v.json");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = "{}\n".repeat(1 << 16);
    for _ in 0..(70 << 20) / chunk.len() {
        gz.write_all(chunk.as_bytes()).unwrap();
    }
    let compressed = gz.finish().unwrap();
    assert!(compressed.len() < (1 << 20), "{}", compressed.len());
    std::fs::write(&bomb, compressed).unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(
        &["report", bomb.to_str().unwrap(), "--max-lines", "1000"],
        out.path(),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("a gzip object expands more than 100 times"),
        "{stderr}"
    );
    assert!(
        stderr.contains("TrainingManifestWithValidation-p-v.json"),
        "{stderr}"
    );
    let issues = std::fs::read_to_string(out.path().join("issues.csv")).unwrap();
    assert!(issues.contains("REKCHECK_MAX_LINES"), "{issues}");

    // An ordinary gzip manifest says nothing of the kind.
    let small = dir.path().join("TestingManifestWithValidation-p-v.json");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(b"{\"source-ref\":\"s3://b/a.jpg\"}\n")
        .unwrap();
    std::fs::write(&small, gz.finish().unwrap()).unwrap();
    let o = rekcheck(&["report", small.to_str().unwrap()], out.path());
    assert!(!String::from_utf8_lossy(&o.stderr).contains("expands more than"));
}
