//! What the binary itself writes on stderr (notes, errors, the run summary), as text or, with
//! `--log-format json`, as one JSON object per line in the shape of the tracing log lines
//! (`timestamp`, `level`, `fields.message`, `target`), so that every line on stderr is one JSON
//! object.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::terminal::{Escaped, JsonLogWriter};

/// Whether stderr carries JSON lines (`--log-format json`).
static JSON: AtomicBool = AtomicBool::new(false);

/// Switches stderr to JSON lines.
pub(crate) fn set_json(yes: bool) {
    JSON.store(yes, Ordering::SeqCst);
}

/// Whether stderr carries JSON lines.
pub(crate) fn json() -> bool {
    JSON.load(Ordering::SeqCst)
}

/// One JSON log line: `level`, `fields.message` and the extra `fields`.
fn json_line(level: &str, message: &str, extra: serde_json::Value) {
    let mut fields = serde_json::Map::new();
    fields.insert("message".to_owned(), message.into());
    if let serde_json::Value::Object(extra) = extra {
        fields.extend(extra);
    }
    let line = serde_json::json!({
        "timestamp": rekcheck::time::rfc3339(std::time::SystemTime::now()),
        "level": level,
        "fields": fields,
        "target": "rekcheck",
    });
    let mut text = line.to_string();
    text.push('\n');
    let _ = JsonLogWriter.write_all(text.as_bytes());
}

/// A note about how the flags were taken (`rekcheck: <note>` in text).
pub(crate) fn note(message: &str) {
    if json() {
        json_line("WARN", message, serde_json::Value::Null);
    } else {
        eprintln!("rekcheck: {}", Escaped(message));
    }
}

/// An error (`rekcheck: error: <message>` in text); `what` names the input concerned.
pub(crate) fn error(what: Option<&str>, message: &str) {
    if json() {
        let extra = match what {
            Some(w) => serde_json::json!({ "what": w }),
            None => serde_json::Value::Null,
        };
        json_line("ERROR", message, extra);
    } else {
        match what {
            Some(w) => eprintln!("rekcheck: error: {}: {}", Escaped(w), Escaped(message)),
            None => eprintln!("rekcheck: error: {}", Escaped(message)),
        }
    }
}

/// The run's summary: the readable `text` as it is, or in JSON one line with the text and the
/// machine-readable summary (the `--json` document).
pub(crate) fn summary(text: &str, doc: &serde_json::Value) {
    if json() {
        json_line(
            "INFO",
            "summary",
            serde_json::json!({ "text": text, "summary": doc }),
        );
    } else {
        eprint!("{text}");
    }
}

/// `error` and the errors after it (its `source()` chain, at most 32).
pub(crate) fn chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source()).take(32)
}

/// An error and its causes in one line, each said once: the causes are added (`: cause`, as
/// `{:#}` does) only when the root cause is not already in the error's own message (`fs_err` and
/// the pipeline's errors name their cause), and a cause whose text is already there is skipped.
pub(crate) fn error_text<'a>(
    errors: impl Iterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> String {
    let texts: Vec<String> = errors.map(ToString::to_string).collect();
    let Some((first, causes)) = texts.split_first() else {
        return String::new();
    };
    let mut text = first.clone();
    if causes
        .last()
        .is_none_or(|root| text.contains(root.as_str()))
    {
        return flag_hints(&text);
    }
    for cause in causes {
        if !text.contains(cause.as_str()) {
            text.push_str(": ");
            text.push_str(cause);
        }
    }
    flag_hints(&text)
}

/// The libraries' words for a setting, and the command line's flag for it: the libraries'
/// messages speak of their settings (the `SdkConfig`, the client, the pipeline's timeout), the
/// binary names the flag that sets it.
const FLAG_HINTS: &[(&str, &str)] = &[
    (
        "set AWS_PROFILE or give the SdkConfig a credentials provider",
        "set AWS_PROFILE or pass --profile",
    ),
    (
        "set a region in the SdkConfig or set AWS_REGION",
        "pass --region or set AWS_REGION",
    ),
    (
        "check the SdkConfig's endpoint URL and",
        "check --endpoint-url and",
    ),
    (
        "use a client configured for the region in the ARN",
        "run with --region set to the region in the ARN",
    ),
    (
        "use a client configured for its region",
        "run again with --region set to it",
    ),
    (
        "use a client configured for region ",
        "run again with --region ",
    ),
    (
        "allow more attempts in the client's retry config",
        "raise --retries",
    ),
    ("or raise the timeout", "or raise --timeout"),
    (
        "check the bucket name of the output location",
        "check the bucket name of --out",
    ),
    (
        "(the timeout plus 1 s per KiB",
        "(--timeout plus 1 s per KiB",
    ),
    ("(the retries setting)", "(--retries)"),
];

/// `text` with the libraries' settings named by the flags that set them ([`FLAG_HINTS`]).
fn flag_hints(text: &str) -> String {
    FLAG_HINTS
        .iter()
        .fold(text.to_owned(), |t, (library, flag)| {
            t.replace(library, flag)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(String, Option<std::io::Error>);

    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for Wrap {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_ref().map(|e| e as _)
        }
    }

    /// Each library phrase [`FLAG_HINTS`] rewrites is in the message of the error that says it,
    /// so that a change of words in a library cannot silently drop the flag from the CLI's
    /// message.
    #[test]
    fn library_settings_become_flags() {
        use rekcheck::fetch::{FetchError, RequestId, SendFailure};
        use rekcheck::locate::LocateError;
        let fetch = |e: FetchError| error_text(chain(&e));
        let locate = |e: LocateError| error_text(chain(&e));
        let not_sent = |cause| {
            fetch(FetchError::NotSent {
                location: "s3://b/k".into(),
                cause,
            })
        };
        assert!(not_sent(SendFailure::NoCredentials).contains("set AWS_PROFILE or pass --profile"));
        assert!(
            not_sent(SendFailure::NoRegion)
                .contains("region not set: pass --region or set AWS_REGION")
        );
        assert!(
            not_sent(SendFailure::Endpoint {
                cause: "bad".into()
            })
            .contains("check --endpoint-url and AWS_ENDPOINT_URL")
        );
        assert!(
            not_sent(SendFailure::Refused {
                endpoint: "http://127.0.0.1:9".into()
            })
            .contains("connection refused; check --endpoint-url and that the server")
        );
        let wrong_region = fetch(FetchError::WrongRegion {
            location: "s3://b/k".into(),
            region: "eu-west-1".into(),
            request_id: RequestId::default(),
        });
        assert!(
            wrong_region.ends_with("run again with --region eu-west-1"),
            "{wrong_region}"
        );
        let other_region = fetch(FetchError::OtherRegion {
            location: "s3://b/k".into(),
            request_id: RequestId::default(),
        });
        assert!(
            other_region.ends_with("run again with --region set to it"),
            "{other_region}"
        );
        let timed_out = fetch(FetchError::TimedOut {
            location: "s3://b/k".into(),
            endpoint: "http://127.0.0.1:9".into(),
            attempts: 2,
            last: "timeout".into(),
        });
        assert!(timed_out.ends_with("or raise --timeout"), "{timed_out}");
        let not_found = locate(LocateError::NotFound {
            resource: "arn".into(),
            region: "us-east-1".into(),
            request_id: RequestId::default(),
        });
        assert!(not_found.contains("run with --region set to the region in the ARN"));
        let throttled = locate(LocateError::Throttled {
            action: "DescribeProjects",
            resource: "arn".into(),
            request_id: RequestId::default(),
        });
        assert!(
            throttled.contains("try again later, or raise --retries"),
            "{throttled}"
        );
        for (library, _) in FLAG_HINTS {
            assert!(!flag_hints(library).contains(library), "{library}");
        }
    }

    #[test]
    fn each_cause_is_said_once() {
        let io = || std::io::Error::other("No such file or directory (os error 2)");
        let e = Wrap(
            "cannot write /x: No such file or directory (os error 2); check the path".into(),
            Some(io()),
        );
        assert_eq!(
            error_text(chain(&e)),
            "cannot write /x: No such file or directory (os error 2); check the path"
        );
        let e = Wrap("--out".into(), Some(io()));
        assert_eq!(
            error_text(chain(&e)),
            "--out: No such file or directory (os error 2)"
        );
    }
}
