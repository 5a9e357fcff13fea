//! `report.html` end to end, in a real browser: Debian's `chromium-headless-shell` loads the
//! page from `file://` and dumps the DOM after the scripts ran. The tests skip (saying so) only
//! when no browser is installed and `REKCHECK_REQUIRE_BROWSER` is not set; `.ci/run` installs
//! one and sets it.

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

const BROWSERS: &[&str] = &[
    "/usr/bin/chromium-headless-shell",
    "/usr/lib/chromium/chromium-headless-shell",
    "/usr/lib/chromium/chrome-headless-shell",
    "/usr/bin/chromium",
];

/// The headless browser, or `None` (after saying why) when the test may skip.
fn browser() -> Option<&'static str> {
    if let Some(b) = BROWSERS.iter().find(|b| Path::new(b).is_file()) {
        return Some(b);
    }
    assert!(
        std::env::var_os("REKCHECK_REQUIRE_BROWSER").is_none(),
        "REKCHECK_REQUIRE_BROWSER is set but no headless Chromium is installed (apt-get install chromium-headless-shell); looked at {BROWSERS:?}"
    );
    eprintln!(
        "SKIPPED: no headless Chromium ({BROWSERS:?}); apt-get install chromium-headless-shell"
    );
    None
}

/// Loads `page` in the browser: the DOM after the scripts ran, and the browser's log (console
/// messages and CSP violations). A screenshot is saved beside the page as a test artifact.
fn load(browser: &str, page: &Path) -> (String, String) {
    let url = format!("file://{}", page.display());
    let shot = page.with_extension("png");
    let common = [
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,3000",
    ];
    let dom = Command::new(browser)
        .args(common)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let shot_run = Command::new(browser)
        .args(common)
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(shot_run.status.success());
    assert!(shot.is_file());
    (
        String::from_utf8(dom.stdout).unwrap(),
        String::from_utf8_lossy(&dom.stderr).into_owned(),
    )
}

/// Log lines of the page itself: console messages, script errors, refused loads.
fn page_log(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains("CONSOLE")
                || l.contains("Uncaught")
                || l.contains("Refused")
                || l.contains("Content Security Policy")
                || l.contains("ERR_")
        })
        .collect()
}

fn artifacts(name: &str) -> PathBuf {
    // Under the target folder, kept after the test as the screenshots' home.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("html")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn every_sample_page_renders_its_counts_and_runs_its_script() {
    let Some(browser) = browser() else { return };
    for sample in [
        "failed-object-detection",
        "failed-classification",
        "clean-training",
        "two-versions",
    ] {
        let out = artifacts(sample);
        let run = rekcheck(&[
            "report",
            &format!("sample-manifests/{sample}"),
            "--out",
            &out.display().to_string(),
            "--quiet",
        ]);
        assert!(run.status.code().unwrap() <= 1, "{run:?}");
        let (dom, log) = load(browser, &out.join("report.html"));
        assert!(page_log(&log).is_empty(), "{sample}: {:?}", page_log(&log));
        // The counts shown are summary.csv's.
        let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
        let mut rows = csv::Reader::from_reader(summary.as_bytes());
        let header = rows.headers().unwrap().clone();
        let col = |r: &csv::StringRecord, name: &str| {
            r[header.iter().position(|h| h == name).unwrap()].to_owned()
        };
        for r in rows.records() {
            let r = r.unwrap();
            if col(&r, "verdict") == "not given" {
                continue;
            }
            let shown = format!(
                "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
                col(&r, "lines"),
                col(&r, "blank"),
                col(&r, "ok"),
                col(&r, "warning"),
                col(&r, "error"),
                col(&r, "unparsable"),
            );
            assert!(dom.contains(&shown), "{sample}: {shown} not in the page");
        }
        // The script ran: it shows the filter box and counts the rows.
        if dom.contains("id=\"images-table\"") {
            assert!(
                dom.contains("<p id=\"filter-box\">"),
                "{sample}: the script did not run"
            );
            assert!(dom.contains(" images</span>"), "{sample}");
        }
    }
}

#[test]
fn object_detection_boxes_in_error_are_red_where_the_annotations_say() {
    let Some(browser) = browser() else { return };
    let out = artifacts("boxes");
    rekcheck(&[
        "report",
        "sample-manifests/failed-object-detection",
        "--out",
        &out.display().to_string(),
        "--quiet",
    ]);
    let (dom, _) = load(browser, &out.join("report.html"));
    // Line 3 of the training manifest: {"class_id": 0, "top": 700, "left": 1200, "width": 300,
    // "height": 400} with ERROR_INVALID_BOUNDING_BOX, off the 1280x960 frame.
    assert!(dom.contains(
        "<g class=\"err\"><rect x=\"1200.000\" y=\"700.000\" width=\"300.000\" height=\"400.000\""
    ), "the off-frame box");
    assert!(
        dom.contains("<rect class=\"frame\" x=\"0\" y=\"0\" width=\"1280.000\" height=\"960.000\"")
    );
    // Line 2: the 1x1 box at 0,0 is in error, the other box of the line is not.
    assert!(dom.contains(
        "<g class=\"err\"><rect x=\"0.000\" y=\"0.000\" width=\"1.000\" height=\"1.000\""
    ));
    assert!(dom.contains(
        "<g class=\"box\"><rect x=\"86.000\" y=\"65.000\" width=\"220.000\" height=\"334.000\""
    ));
}

#[test]
fn a_hostile_manifest_runs_no_script() {
    let Some(browser) = browser() else { return };
    let dir = artifacts("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let h = r#"<script>document.body.setAttribute('data-pwned','1')</script>"><img src=x onerror="document.body.setAttribute('data-pwned','2')"></svg><svg onload="document.body.setAttribute('data-pwned','3')">javascript:alert(1)"#;
    let j = serde_json::to_string(h).unwrap();
    let line1 = format!(
        r#"{{"source-ref":{j},{j}:{{"image_size":[{{"width":100,"height":100}}],"annotations":[{{"class_id":0,"left":-5,"top":0,"width":10,"height":10,"errors":[{{"code":{j},"message":{j}}}]}}]}},{}:{{"class-map":{{"0":{j}}}}},"errors":[{{"code":{j},"message":{j}}}]}}"#,
        serde_json::to_string(&format!("{h}-metadata")).unwrap()
    );
    let line2 = format!(r#"{{"source-ref":{j},"warnings":[{{"code":{j},"message":{j}}}]}}"#);
    let manifest = dir.join("training_manifest_with_validation.json");
    std::fs::write(&manifest, format!("{line1}\n{line2}\n<script>x</script>\n")).unwrap();
    let out = dir.join("out");
    rekcheck(&[
        "report",
        &manifest.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--quiet",
    ]);
    let (dom, log) = load(browser, &out.join("report.html"));
    // The hostile scripts would set an attribute on <body>; it has none.
    assert!(dom.contains("<body><h1>"), "a hostile script ran");
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "one script element, the page's own"
    );
    assert!(
        dom.contains("&lt;script&gt;document.body"),
        "the text is shown"
    );
    // No request was even attempted (the img with src=x is text, not an element).
    assert!(page_log(&log).is_empty(), "{:?}", page_log(&log));
}

#[test]
fn the_stderr_summary_names_the_page_when_it_is_written() {
    // No browser needed: only the `Report:` line of the stderr summary.
    for (extra, written) in [(None, true), (Some("--no-html"), false)] {
        let out = tempfile::tempdir().unwrap();
        let mut args = vec![
            "report",
            "sample-manifests/failed-object-detection",
            "--out",
            out.path().to_str().unwrap(),
        ];
        args.extend(extra);
        let o = rekcheck(&args);
        assert_eq!(o.status.code(), Some(1), "{o:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        let line = stderr
            .lines()
            .find(|l| l.starts_with("Report: "))
            .unwrap_or_else(|| panic!("no Report: line in {stderr}"));
        let page = out.path().join("report.html");
        assert_eq!(page.is_file(), written, "{line}");
        assert_eq!(
            line.ends_with(&format!(".csv and {}", page.display())),
            written,
            "{line}"
        );
        assert_eq!(line.contains("report.html"), written, "{line}");
    }
}
