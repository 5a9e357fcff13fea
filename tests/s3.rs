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
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rekcheck"))
        .current_dir(root())
        .args(["report", SCENARIO, "--out"])
        .arg(out.path())
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
    assert_eq!(index["versions"].as_array().unwrap().len(), 3);
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
