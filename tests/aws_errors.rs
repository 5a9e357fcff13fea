//! AWS errors a user can act on (issue 14 items 4-6): each class of error gives one line that
//! names the cause and the next step, exit 2, without retries of what cannot succeed and
//! without the SDK's `Debug` text; file errors say their cause once with a hint that fits.

use std::path::PathBuf;
use std::process::{Command, Output};

use rekcheck_testkit::moto::{Moto, isolated_aws_env, s3_client};

const VERSION_ARN: &str =
    "arn:aws:rekognition:us-east-1:123456789012:project/p/version/v/1700000000000";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `rekcheck args` in an isolated AWS environment (test keys, us-east-1, no profile files, no
/// instance metadata), changed by `env` (a `None` value removes the variable), in a scratch
/// folder.
fn run(args: &[&str], env: &[(&str, Option<&str>)]) -> Output {
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rekcheck"));
    isolated_aws_env(cmd.current_dir(cwd.path()).args(args))
        .env_remove("RUST_LOG")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_DEFAULT_REGION");
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 2, `message` on stderr, and none of the SDK's `Debug` text, XML or headers.
fn assert_fails_with(o: &Output, message: &str) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(message), "expected {message:?} in:\n{err}");
    for debug in [
        "{ ",
        "DispatchFailure",
        "ConnectorError",
        "ServiceError",
        "CredentialsNotLoaded",
        "ResolveEndpointError",
        "<?xml",
        "headers",
    ] {
        assert!(!err.contains(debug), "Debug text {debug:?} in:\n{err}");
    }
    err
}

/// A local port where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn no_credentials_are_named_before_any_request() {
    let no_keys = [
        ("AWS_ACCESS_KEY_ID", None),
        ("AWS_SECRET_ACCESS_KEY", None),
        ("AWS_EC2_METADATA_DISABLED", Some("true")),
    ];
    let message =
        "no AWS credentials found: set AWS_PROFILE or pass --profile, run `aws sso login`";
    let o = run(&["report", "s3://some-bucket/prefix/"], &no_keys);
    let err = assert_fails_with(&o, message);
    assert!(!err.contains("no manifests found"), "{err}");
    assert_fails_with(&run(&["locate", VERSION_ARN], &no_keys), message);
    assert_fails_with(
        &run(&["check", "s3://some-bucket/train.manifest"], &no_keys),
        message,
    );

    // With --log-format json the error is one JSON line.
    let o = run(
        &["--log-format", "json", "report", "s3://some-bucket/k"],
        &no_keys,
    );
    let err = assert_fails_with(&o, "no AWS credentials found");
    for line in err.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(v["level"], "ERROR", "{line}");
    }
}

#[test]
fn an_unknown_profile_is_named() {
    let o = run(
        &[
            "report",
            "s3://some-bucket/k",
            "--profile",
            "no-such-profile",
        ],
        &[],
    );
    assert_fails_with(
        &o,
        "profile no-such-profile (--profile) not found in /dev/null",
    );

    let o = run(
        &["locate", VERSION_ARN],
        &[("AWS_PROFILE", Some("no-such-profile"))],
    );
    assert_fails_with(&o, "profile no-such-profile (AWS_PROFILE) not found");

    // A profile the config file defines passes the check (and its credentials are used).
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[profile known]\nregion = us-east-1\n").unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        "[known]\naws_access_key_id = t\naws_secret_access_key = t\n",
    )
    .unwrap();
    let port = closed_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let o = run(
        &[
            "report",
            "s3://some-bucket/k",
            "--profile",
            "known",
            "--endpoint-url",
            &endpoint,
        ],
        &[
            ("AWS_CONFIG_FILE", config.to_str()),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str()),
            ("AWS_ACCESS_KEY_ID", None),
            ("AWS_SECRET_ACCESS_KEY", None),
        ],
    );
    assert_fails_with(&o, &format!("could not connect to {endpoint}"));
}

#[test]
fn a_closed_port_is_named_and_not_retried() {
    let port = closed_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let message =
        format!("could not connect to {endpoint}: connection refused; check --endpoint-url");
    for args in [
        vec!["report", "s3://some-bucket/prefix/", "--no-progress"],
        vec!["report", "s3://some-bucket/k.json", "--no-progress"],
        vec!["report", VERSION_ARN, "--no-progress"],
        vec!["locate", VERSION_ARN],
    ] {
        let mut args = args.clone();
        args.extend(["--endpoint-url", &endpoint, "-v"]);
        let o = run(&args, &[]);
        let err = stderr(&o);
        // -v logs the SDK's own text; without it, nothing of it.
        assert!(err.contains("DispatchFailure"), "{args:?}: {err}");
        let quiet: Vec<&str> = args.iter().copied().filter(|a| *a != "-v").collect();
        let o = run(&quiet, &[]);
        let err = assert_fails_with(&o, &message);
        assert!(!err.contains("no manifests found"), "{args:?}: {err}");
        assert!(!err.contains("no project version"), "{args:?}: {err}");
        assert!(!err.contains("attempts"), "retried: {args:?}: {err}");
    }
}

#[test]
fn an_endpoint_without_scheme_is_refused_up_front() {
    let o = run(
        &[
            "report",
            "s3://some-bucket/k",
            "--endpoint-url",
            "127.0.0.1:9000",
        ],
        &[],
    );
    assert_fails_with(
        &o,
        "--endpoint-url 127.0.0.1:9000 is not an http:// or https:// URL: write it with its scheme, e.g. http://127.0.0.1:9000",
    );
    let o = run(
        &["locate", VERSION_ARN],
        &[("AWS_ENDPOINT_URL", Some("localhost:4566"))],
    );
    assert_fails_with(
        &o,
        "AWS_ENDPOINT_URL localhost:4566 is not an http:// or https:// URL",
    );
    let o = run(
        &["report", "s3://some-bucket/k", "--endpoint-url", "http://"],
        &[],
    );
    assert_fails_with(&o, "--endpoint-url http:// is not a usable URL");
}

#[test]
fn no_region_is_named() {
    let o = run(&["report", "s3://some-bucket/k"], &[("AWS_REGION", None)]);
    assert_fails_with(&o, "region not set: pass --region or set AWS_REGION");
    let o = run(&["locate", VERSION_ARN], &[("AWS_REGION", None)]);
    assert_fails_with(&o, "region not set: pass --region or set AWS_REGION");
}

#[test]
fn sdk_log_lines_need_vv() {
    // A config file the SDK cannot parse makes aws_config log a multi-line WARN with Debug text.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "not a profile file\n").unwrap();
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let args = ["report", "s3://some-bucket/k", "--endpoint-url", &endpoint];
    let env = [("AWS_CONFIG_FILE", config.to_str())];
    let o = run(&args, &env);
    let err = assert_fails_with(&o, "connection refused");
    assert!(!err.contains("aws_config"), "{err}");
    let o = run(&[&args[..], &["-v"]].concat(), &env);
    assert!(!stderr(&o).contains("aws_config"), "{}", stderr(&o));
    let o = run(&[&args[..], &["-vv"]].concat(), &env);
    assert!(stderr(&o).contains("aws_config"), "{}", stderr(&o));
}

#[test]
fn a_missing_output_bucket_is_named() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let endpoint = moto.endpoint();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // The client works: only the bucket is missing.
        let client = s3_client(&endpoint).await;
        client
            .create_bucket()
            .bucket("present")
            .send()
            .await
            .unwrap();
    });
    let sample = root().join("sample-manifests/clean-training");
    let sample = sample.to_str().unwrap();
    let message = "the bucket missing-bucket does not exist (NoSuchBucket): check the bucket name of --out and the account (request id ";
    let o = run(
        &[
            "report",
            sample,
            "--out",
            "s3://missing-bucket/reports/",
            "--endpoint-url",
            &endpoint,
            "--no-progress",
        ],
        &[],
    );
    let err = assert_fails_with(&o, message);
    assert!(!err.contains("failed 5 times"), "retried: {err}");
    let training = root()
        .join("sample-manifests/failed-classification/training_manifest_with_validation.json");
    let o = run(
        &[
            "fix",
            training.to_str().unwrap(),
            "--out",
            "s3://missing-bucket/fixed.manifest",
            "--endpoint-url",
            &endpoint,
        ],
        &[],
    );
    assert_fails_with(&o, message);

    // Reads name the missing bucket the same way.
    let o = run(
        &[
            "report",
            "s3://missing-bucket/prefix/",
            "--endpoint-url",
            &endpoint,
            "--no-progress",
        ],
        &[],
    );
    assert_fails_with(
        &o,
        "the bucket of s3://missing-bucket/prefix/ does not exist (NoSuchBucket)",
    );
}

#[test]
fn file_errors_say_their_cause_once_with_a_hint_that_fits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let sample = root().join("sample-manifests/clean-training");
    let out = file.join("report");
    let o = run(
        &[
            "report",
            sample.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-progress",
        ],
        &[],
    );
    let err = assert_fails_with(&o, "a part of the path is a file, not a folder");
    assert_eq!(err.matches("(os error").count(), 1, "{err}");
    assert!(!err.contains("disk has room"), "{err}");

    let training = root()
        .join("sample-manifests/failed-classification/training_manifest_with_validation.json");
    let fixed = file.join("fixed.manifest");
    let o = run(
        &[
            "fix",
            training.to_str().unwrap(),
            "--out",
            fixed.to_str().unwrap(),
        ],
        &[],
    );
    let err = assert_fails_with(&o, "a part of the path is a file, not a folder");
    assert_eq!(err.matches("(os error").count(), 1, "{err}");

    let missing = dir.path().join("missing.manifest");
    let o = run(
        &[
            "fix",
            missing.to_str().unwrap(),
            "--out",
            dir.path().join("o.manifest").to_str().unwrap(),
        ],
        &[],
    );
    let err = assert_fails_with(
        &o,
        "No such file or directory (os error 2); check the path, or name an s3:// object",
    );
    assert_eq!(err.matches("(os error").count(), 1, "{err}");
}
