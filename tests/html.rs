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
        // The codes shown are codes.csv's: one row per (severity, code) with its issues and
        // images summed over versions and datasets, and nothing else.
        assert_codes_match(
            sample,
            &dom,
            &std::fs::read_to_string(out.join("codes.csv")).unwrap(),
        );
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

/// The page's codes table against `codes.csv`: each (severity, code) of the CSV, with its
/// issues and images summed over versions and datasets, is a row of the table, and the table
/// has no other row (the samples have fewer than the 25 codes the page lists).
fn assert_codes_match(sample: &str, dom: &str, codes_csv: &str) {
    use std::collections::BTreeMap;
    let mut rows = csv::Reader::from_reader(codes_csv.as_bytes());
    let header = rows.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (severity, code, issues, images) = (at("severity"), at("code"), at("issues"), at("images"));
    let mut expected: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for r in rows.records() {
        let r = r.unwrap();
        let t = expected
            .entry((r[severity].to_owned(), r[code].to_owned()))
            .or_default();
        t.0 += r[issues].parse::<u64>().unwrap();
        t.1 += r[images].parse::<u64>().unwrap();
    }
    assert!(
        expected.len() < 25,
        "{sample}: the page lists 25 codes at most"
    );
    // The codes table's rows are the only ones that open with a code (an image's issues
    // open with the severity).
    let shown = dom.matches("<tr><td><code>").count();
    assert_eq!(
        shown,
        expected.len(),
        "{sample}: codes in the page vs codes.csv"
    );
    for ((severity, code), (issues, images)) in &expected {
        let row = format!(
            "<tr><td><code>{code}</code></td><td>{severity}</td><td class=\"n\">{issues}</td><td class=\"n\">{images}</td>"
        );
        assert!(dom.contains(&row), "{sample}: {row} not in the page");
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

/// A local HTTP server that answers 404 to every request and counts the requests, until
/// dropped.
struct Listener {
    port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    fn start() -> Listener {
        use std::io::{Read as _, Write as _};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (seen, stopped) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                            .unwrap();
                        let mut head = [0u8; 512];
                        let n = conn.read(&mut head).unwrap_or(0);
                        let line = String::from_utf8_lossy(&head[..n]);
                        seen.lock()
                            .unwrap()
                            .push(line.lines().next().unwrap_or("").to_owned());
                        let _ = conn.write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                }
            }
        });
        Listener {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn the_page_requests_nothing_from_the_urls_in_its_data() {
    let Some(browser) = browser() else { return };
    let server = Listener::start();
    let base = format!("http://127.0.0.1:{}", server.port);
    let dir = artifacts("no-request");
    std::fs::create_dir_all(&dir).unwrap();

    // The control: a page that does load an image from the server, in the same browser and
    // with the same flags, is seen by it (the check below could fail).
    let control = dir.join("control.html");
    std::fs::write(
        &control,
        format!("<!DOCTYPE html><title>control</title><img src=\"{base}/control.png\">"),
    )
    .unwrap();
    load(browser, &control);
    assert!(
        server.requests().iter().any(|r| r.contains("/control.png")),
        "the control page's request did not reach the server: {:?}",
        server.requests()
    );

    // Every field of an object-detection line names the server: as the source-ref, and as
    // markup that would fetch from it if it were not text (image, style sheet, import, frame,
    // SVG image).
    let fetchers = format!(
        r#"<img src="{base}/img.png"><link rel="stylesheet" href="{base}/sheet.css"><style>@import url({base}/import.css);</style><iframe src="{base}/frame"></iframe><svg><image href="{base}/svg.png"/></svg>"#
    );
    let j = serde_json::to_string(&fetchers).unwrap();
    let source = serde_json::to_string(&format!("{base}/source.jpg")).unwrap();
    let line = format!(
        r#"{{"source-ref":{source},"bounding-box":{{"image_size":[{{"width":100,"height":100,"depth":3}}],"annotations":[{{"class_id":0,"left":-5,"top":0,"width":10,"height":10,"errors":[{{"code":{j},"message":{j}}}]}}]}},"bounding-box-metadata":{{"class-map":{{"0":{j}}},"type":"groundtruth/object-detection"}},"errors":[{{"code":{j},"message":{j}}}]}}"#
    );
    let manifest = dir.join("training_manifest_with_validation.json");
    std::fs::write(&manifest, format!("{line}\n")).unwrap();
    let out = dir.join("out");
    let run = rekcheck(&[
        "report",
        &manifest.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--html-images",
        "none",
        "--quiet",
    ]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let before = server.requests().len();
    let (dom, _) = load(browser, &out.join("report.html"));
    // The data is on the page, as text.
    assert!(
        dom.contains(&format!("{base}/source.jpg")),
        "the source-ref is shown"
    );
    assert!(dom.contains("&lt;img src="), "the markup is shown as text");
    assert_eq!(
        server.requests()[before..],
        [] as [String; 0],
        "the page made requests"
    );
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
