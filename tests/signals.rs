//! SIGTERM and Ctrl-C stop a run cleanly: exit 143 / 130, and no report file, final or
//! temporary, is left behind; the output folder is removed if rekcheck created it, and kept
//! (empty) if it was there before.
#![cfg(unix)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run_and_signal(signal: &str, expected: i32, out_exists: bool) {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("TrainingManifestWithValidation-p-v.json");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // A missing parent is created too, and removed with it.
    let out: PathBuf = if out_exists {
        dir.path().join("report")
    } else {
        dir.path().join("new/report")
    };
    if out_exists {
        std::fs::create_dir(&out).unwrap();
    }
    let child = Command::new(env!("CARGO_BIN_EXE_rekcheck"))
        .args(["report"])
        .arg(&fifo)
        .arg("--out")
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The summary sniff opens the manifest once, then the analysis opens it again.
    let line = b"{\"source-ref\":\"s3://b/a.jpg\"}\n";
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(line).unwrap();
    drop(w);
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(line).unwrap();
    w.flush().unwrap();
    // The report has started: its temporary files exist.
    let started = Instant::now();
    while std::fs::read_dir(&out).map_or(0, Iterator::count) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the report never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(300));
    // The next read sees the signal.
    let _ = w.write_all(line);
    drop(w);
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(expected), "{stderr}");
    assert!(stderr.contains("stopped by a signal"), "{stderr}");
    if !out_exists {
        assert!(
            !dir.path().join("new").exists(),
            "the folders rekcheck created are left behind"
        );
        return;
    }
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn sigterm_exits_143_and_leaves_no_report() {
    run_and_signal("-TERM", 143, false);
}

#[test]
fn ctrl_c_exits_130_and_leaves_no_report() {
    run_and_signal("-INT", 130, false);
}

#[test]
fn a_folder_that_was_there_before_is_kept() {
    run_and_signal("-TERM", 143, true);
}
