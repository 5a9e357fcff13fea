//! One JSON line -> its image row and issues.
//!
//! The line is deserialized in one pass with hand-written visitors that borrow strings from the
//! input and skip everything the report does not need (`IgnoredAny`): building a full
//! `serde_json::Value` for every line costs several times more.

use std::borrow::Cow;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::codes::{REKCHECK_MALFORMED_ISSUE, REKCHECK_TOO_MANY_ISSUES, REKCHECK_UNPARSABLE_LINE};
use crate::model::{ImageRow, ImageStatus, Issue, Level, Severity, has_clean_attribute, is_used};
use crate::reading::framing::strip_bom;

/// What one physical line turned into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOutcome {
    /// Empty, or only spaces and tabs: counted, no image row.
    Blank,
    /// A non-blank line: its image row and its issues (possibly none).
    Image {
        /// The image row.
        row: ImageRow,
        /// The issues found on the line, in the order they appear.
        issues: Vec<Issue>,
    },
}

/// Analyzes one physical line (without its `\n`; a trailing `\r` is removed here).
///
/// `line_no` is the 1-based physical line number; `max_line_bytes` is the longest line accepted.
///
/// # Example
///
/// ```
/// use rekcheck_analyze::{analyze_line, ImageStatus, LineOutcome, DEFAULT_MAX_LINE_BYTES};
///
/// let line = br#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}"#;
/// let LineOutcome::Image { row, issues } = analyze_line(7, line, DEFAULT_MAX_LINE_BYTES) else {
///     unreachable!("the line is not blank");
/// };
/// assert_eq!(row.status, ImageStatus::Error);
/// assert_eq!((issues[0].line, issues[0].code.as_str()), (Some(7), "ERROR_INVALID_IMAGE"));
/// assert_eq!(analyze_line(8, b"  ", DEFAULT_MAX_LINE_BYTES), LineOutcome::Blank);
/// ```
///
/// Line 1 may start with the manifest's byte order mark: it is not part of the line, as when the
/// manifest is read by [`Framer`](crate::Framer) or [`crate::analyze_slice`].
pub fn analyze_line(line_no: u64, raw: &[u8], max_line_bytes: usize) -> LineOutcome {
    let raw = if line_no == 1 { strip_bom(raw) } else { raw };
    analyze_line_with(
        line_no,
        raw,
        max_line_bytes,
        DEFAULT_MAX_ISSUES_PER_LINE,
        &mut ClassMaps::default(),
    )
}

/// Default most issues listed for one line ([`crate::AnalyzeOptions::max_issues_per_line`]).
pub const DEFAULT_MAX_ISSUES_PER_LINE: usize = 1000;

/// [`analyze_line`] with the class-maps of the lines before it: a manifest's lines nearly always
/// share one `class-map`, which is then parsed once, not on every line.
pub(crate) fn analyze_line_with(
    line_no: u64,
    raw: &[u8],
    max_line_bytes: usize,
    max_issues: usize,
    class_maps: &mut ClassMaps,
) -> LineOutcome {
    if raw.len() > max_line_bytes {
        return unparsable(line_no, too_long_message(raw.len() as u64, max_line_bytes));
    }
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    if raw.iter().all(|&b| b == b' ' || b == b'\t') {
        return LineOutcome::Blank;
    }
    let text = match std::str::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => {
            return unparsable(
                line_no,
                format!("not valid UTF-8 at byte {}", e.valid_up_to() + 1),
            );
        }
    };
    if let Some(column) = too_deep(raw) {
        return unparsable(
            line_no,
            format!("JSON nested deeper than {MAX_DEPTH} levels at column {column}"),
        );
    }
    let mut parsed = match parse_line(text) {
        Ok(parsed) => parsed,
        Err(msg) => return unparsable(line_no, msg),
    };
    for meta in &mut parsed.metadata {
        if let Some(raw) = meta.class_map_raw {
            match class_maps.get(raw.get(), parse_class_map) {
                Ok(map) => meta.class_map = Some(map),
                Err(e) => {
                    // Only a lone surrogate escape (`"\ud800"`) passes the line's parse and fails
                    // here; the column is the one the whole line's parse would give.
                    let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
                    return unparsable(line_no, describe_json_error_at(&e, offset));
                }
            }
        }
    }
    build(line_no, &parsed, max_issues)
}

/// The last few distinct values seen, by their exact JSON text, with what they parsed into: a
/// manifest's lines nearly always share one `class-map`, which is then parsed once per block.
pub(crate) struct Recent<T: ?Sized> {
    recent: Vec<(String, Rc<T>)>,
}

impl<T: ?Sized> Default for Recent<T> {
    fn default() -> Self {
        Recent { recent: Vec::new() }
    }
}

impl<T: ?Sized> Recent<T> {
    /// Most values kept: a line has one class-map per label attribute, rarely more than two.
    pub(crate) const KEEP: usize = 4;
    /// Longer texts are parsed every time, not kept (a hostile class-map of megabytes would
    /// otherwise be held, text and parse, for the whole block).
    pub(crate) const MAX_TEXT: usize = 64 * 1024;

    /// What `raw` parsed into, parsing it with `parse` unless it was seen lately. Failures are
    /// not kept.
    pub(crate) fn get<E>(
        &mut self,
        raw: &str,
        parse: impl FnOnce(&str) -> Result<Rc<T>, E>,
    ) -> Result<Rc<T>, E> {
        if raw.len() > Self::MAX_TEXT {
            return parse(raw);
        }
        if let Some((_, value)) = self.recent.iter().find(|(text, _)| text == raw) {
            return Ok(Rc::clone(value));
        }
        let value = parse(raw)?;
        if self.recent.len() == Self::KEEP {
            self.recent.remove(0);
        }
        self.recent.push((raw.to_owned(), Rc::clone(&value)));
        Ok(value)
    }
}

/// The class-maps of the report's analyzer.
pub(crate) type ClassMaps = Recent<ClassMap>;

pub(crate) fn parse_class_map(raw: &str) -> Result<Rc<ClassMap>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(raw);
    Ok(Rc::new(
        ClassMapSeed.deserialize(&mut de)?.unwrap_or_default(),
    ))
}

/// The outcome for a line that was too long to be read (see [`crate::BlockKind::Oversized`]).
pub fn oversized_line(line_no: u64, bytes: u64, max_line_bytes: usize) -> LineOutcome {
    unparsable(line_no, too_long_message(bytes, max_line_bytes))
}

/// The deepest nesting of arrays and objects a line may have.
pub const MAX_DEPTH: usize = 128;

/// The 1-based column of the bracket that opens level `MAX_DEPTH + 1`, if any.
///
/// `serde_json` skips ignored values without a depth limit, so the limit is checked here; the
/// full scan only runs on lines with enough brackets to be that deep.
pub(crate) fn too_deep(raw: &[u8]) -> Option<usize> {
    // memchr counts one byte value with SIMD; memchr2's iterator paid a call per bracket.
    let opening = memchr::memchr_iter(b'[', raw).count() + memchr::memchr_iter(b'{', raw).count();
    if opening <= MAX_DEPTH {
        return None;
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in raw.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i + 1);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn too_long_message(bytes: u64, max: usize) -> String {
    format!(
        "line is {bytes} bytes long, over the maximum of {max} bytes; raise --max-line-bytes to read it"
    )
}

fn unparsable(line_no: u64, message: String) -> LineOutcome {
    unreadable_line(line_no, REKCHECK_UNPARSABLE_LINE, message)
}

/// A line that is not a JSON object: an `unparsable` row with one line-level error `code`.
pub(crate) fn unreadable_line(line_no: u64, code: &str, message: String) -> LineOutcome {
    LineOutcome::Image {
        row: ImageRow {
            line: line_no,
            source_ref: String::new(),
            status: ImageStatus::Unparsable,
            errors: 1,
            warnings: 0,
            labels: Vec::new(),
            label_boxes: Vec::new(),
            boxes: 0,
            used: false,
        },
        issues: vec![Issue {
            line: Some(line_no),
            source_ref: Arc::from(""),
            level: Level::Line,
            attribute: Arc::from(""),
            annotation: None,
            label: Arc::from(""),
            severity: Severity::Error,
            code: code.to_owned(),
            message,
        }],
    }
}

fn parse_line(text: &str) -> Result<ParsedLine<'_>, String> {
    let first = text
        .trim_start_matches([' ', '\t'])
        .as_bytes()
        .first()
        .copied();
    let found = match first {
        Some(b'[') => Some("an array"),
        Some(b'"') => Some("a string"),
        Some(b'-' | b'0'..=b'9') => Some("a number"),
        Some(b't' | b'f') => Some("a boolean"),
        Some(b'n') => Some("null"),
        _ => None,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let result = de
        .deserialize_map(LineVisitor)
        .and_then(|p| de.end().map(|()| p));
    match result {
        Ok(p) => Ok(p),
        Err(e) => {
            if let Some(kind) = found {
                // Valid JSON of another type, or not JSON at all: say which.
                if serde_json::from_str::<IgnoredAny>(text).is_ok() {
                    return Err(format!("not a JSON object: the line holds {kind}"));
                }
            }
            Err(describe_json_error(&e))
        }
    }
}

fn describe_json_error(e: &serde_json::Error) -> String {
    describe_json_error_at(e, 0)
}

/// The message for a JSON error found `offset` bytes into the line.
fn describe_json_error_at(e: &serde_json::Error, offset: usize) -> String {
    let column = offset + e.column();
    let full = e.to_string();
    let msg = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => full.as_str(),
    };
    if msg == "recursion limit exceeded" {
        format!("JSON nested deeper than {MAX_DEPTH} levels at column {column}")
    } else {
        format!("invalid JSON at column {column}: {msg}")
    }
}

// ---------------------------------------------------------------------------------------------
// The borrowed shape of a line. Its vectors start with room for a typical line (one attribute,
// a few boxes): growing them from empty was 3 % of the instructions.

#[derive(Default)]
struct ParsedLine<'a> {
    source_ref: Option<Cow<'a, str>>,
    containers: Vec<Container<'a>>,
    attributes: Vec<Attribute<'a>>,
    metadata: Vec<Metadata<'a>>,
}

struct Container<'a> {
    severity: Severity,
    items: Items<'a>,
}

enum Items<'a> {
    Null,
    NotArray(&'a RawValue),
    /// The array as written: its items are read one at a time when the issues are built, so
    /// that a long array costs no per-item memory.
    List(&'a RawValue),
}

struct Attribute<'a> {
    name: Cow<'a, str>,
    /// The value was a JSON object (a bounding-box attribute or similar).
    is_object: bool,
    /// The value was an array of class ids (a `SageMaker` multi-label attribute).
    class_ids: Vec<ClassId<'a>>,
    containers: Vec<Container<'a>>,
    annotations: Annotations<'a>,
}

struct Annotation<'a> {
    index: u32,
    class_id: Option<ClassId<'a>>,
    containers: Vec<Container<'a>>,
}

#[derive(Clone)]
pub(crate) enum ClassId<'a> {
    Int(i64),
    Str(Cow<'a, str>),
}

struct Metadata<'a> {
    attribute: Cow<'a, str>,
    containers: Vec<Container<'a>>,
    class_name: Option<Cow<'a, str>>,
    /// The `class-map` as written, then (from [`ClassMaps`]) its entries.
    class_map_raw: Option<&'a RawValue>,
    class_map: Option<Rc<ClassMap>>,
}

/// A `class-map`'s labels with two indexes, so that finding a box's label takes constant time
/// whatever the number of classes: by key as written, and by key parsed as an integer (so that
/// numeric class ids match `"0"`). The first entry of a key (or of a number) wins.
#[derive(Default)]
pub(crate) struct ClassMap {
    names: Vec<String>,
    by_key: FxHashMap<String, u32>,
    by_id: FxHashMap<i64, u32>,
}

impl ClassMap {
    fn push(&mut self, key: &str, name: String) {
        let Ok(i) = u32::try_from(self.names.len()) else {
            return;
        };
        self.names.push(name);
        if !self.by_key.contains_key(key) {
            self.by_key.insert(key.to_owned(), i);
        }
        if let Ok(id) = key.parse::<i64>() {
            self.by_id.entry(id).or_insert(i);
        }
    }

    /// The label of class id `id`, when the class-map has it.
    fn label(&self, id: &ClassId<'_>) -> Option<&str> {
        self.name(self.label_index(id)?)
    }

    /// The index of the label of class id `id`, when the class-map has it.
    pub(crate) fn label_index(&self, id: &ClassId<'_>) -> Option<u32> {
        match id {
            ClassId::Int(n) => self.by_id.get(n),
            ClassId::Str(s) => self.by_key.get(s.as_ref()),
        }
        .copied()
    }

    /// The label at `index`.
    pub(crate) fn name(&self, index: u32) -> Option<&str> {
        self.names.get(index as usize).map(String::as_str)
    }
}

fn container_severity(key: &str) -> Option<Severity> {
    match key {
        "errors" | "cl-errors" => Some(Severity::Error),
        "warnings" | "cl-warnings" => Some(Severity::Warning),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Visitors.

/// A string borrowed when possible.
pub(crate) struct Str<'a>(pub(crate) Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any JSON value; keeps it when it is a string.
struct MaybeStr<'a>(Option<Cow<'a, str>>);

impl<'de> de::Deserialize<'de> for MaybeStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Owned(v))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A class id: an integer, an integral float, or a string; anything else is `None`.
struct MaybeClassId<'a>(Option<ClassId<'a>>);

impl<'de> de::Deserialize<'de> for MaybeClassId<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeClassId<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a class id")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeClassId(Some(ClassId::Str(Cow::Borrowed(v)))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeClassId(Some(ClassId::Str(Cow::Owned(v.to_owned())))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(MaybeClassId(Some(ClassId::Int(v))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(MaybeClassId(i64::try_from(v).ok().map(ClassId::Int)))
            }
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_precision_loss,
                clippy::float_cmp
            )]
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                let i = v as i64;
                Ok(MaybeClassId((i as f64 == v).then_some(ClassId::Int(i))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeClassId(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(MaybeClassId(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeClassId(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeClassId(None))
            }
        }
        d.deserialize_any(V)
    }
}

struct ContainerSeed(Severity);

impl<'de> DeserializeSeed<'de> for ContainerSeed {
    type Value = Container<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let raw = <&'de RawValue as de::Deserialize>::deserialize(d)?;
        let text = raw.get();
        let items = match text.as_bytes().first() {
            Some(b'n') => Items::Null,
            Some(b'[') => Items::List(raw),
            _ => Items::NotArray(raw),
        };
        Ok(Container {
            severity: self.0,
            items,
        })
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = ParsedLine<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut line = ParsedLine {
            attributes: Vec::with_capacity(1),
            metadata: Vec::with_capacity(1),
            ..ParsedLine::default()
        };
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            if key == "source-ref" {
                line.source_ref = map.next_value::<MaybeStr<'de>>()?.0;
            } else if let Some(sev) = container_severity(&key) {
                line.containers
                    .push(map.next_value_seed(ContainerSeed(sev))?);
            } else if let Some(attr) = strip_metadata_suffix(&key) {
                if let Some(meta) = map.next_value_seed(MetadataSeed(attr))? {
                    line.metadata.push(meta);
                }
            } else if let Some(attr) = map.next_value_seed(AttributeSeed(key))? {
                line.attributes.push(attr);
            }
        }
        Ok(line)
    }
}

fn strip_metadata_suffix<'a>(key: &Cow<'a, str>) -> Option<Cow<'a, str>> {
    match key {
        Cow::Borrowed(k) => k.strip_suffix("-metadata").map(Cow::Borrowed),
        Cow::Owned(k) => k
            .strip_suffix("-metadata")
            .map(|s| Cow::Owned(s.to_owned())),
    }
}

struct MetadataSeed<'a>(Cow<'a, str>);

impl<'de> DeserializeSeed<'de> for MetadataSeed<'de> {
    type Value = Option<Metadata<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ObjectOrSkip(MetadataFields(self.0)))
    }
}

struct AttributeSeed<'a>(Cow<'a, str>);

impl<'de> DeserializeSeed<'de> for AttributeSeed<'de> {
    type Value = Option<Attribute<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(AttributeVisitor(self.0))
    }
}

/// Reads an object's fields with `F`; any other value is skipped and gives `None`.
struct ObjectOrSkip<F>(F);

trait ObjectFields<'de> {
    type Value;
    fn visit<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error>;
}

macro_rules! skip_non_objects {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}

impl<'de, F: ObjectFields<'de>> Visitor<'de> for ObjectOrSkip<F> {
    type Value = Option<F::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    skip_non_objects!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit(map).map(Some)
    }
}

struct MetadataFields<'a>(Cow<'a, str>);

impl<'de> ObjectFields<'de> for MetadataFields<'de> {
    type Value = Metadata<'de>;
    fn visit<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut meta = Metadata {
            attribute: self.0,
            containers: Vec::new(),
            class_name: None,
            class_map_raw: None,
            class_map: None,
        };
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            if let Some(sev) = container_severity(&key) {
                meta.containers
                    .push(map.next_value_seed(ContainerSeed(sev))?);
            } else if key == "class-name" {
                meta.class_name = map.next_value::<MaybeStr<'de>>()?.0;
            } else if key == "class-map" {
                // Kept as text: it is parsed once per distinct class-map (`ClassMaps`).
                meta.class_map_raw = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(meta)
    }
}

struct ClassMapSeed;

impl<'de> DeserializeSeed<'de> for ClassMapSeed {
    type Value = Option<ClassMap>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ObjectOrSkip(ClassMapFields))
    }
}

struct ClassMapFields;

impl<'de> ObjectFields<'de> for ClassMapFields {
    type Value = ClassMap;
    fn visit<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = ClassMap::default();
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            if let Some(name) = map.next_value::<MaybeStr<'de>>()?.0 {
                out.push(&key, name.into_owned());
            }
        }
        Ok(out)
    }
}

struct AttributeVisitor<'a>(Cow<'a, str>);

impl<'de> Visitor<'de> for AttributeVisitor<'de> {
    type Value = Option<Attribute<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Some(self.scalar()))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Some(self.scalar()))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Some(self.scalar()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Some(self.scalar()))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Some(self.scalar()))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Some(self.scalar()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        let mut attr = self.scalar();
        while let Some(MaybeClassId(id)) = a.next_element::<MaybeClassId<'de>>()? {
            attr.class_ids.extend(id);
        }
        Ok(Some(attr))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut attr = self.scalar();
        attr.is_object = true;
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            if let Some(sev) = container_severity(&key) {
                attr.containers
                    .push(map.next_value_seed(ContainerSeed(sev))?);
            } else if key == "annotations" {
                if let Some(list) = map.next_value_seed(AnnotationsSeed)? {
                    attr.annotations = list;
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Some(attr))
    }
}

impl<'a> AttributeVisitor<'a> {
    fn scalar(self) -> Attribute<'a> {
        Attribute {
            name: self.0,
            is_object: false,
            class_ids: Vec::new(),
            containers: Vec::new(),
            annotations: Annotations::default(),
        }
    }
}

struct AnnotationsSeed;

/// The objects of an `annotations` array: how many, and those that carry a class id or issues.
#[derive(Default)]
struct Annotations<'a> {
    kept: Vec<Annotation<'a>>,
    count: u32,
}

impl<'de> DeserializeSeed<'de> for AnnotationsSeed {
    type Value = Option<Annotations<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(AnnotationsVisitor)
    }
}

struct AnnotationsVisitor;

impl<'de> Visitor<'de> for AnnotationsVisitor {
    type Value = Option<Annotations<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    skip_non_objects!();
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        let mut out = Annotations {
            kept: Vec::with_capacity(8),
            count: 0,
        };
        let mut index: u32 = 0;
        while let Some(ann) = a.next_element_seed(AnnotationSeed(index))? {
            index = index.saturating_add(1);
            if let Some(ann) = ann {
                out.count = out.count.saturating_add(1);
                // A box with neither a class id nor issues only counts (no label, no issue):
                // not kept, so that a line of millions of `{}` costs no memory per box.
                if ann.class_id.is_some() || !ann.containers.is_empty() {
                    out.kept.push(ann);
                }
            }
        }
        Ok(Some(out))
    }
}

struct AnnotationSeed(u32);

impl<'de> DeserializeSeed<'de> for AnnotationSeed {
    type Value = Option<Annotation<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ObjectOrSkip(AnnotationFields(self.0)))
    }
}

struct AnnotationFields(u32);

impl<'de> ObjectFields<'de> for AnnotationFields {
    type Value = Annotation<'de>;
    fn visit<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut ann = Annotation {
            index: self.0,
            class_id: None,
            containers: Vec::new(),
        };
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            if let Some(sev) = container_severity(&key) {
                ann.containers
                    .push(map.next_value_seed(ContainerSeed(sev))?);
            } else if key == "class_id" {
                ann.class_id = map.next_value::<MaybeClassId<'de>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(ann)
    }
}

// ---------------------------------------------------------------------------------------------
// From the parsed shape to the row and the issues.

struct IssueItem<'a> {
    code: Cow<'a, str>,
    message: Option<Cow<'a, str>>,
}

impl<'de> de::Deserialize<'de> for IssueItem<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IssueItem<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with a string `code`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut code = None;
                let mut message = None;
                while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
                    match key.as_ref() {
                        "code" => code = map.next_value::<MaybeStr<'de>>()?.0,
                        "message" => message = map.next_value::<MaybeStr<'de>>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let code = code.ok_or_else(|| de::Error::custom("no string `code`"))?;
                Ok(IssueItem { code, message })
            }
        }
        d.deserialize_map(V)
    }
}

/// Distinct labels in order of first appearance, with their box counts.
#[derive(Default)]
pub(crate) struct Labels {
    pub(crate) names: Vec<String>,
    pub(crate) boxes: Vec<u32>,
    /// Position of each name, once there are more than [`Labels::SCAN`] (a scan is faster for a
    /// few; the index keeps a line of many labels linear).
    pub(crate) index: Option<FxHashMap<String, usize>>,
}

impl Labels {
    const SCAN: usize = 16;

    pub(crate) fn add(&mut self, label: &str, boxes: u32) {
        if label.is_empty() {
            return;
        }
        let found = match &self.index {
            Some(index) => index.get(label).copied(),
            None => self.names.iter().position(|x| x == label),
        };
        if let Some(i) = found {
            self.boxes[i] = self.boxes[i].saturating_add(boxes);
            return;
        }
        self.names.push(label.to_owned());
        self.boxes.push(boxes);
        match &mut self.index {
            Some(index) => {
                index.insert(label.to_owned(), self.names.len() - 1);
            }
            None if self.names.len() > Self::SCAN => {
                let index = self
                    .names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.clone(), i))
                    .collect();
                self.index = Some(index);
            }
            None => {}
        }
    }
}

/// Where an issue sits within its line.
pub(crate) struct Place<'a> {
    pub(crate) level: Level,
    pub(crate) attribute: &'a str,
    pub(crate) annotation: Option<u32>,
    pub(crate) label: &'a str,
}

impl<'a> Place<'a> {
    /// The line itself.
    pub(crate) fn line() -> Place<'static> {
        Place {
            level: Level::Line,
            attribute: "",
            annotation: None,
            label: "",
        }
    }

    /// A place within label attribute `attribute` (annotation `annotation`, if any).
    pub(crate) fn at(
        level: Level,
        attribute: &'a str,
        annotation: Option<usize>,
        label: &'a str,
    ) -> Place<'a> {
        Place {
            level,
            attribute,
            annotation: annotation.map(|i| u32::try_from(i).unwrap_or(u32::MAX)),
            label,
        }
    }
}

/// A string shared by the issues of a line: the last one made, reused while the same text (the
/// same borrowed slice, or a short equal one) comes again.
#[derive(Default)]
struct Shared(Option<(usize, usize, Arc<str>)>);

impl Shared {
    /// Texts up to this long are compared by content, longer ones only by address.
    const COMPARE: usize = 256;

    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some((addr, len, arc)) = &self.0
            && *len == s.len()
            && (*addr == s.as_ptr() as usize || (s.len() <= Self::COMPARE && **arc == *s))
        {
            return Arc::clone(arc);
        }
        let arc: Arc<str> = Arc::from(s);
        self.0 = Some((s.as_ptr() as usize, s.len(), Arc::clone(&arc)));
        arc
    }
}

/// A line's issues as they are found, with their counts.
pub(crate) struct Builder<'a> {
    pub(crate) line_no: u64,
    pub(crate) source_ref: &'a str,
    shared_source_ref: Arc<str>,
    attributes: Shared,
    labels: Shared,
    issues: Vec<Issue>,
    pub(crate) errors: u32,
    pub(crate) warnings: u32,
    /// Most issues kept; the others are counted in `unlisted`.
    max_issues: usize,
    unlisted: u64,
}

impl<'a> Builder<'a> {
    fn add_containers(&mut self, containers: &[Container<'_>], place: &Place<'_>) {
        for c in containers {
            match &c.items {
                Items::Null => {}
                Items::NotArray(raw) => self.malformed(
                    c.severity,
                    "issue container is not an array",
                    raw.get(),
                    place,
                ),
                Items::List(list) => {
                    for_each_item(list, |raw| {
                        if self.issues.len() >= self.max_issues {
                            // Counted, not read: the line already lists all it may.
                            self.count(c.severity);
                            self.unlisted += 1;
                            return;
                        }
                        match serde_json::from_str::<IssueItem<'_>>(raw.get()) {
                            Ok(item) => self.push(
                                c.severity,
                                item.code.into_owned(),
                                item.message.map(Cow::into_owned).unwrap_or_default(),
                                place,
                            ),
                            Err(_) => self.malformed(
                                c.severity,
                                "issue is not an object with a string code",
                                raw.get(),
                                place,
                            ),
                        }
                    });
                }
            }
        }
    }

    fn malformed(&mut self, severity: Severity, what: &str, raw: &str, place: &Place<'_>) {
        let message = format!("{what}: {raw}");
        self.push(
            severity,
            REKCHECK_MALFORMED_ISSUE.to_owned(),
            message,
            place,
        );
    }

    pub(crate) fn new(line_no: u64, source_ref: &'a str) -> Builder<'a> {
        Builder {
            line_no,
            source_ref,
            shared_source_ref: Arc::from(source_ref),
            attributes: Shared::default(),
            labels: Shared::default(),
            issues: Vec::new(),
            errors: 0,
            warnings: 0,
            max_issues: DEFAULT_MAX_ISSUES_PER_LINE,
            unlisted: 0,
        }
    }

    /// Keeps at most `max` issues; the others are counted, and summed up in one
    /// `REKCHECK_TOO_MANY_ISSUES` issue by [`Builder::into_issues`].
    pub(crate) fn with_max_issues(mut self, max: usize) -> Builder<'a> {
        self.max_issues = max;
        self
    }

    fn count(&mut self, severity: Severity) {
        match severity {
            Severity::Error => self.errors = self.errors.saturating_add(1),
            Severity::Warning => self.warnings = self.warnings.saturating_add(1),
        }
    }

    /// The issues kept, then, when some were not, one `REKCHECK_TOO_MANY_ISSUES` warning with
    /// their number (not counted in `errors` or `warnings`, which count every issue).
    /// The issues kept so far (at most the line's cap).
    pub(crate) fn issues(&self) -> &[Issue] {
        &self.issues
    }

    pub(crate) fn into_issues(mut self) -> Vec<Issue> {
        if self.unlisted > 0 {
            let message = format!(
                "{} more issues of this line are not listed: at most {} are listed per line (--max-issues-per-line); the line's errors and warnings columns count them all.",
                self.unlisted, self.max_issues
            );
            let issue = Issue {
                line: Some(self.line_no),
                source_ref: Arc::clone(&self.shared_source_ref),
                level: Level::Line,
                attribute: self.attributes.get(""),
                annotation: None,
                label: self.labels.get(""),
                severity: Severity::Warning,
                code: REKCHECK_TOO_MANY_ISSUES.to_owned(),
                message,
            };
            self.issues.push(issue);
        }
        self.issues
    }

    pub(crate) fn status(&self) -> ImageStatus {
        if self.errors > 0 {
            ImageStatus::Error
        } else if self.warnings > 0 {
            ImageStatus::Warning
        } else {
            ImageStatus::Ok
        }
    }

    pub(crate) fn push(
        &mut self,
        severity: Severity,
        code: String,
        message: String,
        place: &Place<'_>,
    ) {
        self.count(severity);
        if self.issues.len() >= self.max_issues {
            self.unlisted += 1;
            return;
        }
        self.issues.push(Issue {
            line: Some(self.line_no),
            source_ref: Arc::clone(&self.shared_source_ref),
            level: place.level,
            attribute: self.attributes.get(place.attribute),
            annotation: place.annotation,
            label: self.labels.get(place.label),
            severity,
            code,
            message,
        });
    }
}

/// Calls `f` with each item of the JSON array `list` (already known to be valid JSON), without
/// collecting them.
fn for_each_item<'de>(list: &'de RawValue, f: impl FnMut(&'de RawValue)) {
    struct V<F>(F);
    impl<'de, F: FnMut(&'de RawValue)> Visitor<'de> for V<F> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(mut self, mut a: A) -> Result<(), A::Error> {
            while let Some(item) = a.next_element::<&'de RawValue>()? {
                (self.0)(item);
            }
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_str(list.get());
    // The text was read as JSON with the line: this cannot fail.
    let _ = de.deserialize_seq(V(f));
}

fn build(line_no: u64, p: &ParsedLine<'_>, max_issues: usize) -> LineOutcome {
    let source_ref = p.source_ref.as_deref().unwrap_or("");
    let mut b = Builder::new(line_no, source_ref).with_max_issues(max_issues);
    let mut labels = Labels {
        names: Vec::with_capacity(4),
        boxes: Vec::with_capacity(4),
        index: None,
    };
    let mut boxes: u32 = 0;

    b.add_containers(&p.containers, &Place::line());

    // Each attribute's metadata (the first with its name): by a scan for a few, by an index for
    // many, so that a line of many attributes takes linear time.
    let meta_index: Option<FxHashMap<&str, usize>> = (p.metadata.len() > 8).then(|| {
        let mut index = FxHashMap::default();
        for (i, m) in p.metadata.iter().enumerate() {
            index.entry(m.attribute.as_ref()).or_insert(i);
        }
        index
    });
    for attr in &p.attributes {
        let meta = match &meta_index {
            Some(index) => index.get(attr.name.as_ref()).map(|&i| &p.metadata[i]),
            None => p.metadata.iter().find(|m| m.attribute == attr.name),
        };
        let class_label =
            |id: &ClassId<'_>| -> Option<&str> { meta?.class_map.as_deref()?.label(id) };
        let attr_label = if attr.is_object {
            ""
        } else {
            meta.and_then(|m| m.class_name.as_deref()).unwrap_or("")
        };
        if !attr.is_object {
            if attr.class_ids.is_empty() {
                labels.add(attr_label, 0);
            } else {
                for id in &attr.class_ids {
                    if let Some(l) = class_label(id) {
                        labels.add(l, 0);
                    }
                }
            }
        }
        b.add_containers(
            &attr.containers,
            &Place {
                level: Level::Attribute,
                attribute: &attr.name,
                annotation: None,
                label: attr_label,
            },
        );
        boxes = boxes.saturating_add(attr.annotations.count);
        for ann in &attr.annotations.kept {
            let label = ann.class_id.as_ref().and_then(class_label).unwrap_or("");
            labels.add(label, 1);
            b.add_containers(
                &ann.containers,
                &Place {
                    level: Level::Annotation,
                    attribute: &attr.name,
                    annotation: Some(ann.index),
                    label,
                },
            );
        }
    }

    for meta in &p.metadata {
        b.add_containers(
            &meta.containers,
            &Place {
                level: Level::Metadata,
                attribute: &meta.attribute,
                annotation: None,
                label: meta.class_name.as_deref().unwrap_or(""),
            },
        );
    }

    let status = b.status();
    LineOutcome::Image {
        row: ImageRow {
            line: line_no,
            source_ref: source_ref.to_owned(),
            status,
            errors: b.errors,
            warnings: b.warnings,
            labels: labels.names,
            label_boxes: labels.boxes,
            boxes,
            used: is_used(status, &b.issues, || {
                has_clean_attribute(p.metadata.iter().map(|m| m.attribute.as_ref()), &b.issues)
            }),
        },
        issues: b.into_issues(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1 << 20;

    fn image(line: &str) -> (ImageRow, Vec<Issue>) {
        match analyze_line(7, line.as_bytes(), MAX) {
            LineOutcome::Image { row, issues } => (row, issues),
            LineOutcome::Blank => panic!("blank: {line}"),
        }
    }

    fn codes(issues: &[Issue]) -> Vec<(Level, &str, Option<u32>, Severity, &str)> {
        issues
            .iter()
            .map(|i| {
                (
                    i.level,
                    &*i.attribute,
                    i.annotation,
                    i.severity,
                    i.code.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn blank_lines_have_no_row() {
        for l in ["", "   ", "\t \t", "\r", "  \r"] {
            assert_eq!(
                analyze_line(1, l.as_bytes(), MAX),
                LineOutcome::Blank,
                "{l:?}"
            );
        }
        // A line with other whitespace is not blank: it is unparsable? No: JSON allows \n only
        // between tokens, and a form feed is not JSON whitespace.
        let (row, _) = image("\u{c}");
        assert_eq!(row.status, ImageStatus::Unparsable);
    }

    #[test]
    fn a_trailing_carriage_return_is_removed() {
        let (row, issues) = image("{\"source-ref\":\"s3://b/k.jpg\"}\r");
        assert_eq!(row.status, ImageStatus::Ok);
        assert!(issues.is_empty());
        assert_eq!(row.source_ref, "s3://b/k.jpg");
    }

    fn unparsable_message(line: &[u8]) -> String {
        match analyze_line(3, line, MAX) {
            LineOutcome::Image { row, issues } => {
                assert_eq!(row.status, ImageStatus::Unparsable);
                assert_eq!(row.errors, 1);
                assert_eq!(row.line, 3);
                assert_eq!(issues.len(), 1);
                let i = &issues[0];
                assert_eq!(
                    (i.level, i.severity, i.code.as_str(), i.line),
                    (
                        Level::Line,
                        Severity::Error,
                        REKCHECK_UNPARSABLE_LINE,
                        Some(3)
                    )
                );
                i.message.clone()
            }
            LineOutcome::Blank => panic!("blank"),
        }
    }

    #[test]
    fn unparsable_lines_say_why() {
        assert_eq!(
            unparsable_message(br#"{"source-ref": "s3://b/k.jpg"#),
            "invalid JSON at column 28: EOF while parsing a string"
        );
        assert!(unparsable_message(b"\xff{}").starts_with("not valid UTF-8 at byte 1"));
        assert_eq!(
            unparsable_message(b"[1,2]"),
            "not a JSON object: the line holds an array"
        );
        assert_eq!(
            unparsable_message(b"\"x\""),
            "not a JSON object: the line holds a string"
        );
        assert_eq!(
            unparsable_message(b"42"),
            "not a JSON object: the line holds a number"
        );
        assert_eq!(
            unparsable_message(b"null"),
            "not a JSON object: the line holds null"
        );
        assert!(
            unparsable_message(b"{} {}")
                .starts_with("invalid JSON at column 4: trailing characters")
        );
        assert!(unparsable_message(b"{\"a\":1,}").starts_with("invalid JSON at column"));
        assert!(unparsable_message(b"nope").starts_with("invalid JSON at column"));
    }

    #[test]
    fn nesting_deeper_than_128_levels_is_unparsable() {
        // The line object is level 1; 127 nested arrays make 128 levels: accepted.
        let ok = format!("{{\"a\":{}{}}}", "[".repeat(127), "]".repeat(127));
        assert_eq!(image(&ok).0.status, ImageStatus::Ok);
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(128), "]".repeat(128));
        assert_eq!(
            unparsable_message(deep.as_bytes()),
            "JSON nested deeper than 128 levels at column 133"
        );
        // Brackets inside strings do not count.
        let quoted = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(200), "{".repeat(200));
        assert_eq!(image(&quoted).0.status, ImageStatus::Ok);
    }

    #[test]
    fn lines_over_the_maximum_are_unparsable() {
        let line = format!("{{\"source-ref\":\"{}\"}}", "x".repeat(100));
        match analyze_line(1, line.as_bytes(), 50) {
            LineOutcome::Image { row, issues } => {
                assert_eq!(row.status, ImageStatus::Unparsable);
                assert!(
                    issues[0]
                        .message
                        .contains("117 bytes long, over the maximum of 50")
                );
            }
            LineOutcome::Blank => panic!(),
        }
        assert_eq!(
            oversized_line(9, 117, 50),
            analyze_line(9, line.as_bytes(), 50),
            "a skipped line and a read one give the same outcome"
        );
    }

    #[test]
    fn issues_are_read_at_every_level_and_only_there() {
        let line = r#"{"source-ref":"s3://b/i.jpg",
            "errors":[{"code":"ERROR_INVALID_IMAGE","message":"m1"}],
            "cl-warnings":[{"code":"WARNING_X","message":"w"}],
            "bb":{"errors":[{"code":"ERROR_A","message":"a"}],
                  "warnings":[{"code":"WARNING_NO_ATTRIBUTE_ANNOTATIONS","message":"n"}],
                  "annotations":[{"class_id":0,"errors":[{"code":"ERROR_BOUNDING_BOX_TOO_SMALL","message":"s"}]},
                                 "not an object",
                                 {"class_id":1,"cl-errors":[{"code":"ERROR_INVALID_BOUNDING_BOX","message":"o"}]}],
                  "nested":{"errors":[{"code":"IGNORED","message":"not a container place"}]}},
            "bb-metadata":{"class-map":{"0":"cat","1":"dog"},"cl-errors":[{"code":"ERROR_UNSUPPORTED_USE_CASE_TYPE","message":"t"}]},
            "cl-metadata":{"is_labeled":true,"warnings":[{"code":"WARNING_M","message":"x"}]},
            "other":[{"errors":[{"code":"IGNORED_TOO","message":""}]}]}"#
            .replace('\n', "");
        let (row, issues) = image(&line);
        assert_eq!(
            codes(&issues),
            vec![
                (
                    Level::Line,
                    "",
                    None,
                    Severity::Error,
                    "ERROR_INVALID_IMAGE"
                ),
                (Level::Line, "", None, Severity::Warning, "WARNING_X"),
                (Level::Attribute, "bb", None, Severity::Error, "ERROR_A"),
                (
                    Level::Attribute,
                    "bb",
                    None,
                    Severity::Warning,
                    "WARNING_NO_ATTRIBUTE_ANNOTATIONS"
                ),
                (
                    Level::Annotation,
                    "bb",
                    Some(0),
                    Severity::Error,
                    "ERROR_BOUNDING_BOX_TOO_SMALL"
                ),
                (
                    Level::Annotation,
                    "bb",
                    Some(2),
                    Severity::Error,
                    "ERROR_INVALID_BOUNDING_BOX"
                ),
                (
                    Level::Metadata,
                    "bb",
                    None,
                    Severity::Error,
                    "ERROR_UNSUPPORTED_USE_CASE_TYPE"
                ),
                (Level::Metadata, "cl", None, Severity::Warning, "WARNING_M"),
            ]
        );
        assert_eq!(&*issues[4].label, "cat");
        assert_eq!(&*issues[5].label, "dog");
        assert!(
            issues
                .iter()
                .all(|i| &*i.source_ref == "s3://b/i.jpg" && i.line == Some(7))
        );
        assert_eq!(row.status, ImageStatus::Error);
        assert_eq!((row.errors, row.warnings), (5, 3));
        assert_eq!(row.labels, vec!["cat", "dog"]);
        assert_eq!(row.label_boxes, vec![1, 1]);
        assert_eq!(row.boxes, 2);
    }

    #[test]
    fn status_is_warning_with_only_warnings_and_ok_with_none() {
        let (row, _) = image(
            r#"{"source-ref":"s3://b/a.png","warnings":[{"code":"WARNING_UNANNOTATED_RECORD","message":"Record is unannotated."}]}"#,
        );
        assert_eq!(row.status, ImageStatus::Warning);
        let (row, issues) = image(r#"{"source-ref":"s3://b/a.png","errors":[],"warnings":null}"#);
        assert_eq!(row.status, ImageStatus::Ok);
        assert!(issues.is_empty());
    }

    #[test]
    fn malformed_containers_and_items_keep_their_raw_json() {
        let (row, issues) = image(
            r#"{"errors":"oops","warnings":[{"message":"no code"},{"code":5},"str",{"code":"WARNING_OK"}],"a":{"errors":{"code":"E"}}}"#,
        );
        let c = codes(&issues);
        assert_eq!(c.len(), 6);
        assert_eq!(
            c[0],
            (
                Level::Line,
                "",
                None,
                Severity::Error,
                REKCHECK_MALFORMED_ISSUE
            )
        );
        assert_eq!(
            issues[0].message,
            "issue container is not an array: \"oops\""
        );
        assert_eq!(
            issues[1].message,
            "issue is not an object with a string code: {\"message\":\"no code\"}"
        );
        assert_eq!(
            issues[2].message,
            "issue is not an object with a string code: {\"code\":5}"
        );
        assert_eq!(
            issues[3].message,
            "issue is not an object with a string code: \"str\""
        );
        assert_eq!(
            c[4],
            (Level::Line, "", None, Severity::Warning, "WARNING_OK")
        );
        assert_eq!(
            c[5],
            (
                Level::Attribute,
                "a",
                None,
                Severity::Error,
                REKCHECK_MALFORMED_ISSUE
            )
        );
        assert_eq!(row.status, ImageStatus::Error);
    }

    #[test]
    fn unknown_codes_are_kept() {
        let (_, issues) = image(r#"{"errors":[{"code":"ERROR_FROM_THE_FUTURE","message":"new"}]}"#);
        assert_eq!(issues[0].code, "ERROR_FROM_THE_FUTURE");
        assert_eq!(issues[0].message, "new");
    }

    #[test]
    fn class_maps_are_reused_across_lines_only_when_identical() {
        // Six distinct class-maps (more than `ClassMaps` keeps) in turn, some repeated, two on
        // one line: every line reads the same with the shared cache as alone.
        let maps = [
            r#"{"0":"a","1":"b"}"#,
            r#"{"0":"b","1":"a"}"#,
            r#"{"0": "a", "1": "b"}"#,
            r#"{"1":"c"}"#,
            r#"{"0":"d","0":"e","1":7}"#,
            "[]",
        ];
        let mut class_maps = ClassMaps::default();
        for (i, map) in maps
            .iter()
            .chain(maps.iter().rev())
            .chain(&maps)
            .enumerate()
        {
            let other = maps[(i * 7) % maps.len()];
            let line = format!(
                r#"{{"bb":{{"annotations":[{{"class_id":0}},{{"class_id":1}}]}},"bb-metadata":{{"class-map":{map}}},"m":1,"m-metadata":{{"class-map":{other}}}}}"#
            );
            let alone = analyze_line(1, line.as_bytes(), usize::MAX);
            let shared = analyze_line_with(
                1,
                line.as_bytes(),
                usize::MAX,
                DEFAULT_MAX_ISSUES_PER_LINE,
                &mut class_maps,
            );
            assert_eq!(shared, alone, "{line}");
        }
        assert_eq!(class_maps.recent.len(), ClassMaps::KEEP);
    }

    #[test]
    fn many_labels_and_classes_on_one_line_keep_their_order() {
        // 20,000 classes and a box of each (in reverse order, the first repeated): labels come
        // in order of first appearance, each counted once, in linear time.
        let n = 20_000;
        let map: Vec<String> = (0..n).map(|i| format!(r#""{i}":"l{i}""#)).collect();
        let mut boxes: Vec<String> = (0..n)
            .rev()
            .map(|i| format!(r#"{{"class_id":{i}}}"#))
            .collect();
        boxes.push(format!(r#"{{"class_id":"{}"}}"#, n - 1));
        boxes.push("{}".to_owned());
        let line = format!(
            r#"{{"bb":{{"annotations":[{}]}},"bb-metadata":{{"class-map":{{{}}}}}}}"#,
            boxes.join(","),
            map.join(",")
        );
        let (row, _) = image(&line);
        assert_eq!(row.boxes, n + 2);
        assert_eq!(row.labels.len(), n as usize);
        assert_eq!(row.labels[0], format!("l{}", n - 1));
        assert_eq!(row.labels[n as usize - 1], "l0");
        assert_eq!(row.label_boxes[0], 2);
        assert!(row.label_boxes[1..].iter().all(|&b| b == 1));
    }

    #[test]
    fn a_lone_surrogate_in_a_class_map_is_reported_where_it_is() {
        let line = r#"{"source-ref":"s3://b/k.jpg","bb-metadata":{"class-map":{"0":"x\ud800y"}}}"#;
        let full = serde_json::from_str::<serde_json::Value>(line).unwrap_err();
        assert_eq!(full.column(), 70);
        let (row, issues) = image(line);
        assert_eq!(row.status, ImageStatus::Unparsable);
        // What the whole line's parse says (as the analyzer did before it cached class-maps).
        let full = full.to_string();
        let what = &full[..full.rfind(" at line ").unwrap()];
        assert!(what.contains("hex escape"), "{what}");
        assert_eq!(
            issues[0].message,
            format!("invalid JSON at column 70: {what}")
        );
    }

    #[test]
    fn labels_come_from_class_map_or_class_name() {
        // Metadata before its attribute, string class ids, float class ids.
        let (row, _) = image(
            r#"{"bb-metadata":{"class-map":{"0":"a","1":"b","2":"c"}},"bb":{"annotations":[{"class_id":"1"},{"class_id":2.0},{"class_id":1},{"class_id":9}]}}"#,
        );
        assert_eq!(row.labels, vec!["b", "c"]);
        assert_eq!(row.label_boxes, vec![2, 1]);
        assert_eq!(row.boxes, 4);
        // Classification: one attribute per label.
        let (row, issues) = image(
            r#"{"source-ref":"s3://b/x.jpg","sport":0,"sport-metadata":{"class-name":"football","errors":[{"code":"ERROR_INVALID_LABEL_NAME_LENGTH","message":""}]},"ball":1,"ball-metadata":{"class-name":"ball"}}"#,
        );
        assert_eq!(row.labels, vec!["football", "ball"]);
        assert_eq!(row.boxes, 0);
        assert_eq!(&*issues[0].label, "football");
        // SageMaker multi-label.
        let (row, _) = image(
            r#"{"m":[1,0,8],"m-metadata":{"class-map":{"1":"bicycle","0":"person","8":"clothing"}}}"#,
        );
        assert_eq!(row.labels, vec!["bicycle", "person", "clothing"]);
    }

    #[test]
    fn escaped_keys_and_strings_are_decoded() {
        let (row, issues) = image(
            r#"{"source\u002dref":"s3://b/caf\u00e9.jpg","err\u006frs":[{"code":"ERROR_\u0041","message":"line\nbreak"}]}"#,
        );
        assert_eq!(row.source_ref, "s3://b/café.jpg");
        assert_eq!(issues[0].code, "ERROR_A");
        assert_eq!(issues[0].message, "line\nbreak");
    }

    #[test]
    fn documented_invalid_json_replacement_line_is_an_error_without_source_ref() {
        let (row, issues) = image(
            r#"{"errors":[{"code":"ERROR_INVALID_JSON_LINE","message":"The JSON Line has an invalid format."}]}"#,
        );
        assert_eq!(row.status, ImageStatus::Error);
        assert_eq!(row.source_ref, "");
        assert_eq!(issues[0].code, "ERROR_INVALID_JSON_LINE");
    }
}
