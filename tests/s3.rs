//! The `rekcheck` binary reading from moto's S3 server: the same report as from local files,
//! through resets, and clear errors for missing objects.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rekcheck_testkit::moto::{Moto, isolated_aws_env, put_objects, s3_client};
use rekcheck_testkit::proxy::{Fault, FaultProxy};

const FILES: [&str; 5] = [
    "issues.csv",
    "images.csv",
    "summary.csv",
    "codes.csv",
    "labels.csv",
];
const SCENARIO: &str = "sample-manifests/failed-object-detection";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rekcheck(endpoint: &str, args: &[&str], out: &Path) -> Output {
    isolated_aws_env(
        Command::new(env!("CARGO_BIN_EXE_rekcheck"))
            .current_dir(root())
            .arg("report")
            .args(args)
            .arg("--out")
            .arg(out)
            // The per-version folders of the layout before tables, with spreadsheet-safe cells.
            .args(["--layout", "folders", "--cells", "defused"])
            .args(["--endpoint-url", endpoint, "--retries", "6"]),
    )
    .output()
    .unwrap()
}

/// Uploads the sample scenario under `s3://rekcheck-in/out/widgets v2/` (a space in the key).
fn upload(moto: &Moto, rt: &tokio::runtime::Runtime) {
    let mut objects: Vec<(String, Vec<u8>)> = Vec::new();
    for e in std::fs::read_dir(root().join(SCENARIO)).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        objects.push((format!("out/widgets v2/{name}"), std::fs::read(&p).unwrap()));
    }
    let refs: Vec<(&str, Vec<u8>)> = objects
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    rt.block_on(async {
        let client = s3_client(&moto.endpoint()).await;
        put_objects(&client, "rekcheck-in", &refs).await;
    });
}

fn local_report() -> tempfile::TempDir {
    local_report_of_paths(&[SCENARIO.to_owned()], &[])
}

/// The report of local `paths` (relative to the repository), with `args`; it finds errors.
fn local_report_of_paths(paths: &[String], args: &[&str]) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rekcheck"))
        .current_dir(root())
        .arg("report")
        .args(paths)
        .arg("--out")
        .arg(out.path())
        .args(args)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    out
}

fn assert_same_report(local: &Path, s3: &Path) {
    for f in FILES {
        let a = std::fs::read_to_string(local.join(f)).unwrap();
        let b = std::fs::read_to_string(s3.join(f)).unwrap();
        let a = a.replace(&format!("{SCENARIO}/"), "s3://rekcheck-in/out/widgets v2/");
        assert_eq!(a, b, "{f}");
    }
}

#[test]
fn a_prefix_in_s3_gives_the_same_report_as_the_local_folder() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    upload(&moto, &rt);
    let local = local_report();
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(
        &moto.endpoint(),
        &["s3://rekcheck-in/out/widgets v2/"],
        out.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_same_report(local.path(), out.path());

    // Through a proxy that resets the first object reads part-way: the same report.
    let proxy = rt.block_on(FaultProxy::start(moto.addr()));
    for after in [700, 1500, 3000] {
        proxy.push(Fault::Reset { after });
    }
    proxy.push(Fault::Status {
        status: 503,
        code: "SlowDown",
    });
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(
        &proxy.endpoint(),
        &["s3://rekcheck-in/out/widgets v2/"],
        out.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_same_report(local.path(), out.path());
    // Four objects, read once each without faults; more requests mean resumes and retries.
    assert!(
        proxy.object_requests() > 5,
        "{} object requests",
        proxy.object_requests()
    );
}

/// The GET requests the proxy saw for the object named `name` (resumes included).
fn gets_of(proxy: &FaultProxy, name: &str) -> usize {
    proxy
        .request_lines()
        .iter()
        .filter(|l| l.starts_with("GET ") && l.contains(name))
        .count()
}

#[test]
fn a_manifest_named_directly_is_requested_once_even_when_its_body_breaks() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    upload(&moto, &rt);
    let names = [
        "TrainingManifestWithValidation-widgets-widgets.2026-11-20T10.00.00.json",
        "TestingManifestWithValidation-widgets-widgets.2026-11-20T10.00.00.json",
        "ManifestSummary-widgets-widgets.2026-11-20T10.00.00.json",
    ];
    let local = local_report_of_paths(
        &names.map(|n| format!("{SCENARIO}/{n}")),
        &["--layout", "folders", "--cells", "defused"],
    );
    let keys = names.map(|n| format!("s3://rekcheck-in/out/widgets v2/{n}"));
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    // Without faults: telling a manifest from a summary and reading it take one request.
    let proxy = rt.block_on(FaultProxy::start(moto.addr()));
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(&proxy.endpoint(), &keys, out.path());
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The manifests (the summary is read whole once it is known to be one).
    for n in &names[..2] {
        assert_eq!(gets_of(&proxy, n), 1, "{n}: {:?}", proxy.request_lines());
    }
    for f in ["issues.csv", "images.csv", "summary.csv"] {
        let a = std::fs::read_to_string(local.path().join(f)).unwrap();
        let b = std::fs::read_to_string(out.path().join(f)).unwrap();
        let a = a.replace(&format!("{SCENARIO}/"), "s3://rekcheck-in/out/widgets v2/");
        assert_eq!(a, b, "{f}");
    }
    let issues = std::fs::read_to_string(out.path().join("issues.csv")).unwrap();
    // A reset part-way through the first body: the kept reader resumes where it broke off and
    // the report is the same.
    let proxy = rt.block_on(FaultProxy::start(moto.addr()));
    proxy.push(Fault::Reset { after: 3000 });
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(&proxy.endpoint(), &keys, out.path());
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("issues.csv")).unwrap(),
        issues
    );
    assert_eq!(gets_of(&proxy, names[0]), 2, "{:?}", proxy.request_lines());
    assert_eq!(gets_of(&proxy, names[1]), 1, "{:?}", proxy.request_lines());
}

#[test]
fn a_missing_object_is_named_and_the_rest_is_still_reported() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    upload(&moto, &rt);
    let out = tempfile::tempdir().unwrap();
    let key = "s3://rekcheck-in/out/widgets v2/TrainingManifestWithValidation-widgets-widgets.2026-11-20T10.00.00.json";
    let o = rekcheck(
        &moto.endpoint(),
        &[key, "s3://rekcheck-in/out/missing.json"],
        out.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("s3://rekcheck-in/out/missing.json does not exist"),
        "{stderr}"
    );
    // A read failure is no training-stopping error, and never ends in "nothing to fix".
    assert!(!stderr.contains("Terminal errors"), "{stderr}");
    assert!(
        stderr.contains("Not read (REKCHECK_READ_FAILED"),
        "{stderr}"
    );
    assert!(!stderr.contains("nothing to fix"), "{stderr}");
    assert!(!stderr.contains("part-way"), "{stderr}");
    let summary = std::fs::read_to_string(out.path().join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 3, "{summary}");
    assert!(summary.contains(",12,1,0,2,2,7,"), "{summary}");
    // The missing object keeps its row, with its failure.
    assert!(
        summary.contains(
            ",,,s3://rekcheck-in/out/missing.json,0,0,0,0,0,0,0,0,,,,,,fail: REKCHECK_READ_FAILED\r\n"
        ),
        "{summary}"
    );
    let issues = std::fs::read_to_string(out.path().join("issues.csv")).unwrap();
    assert!(
        issues.contains(
            ",,,s3://rekcheck-in/out/missing.json,,,manifest,,,,error,REKCHECK_READ_FAILED,"
        ),
        "{issues}"
    );
}

#[test]
fn a_prefix_named_without_its_trailing_slash_is_told_to_add_it() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    upload(&moto, &rt);
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(
        &moto.endpoint(),
        &[
            "s3://rekcheck-in/out/widgets v2",
            "s3://rekcheck-in/out/nothing-here",
        ],
        out.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(
            "s3://rekcheck-in/out/widgets v2 is not an object but a prefix: add a trailing / to list it"
        ),
        "{stderr}"
    );
    // A key that is neither an object nor a prefix is just missing.
    assert!(
        stderr.contains("s3://rekcheck-in/out/nothing-here does not exist"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("nothing-here is not an object"),
        "{stderr}"
    );
}

fn get(
    rt: &tokio::runtime::Runtime,
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Vec<u8> {
    rt.block_on(async {
        let o = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        o.body.collect().await.unwrap().into_bytes().to_vec()
    })
}

fn keys(rt: &tokio::runtime::Runtime, client: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    rt.block_on(async {
        let out = client
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    })
}

#[test]
fn the_report_is_uploaded_per_version_and_per_run_with_the_index_last() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(async {
        let c = s3_client(&moto.endpoint()).await;
        c.create_bucket()
            .bucket("reports-out")
            .send()
            .await
            .unwrap();
        c
    });
    let o = rekcheck(
        &moto.endpoint(),
        &["sample-manifests"],
        Path::new("s3://reports-out/rekcheck/"),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let first = keys(&rt, &client, "reports-out");
    let version = "rekcheck/widgets/widgets.2026-11-20T10.00.00/";
    for f in FILES.iter().chain(&["versions.csv"]) {
        assert!(
            first.contains(&format!("{version}{f}")),
            "{f} missing: {first:?}"
        );
    }
    let indexes: Vec<&String> = first
        .iter()
        .filter(|k| k.ends_with("/index.json"))
        .collect();
    assert_eq!(indexes.len(), 1, "{first:?}");
    assert!(indexes[0].starts_with("rekcheck/runs/"));
    let index: serde_json::Value =
        serde_json::from_slice(&get(&rt, &client, "reports-out", indexes[0])).unwrap();
    // The five versions of the sample folders (two side by side in two-versions/).
    assert_eq!(index["versions"].as_array().unwrap().len(), 5);
    assert_eq!(index["complete"], true);

    // A version's files hold exactly that version's rows: the same as reporting it alone.
    let local = local_report();
    for f in FILES {
        let uploaded = get(&rt, &client, "reports-out", &format!("{version}{f}"));
        assert_eq!(
            String::from_utf8(uploaded).unwrap(),
            std::fs::read_to_string(local.path().join(f)).unwrap(),
            "{f}"
        );
    }
    let versions = String::from_utf8(get(
        &rt,
        &client,
        "reports-out",
        &format!("{version}versions.csv"),
    ))
    .unwrap();
    assert!(
        versions.contains(",s3://reports-out/rekcheck/widgets/widgets.2026-11-20T10.00.00/"),
        "{versions}"
    );

    // Idempotent: a second run writes the same per-version objects.
    let before: Vec<(String, Vec<u8>)> = first
        .iter()
        .filter(|k| !k.contains("/runs/"))
        .map(|k| (k.clone(), get(&rt, &client, "reports-out", k)))
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = rekcheck(
        &moto.endpoint(),
        &["sample-manifests"],
        Path::new("s3://reports-out/rekcheck/"),
    );
    assert_eq!(o.status.code(), Some(1));
    for (key, bytes) in &before {
        assert_eq!(
            &get(&rt, &client, "reports-out", key),
            bytes,
            "{key} changed"
        );
    }
    let second = keys(&rt, &client, "reports-out");
    assert_eq!(
        second.iter().filter(|k| k.ends_with("/index.json")).count(),
        2
    );
    assert_eq!(
        first.iter().filter(|k| !k.contains("/runs/")).count(),
        second.iter().filter(|k| !k.contains("/runs/")).count()
    );
}

/// Runs `rekcheck report <args> --out <out>` with its own `TMPDIR`.
fn rekcheck_tmp(endpoint: &str, args: &[&str], out: &str, tmp: &Path, retries: &str) -> Output {
    isolated_aws_env(
        Command::new(env!("CARGO_BIN_EXE_rekcheck"))
            .current_dir(root())
            .env("TMPDIR", tmp)
            .arg("report")
            .args(args)
            .args(["--out", out])
            .args(["--layout", "folders", "--cells", "defused"])
            .args(["--endpoint-url", endpoint, "--retries", retries]),
    )
    .output()
    .unwrap()
}

fn create_bucket(rt: &tokio::runtime::Runtime, endpoint: &str, bucket: &str) -> aws_sdk_s3::Client {
    rt.block_on(async {
        let c = s3_client(endpoint).await;
        c.create_bucket().bucket(bucket).send().await.unwrap();
        c
    })
}

/// A folder with the failed-classification scenario whose `describe-project-versions.json`
/// names one version `(project, version)`.
fn scenario_named(dir: &Path, project: &str, version: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let from = root().join("sample-manifests/failed-classification");
    for e in std::fs::read_dir(&from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    let describe = dir.join("describe-project-versions.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&describe).unwrap()).unwrap();
    doc["ProjectVersionDescriptions"][0]["ProjectVersionArn"] = format!(
        "arn:aws:rekognition:us-east-1:111122223333:project/{project}/version/{version}/1762092311512"
    )
    .into();
    std::fs::write(&describe, serde_json::to_vec(&doc).unwrap()).unwrap();
}

fn local_report_of(dir: &Path) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rekcheck"))
        .arg("report")
        .arg(dir)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

#[test]
fn hostile_names_each_get_their_own_report_under_an_encoded_key() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = create_bucket(&rt, &moto.endpoint(), "reports-out");
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("inputs");
    let tmp = work.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let long = "L".repeat(300);
    let controls = "\u{1}".repeat(200);
    // (project, version, the folder expected under the prefix; None: hashed)
    let cases: Vec<(&str, &str, Option<String>)> = vec![
        ("..", "..", Some("%2E./%2E.".into())),
        (".", "x", Some("%2E/x".into())),
        ("x", ".", Some("x/%2E".into())),
        ("a\0b", "v1", Some("a%00b/v1".into())),
        (&long, "v1", Some(format!("{long}/v1"))),
        ("-widgets", "v1", Some("-widgets/v1".into())),
        ("%2E%2E", "..", Some("%252E%252E/%2E.".into())),
        (&controls, "v1", None),
        ("p", "", Some("p/~".into())),
    ];
    for (i, (p, v, _)) in cases.iter().enumerate() {
        scenario_named(&inputs.join(format!("f{i}")), p, v);
    }
    let o = rekcheck_tmp(
        &moto.endpoint(),
        &[inputs.to_str().unwrap()],
        "s3://reports-out/pre/",
        &tmp,
        "3",
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    // Nothing written outside the staging folder, and the staging folder is gone.
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    let mut top: Vec<String> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["inputs", "tmp"]);

    let all = keys(&rt, &client, "reports-out");
    let index_key = all.iter().find(|k| k.ends_with("/index.json")).unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&get(&rt, &client, "reports-out", index_key)).unwrap();
    let listed = index["versions"].as_array().unwrap();
    assert_eq!(listed.len(), cases.len(), "{index:#}");
    assert!(
        index["failures"].as_array().unwrap().is_empty(),
        "{index:#}"
    );
    for (i, (p, v, folder)) in cases.iter().enumerate() {
        let entry = listed
            .iter()
            .find(|e| e["project"] == *p && e["version"] == *v)
            .unwrap_or_else(|| panic!("{p:?} {v:?} not in {index:#}"));
        let report = entry["report"].as_str().unwrap();
        let folder = if let Some(f) = folder {
            assert_eq!(report, format!("s3://reports-out/pre/{f}/"));
            f.clone()
        } else {
            let f = report.strip_prefix("s3://reports-out/pre/").unwrap();
            assert!(f.starts_with("~sha256/") && f.len() == 8 + 64 + 1, "{f}");
            f.trim_end_matches('/').to_owned()
        };
        // The version's files are exactly the report of its folder alone.
        let local = local_report_of(&inputs.join(format!("f{i}")));
        for f in FILES {
            let key = format!("pre/{folder}/{f}");
            assert!(all.contains(&key), "{key} missing: {all:?}");
            assert_eq!(
                String::from_utf8(get(&rt, &client, "reports-out", &key)).unwrap(),
                std::fs::read_to_string(local.path().join(f)).unwrap(),
                "{p:?} {v:?} {f}"
            );
        }
        // Its versions.csv row links to the same folder.
        let versions = String::from_utf8(get(
            &rt,
            &client,
            "reports-out",
            &format!("pre/{folder}/versions.csv"),
        ))
        .unwrap();
        assert_eq!(versions.lines().count(), 2, "{versions}");
        assert!(
            versions.trim_end().ends_with(&format!(",{report}")),
            "{versions}"
        );
    }
    // The defusing `'` stays inside the CSV cells but never reaches a key.
    assert!(all.iter().all(|k| !k.contains('\'')), "{all:?}");
    let run_versions = String::from_utf8(get(
        &rt,
        &client,
        "reports-out",
        &index_key.replace("index.json", "versions.csv"),
    ))
    .unwrap();
    assert!(
        run_versions.contains("'-widgets,v1,")
            && run_versions.contains(",s3://reports-out/pre/-widgets/v1/\r\n"),
        "{run_versions}"
    );
}

#[test]
fn names_the_csv_cannot_tell_apart_get_no_mixed_copy_and_say_so() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = create_bucket(&rt, &moto.endpoint(), "reports-out");
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("inputs");
    // `-w` is written `'-w` in the CSV cells, like the name `'-w` itself.
    scenario_named(&inputs.join("a"), "'-w", "v");
    scenario_named(&inputs.join("b"), "-w", "v");
    scenario_named(&inputs.join("c"), "ok", "v");
    let o = rekcheck_tmp(
        &moto.endpoint(),
        &[inputs.to_str().unwrap()],
        "s3://reports-out/pre/",
        work.path(),
        "3",
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no per-version report"), "{stderr}");
    let all = keys(&rt, &client, "reports-out");
    assert!(!all.iter().any(|k| k.contains("w/v/")), "{all:?}");
    let local = local_report_of(&inputs.join("c"));
    assert_eq!(
        String::from_utf8(get(&rt, &client, "reports-out", "pre/ok/v/issues.csv")).unwrap(),
        std::fs::read_to_string(local.path().join("issues.csv")).unwrap()
    );
    assert_eq!(all.iter().filter(|k| k.ends_with("/index.json")).count(), 1);

    // With --csv-raw the cells differ, and each gets its own copy.
    let o = isolated_aws_env(
        Command::new(env!("CARGO_BIN_EXE_rekcheck"))
            .arg("report")
            .arg(&inputs)
            .args([
                "--csv-raw",
                "--layout",
                "folders",
                "--out",
                "s3://reports-out/raw/",
            ])
            .args(["--endpoint-url", &moto.endpoint()]),
    )
    .output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let all = keys(&rt, &client, "reports-out");
    for k in ["raw/%27-w/v/issues.csv", "raw/-w/v/issues.csv"] {
        assert!(all.iter().any(|a| a == k), "{k}: {all:?}");
    }
}

#[test]
fn a_slow_down_on_put_is_retried_and_a_lasting_failure_keeps_the_report() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = create_bucket(&rt, &moto.endpoint(), "reports-out");
    let proxy = rt.block_on(FaultProxy::start(moto.addr()));
    let slow_down = || Fault::Status {
        status: 503,
        code: "SlowDown",
    };
    let work = tempfile::tempdir().unwrap();

    // Two 503s: retried, the whole report and its index are uploaded.
    proxy.push_put(slow_down());
    proxy.push_put(slow_down());
    let o = rekcheck_tmp(
        &proxy.endpoint(),
        &["sample-manifests"],
        "s3://reports-out/a/",
        work.path(),
        "3",
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let all = keys(&rt, &client, "reports-out");
    assert_eq!(all.iter().filter(|k| k.ends_with("/index.json")).count(), 1);
    // 5 versions and the run, 6 files each, the run's report.html and the index; the two
    // refused ones sent again.
    assert_eq!(all.len(), 38, "{all:?}");
    assert_eq!(proxy.put_requests(), 40);
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);

    // Every attempt refused (uploads run several at a time, so every request gets one):
    // exit 2, no index, and the report is kept where the error says.
    for _ in 0..200 {
        proxy.push_put(slow_down());
    }
    let o = rekcheck_tmp(
        &proxy.endpoint(),
        &["sample-manifests"],
        "s3://reports-out/b/",
        work.path(),
        "3",
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("SlowDown"), "{stderr}");
    let all = keys(&rt, &client, "reports-out");
    assert!(!all.iter().any(|k| k.starts_with("b/")), "{all:?}");
    let kept: Vec<PathBuf> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let kept = &kept[0];
    assert!(
        stderr.contains(&format!("kept in {}", kept.display())),
        "{stderr}"
    );
    let local = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rekcheck"))
        .current_dir(root())
        .args(["report", "sample-manifests", "--out"])
        .arg(local.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    for f in FILES {
        assert_eq!(
            std::fs::read_to_string(kept.join(f)).unwrap(),
            std::fs::read_to_string(local.path().join(f)).unwrap(),
            "{f}"
        );
    }
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(kept.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["versions"].as_array().unwrap().len(), 5);
    assert!(kept.join("versions/0/issues.csv").is_file());
}

#[test]
fn a_defused_name_is_uploaded_under_its_raw_name_as_the_index_and_links_say() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = create_bucket(&rt, &moto.endpoint(), "reports-out");
    let work = tempfile::tempdir().unwrap();
    let inputs = work.path().join("inputs");
    scenario_named(&inputs.join("a"), "-widgets", "=v1");
    let o = rekcheck_tmp(
        &moto.endpoint(),
        &[inputs.to_str().unwrap()],
        "s3://reports-out/pre/",
        work.path(),
        "3",
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let all = keys(&rt, &client, "reports-out");
    let index_key = all.iter().find(|k| k.ends_with("/index.json")).unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&get(&rt, &client, "reports-out", index_key)).unwrap();
    assert_eq!(index["versions"][0]["project"], "-widgets");
    assert_eq!(index["versions"][0]["version"], "=v1");
    let link = "s3://reports-out/pre/-widgets/%3Dv1/";
    assert_eq!(index["versions"][0]["report"], link);
    for f in FILES.iter().chain(&["versions.csv"]) {
        assert!(
            all.contains(&format!("pre/-widgets/%3Dv1/{f}")),
            "{f}: {all:?}"
        );
    }
    // The cells keep their defusing `'`; the link in versions.csv is the key's.
    let versions = String::from_utf8(get(
        &rt,
        &client,
        "reports-out",
        "pre/-widgets/%3Dv1/versions.csv",
    ))
    .unwrap();
    assert!(versions.contains("\r\n'-widgets,'=v1,"), "{versions}");
    assert!(versions.ends_with(&format!(",{link}\r\n")), "{versions}");
    let issues = String::from_utf8(get(
        &rt,
        &client,
        "reports-out",
        "pre/-widgets/%3Dv1/issues.csv",
    ))
    .unwrap();
    assert!(issues.lines().count() > 1, "{issues}");
    assert!(
        issues
            .lines()
            .skip(1)
            .all(|l| l.starts_with("'-widgets,'=v1,")),
        "{issues}"
    );
}

/// An upload endpoint that accepts a PUT and never answers cannot hang the run: each attempt
/// ends after `--timeout` (plus the body's time at the slowest accepted rate), is retried, and
/// once the retries are spent the run exits 2 and keeps the report locally.
#[test]
fn an_upload_that_never_answers_times_out_and_keeps_the_report() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = create_bucket(&rt, &moto.endpoint(), "reports-out");
    let proxy = rt.block_on(FaultProxy::start(moto.addr()));
    let work = tempfile::tempdir().unwrap();
    // Held until the senders are dropped at the end of the test: longer than any timeout.
    // Uploads run several at a time: every request is held.
    let mut senders = Vec::new();
    for _ in 0..100 {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        senders.push(tx);
        proxy.push_put(Fault::Hold(rx));
    }
    let o = isolated_aws_env(
        Command::new(env!("CARGO_BIN_EXE_rekcheck"))
            .current_dir(root())
            .env("TMPDIR", work.path())
            .args(["report", SCENARIO, "--out", "s3://reports-out/held/"])
            .args(["--endpoint-url", &proxy.endpoint(), "--retries", "2"])
            .args(["--timeout", "2"]),
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no answer within"), "{stderr}");
    // The first object that fails twice ends the upload: at most two attempts of each of the
    // requests in flight, none started after it.
    let puts = proxy.put_requests();
    assert!((2..=16).contains(&puts), "{puts} PUTs: {stderr}");
    let all = keys(&rt, &client, "reports-out");
    assert!(!all.iter().any(|k| k.ends_with("index.json")), "{all:?}");
    let kept: Vec<PathBuf> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].join("issues.csv").is_file());
    drop(senders);
}

/// Uploads stream several staged files at once, at most eight: with the first eight PUTs each
/// held until eight have arrived (and 0.7 s more), the proxy has seen exactly eight when they
/// go on (a sequential upload would show one, an unbounded one more).
/// The report uploaded is whole and `index.json` comes last, after every other object.
#[test]
fn uploads_run_eight_at_a_time_and_the_index_comes_last() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = create_bucket(&rt, &moto.endpoint(), "reports-out");
    let proxy = rt.block_on(FaultProxy::start(moto.addr()));
    let work = tempfile::tempdir().unwrap();
    for _ in 0..8 {
        proxy.push_put(Fault::HoldUntilPuts {
            puts: 8,
            grace: std::time::Duration::from_millis(700),
        });
    }
    let o = rekcheck_tmp(
        &proxy.endpoint(),
        &["sample-manifests"],
        "s3://reports-out/c/",
        work.path(),
        "3",
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(proxy.puts_seen_while_held(), Some(8), "{stderr}");
    let all = keys(&rt, &client, "reports-out");
    assert_eq!(all.len(), 38, "{all:?}");
    assert_eq!(proxy.put_requests(), 38);
    let puts: Vec<String> = proxy
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("PUT "))
        .collect();
    assert!(
        puts.last().is_some_and(|l| l.contains("/index.json")),
        "{puts:?}"
    );
}

/// A prefix holding two versions' files side by side and no describe file (what `aws s3 sync`
/// of a training output bucket gives) is two trainings, as the same files in a local folder
/// are: the same rows, each version with its own summary rows and `versions.csv` row.
#[test]
fn two_versions_side_by_side_in_a_prefix_are_two_trainings() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let folder = "sample-manifests/two-versions";
    let mut objects: Vec<(String, Vec<u8>)> = Vec::new();
    for e in std::fs::read_dir(root().join(folder)).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        objects.push((format!("synced/{name}"), std::fs::read(&p).unwrap()));
    }
    let refs: Vec<(&str, Vec<u8>)> = objects
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    rt.block_on(async {
        let client = s3_client(&moto.endpoint()).await;
        put_objects(&client, "rekcheck-two", &refs).await;
    });
    let local = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rekcheck"))
        .current_dir(root())
        .args(["report", folder, "--out"])
        .arg(local.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(&moto.endpoint(), &["s3://rekcheck-two/synced/"], out.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("was not used"), "{stderr}");
    for f in FILES {
        let a = std::fs::read_to_string(local.path().join(f)).unwrap();
        let b = std::fs::read_to_string(out.path().join(f)).unwrap();
        let a = a.replace(&format!("{folder}/"), "s3://rekcheck-two/synced/");
        assert_eq!(a, b, "{f}");
    }
    let versions = std::fs::read_to_string(out.path().join("versions.csv")).unwrap();
    assert_eq!(versions.lines().count(), 3, "{versions}");
    for v in [
        "pet-finder.2026-11-01T09.00.00",
        "pet-finder.2026-11-15T09.00.00",
    ] {
        assert!(versions.contains(v), "{versions}");
    }
}
