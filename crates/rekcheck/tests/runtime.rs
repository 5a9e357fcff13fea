//! The two ways a run method can be called where it cannot work both return
//! [`PipelineError::Runtime`], and neither panics nor touches anything first:
//!
//! * an async method polled outside a Tokio runtime (here by `futures::executor::block_on`, as a
//!   caller with another executor would);
//! * a `_blocking` method that needs a runtime of its own (S3 sources) called inside one, where
//!   it would block one of the runtime's threads.

use std::future::Future;
use std::path::Path;

use futures::executor::block_on;
use rekcheck::fetch::S3Location;
use rekcheck::layout::{Layout, S3Output};
use rekcheck::{CheckSpec, FixS3Spec, FixSpec, Pipeline, PipelineError, Source};

/// Nothing listens there: a request sent would fail, with an error other than `Runtime`.
const NOWHERE: &str = "http://127.0.0.1:9";

fn validation_manifest(dir: &Path) {
    std::fs::write(
        dir.join("TrainingManifestWithValidation-p-v.json"),
        r#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}"#,
    )
    .unwrap();
}

/// A pipeline over `source` with an S3 client for an endpoint that answers nothing (its
/// configuration loaded on a runtime of its own, on a thread of its own, gone before the
/// pipeline is used).
fn pipeline(source: Source) -> Pipeline {
    let client = std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(rekcheck_testkit::moto::s3_client(NOWHERE))
    })
    .join()
    .unwrap();
    Pipeline::builder()
        .source(source)
        .s3_client(client)
        .threads(1)
        .build()
        .unwrap()
}

fn assert_runtime<T: std::fmt::Debug>(what: &str, result: Result<T, PipelineError>) {
    match result {
        Err(PipelineError::Runtime(why)) => assert!(
            why.contains("Tokio runtime"),
            "{what}: the message says what is needed: {why}"
        ),
        other => panic!("{what}: expected PipelineError::Runtime, got {other:?}"),
    }
}

/// Polls `future` on the futures executor, on a thread without any Tokio runtime.
fn outside_tokio<F: Future>(future: F) -> F::Output {
    assert!(tokio::runtime::Handle::try_current().is_err());
    block_on(future)
}

#[test]
fn async_methods_polled_outside_a_tokio_runtime_return_runtime_errors() {
    let dir = tempfile::tempdir().unwrap();
    validation_manifest(dir.path());
    let local = || pipeline(Source::from(dir.path()));
    let prefix: S3Location = "s3://reports/rekcheck/".parse().unwrap();
    let out = dir.path().join("out");

    assert_runtime("run", outside_tokio(local().run()));
    assert_runtime(
        "run_with",
        outside_tokio(local().run_with(Box::new(|_, _| panic!("no block is analyzed")))),
    );
    assert_runtime("write_csv", outside_tokio(local().write_csv(&out)));
    assert_runtime("write_s3", outside_tokio(local().write_s3(prefix.clone())));
    assert_runtime(
        "write_s3_with",
        outside_tokio(local().write_s3_with(prefix.clone(), &S3Output::new(Layout::Tables))),
    );
    assert_runtime(
        "check",
        outside_tokio(local().check(CheckSpec::default(), Some(out.clone()))),
    );
    assert_runtime(
        "check_s3",
        outside_tokio(local().check_s3(CheckSpec::default(), prefix.clone())),
    );
    let fix = FixSpec {
        out: out.join("clean.manifest"),
        removed: out.join("removed.csv"),
        drop_warnings: false,
    };
    assert_runtime("fix", outside_tokio(local().fix(fix)));
    let fix_s3 = FixS3Spec {
        out: "s3://reports/clean.manifest".parse().unwrap(),
        removed: "s3://reports/removed.csv".parse().unwrap(),
        drop_warnings: false,
        sse: None,
    };
    assert_runtime("fix_s3", outside_tokio(local().fix_s3(fix_s3)));
    // Refused before anything was written.
    assert!(!out.exists(), "no output folder was created");
}

#[test]
fn blocking_methods_inside_a_tokio_runtime_return_runtime_errors_when_they_need_one() {
    let dir = tempfile::tempdir().unwrap();
    validation_manifest(dir.path());
    let out = dir.path().join("out");
    let remote = || {
        pipeline(
            "s3://manifests/TrainingManifestWithValidation-p-v.json"
                .parse()
                .unwrap(),
        )
    };
    let local = || pipeline(Source::from(dir.path()));
    for multi_thread in [false, true] {
        let mut builder = if multi_thread {
            tokio::runtime::Builder::new_multi_thread()
        } else {
            tokio::runtime::Builder::new_current_thread()
        };
        let runtime = builder.worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            assert_runtime("run_blocking", remote().run_blocking());
            assert_runtime(
                "run_with_blocking",
                remote().run_with_blocking(Box::new(|_, _| panic!("no block is analyzed"))),
            );
            assert_runtime("write_csv_blocking", remote().write_csv_blocking(&out));
            assert_runtime(
                "check_blocking",
                remote().check_blocking(CheckSpec::default(), Some(out.clone())),
            );
            // A local training manifest with its testing manifest in S3 needs one too.
            let testing = CheckSpec {
                testing: Some("s3://manifests/testing.manifest".into()),
                ..CheckSpec::default()
            };
            assert_runtime(
                "check_blocking with an S3 testing manifest",
                local().check_blocking(testing, Some(out.clone())),
            );
            let fix = FixSpec {
                out: out.join("clean.manifest"),
                removed: out.join("removed.csv"),
                drop_warnings: false,
            };
            assert_runtime("fix_blocking", remote().fix_blocking(fix));
            assert!(!out.exists(), "no output folder was created");

            // Local files need no runtime: the same call inside one runs.
            let outcome = local().run_blocking().unwrap();
            assert_eq!(outcome.summary.manifests[0].stats.error, 1);
        });
    }
}
