//! CSV rows written straight into a byte buffer, for the two files with a row per image or issue.
//!
//! The output is byte for byte what `csv::Writer` writes with this crate's settings (quote only
//! when needed, CRLF): a field holding `,`, `"`, `\r` or `\n` is quoted, with `"` doubled. A row
//! here always has several fields, so `csv`'s quoting of a lone empty field never applies. The
//! columns that are the same on every row of a manifest (project, version, dataset, manifest)
//! are rendered once, as a prefix. A unit test holds the output to `csv`'s.

use memchr::{memchr, memchr3};

/// One row being written.
pub(crate) struct Row<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Row<'a> {
    /// Starts a row with the already rendered `prefix` (whole fields, each ended by `,`).
    pub(crate) fn start(out: &'a mut Vec<u8>, prefix: &[u8]) -> Row<'a> {
        out.extend_from_slice(prefix);
        Row { out, first: true }
    }

    /// Appends one field.
    pub(crate) fn field(&mut self, field: &str) -> &mut Self {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        push_field(self.out, field.as_bytes());
        self
    }

    /// Ends the row.
    pub(crate) fn end(self) {
        self.out.extend_from_slice(b"\r\n");
    }
}

/// Renders `fields` as the start of a row: each field followed by `,`.
pub(crate) fn prefix(fields: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields {
        push_field(&mut out, f.as_bytes());
        out.push(b',');
    }
    out
}

/// Fields shorter than this are checked for quoting eight bytes at a time in a register (a
/// memchr call per special byte cost more on the short cells of a report).
const SHORT: usize = 128;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether `field` holds `,`, `"`, `\n` or `\r`.
fn needs_quotes(field: &[u8]) -> bool {
    if field.len() >= SHORT {
        return memchr3(b',', b'"', b'\n', field).is_some() || memchr(b'\r', field).is_some();
    }
    // Whether a byte of `v` is zero (exact as a yes/no).
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let mut chunks = field.chunks_exact(8);
    for c in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        let v = u64::from_le_bytes(word);
        if has_zero(v ^ (ONES * u64::from(b',')))
            || has_zero(v ^ (ONES * u64::from(b'"')))
            || has_zero(v ^ (ONES * u64::from(b'\n')))
            || has_zero(v ^ (ONES * u64::from(b'\r')))
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
}

fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    if !needs_quotes(field) {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    let mut rest = field;
    while let Some(i) = memchr(b'"', rest) {
        out.extend_from_slice(&rest[..=i]);
        out.push(b'"');
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_csv(rows: &[Vec<String>]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        for r in rows {
            w.write_record(r).unwrap();
        }
        w.into_inner().unwrap()
    }

    fn with_rows(rows: &[Vec<String>], prefix_len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for r in rows {
            let fixed: Vec<&str> = r[..prefix_len].iter().map(String::as_str).collect();
            let mut row = Row::start(&mut out, &prefix(&fixed));
            for f in &r[prefix_len..] {
                row.field(f);
            }
            row.end();
        }
        out
    }

    #[test]
    fn quoting_matches_csv() {
        let rows: Vec<Vec<String>> = [
            ["p", "", "a,b", "say \"hi\""],
            ["", "", "", ""],
            ["x\r", "\ny", "\"", "ünï,cödé"],
            ["'=1+1", " lead", "trail ", "\"\""],
        ]
        .iter()
        .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
        .collect();
        for prefix_len in 0..4 {
            assert_eq!(
                with_rows(&rows, prefix_len),
                with_csv(&rows),
                "{prefix_len}"
            );
        }
    }

    #[test]
    fn the_quoting_check_finds_every_special_byte_anywhere() {
        for len in [0, 1, 7, 8, 9, 15, 16, 63, 127, 128, 200] {
            assert!(!needs_quotes(&vec![b'a'; len]), "{len}");
            for at in 0..len {
                for special in [b',', b'"', b'\n', b'\r'] {
                    let mut f = vec![0xFFu8; len];
                    f[at] = special;
                    assert!(needs_quotes(&f), "{len} {at} {special}");
                }
                // Bytes next to the special ones are not mistaken for them.
                let f: Vec<u8> = (0..len)
                    .map(|i| [b'+', b'-', b'!', 0x0B, 0x0E, 0x8D][i % 6])
                    .collect();
                assert!(!needs_quotes(&f));
            }
        }
    }

    proptest! {
        #[test]
        fn any_fields_are_written_as_csv_writes_them(
            rows in prop::collection::vec(
                prop::collection::vec("[a-z,\"\r\n \t'=é]{0,6}", 3..=3), 1..5),
            prefix_len in 0usize..3,
        ) {
            prop_assert_eq!(with_rows(&rows, prefix_len), with_csv(&rows));
        }
    }
}
