//! The Lambda function end to end: the binary polls the emulated Runtime API, reads the
//! manifests from moto, writes the table layout to moto, and answers each invocation.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rekcheck_testkit::lambda::{Answer, RuntimeApi};
use rekcheck_testkit::moto::{Moto, isolated_aws_env, put_objects, s3_client};
use serde_json::json;

/// Kills the function when the test ends, whatever happens.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sample-manifests")
}

#[test]
fn the_function_answers_requests_and_scheduled_events_through_the_runtime_api() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(async {
        let c = s3_client(&moto.endpoint()).await;
        c.create_bucket().bucket("outputs").send().await.unwrap();
        let mut objects = Vec::new();
        for dir in ["failed-object-detection", "two-versions"] {
            for e in std::fs::read_dir(samples().join(dir)).unwrap() {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_str().unwrap().to_owned();
                objects.push((format!("{dir}/{name}"), std::fs::read(&p).unwrap()));
            }
        }
        let refs: Vec<(&str, Vec<u8>)> = objects
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        put_objects(&c, "inputs", &refs).await;
        c
    });
    let api = rt.block_on(RuntimeApi::start(vec![
        json!({"sources": ["s3://inputs/failed-object-detection/"], "out": "s3://outputs/request/"}),
        json!({"version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events",
               "time": "2026-12-01T06:00:00Z", "resources": [], "detail": {}}),
        json!({"sources": ["s3://inputs/two-versions/"], "out": "/tmp/report"}),
    ]));
    let tmp = tempfile::tempdir().unwrap();
    let _function = Function(
        isolated_aws_env(&mut Command::new(env!("CARGO_BIN_EXE_rekcheck-lambda")))
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "rekcheck")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/rekcheck")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/01/[$LATEST]0")
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            // The scheduled event's settings.
            .env("REKCHECK_SOURCES", "s3://inputs/two-versions/")
            .env("REKCHECK_OUT", "s3://outputs/scheduled/")
            .env("TMPDIR", tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let answers = rt.block_on(api.wait_answers(3, Duration::from_secs(120)));
    assert_eq!(answers.len(), 3, "{answers:?}");
    let by_id = |id: &str| {
        answers
            .iter()
            .find(|(i, _)| i == id)
            .map_or_else(|| panic!("{id}: {answers:?}"), |(_, a)| a.clone())
    };
    let Answer::Response(first) = by_id("request-1") else {
        panic!("{answers:?}");
    };
    // The failed sample: issues found (exit code 1), one version, two manifests.
    assert_eq!(first["exit_code"], 1, "{first}");
    assert_eq!(first["versions"], 1);
    assert_eq!(first["manifests"], 2);
    let files: Vec<&str> = first["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(files.last().unwrap().ends_with("/index.json"), "{files:?}");
    assert!(files.contains(
        &"s3://outputs/request/issues/project_key=widgets/version_key=widgets.2026-11-20T10.00.00/issues.csv"
    ));
    let Answer::Response(second) = by_id("request-2") else {
        panic!("{answers:?}");
    };
    assert_eq!(second["versions"], 2, "{second}");
    let Answer::Error(third) = by_id("request-3") else {
        panic!("{answers:?}");
    };
    assert!(third.to_string().contains("only to S3"), "{third}");

    let keys = rt.block_on(async {
        let out = client
            .list_objects_v2()
            .bucket("outputs")
            .send()
            .await
            .unwrap();
        out.contents()
            .iter()
            .map(|o| o.key().unwrap().to_owned())
            .collect::<Vec<_>>()
    });
    for k in &files {
        assert!(
            keys.iter().any(|key| format!("s3://outputs/{key}") == *k),
            "{k}: {keys:?}"
        );
    }
    assert!(
        keys.iter()
            .any(|k| k.starts_with("scheduled/runs/run=") && k.ends_with("/index.json")),
        "{keys:?}"
    );
    // Nothing is left in the function's /tmp.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}
