//! The `rekcheck` binary finding validation files through the Rekognition emulator and reading
//! them from moto: project ARNs, version ARNs, `--all-projects`, filters, `--datasets`, the
//! listing fallback, terminal file errors without files, and `rekcheck locate`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rekcheck_testkit::moto::{Moto, isolated_aws_env, put_objects, s3_client};
use rekcheck_testkit::rekognition::{RekFault, RekognitionEmulator, sample_fixture};

const WIDGETS: &str = "arn:aws:rekognition:us-east-1:111122223333:project/widgets/1762000000000";
const BUCKET: &str = "rekcheck-out";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Env {
    _rt: tokio::runtime::Runtime,
    moto: Moto,
    emu: RekognitionEmulator,
}

/// Uploads the three sample scenarios where the fixture versions point (the classification one
/// under Rekognition's names, for the listing fallback).
fn env() -> Option<Env> {
    let moto = Moto::start()?;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(RekognitionEmulator::start(sample_fixture(BUCKET)));
    let mut objects: Vec<(String, Vec<u8>)> = Vec::new();
    let add = |objects: &mut Vec<(String, Vec<u8>)>,
               scenario: &str,
               prefix: &str,
               rename: &dyn Fn(&str) -> String| {
        for e in std::fs::read_dir(root().join("sample-manifests").join(scenario)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name == "describe-project-versions.json" {
                continue;
            }
            objects.push((
                format!("{prefix}/{}", rename(&name)),
                std::fs::read(&p).unwrap(),
            ));
        }
    };
    let same = |n: &str| n.to_owned();
    add(
        &mut objects,
        "clean-training",
        "training-output/widgets/widgets.2026-11-22T08.30.00",
        &same,
    );
    add(
        &mut objects,
        "failed-object-detection",
        "training-output/widgets/widgets.2026-11-20T10.00.00",
        &same,
    );
    add(
        &mut objects,
        "failed-classification",
        "training-output/pets/pets.v3",
        &|n: &str| match n {
            "manifest_summary.json" => "ManifestSummary-pets-pets.v3.json".into(),
            "training_manifest_with_validation.json" => {
                "TrainingManifestWithValidation-pets-pets.v3.json".into()
            }
            _ => "TestingManifestWithValidation-pets-pets.v3.json".into(),
        },
    );
    let refs: Vec<(&str, Vec<u8>)> = objects
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    rt.block_on(async {
        let client = s3_client(&moto.endpoint()).await;
        put_objects(&client, BUCKET, &refs).await;
    });
    Some(Env { _rt: rt, moto, emu })
}

fn rekcheck(env: &Env, args: &[&str], out: Option<&Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rekcheck"));
    c.current_dir(root()).args(args);
    if let Some(out) = out {
        c.arg("--out").arg(out);
    }
    isolated_aws_env(&mut c)
        .env("AWS_ENDPOINT_URL_S3", env.moto.endpoint())
        .env("AWS_ENDPOINT_URL_REKOGNITION", env.emu.endpoint())
        .output()
        .unwrap()
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn all_projects_reports_every_version_with_the_reason_it_failed() {
    let Some(env) = env() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    env.emu.fault("DescribeProjectVersions", RekFault::Throttle);
    let o = rekcheck(
        &env,
        &["report", "--all-projects", "--retries", "3"],
        Some(out.path()),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");

    let summary = read(out.path(), "summary.csv");
    let rows: Vec<&str> = summary.lines().skip(1).collect();
    assert_eq!(rows.len(), 6, "{summary}");
    assert!(
        rows.iter()
            .filter(|r| r.starts_with("widgets,widgets.2026-11-22T08.30.00,"))
            .all(|r| r.ends_with(",yes,"))
    );
    assert!(rows.iter().any(|r| r.starts_with("pets,pets.v3,training,s3://rekcheck-out/training-output/pets/pets.v3/TrainingManifestWithValidation-pets-pets.v3.json,9,")), "{summary}");

    // The version with a terminal file error has no files: its status message explains it.
    let issues = read(out.path(), "issues.csv");
    assert!(issues.contains(
        "widgets,widgets.2026-11-18T09.00.00,,arn:aws:rekognition:us-east-1:111122223333:project/widgets/version/widgets.2026-11-18T09.00.00/1794992400000,,,manifest,,,,error,ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT,The manifest file extension or contents are invalid."
    ), "{issues}");
    assert!(stderr.contains("pets/pets.v3: the response has no validation locations although validation ran; listed s3://rekcheck-out/training-output/pets/pets.v3/"), "{stderr}");

    // The failed object-detection version gives the same rows as the local sample.
    let local = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rekcheck"))
        .current_dir(root())
        .args([
            "report",
            "sample-manifests/failed-object-detection",
            "--out",
        ])
        .arg(local.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let prefix = "s3://rekcheck-out/training-output/widgets/widgets.2026-11-20T10.00.00/";
    for file in ["issues.csv", "images.csv"] {
        let want: Vec<String> = read(local.path(), file)
            .lines()
            .skip(1)
            .map(|l| l.replace("sample-manifests/failed-object-detection/", prefix))
            .collect();
        let got: Vec<String> = read(out.path(), file)
            .lines()
            .filter(|l| l.contains(prefix))
            .map(str::to_owned)
            .collect();
        assert_eq!(got, want, "{file}");
    }
}

#[test]
fn filters_version_arns_locate_and_datasets() {
    let Some(env) = env() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(
        &env,
        &[
            "report",
            WIDGETS,
            "--status",
            "TRAINING_FAILED",
            "--since",
            "2026-11-19",
            "--fail-on",
            "never",
        ],
        Some(out.path()),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary = read(out.path(), "summary.csv");
    assert_eq!(summary.lines().count(), 3, "{summary}");
    assert!(
        summary
            .lines()
            .skip(1)
            .all(|l| l.starts_with("widgets,widgets.2026-11-20T10.00.00,"))
    );

    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(
        &env,
        &["report", "--all-projects", "--since", "2026-11-19"],
        Some(out.path()),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let versions = read(out.path(), "versions.csv");
    let names: Vec<&str> = versions
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(
        names,
        ["widgets.2026-11-22T08.30.00", "widgets.2026-11-20T10.00.00"],
        "{versions}"
    );

    let out = tempfile::tempdir().unwrap();
    let version = "arn:aws:rekognition:us-east-1:111122223333:project/widgets/version/widgets.2026-11-22T08.30.00/1795336200000";
    let o = rekcheck(&env, &["report", version], Some(out.path()));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let o = rekcheck(&env, &["locate", "--all-projects"], None);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8(o.stdout).unwrap();
    let mut r = csv::Reader::from_reader(stdout.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "{stdout}");
    assert_eq!(&rows[1][1], "widgets.2026-11-20T10.00.00");
    assert_eq!(&rows[1][3], "2026-11-20T10:00:00Z");
    assert!(
        rows[1][4]
            .ends_with("/TrainingManifestWithValidation-widgets-widgets.2026-11-20T10.00.00.json")
    );
    assert_eq!(&rows[2][4], "", "a terminal file error leaves no files");

    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(&env, &["report", "--datasets", WIDGETS], Some(out.path()));
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let issues = read(out.path(), "issues.csv");
    assert!(issues.contains(",training,arn:aws:rekognition:us-east-1:111122223333:project/widgets/dataset/train/1762000000001,1,s3://rekcheck-images/b.jpg,annotation,bb,0,Echo,error,ERROR_INVALID_BOUNDING_BOX,"), "{issues}");
    assert!(
        issues.contains(",metadata,bb,,,error,ERROR_UNSUPPORTED_USE_CASE_TYPE,"),
        "{issues}"
    );
}

#[test]
fn a_project_that_fails_does_not_stop_the_others() {
    let Some(env) = env() else {
        return;
    };
    // The first DescribeProjectVersions (widgets) is denied; pets is still reported.
    env.emu
        .fault("DescribeProjectVersions", RekFault::AccessDenied);
    let out = tempfile::tempdir().unwrap();
    let o = rekcheck(&env, &["report", "--all-projects"], Some(out.path()));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the caller needs the IAM permission rekognition:DescribeProjectVersions"),
        "{stderr}"
    );
    let summary = read(out.path(), "summary.csv");
    assert!(
        summary
            .lines()
            .skip(1)
            .all(|l| l.starts_with("pets,pets.v3,")),
        "{summary}"
    );
    assert_eq!(summary.lines().count(), 3);
}

#[test]
fn locate_json_is_the_shared_schema_and_its_errors_are_json_lines() {
    let Some(env) = env() else {
        return;
    };
    env.emu
        .fault("DescribeProjectVersions", RekFault::AccessDenied);
    let o = rekcheck(
        &env,
        &["locate", "--all-projects", "--json", "--log-format", "json"],
        None,
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["command"], "locate");
    assert_eq!(doc["exit_code"], 2);
    let versions = doc["versions"].as_array().unwrap();
    assert!(!versions.is_empty(), "{doc}");
    assert!(versions.iter().all(|v| v["project"] == "pets"), "{doc}");
    assert!(
        versions[0]["training_manifest"]
            .as_str()
            .is_none_or(|m| m.starts_with("s3://")),
        "{doc}"
    );
    assert_eq!(doc["failures"].as_array().unwrap().len(), 1, "{doc}");
    for line in stderr.lines() {
        let l: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(l["level"].is_string(), "{line}");
    }
    assert!(
        stderr.contains("rekognition:DescribeProjectVersions"),
        "{stderr}"
    );
}
