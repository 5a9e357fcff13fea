//! `rekcheck fix`: a manifest ready to retrain.
//!
//! A line is dropped when it has an error at line, attribute or metadata level (recorded in the
//! line by Rekognition, or predicted by [`crate::check_line`]), when it repeats an earlier kept
//! line's `source-ref`, or, with `drop_warnings`, when it has warnings. The exception is the rule
//! of `check`'s `used` column ([`crate::is_used`]): an attribute of an unsupported type
//! (`ERROR_UNSUPPORTED_USE_CASE_TYPE`) beside a label attribute without error is removed alone,
//! with its `<attribute>-metadata`, and the line is kept; a line whose every attribute is in
//! error is dropped. A box with an
//! annotation-level error is removed with its `objects[]` entry; a line left without boxes is
//! dropped. Every `errors`/`cl-errors`/`warnings`/`cl-warnings` key Rekognition writes is
//! removed. Every other byte of a kept line is kept as written (field order, spacing, numbers,
//! whitespace around the object, a `\r` before its `\n`, the byte order mark of line 1), and each
//! kept line keeps its terminator: the last line stays without `\n` when the input's last line
//! had none.
//!
//! After writing, [`fix_manifest`] applies the dataset-level rules of `rekcheck check` (the
//! [`CheckTally`] rules: label counts, invalid-row share, buckets, size) to what it wrote, so the
//! caller can tell whether the fixed manifest would still fail ([`FixOutcome::passes`]).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{self, Read, Write};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::codes::{REKCHECK_DUPLICATE_SOURCE_REF, REKCHECK_UNPARSABLE_LINE};
use crate::error::Error;
use crate::model::{ImageStatus, Issue, Level, Severity, drops_attribute, has_clean_attribute};
use crate::reading::engine::{Budget, ordered_par_map_within};
use crate::reading::engine::{in_flight, thread_pool};
use crate::reading::framing::DEFAULT_BLOCK_BYTES;
use crate::reading::framing::{Block, BlockKind, BlockReader, Framer, block_lines};
use crate::results::analysis::{BlockAnalysis, DEFAULT_IN_FLIGHT_BYTES, Stats, block_weight};
use crate::results::line::{LineOutcome, analyze_line};
use crate::rules::check::{CheckTally, CheckedLines, check_block};
use crate::rules::validate::{CheckOptions, KeyBuildHasher, check_line, source_ref_key};

/// Header of `removed.csv`.
pub const REMOVED_HEADER: &[&str] = &["line", "source_ref", "what", "code"];

/// How `fix` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixOptions {
    /// Drop lines that only have warnings too.
    pub drop_warnings: bool,
    /// Lines longer than this are not read (and dropped).
    pub max_line_bytes: usize,
    /// Analysis threads; 0 means one per core.
    pub threads: usize,
    /// Write the cells of `removed.csv` as found, without the `'` that defuses spreadsheet
    /// formulas (see [`crate::safe_cell`]). Cells longer than
    /// [`DEFAULT_MAX_CELL_BYTES`](crate::DEFAULT_MAX_CELL_BYTES) are cut either way.
    pub csv_raw: bool,
}

/// One line or box `fix` removed (a row of `removed.csv`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Removal {
    /// 1-based physical line.
    pub line: u64,
    /// The line's `source-ref`.
    pub source_ref: String,
    /// `line`, `blank line`, `attribute <attribute>` or `box <attribute>[<index>]`.
    pub what: String,
    /// The code that caused it (empty for a blank line).
    pub code: String,
}

/// What `fix` did, and the verdict predicted for what it wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct FixOutcome {
    /// Physical lines read.
    pub lines: u64,
    /// Blank lines skipped.
    pub blank: u64,
    /// Lines written.
    pub kept: u64,
    /// Written lines that lost boxes.
    pub edited: u64,
    /// Non-blank lines dropped.
    pub dropped: u64,
    /// Boxes removed from written lines.
    pub boxes_removed: u64,
    /// Dropped lines that are not a JSON object (or longer than the maximum line length);
    /// counted in `dropped` too. When every non-blank line is one, the input is not JSON Lines.
    pub unparsable: u64,
    /// Bytes written to the fixed manifest.
    pub bytes: u64,
    /// The manifest-level issues `rekcheck check` would report for the fixed manifest as one
    /// dataset (its dataset-level rules: empty manifest, size, line count, invalid-row share,
    /// buckets, label counts); the rules across training and testing are not applied. An error
    /// among them means Rekognition would still stop a training on it.
    pub dataset_issues: Vec<Issue>,
}

impl FixOutcome {
    /// Whether the fixed manifest passes the dataset-level rules (no error in
    /// `dataset_issues`).
    pub fn passes(&self) -> bool {
        self.terminal().next().is_none()
    }

    /// The errors that would still stop a training on the fixed manifest, in order.
    pub fn terminal(&self) -> impl Iterator<Item = &Issue> {
        self.dataset_issues
            .iter()
            .filter(|i| i.severity == Severity::Error)
    }

    /// The predicted verdict, as `check` writes it: `pass`, or `fail: CODE` with the first
    /// error.
    pub fn verdict(&self) -> String {
        crate::rules::check::verdict(&self.dataset_issues)
    }
}

/// The decision for one line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FixedLine {
    /// 1-based physical line.
    pub line: u64,
    /// The clean line, without its `\n` (a `\r` before it and whitespace around the object
    /// are kept), or `None` when the line is dropped.
    pub output: Option<Vec<u8>>,
    /// The line's `source-ref`.
    pub source_ref: String,
    /// What was removed.
    pub removed: Vec<Removal>,
    /// Boxes removed from a kept line.
    pub boxes_removed: u32,
    /// Whether the line was blank.
    pub blank: bool,
}

/// Decides one physical line (without its `\n`; a trailing `\r` is kept in the output).
pub fn fix_line(line_no: u64, raw: &[u8], options: &FixOptions) -> FixedLine {
    let recorded = analyze_line(line_no, raw, options.max_line_bytes);
    let check = CheckOptions {
        max_line_bytes: options.max_line_bytes,
        images: None,
    };
    let (predicted, _) = check_line(line_no, raw, &check);
    let mut out = FixedLine {
        line: line_no,
        output: None,
        source_ref: String::new(),
        removed: Vec::new(),
        boxes_removed: 0,
        blank: false,
    };
    let (LineOutcome::Image { row, issues: a }, LineOutcome::Image { issues: b, .. }) =
        (recorded, predicted)
    else {
        out.blank = true;
        out.removed.push(Removal {
            line: line_no,
            source_ref: String::new(),
            what: "blank line".to_owned(),
            code: String::new(),
        });
        return out;
    };
    out.source_ref.clone_from(&row.source_ref);
    // The codes the line is dropped for, each once (a set: a line may have many).
    let mut line_codes: FxHashSet<String> = FxHashSet::default();
    let mut drop_line = |out: &mut FixedLine, code: &str| {
        if line_codes.insert(code.to_owned()) {
            out.removed.push(Removal {
                line: line_no,
                source_ref: out.source_ref.clone(),
                what: "line".to_owned(),
                code: code.to_owned(),
            });
        }
    };
    if row.status == ImageStatus::Unparsable {
        drop_line(&mut out, REKCHECK_UNPARSABLE_LINE);
        return out;
    }
    let issues: Vec<&Issue> = a.iter().chain(&b).collect();
    let mut boxes: BTreeSet<(&str, u32)> = BTreeSet::new();
    // The codes that drop the line, in order, each with whether it drops only its attribute (an
    // unsupported attribute type, see [`crate::is_used`]).
    let mut codes: Vec<(&str, bool)> = Vec::new();
    // The attributes to remove, each with its first code.
    let mut attributes: BTreeMap<&str, &str> = BTreeMap::new();
    for i in &issues {
        let line_level = matches!(
            i.level,
            Level::Line | Level::Attribute | Level::Metadata | Level::Manifest
        );
        match i.severity {
            Severity::Error if drops_attribute(i) => {
                attributes.entry(&*i.attribute).or_insert(&i.code);
                codes.push((&i.code, true));
            }
            Severity::Error if line_level => codes.push((&i.code, false)),
            Severity::Error => {
                if let Some(index) = i.annotation {
                    boxes.insert((&*i.attribute, index));
                }
            }
            Severity::Warning if options.drop_warnings => codes.push((&i.code, false)),
            Severity::Warning => {}
        }
    }
    // Errors that drop only their attribute keep the line when another label attribute of it
    // is clean (the rule of `check`'s `used`); any other drops it.
    let attribute_only = codes.iter().all(|&(_, only)| only);
    // The whole line is parsed: whitespace around the object (a `\r` before the `\n` too) is
    // written back as it was.
    let root = if attribute_only {
        spans::parse(raw)
    } else {
        None
    };
    let keep = attribute_only
        && root.as_ref().is_none_or(|root| {
            attributes.is_empty()
                || has_clean_attribute(spans::label_attributes(root), issues.iter().copied())
        });
    if !keep {
        for &(code, _) in &codes {
            drop_line(&mut out, code);
        }
        return out;
    }
    let Some(root) = root else {
        drop_line(&mut out, REKCHECK_UNPARSABLE_LINE);
        return out;
    };
    for (attribute, code) in &attributes {
        out.removed.push(Removal {
            line: line_no,
            source_ref: out.source_ref.clone(),
            what: format!("attribute {attribute}"),
            code: (*code).to_owned(),
        });
    }
    // The boxes of a removed attribute go with it.
    boxes.retain(|(attribute, _)| !attributes.contains_key(attribute));
    // The boxes to remove by attribute.
    let mut by_attribute: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for (attribute, index) in &boxes {
        by_attribute
            .entry(attribute)
            .or_default()
            .insert(*index as usize);
    }
    // A bounding-box attribute that would lose every box drops the line.
    let mut emptied = false;
    if let spans::Kind::Object(members) = &root.kind {
        for (name, _, value) in members {
            let removed = by_attribute.get(name.as_str()).map_or(0, BTreeSet::len);
            if removed > 0 {
                let total = value.member("annotations").map_or(0, spans::Span::len);
                if removed >= total {
                    emptied = true;
                }
            }
        }
    }
    // The first error code of each box.
    let mut box_code: FxHashMap<(&str, u32), &str> = FxHashMap::default();
    for i in &issues {
        if let (Some(index), Severity::Error) = (i.annotation, i.severity) {
            box_code.entry((&*i.attribute, index)).or_insert(&i.code);
        }
    }
    for (attribute, index) in &boxes {
        let code = box_code
            .get(&(*attribute, *index))
            .map_or(String::new(), |c| (*c).to_owned());
        out.removed.push(Removal {
            line: line_no,
            source_ref: out.source_ref.clone(),
            what: format!("box {attribute}[{index}]"),
            code,
        });
    }
    if emptied {
        let code = out
            .removed
            .iter()
            .find(|r| r.what.starts_with("box "))
            .map(|r| r.code.clone())
            .unwrap_or_default();
        out.removed.clear();
        drop_line(&mut out, &code);
        return out;
    }
    let mut text = Vec::with_capacity(raw.len());
    text.extend_from_slice(&raw[..root.start]);
    let removed_attributes: BTreeSet<&str> = attributes.keys().copied().collect();
    spans::write_clean(raw, &root, &by_attribute, &removed_attributes, &mut text);
    text.extend_from_slice(&raw[root.end..]);
    if !boxes.is_empty() || !attributes.is_empty() {
        // Some box errors (a class id missing from the class-map) stop Rekognition's later
        // checks: once those boxes are gone, the rest of the line is checked for the first time.
        // A line that lost an attribute is checked again too.
        let (again, _) = check_line(line_no, &text, &check);
        if let LineOutcome::Image { issues, .. } = again {
            let codes: Vec<&str> = issues
                .iter()
                .filter(|i| i.severity == Severity::Error || options.drop_warnings)
                .map(|i| i.code.as_str())
                .collect();
            if !codes.is_empty() {
                let removed_codes: Vec<String> = out.removed.drain(..).map(|r| r.code).collect();
                for code in removed_codes.iter().map(String::as_str).chain(codes) {
                    drop_line(&mut out, code);
                }
                return out;
            }
        }
    }
    out.boxes_removed = u32::try_from(boxes.len()).unwrap_or(u32::MAX);
    out.output = Some(text);
    out
}

/// The byte order mark a manifest may start with.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The fixed lines of one block, and `check`'s analysis of the lines it would write.
struct FixedBlock {
    lines: Vec<FixedLine>,
    /// The block's last line has no `\n` (it is the input's last line).
    unterminated: bool,
    /// The dataset rules' view of the lines with an output (duplicates not yet dropped);
    /// `None` when there is none.
    check: Option<(BlockAnalysis, CheckedLines)>,
}

/// `check`'s analysis of `lines` as one block, for the dataset rules; `None` when there is no
/// line.
fn check_kept<'a>(
    lines: impl Iterator<Item = &'a [u8]>,
    options: &CheckOptions<'_>,
) -> Option<(BlockAnalysis, CheckedLines)> {
    let mut data = Vec::new();
    for line in lines {
        data.extend_from_slice(line);
        data.push(b'\n');
    }
    if data.is_empty() {
        return None;
    }
    let block = Block::new(0, 1, BlockKind::Lines(data));
    Some(check_block(&block, options))
}

/// Whether the input starts with a byte order mark, and the input without it.
fn split_bom<R: Read>(mut reader: R) -> io::Result<(bool, impl Read)> {
    let mut head = Vec::with_capacity(BOM.len());
    (&mut reader)
        .take(BOM.len() as u64)
        .read_to_end(&mut head)?;
    let bom = head == BOM;
    if bom {
        head.clear();
    }
    Ok((bom, io::Cursor::new(head).chain(reader)))
}

/// Reads a manifest from `reader`, writes the clean manifest to `out` and the `removed.csv`
/// rows to `removed` (header included), in line order, then applies `check`'s dataset-level
/// rules to what it wrote ([`FixOutcome::dataset_issues`]).
///
/// # Errors
///
/// [`Error::Read`] when `reader` fails, [`Error::Write`] when `out` or `removed` cannot be
/// written, [`Error::Threads`] when the analysis threads cannot be started. What was written
/// before the error is incomplete: write to temporary files and rename them on success (as
/// `rekcheck fix` does).
///
/// # Example
///
/// ```
/// use rekcheck_analyze::{fix_manifest, FixOptions, DEFAULT_MAX_LINE_BYTES};
///
/// let manifest = concat!(
///     r#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}"#, "\n",
///     r#"{"source-ref":"s3://my-bucket/2.jpg","cat":1,"cat-metadata":{"class-name":"cat","confidence":1,"type":"groundtruth/image-classification","human-annotated":"yes","creation-date":"2026-01-01T00:00:00","job-name":"j"}}"#, "\n",
/// );
/// let options = FixOptions {
///     drop_warnings: false,
///     max_line_bytes: DEFAULT_MAX_LINE_BYTES,
///     threads: 1,
///     csv_raw: false,
/// };
/// let (mut clean, mut removed) = (Vec::new(), Vec::new());
/// let outcome = fix_manifest(manifest.as_bytes(), &mut clean, &mut removed, &options)?;
/// assert_eq!((outcome.kept, outcome.dropped), (1, 1));
/// assert!(String::from_utf8(clean)?.starts_with(r#"{"source-ref":"s3://my-bucket/2.jpg""#));
/// assert!(String::from_utf8(removed)?.contains("ERROR_INVALID_IMAGE"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fix_manifest<R: Read, W: Write, V: Write>(
    reader: R,
    out: W,
    removed: V,
    options: &FixOptions,
) -> Result<FixOutcome, Error> {
    let pool = thread_pool(options.threads)?;
    let framer = Framer::new(DEFAULT_BLOCK_BYTES, options.max_line_bytes);
    let mut out = io::BufWriter::new(out);
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(removed);
    let write_err = |source: io::Error| Error::Write {
        path: "the fixed manifest".into(),
        source,
    };
    let read_err = |source: io::Error| Error::Read {
        manifest: "the manifest".to_owned(),
        source,
    };
    csv.write_record(REMOVED_HEADER)
        .map_err(|e| write_err(e.into()))?;
    let mut seen: HashSet<u128, KeyBuildHasher> = HashSet::default();
    let mut outcome = FixOutcome::default();
    let check_options = CheckOptions {
        max_line_bytes: options.max_line_bytes,
        images: None,
    };
    let mut tally = CheckTally::new();
    let mut stats = Stats::default();
    let (bom, reader) = split_bom(reader).map_err(read_err)?;
    let blocks = BlockReader::new(reader, framer).map(|b| b.map_err(read_err));
    let budget = Budget {
        items: in_flight(&pool),
        bytes: DEFAULT_IN_FLIGHT_BYTES,
    };
    let weigh = |block: &FixedBlock| {
        block
            .lines
            .iter()
            .map(|l| {
                std::mem::size_of::<FixedLine>()
                    + l.output.as_ref().map_or(0, Vec::len)
                    + l.source_ref.len() * (1 + l.removed.len())
            })
            .sum()
    };
    ordered_par_map_within(
        &pool,
        blocks,
        budget,
        block_weight,
        weigh,
        |block| match &block.kind {
            BlockKind::Lines(data) => {
                let lines: Vec<FixedLine> = block_lines(block.first_line, data)
                    .map(|(n, line)| fix_line(n, line, options))
                    .collect();
                let check = check_kept(
                    lines.iter().filter_map(|l| l.output.as_deref()),
                    &check_options,
                );
                FixedBlock {
                    lines,
                    unterminated: data.last().is_some_and(|&b| b != b'\n'),
                    check,
                }
            }
            BlockKind::Oversized { .. } => FixedBlock {
                lines: vec![FixedLine {
                    line: block.first_line,
                    output: None,
                    source_ref: String::new(),
                    removed: vec![Removal {
                        line: block.first_line,
                        source_ref: String::new(),
                        what: "line".to_owned(),
                        code: REKCHECK_UNPARSABLE_LINE.to_owned(),
                    }],
                    boxes_removed: 0,
                    blank: false,
                }],
                unterminated: false,
                check: None,
            },
        },
        |block: FixedBlock| {
            let FixedBlock {
                mut lines,
                unterminated,
                check,
            } = block;
            let last = lines.len().saturating_sub(1);
            let mut duplicates = false;
            for (i, l) in lines.iter_mut().enumerate() {
                outcome.lines += 1;
                if let Some(text) = &l.output {
                    if seen.insert(source_ref_key(&l.source_ref)) {
                        if l.line == 1 && bom {
                            out.write_all(BOM).map_err(write_err)?;
                            outcome.bytes += BOM.len() as u64;
                        }
                        out.write_all(text).map_err(write_err)?;
                        outcome.bytes += text.len() as u64;
                        // Each line keeps its terminator: the input's last line may have none.
                        if !(unterminated && i == last) {
                            out.write_all(b"\n").map_err(write_err)?;
                            outcome.bytes += 1;
                        }
                        outcome.kept += 1;
                        outcome.boxes_removed += u64::from(l.boxes_removed);
                        outcome.edited += u64::from(l.boxes_removed > 0);
                    } else {
                        l.removed = vec![Removal {
                            line: l.line,
                            source_ref: l.source_ref.clone(),
                            what: "line".to_owned(),
                            code: REKCHECK_DUPLICATE_SOURCE_REF.to_owned(),
                        }];
                        l.output = None;
                        duplicates = true;
                    }
                }
                if l.output.is_none() {
                    if l.blank {
                        outcome.blank += 1;
                    } else {
                        outcome.dropped += 1;
                        outcome.unparsable += u64::from(
                            l.removed
                                .first()
                                .is_some_and(|r| r.code == REKCHECK_UNPARSABLE_LINE),
                        );
                    }
                }
                let mut b = itoa::Buffer::new();
                let raw = options.csv_raw;
                // Cut as the report's cells are: a line's rows repeat its source-ref.
                let cell = |s: &str| -> String {
                    let cut = crate::output::report::clip(s, crate::DEFAULT_MAX_CELL_BYTES);
                    crate::safe_cell(&cut, raw).into_owned()
                };
                for r in &l.removed {
                    csv.write_record([
                        b.format(r.line),
                        &*cell(&r.source_ref),
                        &*cell(&r.what),
                        &*cell(&r.code),
                    ])
                    .map_err(|e| write_err(e.into()))?;
                }
            }
            // The dataset rules see exactly the lines written: a block that lost duplicates is
            // checked again without them (rare, so on this thread).
            let check = if duplicates {
                check_kept(
                    lines.iter().filter_map(|l| l.output.as_deref()),
                    &check_options,
                )
            } else {
                check
            };
            if let Some((mut analysis, checked)) = check {
                tally.absorb(&mut analysis, &checked);
                stats += analysis.stats;
            }
            Ok(())
        },
    )?;
    out.flush().map_err(write_err)?;
    csv.flush().map_err(write_err)?;
    outcome.dataset_issues = tally.dataset_issues(&stats, outcome.bytes);
    Ok(outcome)
}

/// Byte spans of a JSON value, for rewriting a line without touching what is kept.
mod spans {
    use std::collections::{BTreeMap, BTreeSet};

    pub(super) struct Span {
        pub(super) start: usize,
        pub(super) end: usize,
        pub(super) kind: Kind,
    }

    pub(super) enum Kind {
        Scalar,
        /// (key, key start, value)
        Object(Vec<(String, usize, Span)>),
        Array(Vec<Span>),
    }

    impl Span {
        pub(super) fn member(&self, key: &str) -> Option<&Span> {
            match &self.kind {
                Kind::Object(m) => m.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
                _ => None,
            }
        }

        pub(super) fn len(&self) -> usize {
            match &self.kind {
                Kind::Array(items) => items.len(),
                Kind::Object(m) => m.len(),
                Kind::Scalar => 0,
            }
        }
    }

    /// Parses a whole line that `serde_json` already accepted; `None` if it is not an object.
    pub(super) fn parse(b: &[u8]) -> Option<Span> {
        let start = ws(b, 0);
        let span = value(b, start, 0)?;
        (b.get(span.start) == Some(&b'{')).then_some(span)
    }

    fn ws(b: &[u8], mut i: usize) -> usize {
        while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    }

    fn string_end(b: &[u8], start: usize) -> Option<usize> {
        let mut i = start + 1;
        loop {
            match b.get(i)? {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
    }

    fn value(b: &[u8], start: usize, depth: usize) -> Option<Span> {
        if depth > crate::MAX_DEPTH {
            return None;
        }
        match *b.get(start)? {
            b'{' => {
                let mut members = Vec::new();
                let mut i = ws(b, start + 1);
                if b.get(i) == Some(&b'}') {
                    return Some(Span {
                        start,
                        end: i + 1,
                        kind: Kind::Object(members),
                    });
                }
                loop {
                    if b.get(i) != Some(&b'"') {
                        return None;
                    }
                    let key_end = string_end(b, i)?;
                    let key: String = serde_json::from_slice(&b[i..key_end]).ok()?;
                    let colon = ws(b, key_end);
                    if b.get(colon) != Some(&b':') {
                        return None;
                    }
                    let v = value(b, ws(b, colon + 1), depth + 1)?;
                    let after = ws(b, v.end);
                    members.push((key, i, v));
                    match b.get(after)? {
                        b',' => i = ws(b, after + 1),
                        b'}' => {
                            return Some(Span {
                                start,
                                end: after + 1,
                                kind: Kind::Object(members),
                            });
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                let mut items = Vec::new();
                let mut i = ws(b, start + 1);
                if b.get(i) == Some(&b']') {
                    return Some(Span {
                        start,
                        end: i + 1,
                        kind: Kind::Array(items),
                    });
                }
                loop {
                    let v = value(b, i, depth + 1)?;
                    let after = ws(b, v.end);
                    items.push(v);
                    match b.get(after)? {
                        b',' => i = ws(b, after + 1),
                        b']' => {
                            return Some(Span {
                                start,
                                end: after + 1,
                                kind: Kind::Array(items),
                            });
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => Some(Span {
                start,
                end: string_end(b, start)?,
                kind: Kind::Scalar,
            }),
            _ => {
                let mut i = start;
                while let Some(&c) = b.get(i) {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    i += 1;
                }
                (i > start).then_some(Span {
                    start,
                    end: i,
                    kind: Kind::Scalar,
                })
            }
        }
    }

    fn is_issue_key(k: &str) -> bool {
        matches!(k, "errors" | "cl-errors" | "warnings" | "cl-warnings")
    }

    /// Writes the container `s` keeping the items for which `keep` is true, each written by
    /// `item`; the bytes between kept items are the original separators.
    fn write_seq(
        b: &[u8],
        s: &Span,
        spans: &[(usize, usize)],
        keep: &dyn Fn(usize) -> bool,
        item: &mut dyn FnMut(usize, &mut Vec<u8>),
        out: &mut Vec<u8>,
    ) {
        let kept: Vec<usize> = (0..spans.len()).filter(|&i| keep(i)).collect();
        if kept.len() == spans.len() && spans.is_empty() {
            out.extend_from_slice(&b[s.start..s.end]);
            return;
        }
        out.push(b[s.start]);
        if let (Some(first), Some(last)) = (spans.first(), spans.last())
            && !kept.is_empty()
        {
            out.extend_from_slice(&b[s.start + 1..first.0]);
            for (n, &i) in kept.iter().enumerate() {
                if n > 0 {
                    out.extend_from_slice(&b[spans[i - 1].1..spans[i].0]);
                }
                item(i, out);
            }
            out.extend_from_slice(&b[last.1..s.end - 1]);
        }
        out.push(b[s.end - 1]);
    }

    /// The names of the root's label attributes: the members with a `<name>-metadata` member.
    pub(super) fn label_attributes(root: &Span) -> impl Iterator<Item = &str> {
        let members: &[(String, usize, Span)] = match &root.kind {
            Kind::Object(m) => m,
            _ => &[],
        };
        let keys: rustc_hash::FxHashSet<&str> =
            members.iter().map(|(k, _, _)| k.as_str()).collect();
        members
            .iter()
            .map(|(k, _, _)| k.as_str())
            .filter(move |k| keys.contains(format!("{k}-metadata").as_str()))
    }

    /// The clean line: issue keys removed from the root, its label attributes and metadata, and
    /// their annotations; the boxes in `boxes` removed with their `objects[]` entries; the
    /// attributes in `attributes` removed with their `<attribute>-metadata`.
    pub(super) fn write_clean(
        b: &[u8],
        root: &Span,
        boxes: &BTreeMap<&str, BTreeSet<usize>>,
        attributes: &BTreeSet<&str>,
        out: &mut Vec<u8>,
    ) {
        let none = BTreeSet::new();
        let removed = |key: &str| {
            attributes.contains(key)
                || key
                    .strip_suffix("-metadata")
                    .is_some_and(|a| attributes.contains(a))
        };
        clean_object(b, root, &|k| !removed(k), out, &mut |key, value, out| {
            let attr = key.strip_suffix("-metadata").unwrap_or(key);
            let removed = boxes.get(attr).unwrap_or(&none);
            let list = if key.ends_with("-metadata") {
                "objects"
            } else {
                "annotations"
            };
            if matches!(value.kind, Kind::Object(_)) {
                clean_object(b, value, &|_| true, out, &mut |k, v, out| {
                    if k == list
                        && let Kind::Array(items) = &v.kind
                    {
                        let spans: Vec<(usize, usize)> =
                            items.iter().map(|s| (s.start, s.end)).collect();
                        write_seq(
                            b,
                            v,
                            &spans,
                            &|i| !removed.contains(&i),
                            &mut |i, out| {
                                let it = &items[i];
                                if list == "annotations" && matches!(it.kind, Kind::Object(_)) {
                                    clean_object(b, it, &|_| true, out, &mut |_, v, out| {
                                        out.extend_from_slice(&b[v.start..v.end]);
                                    });
                                } else {
                                    out.extend_from_slice(&b[it.start..it.end]);
                                }
                            },
                            out,
                        );
                    } else {
                        out.extend_from_slice(&b[v.start..v.end]);
                    }
                });
            } else {
                out.extend_from_slice(&b[value.start..value.end]);
            }
        });
    }

    /// Writes an object without its issue keys and the members `keep` refuses; `value` writes
    /// each kept member's value.
    fn clean_object(
        b: &[u8],
        s: &Span,
        keep: &dyn Fn(&str) -> bool,
        out: &mut Vec<u8>,
        value: &mut dyn FnMut(&str, &Span, &mut Vec<u8>),
    ) {
        let Kind::Object(members) = &s.kind else {
            out.extend_from_slice(&b[s.start..s.end]);
            return;
        };
        let spans: Vec<(usize, usize)> = members.iter().map(|(_, k, v)| (*k, v.end)).collect();
        write_seq(
            b,
            s,
            &spans,
            &|i| !is_issue_key(&members[i].0) && keep(&members[i].0),
            &mut |i, out| {
                let (key, key_start, v) = &members[i];
                out.extend_from_slice(&b[*key_start..v.start]);
                value(key, v, out);
            },
            out,
        );
    }
}
