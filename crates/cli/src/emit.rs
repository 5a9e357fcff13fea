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
