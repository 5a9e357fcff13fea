//! One set of conventions for report, check, fix and locate (issue 14 items 7-15): `s3://`
//! output for check and fix, the `--json` document, JSON-only stderr with `--log-format json`,
//! `--version` and `--version-name`, flags that are refused or noted rather than silently
//! changed, exit codes in the help, plurals and one-line notes, completions and man pages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rekcheck_testkit::moto::{Moto, isolated_aws_env, put_objects, s3_client};
use rekcheck_testkit::proxy::{Fault, FaultProxy};

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

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn cls(uri: &str, label: &str) -> String {
    format!(
        r#"{{"source-ref":"{uri}","c":1,"c-metadata":{{"class-name":"{label}","confidence":1,"type":"groundtruth/image-classification","human-annotated":"yes","creation-date":"2020-01-01T00:00:00"}}}}"#
    )
}

/// A classification manifest of `n` lines with labels a and b.
fn manifest(n: usize) -> String {
    (0..n)
        .map(|i| cls(&format!("s3://bkt/{i}.jpg"), ["a", "b"][i % 2]) + "\n")
        .collect()
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_string_lossy().into_owned()
}

fn keys(rt: &tokio::runtime::Runtime, client: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    rt.block_on(async {
        let r = client
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        r.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    })
}

fn get(
    rt: &tokio::runtime::Runtime,
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Vec<u8> {
    rt.block_on(async {
        let r = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        r.body.collect().await.unwrap().into_bytes().to_vec()
    })
}

// ---------------------------------------------------------------------------------------------
// Item 7: s3:// output for check and fix.

#[test]
fn check_and_fix_upload_to_s3_and_never_write_a_local_s3_folder() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let endpoint = moto.endpoint();
    let with_error = manifest(6) + "{\"source-ref\":\"not-a-uri\"}\n";
    let client = rt.block_on(async {
        let client = s3_client(&endpoint).await;
        put_objects(
            &client,
            "manifests",
            &[("train.manifest", with_error.clone().into_bytes())],
        )
        .await;
        client.create_bucket().bucket("out").send().await.unwrap();
        client
    });
    // The binary runs in a scratch folder: a local `s3:` folder would show there.
    let cwd = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        isolated_aws_env(
            Command::new(env!("CARGO_BIN_EXE_rekcheck"))
                .current_dir(cwd.path())
                .args(args)
                .args(["--endpoint-url", &endpoint]),
        )
        .output()
        .unwrap()
    };

    let o = run(&[
        "check",
        "s3://manifests/train.manifest",
        "--out",
        "s3://out/checks/",
        "--json",
        "--sse",
        "AES256",
    ]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(!cwd.path().join("s3:").exists(), "a local s3: folder");
    let all = keys(&rt, &client, "out");
    let runs: Vec<&String> = all
        .iter()
        .filter(|k| k.starts_with("checks/runs/"))
        .collect();
    assert_eq!(
        runs.len(),
        8,
        "six CSV files, report.html and index.json: {all:?}"
    );
    let index = runs.iter().find(|k| k.ends_with("/index.json")).unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&get(&rt, &client, "out", index)).unwrap();
    assert_eq!(index["complete"], true);
    let html = runs.iter().find(|k| k.ends_with("/report.html")).unwrap();
    assert_eq!(index["html"], format!("s3://out/{html}"));
    let head = rt
        .block_on(client.head_object().bucket("out").key(html.as_str()).send())
        .unwrap();
    assert_eq!(head.content_type(), Some("text/html; charset=utf-8"));
    // --sse applies to every object of the check's report.
    for key in &runs {
        let head = rt
            .block_on(client.head_object().bucket("out").key(key.as_str()).send())
            .unwrap();
        assert_eq!(
            head.server_side_encryption(),
            Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256),
            "{key}"
        );
    }
    let issues_key = runs.iter().find(|k| k.ends_with("/issues.csv")).unwrap();
    let issues = String::from_utf8(get(&rt, &client, "out", issues_key)).unwrap();
    assert!(issues.contains("not-a-uri"), "{issues}");
    assert!(stderr.contains("Report uploaded: 8 objects"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["files"].as_array().unwrap().len(), 8);
    assert!(
        doc["files"][7]
            .as_str()
            .unwrap()
            .starts_with("s3://out/checks/runs/")
    );

    // fix uploads the clean manifest and removed.csv beside it.
    let o = run(&[
        "fix",
        "s3://manifests/train.manifest",
        "--out",
        "s3://out/fixed/train.manifest",
        "--sse",
        "aws:kms",
        "--sse-kms-key-id",
        "alias/fixes",
    ]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    for key in ["fixed/train.manifest", "fixed/train.manifest.removed.csv"] {
        let head = rt
            .block_on(client.head_object().bucket("out").key(key).send())
            .unwrap();
        assert_eq!(
            head.server_side_encryption(),
            Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms),
            "{key}"
        );
        assert_eq!(head.ssekms_key_id(), Some("alias/fixes"), "{key}");
    }
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "{stderr}"
    );
    let fixed = String::from_utf8(get(&rt, &client, "out", "fixed/train.manifest")).unwrap();
    assert_eq!(fixed, manifest(6));
    let removed =
        String::from_utf8(get(&rt, &client, "out", "fixed/train.manifest.removed.csv")).unwrap();
    assert_eq!(removed.lines().count(), 2, "{removed}");
    assert!(stderr.contains("6 lines kept"), "{stderr}");

    // A prefix, mixed destinations and overwriting the input are refused before any work.
    for (args, why) in [
        (
            vec!["--out", "s3://out/fixed/"],
            "names a prefix: give the object to write",
        ),
        (
            vec!["--out", "s3://out/a.manifest", "--removed", "removed.csv"],
            "must both be local files or both s3:// objects",
        ),
        (
            vec!["--out", "s3://manifests/train.manifest"],
            "would overwrite the manifest being fixed",
        ),
        (
            vec!["--out", "fixed.manifest", "--sse", "AES256"],
            "--sse and --sse-kms-key-id apply to --out s3:// only",
        ),
        (
            vec![
                "--out",
                "s3://out/k.manifest",
                "--sse-kms-key-id",
                "alias/k",
            ],
            "--sse-kms-key-id needs --sse aws:kms",
        ),
    ] {
        let mut all_args = vec!["fix", "s3://manifests/train.manifest"];
        all_args.extend(args);
        let o = run(&all_args);
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(why), "{stderr}");
        assert!(!stderr.contains("disk has room"), "{stderr}");
    }
    assert_eq!(
        String::from_utf8(get(&rt, &client, "manifests", "train.manifest")).unwrap(),
        with_error
    );
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
}

#[test]
fn fix_uploads_are_retried_and_a_lasting_failure_keeps_both_files() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(async {
        let client = s3_client(&moto.endpoint()).await;
        client.create_bucket().bucket("out").send().await.unwrap();
        client
    });
    let proxy = rt.block_on(FaultProxy::start(moto.addr()));
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "train.manifest", &manifest(4));
    let run = |key: &str| {
        isolated_aws_env(
            Command::new(env!("CARGO_BIN_EXE_rekcheck"))
                .current_dir(dir.path())
                .env("TMPDIR", tmp.path())
                .args(["fix", &input, "--out", key, "--retries", "3"])
                .args(["--endpoint-url", &proxy.endpoint()]),
        )
        .output()
        .unwrap()
    };
    let slow_down = || Fault::Status {
        status: 503,
        code: "SlowDown",
    };
    proxy.push_put(slow_down());
    proxy.push_put(slow_down());
    let o = run("s3://out/a/fixed.manifest");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        String::from_utf8(get(&rt, &client, "out", "a/fixed.manifest")).unwrap(),
        manifest(4)
    );
    assert_eq!(proxy.put_requests(), 4);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);

    for _ in 0..3 {
        proxy.push_put(slow_down());
    }
    let o = run("s3://out/b/fixed.manifest");
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("SlowDown"), "{stderr}");
    let kept: Vec<PathBuf> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        stderr.contains(&format!("kept in {}", kept[0].display())),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(kept[0].join("fixed.manifest")).unwrap(),
        manifest(4)
    );
    assert!(kept[0].join("removed.csv").is_file());
    assert!(
        !keys(&rt, &client, "out")
            .iter()
            .any(|k| k.starts_with("b/")),
        "nothing half-uploaded"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 8: one --json schema for report, check and fix (locate: tests/rekognition.rs).

#[test]
fn every_command_prints_the_same_json_schema() {
    let dir = tempfile::tempdir().unwrap();
    let train = write(dir.path(), "train.manifest", &manifest(6));
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let keys = [
        "schema_version",
        "command",
        "exit_code",
        "versions",
        "manifests",
        "codes",
        "failures",
        "files",
        "check",
        "fix",
    ];
    let check_keys = |doc: &serde_json::Value, command: &str| {
        let obj = doc.as_object().unwrap();
        let mut got: Vec<&str> = obj.keys().map(String::as_str).collect();
        got.sort_unstable();
        let mut want = keys.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{doc}");
        assert_eq!(doc["schema_version"], 1);
        assert_eq!(doc["command"], command);
    };

    let o = rekcheck(&[
        "report",
        "sample-manifests/failed-object-detection",
        "--json",
        "-q",
        "--out",
        out,
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    check_keys(&doc, "report");
    assert_eq!(doc["exit_code"], 1);

    let o = rekcheck(&["check", &train, "--json", "-q", "--out", out]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    check_keys(&doc, "check");
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["check"]["verdict"], "pass");
    assert_eq!(doc["check"]["cross_dataset_rules"], false);
    assert_eq!(doc["manifests"][0]["lines"], 6);

    let fixed = dir.path().join("fixed.manifest");
    let o = rekcheck(&[
        "fix",
        &train,
        "--json",
        "-q",
        "--out",
        fixed.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    check_keys(&doc, "fix");
    assert_eq!(doc["fix"]["kept"], 6);
    assert_eq!(doc["fix"]["dropped"], 0);
    assert_eq!(doc["files"][0], fixed.to_str().unwrap());
}

// ---------------------------------------------------------------------------------------------
// Item 9: every stderr line is one JSON object with --log-format json.

fn assert_all_json(stderr: &str) -> Vec<serde_json::Value> {
    assert!(!stderr.is_empty());
    stderr
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\n{stderr}"))
        })
        .collect()
}

#[test]
fn json_logs_carry_the_summary_notes_and_fatal_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let o = rekcheck(&[
        "report",
        "sample-manifests/failed-object-detection",
        "--log-format",
        "json",
        "--threads",
        "1000",
        "--out",
        out,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let lines = assert_all_json(&text(&o.stderr));
    let summary = lines
        .iter()
        .find(|l| l["fields"]["message"] == "summary")
        .unwrap();
    assert!(
        summary["fields"]["text"]
            .as_str()
            .unwrap()
            .contains("Next step:")
    );
    assert_eq!(summary["fields"]["summary"]["schema_version"], 1);
    assert!(lines.iter().any(|l| {
        l["level"] == "WARN"
            && l["fields"]["message"]
                .as_str()
                .unwrap()
                .contains("--threads 1000")
    }));

    // A fatal error, an unreadable input and a usage error: JSON too.
    for (args, code, want) in [
        (
            vec!["check", "/nonexistent/train.manifest"],
            2,
            "/nonexistent/train.manifest",
        ),
        (
            vec!["report", "/nonexistent/folder"],
            2,
            "/nonexistent/folder",
        ),
        (vec!["report", "x", "--threads", "0"], 2, "at least 1"),
    ] {
        let mut all = args.clone();
        all.extend(["--log-format", "json", "--out", out]);
        let o = rekcheck(&all);
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{stderr}");
        let lines = assert_all_json(&stderr);
        assert!(
            lines
                .iter()
                .any(|l| l["level"] == "ERROR" && l.to_string().contains(want)),
            "{stderr}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Items 10, 12, 15: --version, --version-name, exit codes in the help, completions, man.

#[test]
fn version_is_the_tool_version_on_every_subcommand_and_the_filter_is_version_name() {
    let want = env!("CARGO_PKG_VERSION");
    for args in [
        vec!["--version"],
        vec!["-V"],
        vec!["report", "--version"],
        vec!["check", "-V"],
        vec!["fix", "--version"],
        vec!["locate", "--version"],
    ] {
        let o = rekcheck(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
        assert_eq!(text(&o.stdout), format!("rekcheck {want}\n"), "{args:?}");
    }
    let help = text(&rekcheck(&["report", "--help"]).stdout);
    assert!(help.contains("--version-name <NAME>"), "{help}");
    // The filter on local inputs is not silently ignored.
    let dir = tempfile::tempdir().unwrap();
    let o = rekcheck(&[
        "report",
        "sample-manifests/clean-training",
        "--version-name",
        "x",
        "--status",
        "TRAINING_FAILED",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("--version-name, --status ignored: they filter the versions of project ARNs and --all-projects only"),
        "{stderr}"
    );
}

#[test]
fn every_help_documents_every_exit_code_and_what_aws_flags_apply_to() {
    for cmd in [
        vec!["--help"],
        vec!["report", "--help"],
        vec!["check", "--help"],
        vec!["fix", "--help"],
        vec!["locate", "--help"],
    ] {
        let help = text(&rekcheck(&cmd).stdout);
        for code in ["  0 ", "  1 ", "  2 ", "  130 ", "  143 "] {
            assert!(help.contains(code), "{cmd:?} lacks {code}: {help}");
        }
        assert!(help.contains("SIGTERM"), "{help}");
        if cmd.len() == 2 {
            let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(flat.contains("S3 and Rekognition alike"), "{flat}");
            assert!(flat.contains("Rekognition calls"), "{flat}");
        }
    }
}

/// The README's exit-code table says what `--help` says, code by code: each phrase of the help's
/// list is in the README's row of that code.
#[test]
fn the_readme_and_help_say_the_same_exit_codes() {
    let flat = |t: &str| {
        t.replace('`', "")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let help = flat(&text(&rekcheck(&["--help"]).stdout));
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let table = readme
        .split("## Exit codes")
        .nth(1)
        .and_then(|t| t.split("\n## ").next())
        .expect("the README's exit codes section");
    let row = |code: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("| {code} ")))
            .map_or_else(|| panic!("no README row for {code}"), flat)
    };
    for (code, phrases) in [
        (
            "0",
            &[
                "no issue at or above --fail-on (report, check)",
                "a fixed manifest that would pass (fix)",
            ][..],
        ),
        (
            "1",
            &[
                "issues at or above --fail-on (report, check)",
                "check: a predicted terminal error (FAIL)",
                "fix: the fixed manifest would still fail validation (it is written anyway)",
            ][..],
        ),
        (
            "2",
            &[
                "invalid usage",
                "an input, output or AWS request",
                "report: also manifests without validation results (unless --fail-on never)",
                "what could be read is still reported",
            ][..],
        ),
        (
            "130",
            &[
                "Ctrl-C (SIGINT)",
                "SIGTERM",
                "nothing half-written is left, and an output folder the run created is removed",
            ][..],
        ),
    ] {
        let row = row(code);
        for phrase in phrases {
            assert!(help.contains(phrase), "--help lacks {phrase:?}: {help}");
            assert!(
                row.contains(phrase),
                "README row {code} lacks {phrase:?}: {row}"
            );
        }
    }
}

#[test]
fn zero_threads_concurrency_or_retries_are_refused() {
    for flag in ["--threads", "--concurrency", "--retries"] {
        let o = rekcheck(&["report", "sample-manifests/clean-training", flag, "0"]);
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag}: {stderr}");
        assert!(
            stderr.contains(&format!("'0' for '{flag} <N>': must be at least 1")),
            "{stderr}"
        );
    }
}

#[test]
fn completions_and_man_pages() {
    for shell in ["bash", "zsh", "fish"] {
        let o = rekcheck(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0));
        let script = text(&o.stdout);
        for word in ["rekcheck", "report", "check", "version-name", "fail-on"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let o = rekcheck(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let page = text(&o.stdout);
    assert!(page.contains(".TH rekcheck 1"), "{page}");
    assert!(page.contains("143"), "exit codes in the page");
    let o = rekcheck(&["man", "check"]);
    assert!(text(&o.stdout).contains(".TH rekcheck-check 1"));
    assert!(text(&o.stdout).contains("auto\\-split"));
    let o = rekcheck(&["man", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("report, locate, check, fix"));
}

// ---------------------------------------------------------------------------------------------
// Item 14: plurals, why check exits 1, one line per code, skipped cross-dataset rules.

#[test]
fn one_of_a_thing_is_singular() {
    let dir = tempfile::tempdir().unwrap();
    let one = write(
        dir.path(),
        "one.json",
        "{\"source-ref\":\"s3://b/a.jpg\",\"errors\":[{\"code\":\"ERROR_INVALID_IMAGE\",\"message\":\"Invalid image.\"}]}\n",
    );
    let out = dir.path().join("out");
    let o = rekcheck(&["report", &one, "--out", out.to_str().unwrap()]);
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains("rekcheck: 1 manifest, 1 line in"),
        "{stderr}"
    );
    assert!(stderr.contains("  1 line: 0 ok"), "{stderr}");
    assert!(stderr.contains("ERROR_INVALID_IMAGE (1 image)"), "{stderr}");
    assert!(
        stderr.contains("1 image has ERROR_INVALID_IMAGE"),
        "{stderr}"
    );
    for plural in [
        "1 lines",
        "1 images",
        "1 boxes",
        "1 manifests",
        "manifest(s)",
    ] {
        assert!(!stderr.contains(plural), "{plural}: {stderr}");
    }
    let fixed = dir.path().join("fixed.manifest");
    let o = rekcheck(&["fix", &one, "--out", fixed.to_str().unwrap()]);
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains(": 0 lines kept (0 with boxes removed), 1 line dropped, 0 boxes removed, 0 blank lines skipped"),
        "{stderr}"
    );
}

#[test]
fn check_says_why_it_exits_1_on_a_pass_and_which_rules_it_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let unannotated = "{\"source-ref\":\"s3://bkt/u.jpg\"}\n";
    let train = write(dir.path(), "train.manifest", &(manifest(6) + unannotated));
    let testing = write(dir.path(), "test.manifest", &manifest(2));
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let o = rekcheck(&["check", &train, "--fail-on", "warning", "--out", out]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Verdict: PASS"), "{stderr}");
    assert!(
        stderr.contains("Exit code 1: the manifests have 0 errors and 1 warning (see issues.csv) and --fail-on is warning"),
        "{stderr}"
    );
    assert!(
        stderr.contains("No --testing or --auto-split: the rules across training and testing"),
        "{stderr}"
    );
    // With --testing: the rules ran, nothing to say; exit 0 without a reason line.
    let o = rekcheck(&["check", &train, "--testing", &testing, "--out", out]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("No --testing"), "{stderr}");
    assert!(!stderr.contains("Exit code 1"), "{stderr}");
}

#[test]
fn top_codes_print_one_line_per_code() {
    // One label: ERROR_MANIFEST_TOO_FEW_LABELS, whose meaning is a paragraph.
    let dir = tempfile::tempdir().unwrap();
    let train: String = (0..4)
        .map(|i| cls(&format!("s3://bkt/{i}.jpg"), "a") + "\n")
        .collect();
    let train = write(dir.path(), "train.manifest", &train);
    let out = dir.path().join("out");
    let o = rekcheck(&["check", &train, "--out", out.to_str().unwrap()]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let top = stderr.split("Top codes:").nth(1).unwrap();
    let top = top.split("\n\n").next().unwrap();
    assert!(top.contains("ERROR_MANIFEST_TOO_FEW_LABELS"), "{top}");
    assert!(!top.contains("contradicts"), "{top}");
    assert!(
        top.contains("The dataset has fewer distinct labels than the use case needs. Fix:"),
        "{top}"
    );
    // The details stay in codes.csv.
    let codes = std::fs::read_to_string(out.join("codes.csv")).unwrap();
    assert!(codes.contains("contradicts itself"), "{codes}");
}
