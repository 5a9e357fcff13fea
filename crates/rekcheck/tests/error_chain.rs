//! The one convention of the errors of every crate of rekcheck: a cause is said once along an
//! error chain. An error that has a cause returns it from `source()` and leaves its text out of
//! its own message (or, `#[error(transparent)]`, is its cause's message and forwards its
//! source), so a printer that walks the chain and joins the messages with `: ` (`anyhow`'s
//! `{:#}`, the CLI) says each cause once, and one that prints only the top message still gets
//! a sentence that names the file, object or ARN and what to do.

use std::error::Error as _;
use std::io;
use std::path::PathBuf;

use rekcheck::PipelineError;
use rekcheck::analyze::Error as AnalyzeError;
use rekcheck::fetch::{FetchError, RequestId, SendFailure};

/// The messages of `error`'s chain, top first (at most 32).
fn messages(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    std::iter::successors(Some(error), |&e| e.source())
        .take(32)
        .map(ToString::to_string)
        .collect()
}

/// No message of the chain contains the message of the error after it, and none is empty.
fn assert_said_once(error: &(dyn std::error::Error + 'static)) {
    let texts = messages(error);
    for t in &texts {
        assert!(!t.trim().is_empty(), "an empty message in {texts:#?}");
    }
    for pair in texts.windows(2) {
        assert!(
            !pair[0].contains(pair[1].as_str()),
            "{:?} repeats its source {:?}",
            pair[0],
            pair[1]
        );
    }
}

fn os_error() -> io::Error {
    io::Error::from_raw_os_error(13)
}

/// An I/O error as `fs_err` makes them: a message naming the path and the OS error.
fn fs_err_error(dir: &std::path::Path) -> io::Error {
    let path = dir.join("no/such/folder/file.csv");
    fs_err::File::create(&path).expect_err("the folder does not exist")
}

fn analyze_errors(dir: &std::path::Path) -> Vec<AnalyzeError> {
    vec![
        AnalyzeError::Read {
            manifest: "train.manifest".into(),
            source: os_error(),
        },
        AnalyzeError::Write {
            path: PathBuf::from("/out/report.csv"),
            source: os_error(),
        },
        AnalyzeError::Write {
            path: dir.join("no/such/folder/file.csv"),
            source: fs_err_error(dir),
        },
        AnalyzeError::Commit {
            path: PathBuf::from("/out/report.csv"),
            replaced: vec![PathBuf::from("/out/summary.csv")],
            source: os_error(),
        },
        AnalyzeError::Threads {
            threads: 4,
            source: Box::new(os_error()),
        },
        AnalyzeError::Locked {
            dir: PathBuf::from("/out"),
            pid: Some(7),
        },
    ]
}

fn fetch_errors(dir: &std::path::Path) -> Vec<FetchError> {
    let s3 = || FetchError::S3 {
        location: "s3://bucket/key".into(),
        code: "InternalError".into(),
        message: "We encountered an internal error".into(),
        request_id: RequestId(Some("R1".into())),
    };
    vec![
        FetchError::Io(os_error()),
        FetchError::Io(fs_err_error(dir)),
        // An object reader's failure, through `std::io::Read`.
        FetchError::Io(io::Error::other(s3())),
        s3(),
        FetchError::NotSent {
            location: "s3://bucket/key".into(),
            cause: SendFailure::Refused {
                endpoint: "http://127.0.0.1:9".into(),
            },
        },
        FetchError::NotSent {
            location: "s3://bucket/key".into(),
            cause: SendFailure::NoRegion,
        },
        FetchError::RetriesExhausted {
            location: "s3://bucket/key".into(),
            attempts: 5,
            last: "503 SlowDown".into(),
        },
        FetchError::AccessDenied {
            location: "s3://bucket/key".into(),
            action: "s3:GetObject",
            request_id: RequestId(Some("R2".into())),
        },
    ]
}

#[test]
fn no_cause_is_said_twice_in_the_analyzer() {
    let dir = tempfile::tempdir().unwrap();
    for e in analyze_errors(dir.path()) {
        assert_said_once(&e);
        // The cause is kept, as the source.
        if !matches!(e, AnalyzeError::Locked { .. }) {
            assert!(e.source().is_some(), "{e:?} lost its source");
        }
    }
}

#[test]
fn no_cause_is_said_twice_in_fetch() {
    let dir = tempfile::tempdir().unwrap();
    for e in fetch_errors(dir.path()) {
        assert_said_once(&e);
    }
    // A local file's error names the file and the OS error (`fs_err` says both in one message).
    let e = FetchError::Io(fs_err_error(dir.path()));
    let text = messages(&e).join(": ");
    assert!(text.contains("file.csv"), "{text}");
    assert!(text.contains("os error 2"), "{text}");
}

#[test]
fn no_cause_is_said_twice_in_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let mut errors: Vec<PipelineError> = Vec::new();
    errors.extend(
        fetch_errors(dir.path())
            .into_iter()
            .map(PipelineError::from),
    );
    errors.extend(
        analyze_errors(dir.path())
            .into_iter()
            .map(PipelineError::from),
    );
    errors.push(PipelineError::Input("not a manifest".into()));
    errors.push(PipelineError::Stopped);
    errors.push(PipelineError::Upload {
        cause: "access denied writing s3://b/k".into(),
        kept: PathBuf::from("/tmp/kept"),
    });
    for e in &errors {
        assert_said_once(e);
    }
    // A wrapped stage error is transparent: its message and its chain are the stage's.
    let e = PipelineError::from(AnalyzeError::Read {
        manifest: "train.manifest".into(),
        source: os_error(),
    });
    assert_eq!(
        messages(&e),
        vec![
            "cannot read train.manifest".to_owned(),
            os_error().to_string()
        ]
    );
}

#[cfg(feature = "rekognition")]
#[test]
fn no_cause_is_said_twice_in_locate() {
    use rekcheck::locate::LocateError;
    let errors = vec![
        LocateError::NotSent {
            action: "DescribeProjects",
            resource: "us-east-1".into(),
            cause: SendFailure::NoCredentials,
        },
        LocateError::Request {
            action: "DescribeProjectVersions",
            resource: "arn:aws:rekognition:us-east-1:111122223333:project/p/1".into(),
            message: "connection reset".into(),
        },
        LocateError::NotFound {
            resource: "arn:aws:rekognition:us-east-1:111122223333:project/p/1".into(),
            region: "us-east-1".into(),
            request_id: RequestId(Some("R3".into())),
        },
    ];
    for e in errors {
        assert_said_once(&e);
        let e = PipelineError::from(e);
        assert_said_once(&e);
    }
}

/// The libraries speak of their own settings, never of the CLI's flags.
#[test]
fn messages_name_no_cli_flag() {
    let dir = tempfile::tempdir().unwrap();
    let mut texts: Vec<String> = fetch_errors(dir.path())
        .iter()
        .map(ToString::to_string)
        .collect();
    for cause in [
        SendFailure::NoCredentials,
        SendFailure::NoRegion,
        SendFailure::Endpoint {
            cause: "bad".into(),
        },
        SendFailure::Refused {
            endpoint: "http://127.0.0.1:9".into(),
        },
    ] {
        texts.push(cause.to_string());
    }
    texts.push(
        FetchError::WrongRegion {
            location: "s3://b/k".into(),
            region: "eu-west-1".into(),
            request_id: RequestId::default(),
        }
        .to_string(),
    );
    texts.push(
        FetchError::TimedOut {
            location: "s3://b/k".into(),
            endpoint: "http://127.0.0.1:9".into(),
            attempts: 2,
            last: "timeout".into(),
        }
        .to_string(),
    );
    for t in texts {
        for flag in [
            "--region",
            "--profile",
            "--endpoint-url",
            "--timeout",
            "--retries",
        ] {
            assert!(!t.contains(flag), "{t:?} names {flag}");
        }
    }
}
