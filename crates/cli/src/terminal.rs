//! Text from data on a terminal: control characters escaped, so that a name, code, label or
//! message cannot set the window title, write the clipboard (OSC 52), erase the screen, move
//! the cursor or reorder what is shown (bidi overrides).

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::io::{self, Write as _};

/// Whether `c` must not reach a terminal raw: C0 controls (newline, tab and ESC included),
/// DEL, C1 controls (U+0080 to U+009F) and the bidi embeddings, overrides and isolates
/// (U+202A to U+202E, U+2066 to U+2069).
fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every character that could drive a terminal written as `\u{XX}` (ESC becomes
/// `\u{1b}`, a newline `\u{a}`); everything else, other non-ASCII text included, as it is.
/// Used for every piece of data printed on stderr.
pub(crate) fn escape_for_terminal(s: &str) -> Cow<'_, str> {
    if !s.contains(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Formats a value with [`escape_for_terminal`] applied: `format!("{}", Escaped(&x))`.
pub(crate) struct Escaped<T>(pub(crate) T);

impl<T: fmt::Display> fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if f.alternate() {
            format!("{:#}", self.0)
        } else {
            self.0.to_string()
        };
        f.write_str(&escape_for_terminal(&text))
    }
}

/// The field formatter of the text log lines: every field (the message too) escaped, so that
/// a file name or S3 location in a log line cannot drive the terminal.
pub(crate) fn log_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static {
    use tracing_subscriber::field::MakeExt as _;
    tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let text = format!("{value:?}");
        let text = escape_for_terminal(&text);
        if field.name() == "message" {
            write!(w, "{text}")
        } else {
            write!(w, "{}={text}", field.name())
        }
    })
    .delimited(" ")
}

/// Stderr for the JSON log lines: JSON escapes C0 controls itself, this also writes DEL, C1
/// controls and bidi controls (which can only be inside JSON strings) as `\uXXXX` escapes.
pub(crate) struct JsonLogWriter;

impl JsonLogWriter {
    fn write_line(buf: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(buf);
        let mut stderr = io::stderr().lock();
        if !text.contains(is_unsafe) {
            return stderr.write_all(text.as_bytes());
        }
        let mut out = String::with_capacity(text.len() + 16);
        for c in text.chars() {
            if is_unsafe(c) && c != '\n' {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            } else {
                out.push(c);
            }
        }
        stderr.write_all(out.as_bytes())
    }
}

impl io::Write for JsonLogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Self::write_line(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for JsonLogWriter {
    type Writer = JsonLogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        JsonLogWriter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_text_is_kept() {
        assert!(matches!(
            escape_for_terminal("widgets/été 1"),
            Cow::Borrowed("widgets/été 1")
        ));
        assert_eq!(
            escape_for_terminal("a\u{1b}]0;pwned\u{7}b"),
            "a\\u{1b}]0;pwned\\u{7}b"
        );
        assert_eq!(
            escape_for_terminal("\u{1b}[2J\n\t\u{7f}\u{9b}\u{202e}\u{2066}x"),
            "\\u{1b}[2J\\u{a}\\u{9}\\u{7f}\\u{9b}\\u{202e}\\u{2066}x"
        );
        assert_eq!(
            format!("{}", Escaped("x\u{1b}[2J")),
            "x\\u{1b}[2J".to_owned()
        );
    }
}
