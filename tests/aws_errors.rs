//! AWS errors a user can act on (issue 14 items 4-6): each class of error gives one line that
//! names the cause and the next step, exit 2, without retries of what cannot succeed and
//! without the SDK's `Debug` text; file errors say their cause once with a hint that fits. The
//! S3 answers (`AccessDenied`, another region, `NoSuchBucket`) come from moto behind the test kit's
//! fault proxy, which counts the requests: none of them is sent twice.

use std::path::PathBuf;
use std::process::{Command, Output};

use rekcheck_testkit::moto::{Moto, isolated_aws_env, put_objects, s3_client};
use rekcheck_testkit::proxy::{Fault, FaultProxy};

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
    let rt = tokio::runtime::Runtime::new().unwrap();
    let proxy = rt.block_on(async {
        // The client works: only the bucket is missing.
        let client = s3_client(&moto.endpoint()).await;
        client
            .create_bucket()
            .bucket("present")
            .send()
            .await
            .unwrap();
        FaultProxy::start(moto.addr()).await
    });
    // Through the proxy, which counts the requests.
    let endpoint = proxy.endpoint();
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
    let o = run(
        &[
            "check",
            training.to_str().unwrap(),
            "--out",
            "s3://missing-bucket/checks/",
            "--endpoint-url",
            &endpoint,
        ],
        &[],
    );
    let err = assert_fails_with(&o, message);
    assert_eq!(err.lines().count(), 1, "one line:\n{err}");
    // No object was sent twice: NoSuchBucket is not retried.
    let puts: Vec<String> = proxy
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("PUT "))
        .collect();
    assert!(!puts.is_empty());
    for put in &puts {
        assert_eq!(
            puts.iter().filter(|p| *p == put).count(),
            1,
            "{put} retried"
        );
    }

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

/// moto with the bucket `inputs` (holding `train.manifest`, a sample training manifest) and the
/// empty bucket `outputs`, and a fault proxy in front of it; `None` when moto is not installed.
fn moto_and_proxy(rt: &tokio::runtime::Runtime) -> Option<(Moto, FaultProxy)> {
    let moto = Moto::start()?;
    let training = std::fs::read(
        root()
            .join("sample-manifests/failed-classification/training_manifest_with_validation.json"),
    )
    .unwrap();
    let proxy = rt.block_on(async {
        let client = s3_client(&moto.endpoint()).await;
        put_objects(&client, "inputs", &[("train.manifest", training)]).await;
        client
            .create_bucket()
            .bucket("outputs")
            .send()
            .await
            .unwrap();
        FaultProxy::start(moto.addr()).await
    });
    Some((moto, proxy))
}

/// `text` with its `%XX` escapes decoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How many requests the proxy received for `method` on a path (decoded) that contains `key`.
fn requests_for(proxy: &FaultProxy, method: &str, key: &str) -> usize {
    proxy
        .request_lines()
        .iter()
        .map(|l| percent_decoded(l))
        .filter(|l| l.starts_with(&format!("{method} ")) && l.contains(key))
        .count()
}

/// The `s3://` URI that `err` names after `prefix`, up to the next `:` or space.
fn named_object<'a>(err: &'a str, prefix: &str) -> &'a str {
    let start = err
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} in {err}"))
        + prefix.len();
    let rest = &err[start..];
    let end = rest.find([':', ' ']).unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn an_access_denied_read_names_the_object_and_the_permission_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some((_moto, proxy)) = moto_and_proxy(&rt) else {
        return;
    };
    let endpoint = proxy.endpoint();
    // One denial only: a retry would read the object and the run would not fail.
    proxy.push(Fault::Status {
        status: 403,
        code: "AccessDenied",
    });
    let o = run(
        &[
            "check",
            "s3://inputs/train.manifest",
            "--endpoint-url",
            &endpoint,
        ],
        &[],
    );
    let err = assert_fails_with(
        &o,
        "access denied to s3://inputs/train.manifest: the caller needs s3:GetObject (and kms:Decrypt if the bucket uses SSE-KMS)",
    );
    assert_eq!(err.lines().count(), 1, "one line:\n{err}");
    assert_eq!(proxy.object_requests(), 1, "retried: {err}");

    // The same through report, from a single object.
    proxy.push(Fault::Status {
        status: 403,
        code: "AccessDenied",
    });
    let before = proxy.object_requests();
    let o = run(
        &[
            "report",
            "s3://inputs/train.manifest",
            "--endpoint-url",
            &endpoint,
            "--no-progress",
        ],
        &[],
    );
    assert_fails_with(
        &o,
        "access denied to s3://inputs/train.manifest: the caller needs s3:GetObject",
    );
    assert_eq!(proxy.object_requests() - before, 1, "retried");
}

#[test]
fn an_access_denied_upload_names_s3_putobject_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some((_moto, proxy)) = moto_and_proxy(&rt) else {
        return;
    };
    let endpoint = proxy.endpoint();
    let sample = root().join("sample-manifests/clean-training");
    let training = root()
        .join("sample-manifests/failed-classification/training_manifest_with_validation.json");
    let denied = "access denied writing s3://outputs/";
    let needs = ": the caller needs s3:PutObject on it (and kms:GenerateDataKey if the bucket uses SSE-KMS)";
    for args in [
        vec![
            "report",
            sample.to_str().unwrap(),
            "--out",
            "s3://outputs/reports/",
            "--no-progress",
        ],
        vec![
            "check",
            training.to_str().unwrap(),
            "--out",
            "s3://outputs/checks/",
        ],
        vec![
            "fix",
            training.to_str().unwrap(),
            "--out",
            "s3://outputs/fixed.manifest",
        ],
    ] {
        // One denial only: a retry of the denied PUT would go through.
        proxy.push_put(Fault::Status {
            status: 403,
            code: "AccessDenied",
        });
        let mut args = args.clone();
        args.extend(["--endpoint-url", &endpoint]);
        let o = run(&args, &[]);
        let err = assert_fails_with(&o, denied);
        assert!(err.contains(needs), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {args:?}:\n{err}");
        let object = named_object(&err, "access denied writing s3://outputs");
        assert_eq!(
            requests_for(&proxy, "PUT", object),
            1,
            "{object} sent again: {args:?}: {err}"
        );
    }
}

#[test]
fn a_bucket_in_another_region_is_named_with_the_region_to_use() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some((_moto, proxy)) = moto_and_proxy(&rt) else {
        return;
    };
    let endpoint = proxy.endpoint();
    // S3's answer to a request signed for the wrong region: 301 PermanentRedirect (the
    // global endpoint) or 400 AuthorizationHeaderMalformed (a regional one), both with the
    // bucket's region in x-amz-bucket-region.
    // The region comes from the header, or else from the body's <Region>.
    for (status, code, header) in [
        (301, "PermanentRedirect", true),
        (400, "AuthorizationHeaderMalformed", true),
        (400, "AuthorizationHeaderMalformed", false),
    ] {
        proxy.push(Fault::OtherRegion {
            status,
            code,
            region: "eu-west-1",
            header,
        });
        let before = proxy.object_requests();
        let o = run(
            &[
                "check",
                "s3://inputs/train.manifest",
                "--endpoint-url",
                &endpoint,
            ],
            &[],
        );
        let err = assert_fails_with(
            &o,
            "s3://inputs/train.manifest is in region eu-west-1, not the client's region: run again with --region eu-west-1",
        );
        assert_eq!(err.lines().count(), 1, "one line:\n{err}");
        assert_eq!(proxy.object_requests() - before, 1, "retried: {err}");

        proxy.push_put(Fault::OtherRegion {
            status,
            code,
            region: "eu-west-1",
            header,
        });
        let training = root()
            .join("sample-manifests/failed-classification/training_manifest_with_validation.json");
        let o = run(
            &[
                "fix",
                training.to_str().unwrap(),
                "--out",
                "s3://outputs/fixed.manifest",
                "--endpoint-url",
                &endpoint,
            ],
            &[],
        );
        assert_fails_with(
            &o,
            "the bucket outputs is in region eu-west-1: run again with --region eu-west-1",
        );
    }

    // Without a region in the answer, none is guessed.
    proxy.push(Fault::Status {
        status: 301,
        code: "PermanentRedirect",
    });
    let o = run(
        &[
            "check",
            "s3://inputs/train.manifest",
            "--endpoint-url",
            &endpoint,
        ],
        &[],
    );
    let err = assert_fails_with(
        &o,
        "s3://inputs/train.manifest is in another region than the client's: run again with --region set to it",
    );
    assert!(!err.contains("region another region"), "{err}");
    proxy.push_put(Fault::Status {
        status: 301,
        code: "PermanentRedirect",
    });
    let sample = root().join("sample-manifests/clean-training");
    let o = run(
        &[
            "report",
            sample.to_str().unwrap(),
            "--out",
            "s3://outputs/reports/",
            "--endpoint-url",
            &endpoint,
            "--no-progress",
        ],
        &[],
    );
    assert_fails_with(
        &o,
        "the bucket outputs is in another region: run again with --region set to it",
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
