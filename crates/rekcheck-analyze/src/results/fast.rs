//! The fast path of the report: one well-formed validation line read in one pass by a small
//! hand-written JSON scanner, into spans of the line kept in per-thread scratch vectors (no typed
//! rows, no issues, no owned strings), from which the report renders its CSV rows directly.
//!
//! The invariant: [`analyze`] accepts a line only where [`crate::analyze_line`] reads it as a JSON
//! object, and then gives the same row and issues. Anything it does not fully understand gives
//! `None`, and the caller falls back to `analyze_line`: a line that is not plain ASCII-safe JSON
//! (any backslash, so escapes stay the fallback's, invalid UTF-8, control characters in strings),
//! numbers with an exponent or many digits (`serde_json` may reject them as out of range), nesting
//! deeper than [`MAX_FAST_DEPTH`], malformed or too many issue containers, issue items that are not
//! objects with a string `code`, more issues than the line's cap, more than [`MAX_FAST_ENTRIES`] issue items, annotations or class ids, many labels, attributes or
//! metadata, and any JSON error. Last-wins keys, repeated attributes, metadata and containers,
//! annotation indexes that count non-objects and class ids such as `1.0` or `"01"` are read as the
//! `serde` visitors of [`crate::results::line`] read them; a differential proptest and a fuzz
//! target hold the two paths to the same bytes.

use std::rc::Rc;

use crate::codes::REKCHECK_MALFORMED_ISSUE;
use crate::model::{ImageStatus, Level, Severity, drops_attribute_at, drops_line_at};
use crate::results::line::{ClassId, ClassMap, ClassMaps, parse_class_map};

/// Deeper lines go to the fallback (which knows the exact depth rule and its message).
pub(crate) const MAX_FAST_DEPTH: usize = 64;
/// Most issue containers on a fast line (they are matched to their owner by a scan).
const MAX_CONTAINERS: usize = 16;
/// Most distinct labels on a fast line (found by a scan).
const MAX_LABELS: usize = 16;
/// Most label attributes and metadata objects on a fast line (matched by a scan).
const MAX_ATTRIBUTES: usize = 16;
const MAX_METADATA: usize = 8;
/// Longest number read on the fast path.
const MAX_NUMBER: usize = 40;
/// Most issue items, annotations and class ids on a fast line, each: the scratch holds an entry
/// of 16 to 40 bytes per item, so a line of millions of `{}` boxes would hold hundreds of MB per
/// thread; such lines go to the fallback, which keeps no per-box entry.
pub(crate) const MAX_FAST_ENTRIES: usize = 8192;

/// Every byte 1, and every byte's high bit: for testing eight bytes at a time in a register.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// A byte range of the line.
type Span = (usize, usize);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    Line,
    Attribute(usize),
    Annotation(usize),
    Metadata(usize),
}

struct Container {
    owner: Owner,
    severity: Severity,
    /// Range of [`Scratch::items`].
    items: (usize, usize),
}

struct Item {
    code: Span,
    message: Option<Span>,
}

struct Attribute {
    name: Span,
    is_object: bool,
    /// Range of [`Scratch::ids`] (an array of class ids).
    ids: (usize, usize),
    /// Range of [`Scratch::annotations`]: the last `annotations` array.
    annotations: (usize, usize),
}

struct Annotation {
    index: u32,
    class_id: Option<Cid>,
}

#[derive(Clone, Copy)]
enum Cid {
    Int(i64),
    Str(Span),
}

struct Metadata {
    attribute: Span,
    class_name: Option<Span>,
    class_map: Option<Span>,
}

#[derive(Clone, Copy)]
enum LabelRef {
    Text(Span),
    /// Label `.1` of the class-map of metadata `.0`.
    Map(usize, u32),
}

/// Lines read before the next step runs on them: the report's renderer, `check`'s rules. Line by
/// line, the reader's code and the next step's code evicted each other from the instruction
/// cache (callgrind's simulation: 190 misses a line in `check`); a run of lines keeps each in
/// the cache for a while, and is short enough that its reads stay in the data cache.
pub(crate) const RUN_LINES: usize = 16;

/// Per-thread scratch of the fast path, reused from line to line.
#[derive(Default)]
pub(crate) struct Scratch {
    source_ref: Option<Span>,
    containers: Vec<Container>,
    items: Vec<Item>,
    attributes: Vec<Attribute>,
    ids: Vec<Cid>,
    annotations: Vec<Annotation>,
    metadata: Vec<Metadata>,
    maps: Vec<Option<Rc<ClassMap>>>,
    labels: Vec<(LabelRef, u32)>,
    /// The labels joined with `;`, for the image row.
    joined: String,
}

/// What a line turned into on the fast path.
pub(crate) enum Fast {
    /// Empty, or only spaces and tabs.
    Blank,
    /// An image row; its issues and labels are in the scratch.
    Image(FastRow),
}

/// The counts of an image row read on the fast path.
pub(crate) struct FastRow {
    pub(crate) status: ImageStatus,
    pub(crate) errors: u32,
    pub(crate) warnings: u32,
    pub(crate) boxes: u32,
    pub(crate) used: bool,
    /// At least one issue read from validation results (see [`crate::Stats::with_results`]).
    pub(crate) with_results: bool,
}

/// One issue of a fast line, borrowed from the line and its class-maps.
pub(crate) struct FastIssue<'a> {
    pub(crate) level: Level,
    pub(crate) attribute: &'a str,
    pub(crate) annotation: Option<u32>,
    pub(crate) label: &'a str,
    pub(crate) severity: Severity,
    pub(crate) code: &'a str,
    pub(crate) message: &'a str,
}

/// Reads one physical line (without its `\n`) on the fast path; `None` when the caller must use
/// the full analyzer. On success the issues are read with [`Scratch::for_each_issue`], the
/// labels with [`Scratch::labels`], with the same `text`, which is returned.
pub(crate) fn analyze<'t>(
    raw: &'t [u8],
    max_line_bytes: usize,
    max_issues: usize,
    s: &mut Scratch,
    class_maps: &mut ClassMaps,
) -> Option<(Fast, &'t str)> {
    if raw.len() > max_line_bytes {
        return None;
    }
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    if raw.iter().all(|&b| b == b' ' || b == b'\t') {
        return Some((Fast::Blank, ""));
    }
    if memchr::memchr(b'\\', raw).is_some() {
        return None;
    }
    let text = std::str::from_utf8(raw).ok()?;
    s.clear();
    let mut p = Parser { b: raw, i: 0 };
    p.ws();
    p.line(s)?;
    p.ws();
    if p.i != raw.len() {
        return None;
    }
    if s.attributes.len() > MAX_ATTRIBUTES || s.metadata.len() > MAX_METADATA {
        return None;
    }
    for m in &s.metadata {
        let map = match m.class_map {
            Some((a, b)) => Some(class_maps.get(&text[a..b], parse_class_map).ok()?),
            None => None,
        };
        s.maps.push(map);
    }
    let row = s.resolve(text, max_issues)?;
    Some((Fast::Image(row), text))
}

impl Scratch {
    fn clear(&mut self) {
        self.source_ref = None;
        self.containers.clear();
        self.items.clear();
        self.attributes.clear();
        self.ids.clear();
        self.annotations.clear();
        self.metadata.clear();
        self.maps.clear();
        self.labels.clear();
        self.joined.clear();
    }

    /// The line's `source-ref` (empty when missing or not a string).
    pub(crate) fn source_ref<'a>(&self, text: &'a str) -> &'a str {
        self.source_ref.map_or("", |(a, b)| &text[a..b])
    }

    /// The metadata of attribute `name`: the first with that name.
    fn meta_of(&self, text: &str, name: Span) -> Option<usize> {
        let name = &text[name.0..name.1];
        self.metadata
            .iter()
            .position(|m| &text[m.attribute.0..m.attribute.1] == name)
    }

    fn class_label(&self, meta: Option<usize>, id: Cid, text: &str) -> Option<LabelRef> {
        let m = meta?;
        let map = self.maps.get(m)?.as_deref()?;
        let id = match id {
            Cid::Int(n) => ClassId::Int(n),
            Cid::Str((a, b)) => ClassId::Str(std::borrow::Cow::Borrowed(&text[a..b])),
        };
        map.label_index(&id).map(|i| LabelRef::Map(m, i))
    }

    fn label_str<'a>(&'a self, text: &'a str, l: LabelRef) -> &'a str {
        match l {
            LabelRef::Text((a, b)) => &text[a..b],
            LabelRef::Map(m, i) => self
                .maps
                .get(m)
                .and_then(Option::as_deref)
                .and_then(|map| map.name(i))
                .unwrap_or(""),
        }
    }

    /// The label of an attribute that is not an object: its metadata's `class-name`.
    fn class_name(&self, meta: Option<usize>) -> Option<LabelRef> {
        meta.and_then(|m| self.metadata[m].class_name)
            .map(LabelRef::Text)
    }

    /// Adds `boxes` to label `l` (a new one at the end); `None` past [`MAX_LABELS`].
    fn add_label(&mut self, text: &str, l: Option<LabelRef>, boxes: u32) -> Option<()> {
        let Some(l) = l else { return Some(()) };
        let name = self.label_str(text, l);
        if name.is_empty() {
            return Some(());
        }
        let found = self
            .labels
            .iter()
            .position(|&(x, _)| self.label_str(text, x) == name);
        match found {
            Some(i) => self.labels[i].1 = self.labels[i].1.saturating_add(boxes),
            None if self.labels.len() >= MAX_LABELS => return None,
            None => self.labels.push((l, boxes)),
        }
        Some(())
    }

    /// Counts, labels and `used`, without rendering anything.
    fn resolve(&mut self, text: &str, max_issues: usize) -> Option<FastRow> {
        if self.containers.len() > MAX_CONTAINERS {
            return None;
        }
        let mut boxes: u32 = 0;
        for ai in 0..self.attributes.len() {
            let (name, is_object, ids, anns) = {
                let a = &self.attributes[ai];
                (a.name, a.is_object, a.ids, a.annotations)
            };
            let meta = self.meta_of(text, name);
            if !is_object {
                if ids.0 == ids.1 {
                    self.add_label(text, self.class_name(meta), 0)?;
                } else {
                    for k in ids.0..ids.1 {
                        let l = self.class_label(meta, self.ids[k], text);
                        self.add_label(text, l, 0)?;
                    }
                }
            }
            let count = u32::try_from(anns.1 - anns.0).unwrap_or(u32::MAX);
            boxes = boxes.saturating_add(count);
            for k in anns.0..anns.1 {
                let l = self.annotations[k]
                    .class_id
                    .and_then(|id| self.class_label(meta, id, text));
                self.add_label(text, l, 1)?;
            }
        }
        let (mut errors, mut warnings, mut n) = (0u32, 0u32, 0usize);
        let (mut drops_line, mut drops_attribute, mut with_results) = (false, false, false);
        let mut in_error: Vec<&str> = Vec::new();
        self.for_each_issue(text, |i| {
            n += 1;
            match i.severity {
                Severity::Error => errors = errors.saturating_add(1),
                Severity::Warning => warnings = warnings.saturating_add(1),
            }
            drops_line |= drops_line_at(i.severity, i.level, i.code);
            drops_attribute |= drops_attribute_at(i.severity, i.level, i.code);
            with_results |= !i.code.starts_with("REKCHECK_") || i.code == REKCHECK_MALFORMED_ISSUE;
            if i.severity == Severity::Error
                && matches!(i.level, Level::Attribute | Level::Metadata)
            {
                in_error.push(i.attribute);
            }
        });
        if n > max_issues {
            return None;
        }
        let status = if errors > 0 {
            ImageStatus::Error
        } else if warnings > 0 {
            ImageStatus::Warning
        } else {
            ImageStatus::Ok
        };
        let used = match status {
            ImageStatus::Ok => true,
            _ => {
                !drops_line
                    && (!drops_attribute
                        || self
                            .metadata
                            .iter()
                            .any(|m| !in_error.contains(&&text[m.attribute.0..m.attribute.1])))
            }
        };
        Some(FastRow {
            status,
            errors,
            warnings,
            boxes,
            used,
            with_results,
        })
    }

    /// Calls `f` with each issue of the line, in the order the full analyzer lists them: the
    /// line's, then each attribute's with its annotations', then each metadata's.
    pub(crate) fn for_each_issue<'a>(&'a self, text: &'a str, mut f: impl FnMut(&FastIssue<'a>)) {
        let span = |s: Span| &text[s.0..s.1];
        let mut containers = |owner: Owner,
                              level: Level,
                              attribute: &'a str,
                              annotation: Option<u32>,
                              label: &'a str| {
            for c in self.containers.iter().filter(|c| c.owner == owner) {
                for item in &self.items[c.items.0..c.items.1] {
                    f(&FastIssue {
                        level,
                        attribute,
                        annotation,
                        label,
                        severity: c.severity,
                        code: span(item.code),
                        message: item.message.map_or("", span),
                    });
                }
            }
        };
        containers(Owner::Line, Level::Line, "", None, "");
        for (ai, a) in self.attributes.iter().enumerate() {
            let meta = self.meta_of(text, a.name);
            let name = span(a.name);
            let label = if a.is_object {
                ""
            } else {
                self.class_name(meta)
                    .map_or("", |l| self.label_str(text, l))
            };
            containers(Owner::Attribute(ai), Level::Attribute, name, None, label);
            for k in a.annotations.0..a.annotations.1 {
                let ann = &self.annotations[k];
                let label = ann
                    .class_id
                    .and_then(|id| self.class_label(meta, id, text))
                    .map_or("", |l| self.label_str(text, l));
                containers(
                    Owner::Annotation(k),
                    Level::Annotation,
                    name,
                    Some(ann.index),
                    label,
                );
            }
        }
        for (mi, m) in self.metadata.iter().enumerate() {
            let label = m.class_name.map_or("", span);
            containers(
                Owner::Metadata(mi),
                Level::Metadata,
                span(m.attribute),
                None,
                label,
            );
        }
    }

    /// The line's distinct labels in order of first appearance, with their box counts.
    pub(crate) fn labels<'a>(&'a self, text: &'a str) -> impl Iterator<Item = (&'a str, u32)> {
        self.labels
            .iter()
            .map(move |&(l, boxes)| (self.label_str(text, l), boxes))
    }

    /// The labels joined with `;`, as the image row writes them.
    pub(crate) fn joined_labels<'a>(&'a mut self, text: &'a str) -> &'a str {
        let mut joined = std::mem::take(&mut self.joined);
        joined.clear();
        for (i, &(l, _)) in self.labels.iter().enumerate() {
            if i > 0 {
                joined.push(';');
            }
            joined.push_str(self.label_str(text, l));
        }
        self.joined = joined;
        &self.joined
    }
}

/// The scanner: every method gives `None` on anything it does not accept. Also `check`'s
/// (`crate::rules::fastline`). It reads no escapes: its callers decline lines with a backslash.
pub(crate) struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Parser<'a> {
        Parser { b, i: 0 }
    }

    /// The offset of the next byte.
    pub(crate) fn pos(&self) -> usize {
        self.i
    }

    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek()? == c {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    pub(crate) fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + word.len())? == word {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// A string without escapes (the line has no backslash); its contents.
    pub(crate) fn string(&mut self) -> Option<Span> {
        self.eat(b'"')?;
        let start = self.i;
        // One pass for the end and the control characters JSON forbids: the strings of a line
        // are short, and a memchr call per string cost more than the scan. Eight bytes at a
        // time while none of them is a quote or a control character; the lowest flagged byte is
        // the first such byte (a borrow only spreads upward from a byte that is one), where the
        // byte-by-byte reading below then starts.
        let mut end = start;
        while let Some(&word) = self.b.get(end..).and_then(|r| r.first_chunk::<8>()) {
            let v = u64::from_le_bytes(word);
            let quote = v ^ (ONES * u64::from(b'"'));
            let quote_or_control =
                ((quote.wrapping_sub(ONES) & !quote) | (v.wrapping_sub(ONES * 0x20) & !v)) & HIGH;
            if quote_or_control != 0 {
                end += (quote_or_control.trailing_zeros() / 8) as usize;
                break;
            }
            end += 8;
        }
        loop {
            match *self.b.get(end)? {
                b'"' => break,
                0..0x20 => return None,
                _ => end += 1,
            }
        }
        self.i = end + 1;
        Some((start, end))
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    /// A number without exponent, as JSON writes it.
    pub(crate) fn number(&mut self) -> Option<Span> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) || self.i - start > MAX_NUMBER {
            return None;
        }
        Some((start, self.i))
    }

    /// A number without sign or exponent, of at most 15 digits: all its digits as one integer,
    /// the number of digits after the point, and whether it has a point. `None` for any other
    /// number (or no number).
    pub(crate) fn small_number(&mut self) -> Option<(u64, u32, bool)> {
        const MAX_DIGITS: u32 = 15;
        let (mut n, mut digits) = (0u64, 0u32);
        match self.peek()? {
            b'0' => {
                self.i += 1;
                digits = 1;
            }
            b'1'..=b'9' => {
                while let Some(c @ b'0'..=b'9') = self.peek() {
                    n = n * 10 + u64::from(c - b'0');
                    digits += 1;
                    self.i += 1;
                    if digits > MAX_DIGITS {
                        return None;
                    }
                }
            }
            _ => return None,
        }
        let (mut frac, mut point) = (0u32, false);
        if self.peek() == Some(b'.') {
            point = true;
            self.i += 1;
            while let Some(c @ b'0'..=b'9') = self.peek() {
                n = n * 10 + u64::from(c - b'0');
                frac += 1;
                digits += 1;
                self.i += 1;
                if digits > MAX_DIGITS {
                    return None;
                }
            }
            if frac == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            return None;
        }
        Some((n, frac, point))
    }

    pub(crate) fn skip(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.string()?;
            }
            b'{' => self.object(depth + 1, |p, _, d| p.skip(d))?,
            b'[' => self.array(depth + 1, |p, _, d| p.skip(d))?,
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'n' => self.literal(b"null")?,
            b'-' | b'0'..=b'9' => {
                self.number()?;
            }
            _ => return None,
        }
        Some(())
    }

    /// An object at `depth`; `f` reads each value (whitespace before it skipped) given its key.
    pub(crate) fn object(
        &mut self,
        depth: usize,
        mut f: impl FnMut(&mut Self, Span, usize) -> Option<()>,
    ) -> Option<()> {
        if depth > MAX_FAST_DEPTH {
            return None;
        }
        self.eat(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            f(self, key, depth)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An array at `depth`; `f` reads each element given its index.
    pub(crate) fn array(
        &mut self,
        depth: usize,
        mut f: impl FnMut(&mut Self, u32, usize) -> Option<()>,
    ) -> Option<()> {
        if depth > MAX_FAST_DEPTH {
            return None;
        }
        self.eat(b'[')?;
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(());
        }
        let mut index: u32 = 0;
        loop {
            f(self, index, depth)?;
            index = index.saturating_add(1);
            self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Any value; its span when it is a string (the outer `None`: not accepted, as everywhere).
    #[allow(clippy::option_option)]
    fn maybe_str(&mut self, depth: usize) -> Option<Option<Span>> {
        if self.peek()? == b'"' {
            return self.string().map(Some);
        }
        self.skip(depth)?;
        Some(None)
    }

    fn text(&self, s: Span) -> &'a [u8] {
        &self.b[s.0..s.1]
    }

    fn line(&mut self, s: &mut Scratch) -> Option<()> {
        self.object(1, |p, key, d| {
            let k = p.text(key);
            if k == b"source-ref" {
                s.source_ref = p.maybe_str(d)?;
                Some(())
            } else if let Some(sev) = severity_of(k) {
                p.container(Owner::Line, sev, s, d)
            } else if k.ends_with(b"-metadata") {
                p.metadata((key.0, key.1 - b"-metadata".len()), s, d)
            } else {
                p.attribute(key, s, d)
            }
        })
    }

    fn container(
        &mut self,
        owner: Owner,
        severity: Severity,
        s: &mut Scratch,
        d: usize,
    ) -> Option<()> {
        match self.peek()? {
            b'n' => self.literal(b"null"),
            b'[' => {
                let start = s.items.len();
                self.array(d + 1, |p, _, d| {
                    let item = p.issue_item(d)?;
                    has_room(&s.items)?;
                    s.items.push(item);
                    Some(())
                })?;
                s.containers.push(Container {
                    owner,
                    severity,
                    items: (start, s.items.len()),
                });
                Some(())
            }
            _ => None,
        }
    }

    /// An object with a string `code` (last `code` and `message` keys win).
    fn issue_item(&mut self, d: usize) -> Option<Item> {
        let (mut code, mut message) = (None, None);
        self.object(d + 1, |p, key, d| {
            match p.text(key) {
                b"code" => code = p.maybe_str(d)?,
                b"message" => message = p.maybe_str(d)?,
                _ => p.skip(d)?,
            }
            Some(())
        })?;
        Some(Item {
            code: code?,
            message,
        })
    }

    fn metadata(&mut self, attribute: Span, s: &mut Scratch, d: usize) -> Option<()> {
        if self.peek()? != b'{' {
            return self.skip(d);
        }
        let idx = s.metadata.len();
        s.metadata.push(Metadata {
            attribute,
            class_name: None,
            class_map: None,
        });
        self.object(d + 1, |p, key, d| {
            let k = p.text(key);
            if let Some(sev) = severity_of(k) {
                p.container(Owner::Metadata(idx), sev, s, d)
            } else if k == b"class-name" {
                s.metadata[idx].class_name = p.maybe_str(d)?;
                Some(())
            } else if k == b"class-map" {
                let start = p.i;
                p.skip(d)?;
                s.metadata[idx].class_map = Some((start, p.i));
                Some(())
            } else {
                p.skip(d)
            }
        })
    }

    fn attribute(&mut self, name: Span, s: &mut Scratch, d: usize) -> Option<()> {
        let idx = s.attributes.len();
        let start = s.ids.len();
        s.attributes.push(Attribute {
            name,
            is_object: false,
            ids: (start, start),
            annotations: (0, 0),
        });
        match self.peek()? {
            b'{' => {
                s.attributes[idx].is_object = true;
                self.object(d + 1, |p, key, d| {
                    let k = p.text(key);
                    if let Some(sev) = severity_of(k) {
                        p.container(Owner::Attribute(idx), sev, s, d)
                    } else if k == b"annotations" && p.peek()? == b'[' {
                        let first = s.annotations.len();
                        p.array(d + 1, |p, index, d| p.annotation(index, s, d))?;
                        s.attributes[idx].annotations = (first, s.annotations.len());
                        Some(())
                    } else {
                        p.skip(d)
                    }
                })
            }
            b'[' => {
                self.array(d + 1, |p, _, d| {
                    if let Some(id) = p.class_id(d)? {
                        has_room(&s.ids)?;
                        s.ids.push(id);
                    }
                    Some(())
                })?;
                s.attributes[idx].ids = (start, s.ids.len());
                Some(())
            }
            _ => self.skip(d),
        }
    }

    fn annotation(&mut self, index: u32, s: &mut Scratch, d: usize) -> Option<()> {
        if self.peek()? != b'{' {
            return self.skip(d);
        }
        has_room(&s.annotations)?;
        let k = s.annotations.len();
        s.annotations.push(Annotation {
            index,
            class_id: None,
        });
        self.object(d + 1, |p, key, d| {
            let name = p.text(key);
            if let Some(sev) = severity_of(name) {
                p.container(Owner::Annotation(k), sev, s, d)
            } else if name == b"class_id" {
                s.annotations[k].class_id = p.class_id(d)?;
                Some(())
            } else {
                p.skip(d)
            }
        })
    }

    /// A class id as the full analyzer reads it: a string, an integer, or a float with an
    /// integral value; anything else is no class id. Numbers whose reading could depend on
    /// floating-point rounding go to the fallback.
    #[allow(clippy::option_option)]
    fn class_id(&mut self, d: usize) -> Option<Option<Cid>> {
        match self.peek()? {
            b'"' => Some(Some(Cid::Str(self.string()?))),
            b'-' | b'0'..=b'9' => {
                let (a, b) = self.number()?;
                let t = &self.b[a..b];
                let (int, frac) = match memchr::memchr(b'.', t) {
                    Some(dot) => (&t[..dot], Some(&t[dot + 1..])),
                    None => (t, None),
                };
                let digits = int.len() - usize::from(int.first() == Some(&b'-'));
                if frac.is_some_and(|f| f.iter().any(|&c| c != b'0')) || digits > 15 {
                    return None;
                }
                let n: i64 = std::str::from_utf8(int).ok()?.parse().ok()?;
                Some(Some(Cid::Int(n)))
            }
            _ => {
                self.skip(d)?;
                Some(None)
            }
        }
    }
}

/// `Some` while `v` has room for another entry on the fast path ([`MAX_FAST_ENTRIES`]).
fn has_room<T>(v: &[T]) -> Option<()> {
    (v.len() < MAX_FAST_ENTRIES).then_some(())
}

/// The severity of an issue container's key (`errors`, `cl-errors`, `warnings`, `cl-warnings`).
fn severity_of(key: &[u8]) -> Option<Severity> {
    match key {
        b"errors" | b"cl-errors" => Some(Severity::Error),
        b"warnings" | b"cl-warnings" => Some(Severity::Warning),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Parser;

    /// The string reader against a byte-by-byte reference: every position of the closing quote
    /// and of a forbidden control character, around the eight-byte steps, among bytes of every
    /// value (non-ASCII included).
    #[test]
    fn strings_end_at_the_quote_and_refuse_control_characters() {
        let reference = |b: &[u8]| -> Option<(usize, usize)> {
            let body = &b[1..];
            for (i, &c) in body.iter().enumerate() {
                match c {
                    b'"' => return Some((1, 1 + i)),
                    0..0x20 => return None,
                    _ => {}
                }
            }
            None
        };
        let fillers: &[u8] = &[
            b'a', b' ', b'!', b'#', 0x7f, 0x80, 0xc3, 0xa9, 0xff, b'\\', 0x21,
        ];
        let specials: &[u8] = &[b'"', 0x00, 0x09, 0x0a, 0x1f, 0x20, 0x22, 0x21, 0x23];
        let mut checked = 0;
        for len in 0..40 {
            for &fill in fillers {
                for &special in specials {
                    for at in 0..=len {
                        let mut b = vec![b'"'];
                        b.extend(std::iter::repeat_n(fill, len));
                        if at < len {
                            b[1 + at] = special;
                        }
                        if len % 3 == 0 {
                            b.push(b'"');
                        }
                        let mut p = Parser::new(&b);
                        assert_eq!(p.string(), reference(&b), "{b:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 50_000, "{checked}");
    }
}
