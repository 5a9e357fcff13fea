//! The library facade: typed results without files, rows through a callback, the same CSVs as
//! the binary, and Rekognition + S3 sources with the caller's own clients.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rekcheck::analyze::{ImageStatus, Severity};
use rekcheck::{Pipeline, PipelineError};
use rekcheck_testkit::moto::{Moto, put_objects, s3_client};
use rekcheck_testkit::rekognition::{RekognitionEmulator, rekognition_client, sample_fixture};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample-manifests")
        .join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_returns_typed_results_and_writes_nothing() {
    let cwd_before: Vec<_> = std::fs::read_dir(".")
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let outcome = Pipeline::builder()
        .source(sample("failed-object-detection"))
        .threads(2)
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    assert!(outcome.summary.files.is_empty(), "no file is written");
    let cwd_after: Vec<_> = std::fs::read_dir(".")
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(cwd_before, cwd_after);
    let v = &outcome.summary.versions[0];
    assert_eq!(
        (v.project.as_str(), v.version.as_str()),
        ("widgets", "widgets.2026-11-20T10.00.00")
    );
    assert_eq!(v.terminal_code, "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST");
    assert_eq!(v.stats.lines, 17);
    assert_eq!(outcome.exit_code(Some(Severity::Error)), 1);
    assert_eq!(outcome.exit_code(None), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_hands_over_every_row_in_order() {
    let rows = Arc::new(Mutex::new(Vec::new()));
    let r = rows.clone();
    let outcome = Pipeline::builder()
        .source(sample("failed-object-detection"))
        .build()
        .unwrap()
        .run_with(Box::new(move |ctx, block| {
            let mut r = r.lock().unwrap();
            r.extend(
                block
                    .rows
                    .iter()
                    .map(|row| (ctx.dataset, row.line, row.status)),
            );
        }))
        .await
        .unwrap();
    let rows = rows.lock().unwrap();
    let lines: u64 = outcome
        .summary
        .manifests
        .iter()
        .map(|m| m.stats.lines - m.stats.blank)
        .sum();
    assert_eq!(rows.len() as u64, lines);
    assert!(rows.contains(&(
        rekcheck::analyze::Dataset::Testing,
        5,
        ImageStatus::Unparsable
    )));
    assert!(
        rows.windows(2).all(|w| w[0].0 != w[1].0 || w[0].1 < w[1].1),
        "in line order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_and_empty_inputs_are_errors() {
    let e = Pipeline::builder().build().unwrap_err();
    assert!(matches!(e, PipelineError::Input(_)), "{e}");
    let e = Pipeline::builder()
        .source("s3://bucket/key".parse::<rekcheck::Source>().unwrap())
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("need an SdkConfig"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let e = Pipeline::builder()
        .source(dir.path())
        .build()
        .unwrap()
        .run()
        .await
        .unwrap_err();
    assert!(matches!(e, PipelineError::NothingFound(_)), "{e}");
}

#[test]
fn rekognition_and_s3_sources_with_the_callers_clients() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outcome = rt.block_on(async {
        let emu = RekognitionEmulator::start(sample_fixture("rekcheck-out")).await;
        let s3 = s3_client(&moto.endpoint()).await;
        let mut objects = Vec::new();
        for e in std::fs::read_dir(sample("clean-training")).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            objects.push((
                format!("training-output/widgets/widgets.2026-11-22T08.30.00/{name}"),
                std::fs::read(&p).unwrap(),
            ));
        }
        let refs: Vec<(&str, Vec<u8>)> = objects.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        put_objects(&s3, "rekcheck-out", &refs).await;
        Pipeline::builder()
            .s3_client(s3)
            .rekognition_client(rekognition_client(&emu.endpoint(), 1).await)
            .source("arn:aws:rekognition:us-east-1:111122223333:project/widgets/version/widgets.2026-11-22T08.30.00/1795336200000".parse::<rekcheck::Source>().unwrap())
            .build()
            .unwrap()
            .run()
            .await
            .unwrap()
    });
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let v = &outcome.summary.versions[0];
    assert_eq!(
        (v.status.as_str(), v.stats.lines, v.stats.ok),
        ("TRAINING_COMPLETED", 11, 11)
    );
    assert_eq!(v.created, "2026-11-22T08:30:00Z");
}

/// An input manifest (no validation results) is not an all-clear; a manifest named with its
/// dataset is compared with the summary beside it, and the dataset it lacks is `not given`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_validated_and_named_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.manifest");
    std::fs::write(&input, "{\"source-ref\":\"s3://b/a.jpg\"}\n").unwrap();
    let outcome = Pipeline::builder()
        .source(input.as_path())
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    assert_eq!(outcome.not_validated, [input.display().to_string()]);
    assert_eq!(outcome.summary.manifests[0].verdict, "not validated");
    assert_eq!(
        outcome.exit_code(Some(rekcheck::analyze::Severity::Error)),
        2
    );
    assert_eq!(outcome.exit_code(None), 0);

    std::fs::write(
        dir.path().join("manifest_summary.json"),
        r#"{"statistics":{"testing":{"total_json_lines":1,"valid_json_lines":1,"invalid_json_lines":0,"ignored_json_lines":0}}}"#,
    )
    .unwrap();
    let outcome = Pipeline::builder()
        .source_dataset(input.as_path(), rekcheck::analyze::Dataset::Testing)
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    assert!(outcome.not_validated.is_empty());
    let m = &outcome.summary.manifests;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].context.dataset, rekcheck::analyze::Dataset::Testing);
    assert_eq!(
        m[0].rekognition
            .as_ref()
            .map(rekcheck::analyze::RekognitionCounts::agreement)
            .as_deref(),
        Some("yes")
    );
}
