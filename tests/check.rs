//! `rekcheck check` and `rekcheck fix` end to end: verdicts, the real manifests' expected
//! findings, fix-then-check on every sample and real manifest, and `--verify-images` against
//! moto's S3 server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rekcheck_testkit::moto::{Moto, isolated_aws_env, put_objects, s3_client};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn real_manifests() -> Option<PathBuf> {
    // REKCHECK_REAL_MANIFESTS points elsewhere (a worktree beside the repository), as for the
    // analyzer's tests.
    let dir = std::env::var_os("REKCHECK_REAL_MANIFESTS")
        .map_or_else(|| root().join("../shared/real-manifests"), PathBuf::from);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is not here", dir.display());
        None
    }
}

fn rekcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rekcheck"))
        .current_dir(root())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn rekcheck_s3(endpoint: &str, args: &[&str]) -> Output {
    isolated_aws_env(
        Command::new(env!("CARGO_BIN_EXE_rekcheck"))
            .current_dir(root())
            .args(args)
            .args(["--endpoint-url", endpoint]),
    )
    .output()
    .unwrap()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// Rows of a CSV file as records.
fn rows(dir: &Path, name: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(dir.join(name))
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

/// `(code, issues)` of codes.csv.
fn code_counts(dir: &Path) -> Vec<(String, u64)> {
    rows(dir, "codes.csv")
        .iter()
        .map(|r| (r[4].to_owned(), r[5].parse().unwrap()))
        .collect()
}

fn cls(uri: &str, label: &str) -> String {
    format!(
        r#"{{"source-ref":"{uri}","c":1,"c-metadata":{{"class-name":"{label}","confidence":1,"type":"groundtruth/image-classification","human-annotated":"yes","creation-date":"2020-01-01T00:00:00"}}}}"#
    )
}

fn od(uri: &str, w: u32, h: u32) -> String {
    format!(
        r#"{{"source-ref":"{uri}","bb":{{"image_size":[{{"width":{w},"height":{h},"depth":3}}],"annotations":[{{"class_id":0,"top":10,"left":10,"width":30,"height":30}}]}},"bb-metadata":{{"objects":[{{"confidence":1}}],"class-map":{{"0":"cat"}},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2020-01-01T00:00:00"}}}}"#
    )
}

#[test]
fn the_verdict_names_the_terminal_error_and_sets_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let train: String = (0..6)
        .map(|i| cls(&format!("s3://bkt/{i}.jpg"), ["a", "b"][i % 2]) + "\n")
        .collect();
    let good_test = format!(
        "{}\n{}\n",
        cls("s3://bkt/t1.jpg", "a"),
        cls("s3://bkt/t2.jpg", "b")
    );
    let bad_test = format!(
        "{}\n{}\n",
        cls("s3://bkt/t1.jpg", "c"),
        cls("s3://bkt/t2.jpg", "d")
    );
    for (name, text) in [
        ("train.manifest", &train),
        ("good.manifest", &good_test),
        ("bad.manifest", &bad_test),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let out = dir.path().join("pass");
    let o = rekcheck(&[
        "check",
        &p("train.manifest"),
        "--testing",
        &p("good.manifest"),
        "--out",
        &p("pass"),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Verdict: PASS"), "{stderr}");
    let verdicts: Vec<String> = rows(&out, "summary.csv")
        .iter()
        .map(|r| r[17].to_owned())
        .collect();
    assert_eq!(verdicts, ["pass", "pass"]);

    let o = rekcheck(&[
        "check",
        &p("train.manifest"),
        "--testing",
        &p("bad.manifest"),
        "--out",
        &p("fail"),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Verdict: FAIL"), "{stderr}");
    assert!(
        stderr.contains("testing ERROR_INSUFFICIENT_LABEL_OVERLAP"),
        "{stderr}"
    );
    let summary = rows(&dir.path().join("fail"), "summary.csv");
    assert_eq!(&summary[0][17], "pass");
    assert_eq!(&summary[1][17], "fail: ERROR_INSUFFICIENT_LABEL_OVERLAP");

    // --auto-split: three images per label is too few.
    let o = rekcheck(&[
        "check",
        &p("train.manifest"),
        "--auto-split",
        "--out",
        &p("split"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let codes = code_counts(&dir.path().join("split"));
    assert!(
        codes.contains(&(
            "ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_AUTOSPLIT".into(),
            1
        )),
        "{codes:?}"
    );
    // Both at once is a usage error.
    let o = rekcheck(&[
        "check",
        &p("train.manifest"),
        "--auto-split",
        "--testing",
        &p("good.manifest"),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn real_manifests_trigger_what_sources_md_expects() {
    let Some(dir) = real_manifests() else {
        return;
    };
    let expectations: &[(&str, &str, u64)] = &[
        (
            "paasovaara__sagemaker-img-classification__output.manifest",
            "ERROR_TOO_MANY_BOUNDING_BOXES",
            2,
        ),
        (
            "paasovaara__sagemaker-img-classification__train.manifest",
            "ERROR_TOO_MANY_BOUNDING_BOXES",
            2,
        ),
        (
            "tingxin__sagemaker-ocr-workshop__output.manifest",
            "ERROR_INVALID_IMAGE_DIMENSION",
            5,
        ),
        (
            "YeongJun-Jeon__1to100_Korean__output.manifest",
            "ERROR_INVALID_IMAGE_DIMENSION",
            404,
        ),
        (
            "piercus__serverless-sagemaker-groundtruth__test-simple-project__example.json",
            "ERROR_INVALID_SOURCE_REF_FORMAT",
            1,
        ),
        (
            "szamarin__ground_truth_lab__output.manifest",
            "ERROR_INVALID_SOURCE_REF_FORMAT",
            999,
        ),
        (
            "aws-samples__amazon-lookout-for-vision__template.manifest",
            "ERROR_INVALID_SOURCE_REF_FORMAT",
            63,
        ),
        // `lab#-rawdata` cannot be a bucket, but the documentation only requires s3://BUCKET/KEY:
        // a note, not an error (issue 13, item 4).
        (
            "linuxus__ground-truth__train.manifest",
            "REKCHECK_BUCKET_NAME",
            55,
        ),
        (
            "azatodeth__sagemaker-defect-detection-20210805__output.manifest",
            "ERROR_NO_LABEL_ATTRIBUTES",
            1140,
        ),
        (
            "aws-samples__aws-legal-entity-extraction__output.manifest",
            "ERROR_UNSUPPORTED_USE_CASE_TYPE",
            296,
        ),
        (
            "nishantkarve__ObjectDetection__train.manifest",
            "WARNING_NO_ANNOTATIONS",
            34,
        ),
        (
            "chetnapriyadarshini__bird-detection__input.manifest",
            "WARNING_UNANNOTATED_RECORD",
            477,
        ),
        (
            "awsdocs__example-validation-bounding-box-too-small.jsonl",
            "ERROR_BOUNDING_BOX_TOO_SMALL",
            1,
        ),
    ];
    for (file, code, n) in expectations {
        let out = tempfile::tempdir().unwrap();
        let path = dir.join(file).to_string_lossy().into_owned();
        let o = rekcheck(&["check", &path, "--out", &out.path().to_string_lossy(), "-q"]);
        assert!(
            o.status.code().is_some_and(|c| c < 2),
            "{file}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let codes = code_counts(out.path());
        assert!(
            codes.contains(&((*code).to_owned(), *n)),
            "{file}: {codes:?}"
        );
    }
    // Duplicate source-refs: szamarin has 28 repeated lines.
    let out = tempfile::tempdir().unwrap();
    let path = dir
        .join("szamarin__ground_truth_lab__output.manifest")
        .to_string_lossy()
        .into_owned();
    rekcheck(&["check", &path, "--out", &out.path().to_string_lossy(), "-q"]);
    let images = rows(out.path(), "images.csv");
    let distinct: std::collections::HashSet<&str> = images.iter().map(|r| &r[5]).collect();
    let dups = code_counts(out.path())
        .into_iter()
        .find(|(c, _)| c == "REKCHECK_DUPLICATE_SOURCE_REF")
        .map_or(0, |(_, n)| n);
    assert_eq!(dups, (images.len() - distinct.len()) as u64);
    assert!(dups > 0);
}

/// A bounding-box line whose first box (`Echo Dot`) is `first` and second (`Echo`) is valid.
fn two_boxes(uri: &str, first: &str) -> String {
    format!(
        r#"{{"source-ref":"{uri}","bb":{{"image_size":[{{"width":3000,"height":3000,"depth":3}}],"annotations":[{{"class_id":1,"top":0,"left":0,{first}}},{{"class_id":0,"top":65,"left":86,"width":220,"height":334}}]}},"bb-metadata":{{"objects":[{{"confidence":1}},{{"confidence":1}}],"class-map":{{"0":"Echo","1":"Echo Dot"}},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2019-11-20T02:57:28.288286"}}}}"#
    )
}

/// Issue 13, items 1 and 2: lines whose only errors are on boxes are used, `images.csv` says so
/// in its `used` column, and 3 such lines in 10 pass (they used to fail with
/// `ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST`); so does the documentation's own
/// `ERROR_BOUNDING_BOX_TOO_SMALL` example.
#[test]
fn check_counts_the_lines_rekognition_uses() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = String::new();
    for i in 0..10 {
        let first = if i < 7 {
            r#""width":100,"height":100"#
        } else {
            r#""width":1,"height":1"#
        };
        m.push_str(&two_boxes(&format!("s3://bkt/{i}.jpg"), first));
        m.push('\n');
    }
    let manifest = dir.path().join("train.manifest");
    std::fs::write(&manifest, m).unwrap();
    let out = dir.path().join("out");
    let o = rekcheck(&[
        "check",
        &manifest.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
        "--fail-on",
        "never",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Verdict: PASS"), "{stderr}");
    let images = rows(&out, "images.csv");
    let header = csv::Reader::from_path(out.join("images.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    assert_eq!(&header[11], "used");
    let status_used: Vec<(&str, &str)> = images.iter().map(|r| (&r[6], &r[11])).collect();
    assert_eq!(status_used[..7], [("ok", "yes"); 7]);
    assert_eq!(status_used[7..], [("error", "yes"); 3]);
    assert_eq!(&rows(&out, "summary.csv")[0][17], "pass");

    let Some(real) = real_manifests() else {
        return;
    };
    let example = real.join("awsdocs__example-validation-bounding-box-too-small.jsonl");
    let out = dir.path().join("example");
    let o = rekcheck(&[
        "check",
        &example.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
        "--fail-on",
        "never",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let images = rows(&out, "images.csv");
    assert_eq!((&images[0][6], &images[0][11]), ("error", "yes"));
    assert_eq!(&rows(&out, "summary.csv")[0][17], "pass");
}

/// Issue 13, item 5: the Lookout for Vision manifest whose lines pair an image-level label with
/// a segmentation attribute: the 31 lines whose label attribute is valid are used.
#[test]
fn a_segmentation_attribute_beside_a_valid_label_keeps_the_line() {
    let Some(real) = real_manifests() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let path = real
        .join("aws-samples__amazon-lookout-for-vision__train_segmentation.manifest")
        .to_string_lossy()
        .into_owned();
    rekcheck(&["check", &path, "--out", &out.path().to_string_lossy(), "-q"]);
    let images = rows(out.path(), "images.csv");
    let used = images.iter().filter(|r| &r[11] == "yes").count();
    assert_eq!(used, 31);
    assert!(
        images
            .iter()
            .filter(|r| &r[11] == "yes")
            .all(|r| &r[9] == "anomaly" || &r[9] == "normal"),
    );
}

/// Issue 13, items 4 and 7: a manifest on a legacy bucket passes with a note, and a testing
/// image that is also a training image is flagged on the testing line.
#[test]
fn legacy_buckets_pass_and_shared_images_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let train: String = (0..4)
        .map(|i| cls(&format!("s3://Legacy_Bucket/{i}.jpg"), ["a", "b"][i % 2]) + "\n")
        .collect();
    let test = format!(
        "{}\n{}\n",
        cls("s3://Legacy_Bucket/9.jpg", "a"),
        cls("s3://Legacy_Bucket/1.jpg", "b")
    );
    std::fs::write(dir.path().join("train.manifest"), train).unwrap();
    std::fs::write(dir.path().join("test.manifest"), test).unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let o = rekcheck(&[
        "check",
        &p("train.manifest"),
        "--testing",
        &p("test.manifest"),
        "--out",
        &p("out"),
        "--fail-on",
        "never",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Verdict: PASS"), "{stderr}");
    let out = dir.path().join("out");
    let codes = code_counts(&out);
    // One row per dataset: 4 training lines, 2 testing lines.
    assert!(
        codes.contains(&("REKCHECK_BUCKET_NAME".into(), 4)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("REKCHECK_BUCKET_NAME".into(), 2)),
        "{codes:?}"
    );
    let shared: Vec<(String, String, String)> = rows(&out, "issues.csv")
        .iter()
        .filter(|r| &r[11] == "REKCHECK_IMAGE_IN_TRAINING_AND_TESTING")
        .map(|r| (r[2].to_owned(), r[4].to_owned(), r[10].to_owned()))
        .collect();
    assert_eq!(shared, [("testing".into(), "2".into(), "warning".into())]);
}

/// Every manifest to fix: the sample scenarios' validation manifests and the real manifests.
fn fixable() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for scenario in [
        "failed-object-detection",
        "failed-classification",
        "clean-training",
    ] {
        for e in std::fs::read_dir(root().join("sample-manifests").join(scenario)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.to_lowercase().contains("manifestwithvalidation")
                || name.contains("manifest_with_validation")
            {
                out.push(p);
            }
        }
    }
    assert_eq!(out.len(), 6);
    if let Some(dir) = real_manifests() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x != "md") {
                out.push(p);
            }
        }
    }
    out
}

/// Whether `path` holds no manifest: nothing but blank lines, one JSON document with a top-level
/// `statistics` key (a manifest summary), or no line that is a JSON object.
fn not_a_manifest(path: &Path) -> bool {
    let text = std::fs::read(path).unwrap();
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&text);
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice::<serde_json::Value>(text)
        && o.contains_key("statistics")
    {
        return true;
    }
    !text.split(|&b| b == b'\n').any(|line| {
        matches!(
            serde_json::from_slice::<serde_json::Value>(line),
            Ok(serde_json::Value::Object(_))
        )
    })
}

#[test]
fn fixed_manifests_have_no_line_level_errors_and_every_line_is_accounted_for() {
    let tmp = tempfile::tempdir().unwrap();
    for (n, input) in fixable().iter().enumerate() {
        let fixed = tmp.path().join(format!("{n}.manifest"));
        let removed = tmp.path().join(format!("{n}.removed.csv"));
        let o = rekcheck(&[
            "fix",
            &input.to_string_lossy(),
            "--out",
            &fixed.to_string_lossy(),
            "--removed",
            &removed.to_string_lossy(),
            "--json",
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        // 1: the fixed manifest would still fail a dataset-level rule (checked against check's
        // own verdict below).
        let fix_code = o.status.code();
        // A real file that is no manifest (a summary, an empty file, no JSON object on any line)
        // is refused, by a rule this test states on its own.
        if not_a_manifest(input) {
            assert_eq!(fix_code, Some(2), "{}: {stderr}", input.display());
            assert!(!fixed.exists(), "{}", input.display());
            continue;
        }
        assert!(
            matches!(fix_code, Some(0 | 1)),
            "{}: {stderr}",
            input.display()
        );
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        // Accounting: every physical input line is written or listed in removed.csv.
        let text = std::fs::read(input).unwrap();
        let physical = text.split(|&b| b == b'\n').count() - usize::from(text.ends_with(b"\n"));
        let kept = std::fs::read_to_string(&fixed).unwrap().lines().count();
        let listed: std::collections::HashSet<u64> = csv::Reader::from_path(&removed)
            .unwrap()
            .records()
            .map(Result::unwrap)
            // Rows for a removed box or attribute name a kept line.
            .filter(|r| !r[2].starts_with("box ") && !r[2].starts_with("attribute "))
            .map(|r| r[0].parse().unwrap())
            .collect();
        assert_eq!(
            kept + listed.len(),
            physical,
            "{}: {stderr}",
            input.display()
        );

        let out = tmp.path().join(format!("{n}.check"));
        let o = rekcheck(&[
            "check",
            &fixed.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
            "-q",
            "--fail-on",
            "never",
        ]);
        assert!(
            o.status.code().is_some_and(|c| c < 2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        // fix's predicted verdict is check's verdict of the fixed manifest.
        assert_eq!(fix_code, o.status.code(), "{}: {stderr}", input.display());
        let mut summary = csv::Reader::from_path(out.join("summary.csv")).unwrap();
        let column = summary
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "verdict")
            .unwrap();
        let first = summary.records().next().unwrap().unwrap();
        let verdict = &first[column];
        assert_eq!(
            doc["fix"]["verdict"],
            if fix_code == Some(0) { "pass" } else { "fail" },
            "{}",
            input.display()
        );
        assert!(
            verdict == "pass" || verdict.starts_with("fail"),
            "{verdict}"
        );
        assert_eq!(
            verdict == "pass",
            fix_code == Some(0),
            "{}",
            input.display()
        );
        let line_errors: Vec<String> = rows(&out, "issues.csv")
            .iter()
            .filter(|r| &r[6] != "manifest" && &r[10] == "error")
            .map(|r| format!("{}:{} {}", &r[4], &r[6], &r[11]))
            .collect();
        assert!(
            line_errors.is_empty(),
            "{}: {line_errors:?}",
            input.display()
        );
    }
}

/// Issue 13 item 13: a fixed manifest that would still fail (every line dropped, too few
/// labels) is written, but fix says FAIL and exits 1, in text and in --json.
#[test]
fn fix_exits_1_when_the_fixed_manifest_would_still_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.manifest");
    std::fs::write(&input, "{\"source-ref\":\"not-an-s3-uri\"}\n").unwrap();
    let fixed = tmp.path().join("fixed.manifest");
    let o = rekcheck(&[
        "fix",
        &input.to_string_lossy(),
        "--out",
        &fixed.to_string_lossy(),
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(std::fs::read(&fixed).unwrap(), b"");
    assert!(
        stderr.contains("Verdict of the fixed manifest: FAIL"),
        "{stderr}"
    );
    assert!(stderr.contains("ERROR_EMPTY_MANIFEST"), "{stderr}");
    assert!(stderr.contains("Every line was dropped"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["fix"]["verdict"], "fail");
    assert_eq!(doc["fix"]["terminal"][0]["code"], "ERROR_EMPTY_MANIFEST");

    // Lines kept, but a single label: image-level classification needs two.
    let input =
        root().join("sample-manifests/failed-classification/testing_manifest_with_validation.json");
    let o = rekcheck(&[
        "fix",
        &input.to_string_lossy(),
        "--out",
        &fixed.to_string_lossy(),
        "--json",
        "-q",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["fix"]["verdict"], "fail");
    assert_eq!(
        doc["fix"]["terminal"][0]["code"],
        "ERROR_MANIFEST_TOO_FEW_LABELS"
    );
    assert!(doc["fix"]["kept"].as_u64().unwrap() > 0);

    // A fixed manifest that passes exits 0 and says so.
    let input = root()
        .join("sample-manifests/failed-classification/training_manifest_with_validation.json");
    let o = rekcheck(&[
        "fix",
        &input.to_string_lossy(),
        "--out",
        &fixed.to_string_lossy(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Verdict of the fixed manifest: PASS"),
        "{stderr}"
    );
}

/// Issue 13 item 14: what is no manifest is refused (exit 2) with the file's name and what to
/// give instead, and nothing is written.
#[test]
fn fix_refuses_a_summary_an_empty_file_and_what_is_not_json_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    let summary = root()
        .join("sample-manifests/failed-classification/manifest_summary.json")
        .to_string_lossy()
        .into_owned();
    let one_line_summary = write(
        "summary-one-line.json",
        &serde_json::to_string(
            &serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&summary).unwrap())
                .unwrap(),
        )
        .unwrap(),
    );
    let cases = [
        (write("empty.manifest", ""), "is empty"),
        (write("bom.manifest", "\u{feff}"), "is empty"),
        (
            write("blank.manifest", "\n \r\n\n"),
            "holds only blank lines",
        ),
        (summary, "is a manifest summary"),
        (one_line_summary, "is a manifest summary"),
        (
            write("labels.csv", "label,images\r\ncat,3\r\n"),
            "is not JSON Lines",
        ),
        (
            write(
                "pretty.json",
                "{\n  \"source-ref\": \"s3://b/1.jpg\",\n  \"c\": 1\n}\n",
            ),
            "is not JSON Lines",
        ),
    ];
    for (input, what) in cases {
        let out = tmp.path().join("out").join("fixed.manifest");
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let o = rekcheck(&["fix", &input, "--out", &out.to_string_lossy()]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{input}: {stderr}");
        assert!(stderr.contains(&format!("{input} {what}")), "{stderr}");
        assert!(stderr.contains("give"), "{stderr}");
        let left: Vec<_> = std::fs::read_dir(out.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{input}: {left:?}");
    }
}

/// Issue 13 item 15: clean lines are written byte for byte: the byte order mark, CRLF, spaces
/// around the object and a last line without a newline.
#[test]
fn fix_writes_clean_lines_byte_for_byte_with_their_line_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let line = |n: u32, label: &str| {
        format!(
            r#"{{"source-ref":"s3://bkt/{n}.jpg","c":1,"c-metadata":{{"class-name":"{label}","confidence":1,"type":"groundtruth/image-classification","human-annotated":"yes","creation-date":"2020-01-01T00:00:00"}}}}"#
        )
    };
    let text = format!(
        "\u{feff}{}\r\n  {} \r\n{}\t\r\n{}",
        line(1, "cat"),
        line(2, "dog"),
        line(3, "cat"),
        line(4, "dog")
    );
    let input = tmp.path().join("crlf.manifest");
    std::fs::write(&input, &text).unwrap();
    let fixed = tmp.path().join("fixed.manifest");
    let o = rekcheck(&[
        "fix",
        &input.to_string_lossy(),
        "--out",
        &fixed.to_string_lossy(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read_to_string(&fixed).unwrap(), text);
}

#[test]
fn fix_keeps_the_bytes_of_clean_lines_and_refuses_to_overwrite_its_input() {
    let Some(dir) = real_manifests() else {
        return;
    };
    let input = dir.join("themacedo__Face_Detection__training_manifest_with_validation.json");
    let tmp = tempfile::tempdir().unwrap();
    let fixed = tmp.path().join("fixed.manifest");
    let o = rekcheck(&[
        "fix",
        &input.to_string_lossy(),
        "--out",
        &fixed.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let a = std::fs::read_to_string(&input).unwrap();
    let b = std::fs::read_to_string(&fixed).unwrap();
    assert_eq!(a.lines().collect::<Vec<_>>(), b.lines().collect::<Vec<_>>());
    assert!(String::from_utf8_lossy(&o.stderr).contains("129 lines kept"));

    let copy = tmp.path().join("in.manifest");
    std::fs::copy(&input, &copy).unwrap();
    let o = rekcheck(&[
        "fix",
        &copy.to_string_lossy(),
        "--out",
        &copy.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), a);
}

/// A PNG header: signature and IHDR.
fn png(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    b.resize(2000, 0);
    b
}

/// A JPEG header: SOI, an APP1 block of `pad` bytes, then SOF0.
fn jpeg(w: u16, h: u16, pad: usize) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8];
    let mut left = pad;
    while left > 0 {
        let n = left.min(60_000);
        b.extend_from_slice(&[0xFF, 0xE1]);
        b.extend_from_slice(&u16::try_from(n + 2).unwrap().to_be_bytes());
        b.resize(b.len() + n, 0);
        left -= n;
    }
    b.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

#[test]
fn verify_images_reads_formats_and_dimensions_from_s3_headers() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let endpoint = moto.endpoint();
    let objects: Vec<(&str, Vec<u8>)> = vec![
        ("img/ok.png", png(640, 480)),
        ("img/wide.jpg", jpeg(5000, 100, 0)),
        ("img/exif.jpg", jpeg(1024, 768, 150_000)),
        ("img/anim.gif", b"GIF89a\x80\x02\xe0\x01\0\0".to_vec()),
        ("img/big.png", {
            let mut b = png(640, 480);
            b.resize(16 * 1024 * 1024, 0);
            b
        }),
    ];
    let manifest = [
        od("s3://images/img/ok.png", 640, 480),
        od("s3://images/img/wide.jpg", 640, 480),
        od("s3://images/img/exif.jpg", 1024, 768),
        od("s3://images/img/anim.gif", 640, 480),
        od("s3://images/img/big.png", 640, 480),
        od("s3://images/img/missing.png", 640, 480),
    ]
    .join("\n")
        + "\n";
    rt.block_on(async {
        let client = s3_client(&endpoint).await;
        put_objects(&client, "images", &objects).await;
        put_objects(
            &client,
            "manifests",
            &[("train.manifest", manifest.into_bytes())],
        )
        .await;
    });
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck_s3(
        &endpoint,
        &[
            "check",
            "s3://manifests/train.manifest",
            "--verify-images",
            "--concurrency",
            "3",
            "--out",
            &out.path().to_string_lossy(),
        ],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Images verified in S3: 6"), "{stderr}");
    let issues: Vec<(String, String, String)> = rows(out.path(), "issues.csv")
        .iter()
        .map(|r| (r[4].to_owned(), r[11].to_owned(), r[12].to_owned()))
        .collect();
    let on = |line: &str| -> Vec<&str> {
        issues
            .iter()
            .filter(|i| i.0 == line)
            .map(|i| i.1.as_str())
            .collect()
    };
    assert!(on("1").is_empty(), "{issues:?}");
    assert_eq!(
        on("2"),
        ["ERROR_INVALID_IMAGE", "REKCHECK_IMAGE_SIZE_MISMATCH"],
        "{issues:?}"
    );
    assert!(
        on("3").is_empty(),
        "the frame header past a large EXIF block is found: {issues:?}"
    );
    assert_eq!(on("4"), ["ERROR_INVALID_IMAGE"]);
    assert_eq!(on("5"), ["ERROR_INVALID_IMAGE"]);
    assert_eq!(on("6"), ["ERROR_INVALID_IMAGE"]);
    let message = |line: &str| {
        issues
            .iter()
            .find(|i| i.0 == line)
            .map(|i| i.2.clone())
            .unwrap()
    };
    assert!(message("2").contains("5000x100"), "{}", message("2"));
    assert!(message("4").contains("gif"), "{}", message("4"));
    assert!(message("5").contains("over 15 MB"), "{}", message("5"));
    assert!(message("6").contains("does not exist"), "{}", message("6"));
    // The same check without --verify-images finds nothing wrong.
    let out2 = tempfile::tempdir().unwrap();
    let o = rekcheck_s3(
        &endpoint,
        &[
            "check",
            "s3://manifests/train.manifest",
            "--out",
            &out2.path().to_string_lossy(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Only the one-label warning of a bounding-box dataset (the documentation's other reading).
    let issues = read(out2.path(), "issues.csv");
    assert!(
        issues
            .lines()
            .skip(1)
            .all(|l| l.contains(",REKCHECK_LABEL_MINIMUM_READING,")),
        "{issues}"
    );
}
