//! Output folders and files end to end: one run at a time per folder, nothing half-written or
//! left behind, and no spreadsheet formula in any CSV cell.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rekcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rekcheck"))
        .current_dir(root())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

const SAMPLE: &str = "sample-manifests/failed-object-detection";

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Holds `.rekcheck.lock` in `dir` as a running rekcheck would, with `pid` in it.
fn hold_lock(dir: &Path, pid: u32) -> std::fs::File {
    std::fs::create_dir_all(dir).unwrap();
    let mut f = std::fs::File::create(dir.join(".rekcheck.lock")).unwrap();
    f.try_lock().unwrap();
    write!(f, "{pid}").unwrap();
    f
}

#[test]
fn a_second_run_into_a_folder_in_use_stops_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let lock = hold_lock(&out, 4242);
    let o = rekcheck(&["report", SAMPLE, "--out", &s(&out), "-q"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "another rekcheck run (pid 4242) is writing to {}",
            out.display()
        )),
        "{stderr}"
    );
    assert_eq!(names(&out), [".rekcheck.lock"], "the run wrote nothing");

    let check = tmp.path().join("check");
    let _check_lock = hold_lock(&check, 4343);
    let o = rekcheck(&[
        "check",
        "sample-manifests/clean-training/TrainingManifestWithValidation-widgets-widgets.2026-11-22T08.30.00.json",
        "--out",
        &s(&check),
        "-q",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("another rekcheck run (pid 4343)"),
        "{stderr}"
    );

    let fixed = out.join("fixed.manifest");
    let o = rekcheck(&[
        "fix",
        &format!(
            "{SAMPLE}/TrainingManifestWithValidation-widgets-widgets.2026-11-20T10.00.00.json"
        ),
        "--out",
        &s(&fixed),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("another rekcheck run (pid 4242)"),
        "{stderr}"
    );
    assert!(!fixed.exists());

    // Once the other run is done, the folder is free, and the lock file goes with the run.
    drop(lock);
    let o = rekcheck(&["report", SAMPLE, "--out", &s(&out), "-q"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.join(".rekcheck.lock").exists());
    assert!(out.join("issues.csv").is_file());
}

#[test]
fn fix_refuses_the_same_file_for_out_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let input =
        format!("{SAMPLE}/TrainingManifestWithValidation-widgets-widgets.2026-11-20T10.00.00.json");
    let x = tmp.path().join("x");
    std::fs::write(&x, "keep me").unwrap();
    let o = rekcheck(&["fix", &input, "--out", &s(&x), "--removed", &s(&x)]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--removed"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&x).unwrap(), "keep me");

    // The same file by another name, existing or not.
    let sub = tmp.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let other = sub.join("../x");
    let o = rekcheck(&["fix", &input, "--out", &s(&x), "--removed", &s(&other)]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&x).unwrap(), "keep me");
    let new = tmp.path().join("new");
    let o = rekcheck(&[
        "fix",
        &input,
        "--out",
        &s(&new),
        "--removed",
        &s(&sub.join("../new")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!new.exists());
    assert_eq!(names(tmp.path()), ["sub", "x"]);
}

#[test]
fn stale_partial_files_of_killed_runs_are_removed_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    std::fs::create_dir(&out).unwrap();
    // Linux process ids stay below 2^22: these runs are gone.
    let stale = [
        ".issues.csv.4194400.partial",
        ".images.csv.4194401.Ab12Cd34.partial",
        ".versions.csv.4194402.zzzzzzzz.partial",
        ".report.html.4194403.Zz99Yy88.partial",
    ];
    for f in stale {
        std::fs::write(out.join(f), "half a report").unwrap();
    }
    // Not rekcheck's: kept.
    std::fs::write(out.join(".notes.txt.4194400.partial"), "mine").unwrap();
    let o = rekcheck(&["report", SAMPLE, "--out", &s(&out), "-q"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        names(&out),
        [
            ".notes.txt.4194400.partial",
            "codes.csv",
            "images.csv",
            "issues.csv",
            "labels.csv",
            "report.html",
            "summary.csv",
            "versions.csv"
        ]
    );

    let fixed = tmp.path().join("fixed.manifest");
    let stale_fix = tmp.path().join(".fixed.manifest.4194400.Ab12Cd34.partial");
    std::fs::write(&stale_fix, "half a manifest").unwrap();
    let o = rekcheck(&[
        "fix",
        &format!(
            "{SAMPLE}/TrainingManifestWithValidation-widgets-widgets.2026-11-20T10.00.00.json"
        ),
        "--out",
        &s(&fixed),
        "-q",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!stale_fix.exists());
}

#[test]
fn a_report_that_cannot_be_put_in_place_replaces_nothing_and_leaves_no_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let o = rekcheck(&[
        "report",
        "sample-manifests/clean-training",
        "--out",
        &s(&out),
        "-q",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let before = std::fs::read(out.join("issues.csv")).unwrap();
    // A folder where labels.csv goes: that rename cannot succeed.
    std::fs::remove_file(out.join("labels.csv")).unwrap();
    std::fs::create_dir(out.join("labels.csv")).unwrap();
    std::fs::write(out.join("labels.csv").join("x"), "x").unwrap();
    let o = rekcheck(&["report", SAMPLE, "--out", &s(&out), "-q"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("labels.csv"), "{stderr}");
    assert_eq!(std::fs::read(out.join("issues.csv")).unwrap(), before);
    assert_eq!(
        names(&out),
        [
            "codes.csv",
            "images.csv",
            "issues.csv",
            "labels.csv",
            "report.html",
            "summary.csv",
            "versions.csv"
        ]
    );
}

#[test]
fn removed_csv_cells_are_defused_unless_csv_raw() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.manifest");
    let formula = r#"=HYPERLINK(\"http://evil.example\",\"x\")"#;
    let lines = [
        format!(
            r#"{{"source-ref":"s3://b/1.jpg","errors":[{{"code":"{formula}","message":"bad"}}]}}"#
        ),
        r#"{"source-ref":"-2+3","errors":[{"code":"@SUM(1)","message":"bad"}]}"#.to_owned(),
        r#"{"source-ref":"s3://b/3.jpg"}"#.to_owned(),
    ];
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let fixed = tmp.path().join("fixed.manifest");
    let removed = tmp.path().join("removed.csv");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "fix",
            input.to_str().unwrap(),
            "--out",
            fixed.to_str().unwrap(),
            "--removed",
            removed.to_str().unwrap(),
            "-q",
        ];
        args.extend_from_slice(extra);
        let o = rekcheck(&args);
        // Every line is dropped: the fixed manifest is empty, so fix exits 1.
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        csv::Reader::from_path(&removed)
            .unwrap()
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    let rows = run(&[]);
    let code_of = |rows: &[Vec<String>], line: &str, source: &str| {
        rows.iter()
            .find(|r| r[0] == line && r[1] == source && !r[3].starts_with("ERROR_"))
            .map(|r| r[3].clone())
    };
    assert_eq!(
        code_of(&rows, "1", "s3://b/1.jpg").as_deref(),
        Some(r#"'=HYPERLINK("http://evil.example","x")"#),
        "{rows:?}"
    );
    assert_eq!(
        code_of(&rows, "2", "'-2+3").as_deref(),
        Some("'@SUM(1)"),
        "{rows:?}"
    );
    for cell in rows.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{cell:?} reaches the spreadsheet"
        );
    }
    let raw = run(&["--csv-raw"]);
    assert_eq!(
        code_of(&raw, "1", "s3://b/1.jpg").as_deref(),
        Some(r#"=HYPERLINK("http://evil.example","x")"#),
        "{raw:?}"
    );
    assert_eq!(
        code_of(&raw, "2", "-2+3").as_deref(),
        Some("@SUM(1)"),
        "{raw:?}"
    );
}
