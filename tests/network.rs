//! The `rekcheck` binary against endpoints that hang, paginate without end or ignore `Range`,
//! and against files read whole that expand past the cap: each run ends with a clear error
//! (exit 2) or reads only what it needs.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rekcheck_testkit::moto::{Moto, isolated_aws_env, put_objects, s3_client};
use rekcheck_testkit::proxy::{Fault, FaultProxy, silent_server};
use rekcheck_testkit::rekognition::{BadPages, RekognitionEmulator, sample_fixture};

const WIDGETS: &str = "arn:aws:rekognition:us-east-1:111122223333:project/widgets/1762000000000";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cmd` and kills it if it has not ended after two minutes (a hang fails the test).
fn run_bounded(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "rekcheck hung; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn rekcheck(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rekcheck"));
    c.current_dir(root()).args(args);
    isolated_aws_env(&mut c);
    c
}

fn port(endpoint: &str) -> String {
    format!("127.0.0.1:{}", endpoint.rsplit(':').next().unwrap())
}

#[test]
fn an_s3_endpoint_that_never_answers_ends_with_exit_2_naming_it() {
    let endpoint = silent_server();
    let out = tempfile::tempdir().unwrap();
    let o = run_bounded(
        rekcheck(&[
            "report",
            "s3://rekcheck-in/out/manifest_summary.json",
            "--timeout",
            "1",
            "--retries",
            "2",
            "--endpoint-url",
            &endpoint,
            "--out",
        ])
        .arg(out.path()),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&port(&endpoint)), "{stderr}");
    assert!(stderr.contains("did not answer in time"), "{stderr}");
}

#[test]
fn a_rekognition_endpoint_that_never_answers_ends_with_exit_2_naming_it() {
    let rekognition = silent_server();
    let s3 = silent_server();
    let out = tempfile::tempdir().unwrap();
    let o = run_bounded(
        rekcheck(&[
            "report",
            WIDGETS,
            "--timeout",
            "1",
            "--retries",
            "2",
            "--out",
        ])
        .arg(out.path())
        .env("AWS_ENDPOINT_URL_S3", &s3)
        .env("AWS_ENDPOINT_URL_REKOGNITION", &rekognition),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&port(&rekognition)), "{stderr}");
    assert!(stderr.contains("did not answer in time"), "{stderr}");
    // `locate` too.
    let o = run_bounded(
        rekcheck(&["locate", WIDGETS, "--timeout", "1", "--retries", "2"])
            .env("AWS_ENDPOINT_URL_REKOGNITION", &rekognition),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&port(&rekognition)), "{stderr}");
}

#[test]
fn alternating_page_tokens_end_with_exit_2() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(RekognitionEmulator::start(sample_fixture("rekcheck-out")));
    emu.bad_pages("DescribeProjectVersions", BadPages::Alternate);
    let s3 = silent_server();
    let out = tempfile::tempdir().unwrap();
    let o = run_bounded(
        rekcheck(&["report", WIDGETS, "--timeout", "2", "--out"])
            .arg(out.path())
            .env("AWS_ENDPOINT_URL_S3", &s3)
            .env("AWS_ENDPOINT_URL_REKOGNITION", emu.endpoint()),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("DescribeProjectVersions on")
            && stderr.contains("did not end: page 3 gave a NextToken that an earlier page gave"),
        "{stderr}"
    );
}

#[test]
fn a_summary_that_expands_past_the_cap_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("sample-manifests/failed-object-detection/TrainingManifestWithValidation-widgets-widgets.2026-11-20T10.00.00.json"),
        dir.path().join("training_manifest_with_validation.json"),
    )
    .unwrap();
    // A small gzip that expands to 17 MiB, under the name Rekognition gives the summary.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..17 {
        gz.write_all(&spaces).unwrap();
    }
    std::fs::write(
        dir.path().join("manifest_summary.json"),
        gz.finish().unwrap(),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = run_bounded(
        rekcheck(&["report"])
            .arg(dir.path())
            .arg("--out")
            .arg(out.path()),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("manifest_summary.json is larger than 16777216 bytes"),
        "{stderr}"
    );
}

#[test]
fn verify_images_stops_reading_when_the_server_ignores_range() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&640u32.to_be_bytes());
    png.extend_from_slice(&480u32.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    png.resize(48 << 20, 0);
    let line = r#"{"source-ref":"s3://images/big.png","bb":{"image_size":[{"width":640,"height":480,"depth":3}],"annotations":[{"class_id":0,"top":10,"left":10,"width":30,"height":30}]},"bb-metadata":{"objects":[{"confidence":1}],"class-map":{"0":"cat"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2020-01-01T00:00:00"}}"#;
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("train.manifest");
    std::fs::write(&manifest, format!("{line}\n")).unwrap();
    let proxy = rt.block_on(async {
        let client = s3_client(&moto.endpoint()).await;
        put_objects(&client, "images", &[("big.png", png)]).await;
        FaultProxy::start(moto.addr()).await
    });
    proxy.push(Fault::IgnoreRange);
    let out = tempfile::tempdir().unwrap();
    let o = run_bounded(
        rekcheck(&["check"])
            .arg(&manifest)
            .args([
                "--verify-images",
                "--endpoint-url",
                &proxy.endpoint(),
                "--out",
            ])
            .arg(out.path()),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{stderr}");
    assert!(stderr.contains("Images verified in S3: 1"), "{stderr}");
    let sent = proxy.object_body_bytes();
    assert!(
        sent < 16 << 20,
        "{sent} bytes of a 48 MiB image were sent for a 64 KiB header"
    );
}
