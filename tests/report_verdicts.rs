//! `report`'s verdicts end to end: never a false all-clear, never two trainings mixed
//! (issue 13 items 8-12).

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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn summary_rows(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("summary.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

const VALIDATED_LINE: &str = r#"{"source-ref":"s3://b/a.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"The image is invalid. Check S3 path and/or image properties."}]}"#;
const CLEAN_LINE: &str = r#"{"source-ref":"s3://b/c.jpg","pets":0,"pets-metadata":{"class-name":"cat","type":"groundtruth/image-classification","human-annotated":"yes","confidence":1}}"#;

// Item 8.
#[test]
fn input_manifests_and_empty_files_are_not_an_all_clear() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "").unwrap();
    // An input manifest as SageMaker Ground Truth writes it: labels, no validation results.
    let input = dir.path().join("train.manifest");
    std::fs::write(
        &input,
        format!("{CLEAN_LINE}\n{}\n", CLEAN_LINE.replace("c.jpg", "d.jpg")),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(&["report", s(&input), s(&empty)], out.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("these look like input manifests: run `rekcheck check"),
        "{stderr}"
    );
    assert!(!stderr.contains("nothing to fix"), "{stderr}");
    let rows = summary_rows(out.path());
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert!(row.ends_with(",not validated"), "{rows:?}");
    }
    // --fail-on never: the same report, exit 0.
    let o = rekcheck(
        &["report", s(&input), s(&empty), "--fail-on", "never", "-q"],
        out.path(),
    );
    assert_eq!(o.status.code(), Some(0));

    // A manifest with validation results on one line, or with Rekognition's name, or with its
    // summary, is validated.
    let validated = dir.path().join("some.manifest");
    std::fs::write(&validated, format!("{CLEAN_LINE}\n{VALIDATED_LINE}\n")).unwrap();
    let clean = dir.path().join("TrainingManifestWithValidation-p-v.json");
    std::fs::write(&clean, format!("{CLEAN_LINE}\n")).unwrap();
    let o = rekcheck(
        &[
            "report",
            s(&validated),
            s(&clean),
            "sample-manifests/clean-training",
        ],
        out.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    for row in summary_rows(out.path()) {
        assert!(!row.contains("not validated"), "{row}");
    }
}

// Item 9.
#[test]
fn two_versions_side_by_side_are_two_trainings() {
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(&["report", "sample-manifests/two-versions"], out.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("was not used"), "{stderr}");
    let rows = summary_rows(out.path());
    assert_eq!(rows.len(), 4, "{rows:?}");
    for (row, version, dataset, lines) in [
        (
            &rows[0],
            "pet-finder.2026-11-01T09.00.00",
            "training",
            ",5,",
        ),
        (&rows[1], "pet-finder.2026-11-01T09.00.00", "testing", ",2,"),
        (
            &rows[2],
            "pet-finder.2026-11-15T09.00.00",
            "training",
            ",6,",
        ),
        (&rows[3], "pet-finder.2026-11-15T09.00.00", "testing", ",3,"),
    ] {
        assert!(
            row.starts_with(&format!("pet-finder,{version},{dataset},")),
            "{rows:?}"
        );
        assert!(row.contains(lines), "{rows:?}");
        // Each version's summary is compared with its own manifests.
        assert!(row.ends_with(",yes,"), "{rows:?}");
    }
    let versions = std::fs::read_to_string(out.path().join("versions.csv")).unwrap();
    let versions: Vec<&str> = versions.lines().skip(1).collect();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert!(versions[0].starts_with(
        "pet-finder,pet-finder.2026-11-01T09.00.00,,,ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST,"
    ));
    assert!(versions[1].starts_with("pet-finder,pet-finder.2026-11-15T09.00.00,,,,"));
    // labels.csv keeps the versions apart: the second version's fish is not the first's.
    let labels = std::fs::read_to_string(out.path().join("labels.csv")).unwrap();
    assert!(
        labels.contains("pet-finder,pet-finder.2026-11-01T09.00.00,training,cat,3,0,1\r\n"),
        "{labels}"
    );
    assert!(
        labels.contains("pet-finder,pet-finder.2026-11-15T09.00.00,training,cat,2,0,0\r\n"),
        "{labels}"
    );
    assert!(!labels.contains("11-01T09.00.00,training,fish"), "{labels}");
}

// Item 9: console names in two folders without describe files stay two trainings.
#[test]
fn console_names_in_two_folders_are_two_trainings() {
    let dir = tempfile::tempdir().unwrap();
    for (run, label) in [("run-a", "cat"), ("run-b", "dog")] {
        let d = dir.path().join(run);
        std::fs::create_dir(&d).unwrap();
        std::fs::write(
            d.join("training_manifest_with_validation.json"),
            CLEAN_LINE.replace("\"cat\"", &format!("\"{label}\"")) + "\n" + VALIDATED_LINE + "\n",
        )
        .unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(&["report", s(dir.path())], out.path());
    assert_eq!(o.status.code(), Some(1));
    let labels = std::fs::read_to_string(out.path().join("labels.csv")).unwrap();
    let rows: Vec<&str> = labels.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{labels}");
    assert!(rows[0].contains("run-a,training,cat,1,"), "{labels}");
    assert!(rows[1].contains("run-b,training,dog,1,"), "{labels}");
    let codes = std::fs::read_to_string(out.path().join("codes.csv")).unwrap();
    assert_eq!(
        codes.matches("ERROR_INVALID_IMAGE,1,1,2,").count(),
        2,
        "{codes}"
    );
}

// Item 11.
#[test]
fn a_manifest_named_with_its_dataset_is_compared_with_the_summary_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("my-train.manifest");
    std::fs::write(&manifest, format!("{CLEAN_LINE}\n{VALIDATED_LINE}\n")).unwrap();
    std::fs::write(
        dir.path().join("manifest_summary.json"),
        r#"{"errors":[],"statistics":{"training":{"total_json_lines":2,"valid_json_lines":1,"invalid_json_lines":1,"ignored_json_lines":0,"error_json_line_indices":[2],"errors":[]},"testing":{"total_json_lines":3,"valid_json_lines":3,"invalid_json_lines":0,"ignored_json_lines":0,"error_json_line_indices":[],"errors":[]}}}"#,
    )
    .unwrap();
    for args in [
        vec!["report", "--training", s(&manifest)],
        vec!["report", s(&manifest), "--dataset", "training"],
    ] {
        let out = tempfile::tempdir().unwrap();
        let o = rekcheck(&args, out.path());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {stderr}");
        let rows = summary_rows(out.path());
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows[0].starts_with(",,training,"), "{rows:?}");
        assert!(rows[0].ends_with(",2,1,1,0,yes,"), "{rows:?}");
        // The testing manifest the summary describes was not given: said so, not "0 lines".
        assert!(rows[1].starts_with(",,testing,"), "{rows:?}");
        assert!(
            rows[1].ends_with(",3,3,0,0,not given,not given"),
            "{rows:?}"
        );
        assert!(!stderr.contains("rekcheck 0"), "{stderr}");
        assert!(stderr.contains("not given"), "{stderr}");
    }
    // Without the dataset the summary cannot be compared, and the user is told how to say it.
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(&["report", s(&manifest)], out.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("--training FILE or --testing FILE"),
        "{stderr}"
    );
}

// Item 12.
#[test]
fn a_read_failure_is_never_an_all_clear_nor_a_terminal_error() {
    let dir = tempfile::tempdir().unwrap();
    // gzip magic, then a header that is not gzip: nothing can be read from it.
    let broken = dir.path().join("broken.json.gz");
    std::fs::write(&broken, b"\x1f\x8b\x00\x00 not gzip at all").unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(
        &[
            "report",
            "sample-manifests/clean-training",
            s(&broken),
            "no/such/file.json",
        ],
        out.path(),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("nothing to fix"), "{stderr}");
    assert!(
        stderr.contains("Next step: 2 inputs could not be read"),
        "{stderr}"
    );
    assert!(!stderr.contains("Terminal errors"), "{stderr}");
    assert!(
        stderr.contains("Not read (REKCHECK_READ_FAILED"),
        "{stderr}"
    );
    assert!(!stderr.contains("part-way"), "{stderr}");
    assert!(
        stderr.contains("broken.json.gz: invalid gzip header"),
        "{stderr}"
    );
    // Both have their summary.csv row.
    let rows = summary_rows(out.path());
    assert_eq!(rows.len(), 4, "{rows:?}");
    for name in ["broken.json.gz", "no/such/file.json"] {
        assert!(
            rows.iter()
                .any(|r| r.contains(name) && r.ends_with(",fail: REKCHECK_READ_FAILED")),
            "{rows:?}"
        );
    }
}
