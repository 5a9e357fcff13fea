//! Predicting Rekognition's validation of one input line (`rekcheck check`).
//!
//! The input is a `SageMaker` Ground Truth manifest line, the format Custom Labels trains from. The
//! rules follow the developer guide: first the checks that stop the others (source-ref, label
//! attributes, attribute and metadata format, box confidences, class-map ids, JSON), then the
//! image and box rules. Codes, levels and messages are Rekognition's where it documents them;
//! the message may add a sentence that says what exactly is wrong.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hasher;
use std::rc::Rc;

use rustc_hash::FxHashMap;
use serde::de::{self, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::codes::{
    REKCHECK_BUCKET_NAME, REKCHECK_IMAGE_SIZE_MISMATCH, REKCHECK_LINE_TOO_LONG,
    REKCHECK_MULTILABEL_TYPE, REKCHECK_TOO_MANY_LABELS_PER_IMAGE, documented,
};
use crate::model::{ImageRow, Level, Severity, is_used};
use crate::results::line::{
    Builder, DEFAULT_MAX_ISSUES_PER_LINE, Labels, LineOutcome, Place, Recent, Str, too_deep,
    unreadable_line,
};
use crate::rules::fastline::{
    BoxSpec, FastAttr, FastDetection, FastLine, FastObjects, OneSize, is_service_key, scan,
};

/// Rekognition's longest JSON line, in characters.
pub const MAX_LINE_CHARS: usize = 100_000;
/// Most bounding boxes on one image.
pub const MAX_BOXES: usize = 50;
/// Longest label name, in characters.
pub const MAX_LABEL_CHARS: usize = 256;
/// Most distinct labels on one image ("Maximum number of labels per image is 50", limits).
pub const MAX_LABELS_PER_IMAGE: usize = 50;
/// Smallest and largest image side, in pixels.
pub const IMAGE_SIDE: (f64, f64) = (64.0, 4096.0);
/// Largest image aspect ratio.
pub const MAX_ASPECT: f64 = 20.0;
/// Largest image file, in bytes (15 MB).
pub const MAX_IMAGE_BYTES: u64 = 15 * 1024 * 1024;
/// Images are scaled so that their longest side is at most this before boxes are measured.
pub const SCALED_SIDE: f64 = 1280.0;

/// The metadata `type` of image-level labels.
pub const TYPE_CLASSIFICATION: &str = "groundtruth/image-classification";
/// The metadata `type` of bounding boxes.
pub const TYPE_DETECTION: &str = "groundtruth/object-detection";
/// The metadata `type` of a `SageMaker` multi-label classification job. AWS's own conversion
/// script (md-gt-cl-transform) copies it into each per-label metadata of the Custom Labels
/// format, but no page lists it as a supported type (`ERROR_UNSUPPORTED_USE_CASE_TYPE` names only
/// the two above): `check` reads such an attribute with a number value as an image-level label
/// and warns ([`crate::REKCHECK_MULTILABEL_TYPE`]).
pub const TYPE_CLASSIFICATION_MULTILABEL: &str = "groundtruth/image-classification-multilabel";

/// Keys Rekognition writes into its output and evaluation snapshots
/// (`rekognition-custom-labels-training-0`, `...-evaluation`, ..., im-evaluation-manifest-snapshot-api).
/// With a `-metadata` sibling they are label attributes like any other; alone (such as
/// `rekognition-custom-labels-object-id`) they are skipped.
const REKOGNITION_PREFIX: &str = "rekognition-custom-labels-";

/// What `--verify-images` found for one image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageCheck {
    /// The object exists and its first bytes were read.
    Read {
        /// The format found in the header (`png`, `jpeg`, `gif`, ...), or `unknown`.
        format: String,
        /// The object's size in bytes.
        bytes: u64,
        /// Width and height from the header, when the header gives them.
        dimensions: Option<(u32, u32)>,
    },
    /// The object could not be read; the text says why (missing, access denied, ...).
    Unreadable(String),
}

/// Verified images by `source-ref`.
pub type ImageChecks = HashMap<String, ImageCheck>;

/// How `check` reads lines.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions<'a> {
    /// Lines longer than this are not read at all.
    pub max_line_bytes: usize,
    /// The verified images, when `--verify-images` ran.
    pub images: Option<&'a ImageChecks>,
}

/// Which use cases a line's valid label attributes belong to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UseCases {
    /// Image-level labels (`groundtruth/image-classification`).
    pub classification: bool,
    /// Bounding boxes (`groundtruth/object-detection`).
    pub detection: bool,
}

/// What the dataset-level rules need from a line besides its row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineFacts {
    /// A 128-bit hash of the `source-ref`, when it is a string.
    pub key: Option<u128>,
    /// The length of the bucket name, which starts at byte 5 of the row's `source_ref`.
    pub bucket_len: usize,
    /// The use cases of the line's label attributes.
    pub use_cases: UseCases,
    /// Bit `i` is set when Rekognition drops every box of the row's label `i` (each has an
    /// annotation-level error), so the used line does not give it that label. Set by the
    /// dataset rules; labels past the 64th are not tracked (such a line breaks
    /// [`MAX_LABELS_PER_IMAGE`] and is not used).
    pub dropped: u64,
}

impl LineFacts {
    /// The bucket of `row`'s `source-ref`, when it is well formed.
    pub fn bucket<'r>(&self, row: &'r ImageRow) -> Option<&'r str> {
        (self.bucket_len > 0).then(|| row.source_ref.get(5..5 + self.bucket_len))?
    }
}

/// The hash `check` uses to find duplicate `source-ref`s: XXH3's 128-bit hash, so that a false
/// duplicate would need a 128-bit collision. (Two salted 64-bit `SipHash`es cost 7 % of `check`.)
pub fn source_ref_key(source_ref: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(source_ref.as_bytes())
}

/// A hasher for [`source_ref_key`]s, which are already hashes: it keeps their low 64 bits.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `u128` keys; fold anything else in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    #[allow(clippy::cast_possible_truncation)]
    fn write_u128(&mut self, key: u128) {
        self.0 = key as u64;
    }

    fn write_u64(&mut self, low: u64) {
        self.0 = low;
    }
}

/// A [`source_ref_key`] as two `u64`s: aligned to 8 bytes rather than a `u128`'s 16, an entry
/// of `check`'s table of images (key and first line) takes 24 bytes instead of 32 (a million
/// lines: 50 rather than 66 MB of table, 75 rather than 99 MB while it grows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PackedKey([u64; 2]);

impl PackedKey {
    #[allow(clippy::cast_possible_truncation)]
    pub(crate) fn of(key: u128) -> PackedKey {
        PackedKey([key as u64, (key >> 64) as u64])
    }
}

impl std::hash::Hash for PackedKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The key is already a hash: its low half is the table's hash.
        state.write_u64(self.0[0]);
    }
}

/// A set or map keyed by [`source_ref_key`].
pub(crate) type KeyBuildHasher = std::hash::BuildHasherDefault<KeyHasher>;

/// Splits an `s3://bucket/key` URI; `Err` says what is wrong. Only what the documentation
/// requires is checked (`s3://BUCKET/OBJECT_PATH`, md-create-manifest-file-classification): the
/// scheme, a bucket and a key. The bucket name itself is judged by [`bucket_name_note`]: legacy
/// buckets with upper case or `_` exist and Rekognition accepts them.
pub fn parse_s3_uri(uri: &str) -> Result<(&str, &str), String> {
    let Some(rest) = uri.strip_prefix("s3://") else {
        let shown: String = uri.chars().take(60).collect();
        return Err(format!("`{shown}` does not start with s3://"));
    };
    let Some((bucket, key)) = rest.split_once('/') else {
        return Err("there is no object key after the bucket".to_owned());
    };
    if bucket.is_empty() {
        return Err("there is no bucket name after s3://".to_owned());
    }
    if key.is_empty() {
        return Err("the object key is empty".to_owned());
    }
    Ok((bucket, key))
}

/// Why a bucket name breaks today's S3 naming rules (3-63 lower-case letters, digits, dots
/// and hyphens, starting and ending with a letter or digit), if it does. Such a name is a note,
/// not an error: legacy buckets (upper case, `_`, up to 255 characters) still exist.
pub fn bucket_name_note(bucket: &str) -> Option<String> {
    let today_chars = bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if (3..=63).contains(&bucket.len())
        && today_chars
        && ends_ok(bucket.bytes().next())
        && ends_ok(bucket.bytes().last())
    {
        return None;
    }
    let shown: String = bucket.chars().take(80).collect();
    let legacy = bucket.len() <= 255
        && bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    Some(if legacy {
        format!(
            "The bucket name `{shown}` breaks today's S3 naming rules (3-63 lower-case letters, digits, dots and hyphens) but can be a legacy bucket (upper case and `_` were allowed before 2018); Rekognition accepts s3://BUCKET/KEY, so the line is checked as usual. Make sure the bucket exists under exactly this name."
        )
    } else {
        format!(
            "The bucket name `{shown}` has characters no S3 bucket name can have, even a legacy one; Rekognition will most likely not find the image (ERROR_INVALID_IMAGE). Check the source-ref (an unexpanded variable such as $BUCKET?)."
        )
    })
}

/// Checks one physical line (without its `\n`) the way Rekognition validates a training line.
/// Line 1 may start with the manifest's byte order mark, which is not part of the line (as
/// when the manifest is read by [`Framer`](crate::Framer)).
pub fn check_line(
    line_no: u64,
    raw: &[u8],
    options: &CheckOptions<'_>,
) -> (LineOutcome, LineFacts) {
    let raw = if line_no == 1 {
        crate::reading::framing::strip_bom(raw)
    } else {
        raw
    };
    check_line_with(
        line_no,
        raw,
        options,
        DEFAULT_MAX_ISSUES_PER_LINE,
        Some(&mut CheckClassMaps::default()),
    )
}

/// The class-maps of well-formed lines, parsed once per distinct text (see [`Recent`]).
pub(crate) type CheckClassMaps = Recent<ClassMapData<'static>>;

/// [`check_line`], with the fast path and the class-maps of the lines before it, or without the
/// fast path (`None`: the tests compare both).
pub(crate) fn check_line_with(
    line_no: u64,
    raw: &[u8],
    options: &CheckOptions<'_>,
    max_issues: usize,
    fast_path: Option<&mut CheckClassMaps>,
) -> (LineOutcome, LineFacts) {
    let read = read_line(line_no, raw, options, fast_path.is_some());
    check_read_line(line_no, read, options, max_issues, fast_path)
}

/// A line's first step: its text, and what the fast path's scanner read of it; or its outcome
/// when there is no text to check (too long, blank, not UTF-8, nested too deep).
pub(crate) enum ReadLine<'a> {
    /// The line's outcome, without facts.
    Done(LineOutcome),
    /// The line's text (without `\r`), and its scan when the fast path read it.
    Text {
        text: &'a str,
        scanned: Option<FastLine<'a>>,
    },
}

/// The first step of [`check_line_with`]: the scan (when `fast`), and the checks before it.
/// `check`'s blocks read a run of lines this way before the rules run on any of them, so that
/// the scanner's code and the rules' code each stay in the instruction cache across the run
/// (line by line, the two together missed it about 190 times a line).
pub(crate) fn read_line<'a>(
    line_no: u64,
    raw: &'a [u8],
    options: &CheckOptions<'_>,
    fast: bool,
) -> ReadLine<'a> {
    if raw.len() > options.max_line_bytes {
        return ReadLine::Done(oversized(line_no, raw.len() as u64, options.max_line_bytes));
    }
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    if raw.iter().all(|&b| b == b' ' || b == b'\t') {
        return ReadLine::Done(LineOutcome::Blank);
    }
    let text = match std::str::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => {
            let detail = format!("Not valid UTF-8 at byte {}.", e.valid_up_to() + 1);
            return ReadLine::Done(invalid_json(line_no, &detail));
        }
    };
    // The fast path's scanner reads most well-formed lines; it nests no deeper than the depth
    // limit, so a line it reads needs no depth check.
    let scanned = if fast { scan(text) } else { None };
    if scanned.is_none()
        && let Some(column) = too_deep(raw)
    {
        let detail = format!(
            "JSON nested deeper than {} levels at column {column}.",
            crate::MAX_DEPTH
        );
        return ReadLine::Done(invalid_json(line_no, &detail));
    }
    ReadLine::Text { text, scanned }
}

/// The second step of [`check_line_with`]: the rules, on a line [`read_line`] read.
pub(crate) fn check_read_line(
    line_no: u64,
    read: ReadLine<'_>,
    options: &CheckOptions<'_>,
    max_issues: usize,
    fast_path: Option<&mut CheckClassMaps>,
) -> (LineOutcome, LineFacts) {
    let none = LineFacts::default();
    let (text, scanned) = match read {
        ReadLine::Done(outcome) => return (outcome, none),
        ReadLine::Text { text, scanned } => (text, scanned),
    };
    // Fast path: a line whose every label attribute is well formed is read in one typed pass
    // (by the scanner, else by the `serde` visitors) and goes straight to the image and box
    // rules. Any other line takes the slow path, which reads it member by member to say what
    // is wrong.
    if let Some(class_maps) = fast_path
        && let Some(fast) = scanned.or_else(|| serde_json::from_str::<FastLine<'_>>(text).ok())
        && let Some((uri, bucket_len, parsed)) = well_formed(fast, class_maps)
    {
        let mut c = LineCheck::new(line_no, &uri, max_issues);
        note_bucket(&mut c, &uri[5..5 + bucket_len]);
        let mut facts = LineFacts {
            key: Some(source_ref_key(&uri)),
            bucket_len,
            ..LineFacts::default()
        };
        let mut labels = Labels::default();
        let mut boxes = 0u32;
        add_labels(&parsed, &mut labels, &mut boxes);
        late_rules(
            &mut c,
            &parsed,
            &uri,
            options,
            &mut facts,
            labels.names.len(),
        );
        return finish(c, line_no, text, facts, labels, boxes);
    }
    let members = match serde_json::from_str::<Members<'_>>(text) {
        Ok(m) => m.0,
        Err(e) => {
            let detail = if e.is_data() {
                "The line is JSON but not an object.".to_owned()
            } else {
                format!("{e}.")
            };
            return (invalid_json(line_no, &detail), none);
        }
    };
    let source_ref = members
        .iter()
        .find(|(k, _)| k == "source-ref")
        .map(|(_, v)| *v);
    let source_ref_text = source_ref.and_then(as_str);
    let mut c = LineCheck::new(
        line_no,
        source_ref_text.as_deref().unwrap_or(""),
        max_issues,
    );
    let mut facts = LineFacts::default();
    let mut labels = Labels::default();
    let mut boxes = 0u32;
    check_members(
        &mut c,
        &members,
        source_ref,
        options,
        &mut facts,
        &mut labels,
        &mut boxes,
    );
    finish(c, line_no, text, facts, labels, boxes)
}

/// The rules on the whole line text, then the row.
fn finish(
    mut c: LineCheck<'_>,
    line_no: u64,
    text: &str,
    mut facts: LineFacts,
    labels: Labels,
    boxes: u32,
) -> (LineOutcome, LineFacts) {
    if text.len() > MAX_LINE_CHARS {
        let chars = text.chars().count();
        if chars > MAX_LINE_CHARS {
            c.b.push(
                Severity::Error,
                REKCHECK_LINE_TOO_LONG.to_owned(),
                format!(
                    "The JSON line is {chars} characters long, over Rekognition's limit of {MAX_LINE_CHARS}."
                ),
                &Place::line(),
            );
        }
    }
    let status = c.b.status();
    let row = ImageRow {
        line: line_no,
        source_ref: c.b.source_ref.to_owned(),
        status,
        errors: c.b.errors,
        warnings: c.b.warnings,
        labels: labels.names,
        label_boxes: labels.boxes,
        boxes,
        // The attributes that passed the format rules set the use cases.
        used: is_used(status, c.b.issues(), || {
            facts.use_cases != UseCases::default()
        }),
    };
    if !row.used {
        facts.use_cases = UseCases::default();
    }
    (
        LineOutcome::Image {
            row,
            issues: c.b.into_issues(),
        },
        facts,
    )
}

/// A line longer than `--max-line-bytes`, not read (see [`crate::BlockKind::Oversized`]).
pub(crate) fn oversized(line_no: u64, bytes: u64, max_line_bytes: usize) -> LineOutcome {
    let detail =
        format!("The line is {bytes} bytes long, over --max-line-bytes ({max_line_bytes}).");
    invalid_json(line_no, &detail)
}

/// The line as Rekognition would replace it: only `ERROR_INVALID_JSON_LINE`.
fn invalid_json(line_no: u64, detail: &str) -> LineOutcome {
    const CODE: &str = "ERROR_INVALID_JSON_LINE";
    unreadable_line(line_no, CODE, documented(CODE, "", detail).1)
}

/// A line-level [`REKCHECK_BUCKET_NAME`] warning when the bucket breaks today's naming rules.
fn note_bucket(c: &mut LineCheck<'_>, bucket: &str) {
    if let Some(note) = bucket_name_note(bucket) {
        c.b.push(
            Severity::Warning,
            REKCHECK_BUCKET_NAME.to_owned(),
            note,
            &Place::line(),
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn check_members<'a>(
    c: &mut LineCheck<'_>,
    members: &'a [(Cow<'a, str>, &'a RawValue)],
    source_ref: Option<&RawValue>,
    options: &CheckOptions<'_>,
    facts: &mut LineFacts,
    labels: &mut Labels,
    boxes: &mut u32,
) {
    let line = Place::line();
    // 1. source-ref.
    let Some(source_ref) = source_ref else {
        c.doc(&line, "ERROR_MISSING_SOURCE_REF", "", "");
        return;
    };
    let Some(uri) = as_str(source_ref) else {
        c.doc(
            &line,
            "ERROR_INVALID_SOURCE_REF_FORMAT",
            "",
            "The source-ref is not a string.",
        );
        return;
    };
    // Duplicates are found whatever the form of the source-ref.
    facts.key = Some(source_ref_key(&uri));
    match parse_s3_uri(&uri) {
        Ok((bucket, _)) => {
            facts.bucket_len = bucket.len();
            note_bucket(c, bucket);
        }
        Err(why) => {
            c.doc(
                &line,
                "ERROR_INVALID_SOURCE_REF_FORMAT",
                "",
                &format!("{why}."),
            );
            return;
        }
    }

    // 2. Label attributes: `K` with a sibling `K-metadata`.
    let mut pairs: Vec<(&str, &RawValue, &RawValue)> = Vec::new();
    let mut others = 0usize;
    // Each attribute's metadata (the first member named `<key>-metadata`), indexed once so
    // that a line of many keys takes linear time.
    let mut metadata: FxHashMap<&str, &RawValue> = FxHashMap::default();
    for (k, v) in members {
        if let Some(base) = k.strip_suffix("-metadata") {
            metadata.entry(base).or_insert(*v);
        }
    }
    let metadata_of = |key: &str| metadata.get(key).copied();
    // Every member's key, indexed once for the same reason.
    let keys: rustc_hash::FxHashSet<&str> = members.iter().map(|(k, _)| &**k).collect();
    // Keys that are not label attributes: the service's own, and Rekognition's snapshot keys
    // without a partner.
    let skipped = |key: &str| {
        is_service_key(key)
            || key == "source-ref-metadata"
            || (key.starts_with(REKOGNITION_PREFIX)
                && match key.strip_suffix("-metadata") {
                    Some(base) => !keys.contains(base),
                    None => metadata_of(key).is_none(),
                })
    };
    for (key, value) in members {
        if skipped(key) {
            continue;
        }
        others += 1;
        if !key.ends_with("-metadata")
            && let Some(meta) = metadata_of(key)
        {
            pairs.push((key, value, meta));
        }
    }
    if others == 0 {
        c.doc(&line, "WARNING_UNANNOTATED_RECORD", "", "");
        return;
    }
    if pairs.is_empty() {
        // Say which keys lack their partner.
        let unpaired: Vec<String> = members
            .iter()
            .map(|(k, _)| k.as_ref())
            .filter(|k| !skipped(k))
            .map(|k| match k.strip_suffix("-metadata") {
                Some(base) => format!("`{k}` has no `{base}` attribute"),
                None => format!("`{k}` has no `{k}-metadata`"),
            })
            .collect();
        let detail = format!("{}.", unpaired.join("; "));
        c.doc(&line, "ERROR_NO_LABEL_ATTRIBUTES", "", &detail);
        return;
    }

    // 3. Format of each attribute and its metadata (these errors stop the later checks).
    let mut parsed: Vec<Attr<'_>> = Vec::new();
    let mut unsupported = 0usize;
    for (name, value, meta) in pairs {
        match check_format(c, name, value, meta) {
            Some(a) => parsed.push(a),
            None => unsupported += 1,
        }
    }
    add_labels(&parsed, labels, boxes);
    if parsed.is_empty() && unsupported > 0 && !c.stopped {
        c.doc(&line, "ERROR_NO_VALID_LABEL_ATTRIBUTES", "", "");
        return;
    }
    if c.stopped {
        return;
    }
    late_rules(c, &parsed, &uri, options, facts, labels.names.len());
}

/// The labels and boxes of the line's attributes, for its row.
fn add_labels(parsed: &[Attr<'_>], labels: &mut Labels, boxes: &mut u32) {
    for a in parsed {
        match &a.kind {
            Kind::Classification { label } => labels.add(label, 0),
            Kind::Detection {
                boxes: list,
                class_map,
                ..
            } => {
                for b in list {
                    *boxes = boxes.saturating_add(1);
                    if let Some(l) = class_map.label(b.class_id) {
                        labels.add(l, 1);
                    }
                }
            }
        }
    }
}

/// 4. The image, box and name rules, on well-formed attributes; `labels` is the number of the
///    line's distinct labels.
fn late_rules(
    c: &mut LineCheck<'_>,
    parsed: &[Attr<'_>],
    uri: &str,
    options: &CheckOptions<'_>,
    facts: &mut LineFacts,
    labels: usize,
) {
    let line = Place::line();
    let image = options.images.and_then(|m| m.get(uri));
    let mut declared: Option<(f64, f64)> = None;
    let mut any_boxes = false;
    let mut detection = false;
    for a in parsed {
        match &a.kind {
            Kind::Classification { label } => {
                facts.use_cases.classification = true;
                check_label_names(c, &a.name, [label.as_ref()]);
            }
            Kind::Detection {
                size,
                boxes: list,
                class_map,
            } => {
                facts.use_cases.detection = true;
                detection = true;
                declared.get_or_insert(*size);
                check_label_names(
                    c,
                    &a.name,
                    class_map.entries.iter().map(|(_, l)| l.as_ref()),
                );
                check_boxes(c, &a.name, *size, list, class_map);
                any_boxes |= !list.is_empty();
            }
        }
    }
    if let Some((w, h)) = declared {
        if let Some(why) = bad_sides(w, h) {
            c.doc(&line, "ERROR_INVALID_IMAGE_DIMENSION", "", &why);
        }
        // An aspect ratio over 20:1 is one of the causes of ERROR_INVALID_IMAGE
        // (tm-debugging-json-line-errors), not of ERROR_INVALID_IMAGE_DIMENSION, whose page names
        // only the 64-4096 px sides.
        if let Some(why) = bad_aspect(w, h) {
            c.doc(&line, "ERROR_INVALID_IMAGE", "", &why);
        }
    }
    if labels > MAX_LABELS_PER_IMAGE {
        c.b.push(
            Severity::Error,
            REKCHECK_TOO_MANY_LABELS_PER_IMAGE.to_owned(),
            format!(
                "The image has {labels} distinct labels; Rekognition allows at most {MAX_LABELS_PER_IMAGE} per image (limits)."
            ),
            &line,
        );
    }
    if detection && !any_boxes && !facts.use_cases.classification {
        c.doc(&line, "WARNING_NO_ANNOTATIONS", "", "");
    }
    if let Some(image) = image {
        check_image(c, image, declared);
    }
}

/// One `ERROR_INVALID_LABEL_NAME_LENGTH` on the metadata of `attribute` if any of its label
/// names is too long.
fn check_label_names<'n>(
    c: &mut LineCheck<'_>,
    attribute: &str,
    names: impl IntoIterator<Item = &'n str>,
) {
    if names
        .into_iter()
        // A name of at most MAX_LABEL_CHARS bytes has at most as many characters: only longer
        // ones are counted (every class-map label of every line was counted).
        .any(|n| n.len() > MAX_LABEL_CHARS && n.chars().count() > MAX_LABEL_CHARS)
    {
        let place = Place::at(Level::Metadata, attribute, None, "");
        let detail = format!("The label name is longer than {MAX_LABEL_CHARS} characters.");
        c.doc(&place, "ERROR_INVALID_LABEL_NAME_LENGTH", "", &detail);
    }
}

/// The real image against Rekognition's image rules and the declared `image_size`.
fn check_image(c: &mut LineCheck<'_>, image: &ImageCheck, declared: Option<(f64, f64)>) {
    let line = Place::line();
    match image {
        ImageCheck::Unreadable(why) => {
            c.doc(&line, "ERROR_INVALID_IMAGE", "", why);
        }
        ImageCheck::Read {
            format,
            bytes,
            dimensions,
        } => {
            let mut problems = Vec::new();
            if format != "png" && format != "jpeg" {
                problems.push(format!("the image is {format}, not PNG or JPEG"));
            }
            if *bytes > MAX_IMAGE_BYTES {
                problems.push(format!("the image is {bytes} bytes, over 15 MB"));
            }
            if let Some((w, h)) = dimensions {
                let (w, h) = (f64::from(*w), f64::from(*h));
                for why in [bad_sides(w, h), bad_aspect(w, h)].into_iter().flatten() {
                    problems.push(why.trim_end_matches('.').to_owned());
                }
            }
            if !problems.is_empty() {
                let detail = format!("{}.", capitalize(&problems.join("; ")));
                c.doc(&line, "ERROR_INVALID_IMAGE", "", &detail);
            }
            if let (Some((w, h)), Some((dw, dh))) = (dimensions, declared)
                && ((f64::from(*w) - dw).abs() >= 1.0 || (f64::from(*h) - dh).abs() >= 1.0)
            {
                c.b.push(
                    Severity::Warning,
                    REKCHECK_IMAGE_SIZE_MISMATCH.to_owned(),
                    format!("image_size says {dw}x{dh} but the image is {w}x{h}."),
                    &line,
                );
            }
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut it = s.chars();
    match it.next() {
        Some(f) => f.to_uppercase().chain(it).collect(),
        None => String::new(),
    }
}

/// Why `w` x `h` breaks the 64-4096 px rule, if it does.
fn bad_sides(w: f64, h: f64) -> Option<String> {
    let (min, max) = IMAGE_SIDE;
    (w < min || h < min || w > max || h > max)
        .then(|| format!("The image is {w}x{h} px; each side must be {min}-{max} px."))
}

/// Why `w` x `h` breaks the 20:1 aspect ratio rule, if it does.
fn bad_aspect(w: f64, h: f64) -> Option<String> {
    (w.max(h) / w.min(h) > MAX_ASPECT)
        .then(|| format!("The image is {w}x{h} px, an aspect ratio over {MAX_ASPECT}:1."))
}

fn check_boxes(
    c: &mut LineCheck<'_>,
    name: &str,
    (w, h): (f64, f64),
    list: &[BoxSpec],
    class_map: &ClassMapData<'_>,
) {
    if list.len() > MAX_BOXES {
        let place = Place::at(Level::Attribute, name, None, "");
        c.doc(
            &place,
            "ERROR_TOO_MANY_BOUNDING_BOXES",
            "",
            &format!(
                "The image has {} boxes; the maximum is {MAX_BOXES}.",
                list.len()
            ),
        );
    }
    let scale = (SCALED_SIDE / w.max(h)).min(1.0);
    let mut bad = 0usize;
    for (i, b) in list.iter().enumerate() {
        let label = class_map.label(b.class_id).unwrap_or("");
        let place = Place::at(Level::Annotation, name, Some(i), label);
        let [left, top, bw, bh] = b.rect;
        if left < 0.0 || top < 0.0 || bw < 0.0 || bh < 0.0 || left + bw > w || top + bh > h {
            c.doc(&place, "ERROR_INVALID_BOUNDING_BOX", "", &format!("The box (left {left}, top {top}, width {bw}, height {bh}) is not inside the {w}x{h} image."));
            bad += 1;
        } else if bw * scale <= 1.0 || bh * scale <= 1.0 {
            c.doc(&place, "ERROR_BOUNDING_BOX_TOO_SMALL", "", &format!("The box is {:.2}x{:.2} px once the image is scaled to {SCALED_SIDE} px on its longest side; it must be larger than 1x1.", bw * scale, bh * scale));
            bad += 1;
        }
    }
    if !list.is_empty() && bad == list.len() {
        let place = Place::at(Level::Attribute, name, None, "");
        c.doc(&place, "ERROR_NO_VALID_ANNOTATIONS", "", "");
    }
}

// ---------------------------------------------------------------------------------------------
// Attribute and metadata format.

/// A class-map's entries in document order; shared by the lines of a block that repeat it.
type ClassMap<'a> = Rc<ClassMapData<'a>>;

/// A class-map: (id, label) in document order, and the first entry of each class id, so that
/// finding a box's label takes constant time whatever the number of classes.
pub(crate) struct ClassMapData<'a> {
    entries: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// Keys that are a `class_id` as `str(class_id)` writes it (`"3"`, not `"03"` or `"+3"`).
    ids: FxHashMap<u64, u32>,
}

impl<'a> ClassMapData<'a> {
    fn new(entries: Vec<(Cow<'a, str>, Cow<'a, str>)>) -> ClassMapData<'a> {
        let mut ids = FxHashMap::default();
        let mut buf = itoa::Buffer::new();
        for (i, (key, _)) in entries.iter().enumerate() {
            if let (Ok(id), Ok(i)) = (key.parse::<u64>(), u32::try_from(i))
                && buf.format(id) == key.as_ref()
            {
                ids.entry(id).or_insert(i);
            }
        }
        ClassMapData { entries, ids }
    }

    /// The label of `class_id`, when the class-map has it.
    fn label(&self, class_id: u64) -> Option<&str> {
        let i = *self.ids.get(&class_id)?;
        self.entries.get(i as usize).map(|(_, l)| l.as_ref())
    }

    /// Whether the class-map has `class_id`.
    fn has(&self, class_id: u64) -> bool {
        self.ids.contains_key(&class_id)
    }
}

enum Kind<'a> {
    Classification {
        label: Cow<'a, str>,
    },
    Detection {
        size: (f64, f64),
        boxes: Vec<BoxSpec>,
        class_map: ClassMap<'a>,
    },
}

struct Attr<'a> {
    name: Cow<'a, str>,
    kind: Kind<'a>,
}

/// Checks the shape of one attribute and its metadata. `None` when its type is unsupported
/// (reported) or it is too broken to use (reported).
fn check_format<'a>(
    c: &mut LineCheck<'_>,
    name: &'a str,
    value: &RawValue,
    meta: &RawValue,
) -> Option<Attr<'a>> {
    let meta_place = Place::at(Level::Metadata, name, None, "");
    let attr_place = Place::at(Level::Attribute, name, None, "");
    let Some(meta_members) = members_of(meta) else {
        c.doc(
            &meta_place,
            "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT",
            "",
            "The metadata is not an object.",
        );
        c.stopped = true;
        return None;
    };
    let field = |k: &str| {
        meta_members
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| *v)
    };
    let ty = field("type").and_then(as_str);
    let Some(ty) = ty else {
        c.doc(
            &meta_place,
            "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT",
            "",
            "The metadata has no string `type`.",
        );
        c.stopped = true;
        return None;
    };
    // The multi-label type as AWS's conversion script writes it (one attribute per label, a
    // number value): read as image-level, with a warning (see TYPE_CLASSIFICATION_MULTILABEL).
    let multilabel = ty == TYPE_CLASSIFICATION_MULTILABEL && as_num(value).is_some();
    if ty != TYPE_CLASSIFICATION && ty != TYPE_DETECTION && !multilabel {
        let fill = format!("{name}-metadata");
        let detail = if ty == TYPE_CLASSIFICATION_MULTILABEL {
            format!(
                "The type is `{ty}` and the value is not a number: a SageMaker multi-label job's output; convert it to one attribute per label (md-gt-cl-transform)."
            )
        } else {
            format!("The type is `{ty}`.")
        };
        c.doc(
            &meta_place,
            "ERROR_UNSUPPORTED_USE_CASE_TYPE",
            &fill,
            &detail,
        );
        return None;
    }
    if multilabel {
        c.b.push(
            Severity::Warning,
            REKCHECK_MULTILABEL_TYPE.to_owned(),
            format!(
                "The type `{ty}` is what AWS's conversion script (md-gt-cl-transform) writes, but no page lists it as supported (tm-debugging-json-line-errors, ERROR_UNSUPPORTED_USE_CASE_TYPE, names only {TYPE_CLASSIFICATION} and {TYPE_DETECTION}); rekcheck reads it as an image-level label. If Rekognition rejects it, the attribute gets ERROR_UNSUPPORTED_USE_CASE_TYPE: set the type to {TYPE_CLASSIFICATION} to be safe."
            ),
            &meta_place,
        );
    }
    let mut meta_problems: Vec<String> = Vec::new();
    match field("human-annotated").and_then(as_str).as_deref() {
        Some("yes" | "no") => {}
        Some(other) => meta_problems.push(format!("`human-annotated` is `{other}`, not yes or no")),
        None => meta_problems.push("no string `human-annotated`".to_owned()),
    }
    if field("creation-date")
        .and_then(as_str)
        .is_none_or(|d| d.is_empty())
    {
        meta_problems.push("no `creation-date`".to_owned());
    }
    let attr_name = name;
    let kind = if ty == TYPE_CLASSIFICATION || multilabel {
        let label = field("class-name")
            .and_then(as_str)
            .filter(|l| !l.is_empty());
        if label.is_none() {
            meta_problems.push("no string `class-name`".to_owned());
        }
        match field("confidence").and_then(as_num) {
            Some(x) if (0.0..=1.0).contains(&x) => {}
            Some(x) => meta_problems.push(format!("`confidence` is {x}, not between 0 and 1")),
            None => meta_problems.push("no number `confidence`".to_owned()),
        }
        if as_num(value).is_none_or(|v| v.fract() != 0.0) {
            let fill = attr_name.to_owned();
            c.doc(
                &attr_place,
                "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT",
                &fill,
                "An image-level label attribute's value must be an integer.",
            );
            c.stopped = true;
        }
        Kind::Classification {
            label: Cow::Owned(label.map(Cow::into_owned).unwrap_or_default()),
        }
    } else {
        let parsed = match detection_attribute(value) {
            Ok(Some(x)) => Ok(x),
            Ok(None) => {
                // No annotations: a warning, the line is ignored rather than invalid.
                c.doc(&attr_place, "WARNING_NO_ATTRIBUTE_ANNOTATIONS", "", "");
                detection_size(value).map(|size| (size, Vec::new()))
            }
            Err(why) => Err(why),
        };
        let (size, boxes) = match parsed {
            Ok(x) => x,
            Err(why) => {
                c.doc(
                    &attr_place,
                    "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT",
                    attr_name,
                    &why,
                );
                c.stopped = true;
                return None;
            }
        };
        let class_map = ClassMapData::new(match field("class-map").map(members_of) {
            Some(Some(m)) => {
                let mut out = Vec::with_capacity(m.len());
                for (k, v) in &m {
                    match as_str(v) {
                        Some(label) => {
                            out.push((Cow::Owned(k.to_string()), Cow::Owned(label.into_owned())));
                        }
                        None => {
                            meta_problems.push(format!("class-map entry `{k}` is not a string"));
                        }
                    }
                }
                out
            }
            Some(None) => {
                meta_problems.push("`class-map` is not an object".to_owned());
                Vec::new()
            }
            None => {
                meta_problems.push("no `class-map`".to_owned());
                Vec::new()
            }
        });
        let objects =
            field("objects").map(|raw| match serde_json::from_str::<FastObjects>(raw.get()) {
                Ok(FastObjects(count)) => Some((count, 0)),
                Err(_) => elements_of(raw).map(|objects| {
                    let missing = objects
                        .iter()
                        .filter(|o| {
                            members_of(o).is_none_or(|m| {
                                !m.iter()
                                    .any(|(k, v)| k == "confidence" && as_num(v).is_some())
                            })
                        })
                        .count();
                    (objects.len(), missing)
                }),
            });
        match objects {
            Some(Some((count, missing))) => {
                if count != boxes.len() || missing > 0 {
                    let detail = if count == boxes.len() {
                        format!("{missing} of the objects have no number `confidence`.")
                    } else {
                        format!(
                            "`objects` has {count} entries for {} annotations.",
                            boxes.len()
                        )
                    };
                    c.doc(
                        &meta_place,
                        "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE",
                        "",
                        &detail,
                    );
                    c.stopped = true;
                }
            }
            Some(None) => meta_problems.push("`objects` is not an array".to_owned()),
            None => meta_problems.push("no `objects`".to_owned()),
        }
        if meta_problems.is_empty() {
            for (i, b) in boxes.iter().enumerate() {
                let known = class_map.has(b.class_id);
                if !known {
                    let place = Place::at(Level::Annotation, name, Some(i), "");
                    let shown = b.class_id;
                    c.doc(
                        &place,
                        "ERROR_MISSING_CLASS_MAP_ID",
                        "",
                        &format!("class_id {shown} is not in the class-map."),
                    );
                    c.stopped = true;
                }
            }
        }
        Kind::Detection {
            size,
            boxes,
            class_map: Rc::new(class_map),
        }
    };
    if !meta_problems.is_empty() {
        let detail = format!("{}.", capitalize(&meta_problems.join("; ")));
        c.doc(
            &meta_place,
            "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT",
            "",
            &detail,
        );
        c.stopped = true;
        return None;
    }
    Some(Attr {
        name: Cow::Borrowed(name),
        kind,
    })
}

/// The bounding-box attribute: its `image_size` and boxes; `Ok(None)` when `annotations` is
/// missing or empty.
#[allow(clippy::type_complexity)]
fn detection_attribute(value: &RawValue) -> Result<Option<((f64, f64), Vec<BoxSpec>)>, String> {
    // Fast path: a well-formed attribute in one typed pass; anything else takes the slow path,
    // which says what is wrong.
    if let Ok(FastDetection {
        image_size: OneSize(size),
        annotations: Some(boxes),
    }) = serde_json::from_str::<FastDetection>(value.get())
        && size.width > 0.0
        && size.height > 0.0
    {
        if boxes.is_empty() {
            return Ok(None);
        }
        return Ok(Some(((size.width, size.height), boxes)));
    }
    let size = detection_size(value)?;
    let m = members_of(value).ok_or("The attribute is not an object.")?;
    let Some((_, annotations)) = m.iter().find(|(k, _)| k == "annotations") else {
        return Ok(None);
    };
    let list = elements_of(annotations).ok_or("`annotations` is not an array.")?;
    if list.is_empty() {
        return Ok(None);
    }
    let mut boxes = Vec::with_capacity(list.len());
    for (i, a) in list.iter().enumerate() {
        let m = members_of(a).ok_or_else(|| format!("Annotation {i} is not an object."))?;
        let num = |k: &str| {
            m.iter()
                .find(|(key, _)| key == k)
                .and_then(|(_, v)| as_num(v))
        };
        let class = num("class_id")
            .filter(|x| x.fract() == 0.0 && *x >= 0.0)
            .ok_or_else(|| format!("Annotation {i} has no integer `class_id`."))?;
        let mut rect = [0.0; 4];
        for (slot, k) in rect.iter_mut().zip(["left", "top", "width", "height"]) {
            *slot = num(k).ok_or_else(|| format!("Annotation {i} has no number `{k}`."))?;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let class_id = class as u64;
        boxes.push(BoxSpec { class_id, rect });
    }
    Ok(Some((size, boxes)))
}

/// The source-ref, its bucket length and the attributes, when the source-ref is a valid
/// `s3://` URI and every attribute with metadata passes the format rules (so that the slow
/// path would find nothing before the image and box rules).
fn well_formed<'a>(
    fast: FastLine<'a>,
    class_maps: &mut CheckClassMaps,
) -> Option<(Cow<'a, str>, usize, Vec<Attr<'a>>)> {
    let FastLine {
        source_ref,
        attrs,
        mut metas,
    } = fast;
    let uri = source_ref?;
    // Every class-map must be an object of strings, used or not, as when they were parsed
    // with the line.
    let mut maps: Vec<Option<ClassMap<'a>>> = Vec::with_capacity(metas.len());
    for (_, meta) in &metas {
        maps.push(match meta.class_map {
            Some(raw) => Some(class_maps.get(raw, parse_class_map).ok()?),
            None => None,
        });
    }
    let bucket_len = parse_s3_uri(&uri).ok()?.0.len();
    let mut parsed = Vec::with_capacity(attrs.len());
    // The first metadata of each name: by a scan for a few, by an index for many.
    let index: Option<FxHashMap<String, usize>> = (metas.len() > 8).then(|| {
        let mut index = FxHashMap::default();
        for (i, (base, _)) in metas.iter().enumerate() {
            if !index.contains_key(base.as_ref()) {
                index.insert(base.to_string(), i);
            }
        }
        index
    });
    for (name, attr) in attrs {
        // An attribute without metadata is ignored when others pair up.
        let found = match &index {
            Some(index) => index.get(name.as_ref()).copied(),
            None => metas.iter().position(|(base, _)| *base == name),
        };
        let Some(i) = found.filter(|&i| i < metas.len()) else {
            continue;
        };
        let meta = &mut metas[i].1;
        if !matches!(meta.human_annotated.as_ref(), "yes" | "no") || meta.creation_date.is_empty() {
            return None;
        }
        let kind = match (meta.ty.as_ref(), attr) {
            (TYPE_CLASSIFICATION, FastAttr::Number(v)) if v.fract() == 0.0 => {
                let label = meta.class_name.take().filter(|l| !l.is_empty())?;
                if !meta.confidence.is_some_and(|x| (0.0..=1.0).contains(&x)) {
                    return None;
                }
                Kind::Classification { label }
            }
            (TYPE_DETECTION, FastAttr::Detection(d)) => {
                let FastDetection {
                    image_size: OneSize(size),
                    annotations: Some(boxes),
                } = d
                else {
                    return None;
                };
                let class_map = maps[i].take()?;
                if boxes.is_empty()
                    || !(size.width > 0.0 && size.height > 0.0)
                    || meta.objects.as_ref().map(|o| o.0) != Some(boxes.len())
                    || !boxes.iter().all(|b| class_map.has(b.class_id))
                {
                    return None;
                }
                Kind::Detection {
                    size: (size.width, size.height),
                    boxes,
                    class_map,
                }
            }
            _ => return None,
        };
        parsed.push(Attr { name, kind });
    }
    (!parsed.is_empty()).then_some((uri, bucket_len, parsed))
}

/// A class-map whose labels are all strings, in document order.
struct FastClassMap<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

/// A class-map of a well-formed line, owned so that the next lines can share it.
fn parse_class_map(raw: &str) -> Result<ClassMap<'static>, ()> {
    let FastClassMap(entries) = serde_json::from_str(raw).map_err(|_| ())?;
    Ok(Rc::new(ClassMapData::new(
        entries
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned())))
            .collect(),
    )))
}

impl<'de: 'a, 'a> de::Deserialize<'de> for FastClassMap<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FastClassMap<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((Str(k), Str(v))) = map.next_entry::<Str<'de>, Str<'de>>()? {
                    out.push((k, v));
                }
                Ok(FastClassMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn detection_size(value: &RawValue) -> Result<(f64, f64), String> {
    let m = members_of(value).ok_or("The bounding-box attribute is not an object.")?;
    let size = m
        .iter()
        .find(|(k, _)| k == "image_size")
        .ok_or("There is no `image_size`.")?
        .1;
    let list = elements_of(size).ok_or("`image_size` is not an array.")?;
    let [one] = list.as_slice() else {
        return Err(format!("`image_size` has {} entries, not 1.", list.len()));
    };
    let s = members_of(one).ok_or("`image_size[0]` is not an object.")?;
    let num = |k: &str| {
        s.iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| as_num(v))
    };
    let w = num("width")
        .filter(|w| *w > 0.0)
        .ok_or("`image_size` has no positive `width`.")?;
    let h = num("height")
        .filter(|h| *h > 0.0)
        .ok_or("`image_size` has no positive `height`.")?;
    num("depth").ok_or("`image_size` has no number `depth`.")?;
    Ok((w, h))
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A line's issues, and whether an error that stops Rekognition's later checks was found.
struct LineCheck<'s> {
    b: Builder<'s>,
    stopped: bool,
}

impl<'s> LineCheck<'s> {
    fn new(line_no: u64, source_ref: &'s str, max_issues: usize) -> LineCheck<'s> {
        LineCheck {
            b: Builder::new(line_no, source_ref).with_max_issues(max_issues),
            stopped: false,
        }
    }

    /// A documented code with its documented message (`fill` replaces `{}`), then `detail`.
    fn doc(&mut self, place: &Place<'_>, code: &'static str, fill: &str, detail: &str) {
        let (severity, message) = documented(code, fill, detail);
        self.b.push(severity, code.to_owned(), message, place);
    }
}

fn as_str(v: &RawValue) -> Option<Cow<'_, str>> {
    let s = v.get();
    if !s.starts_with('"') {
        return None;
    }
    serde_json::from_str::<Str<'_>>(s).ok().map(|s| s.0)
}

fn as_num(v: &RawValue) -> Option<f64> {
    let s = v.get();
    let first = s.as_bytes().first()?;
    if *first == b'-' || first.is_ascii_digit() {
        s.parse::<f64>().ok().filter(|x| x.is_finite())
    } else {
        None
    }
}

fn members_of(v: &RawValue) -> Option<Vec<(Cow<'_, str>, &RawValue)>> {
    if !v.get().starts_with('{') {
        return None;
    }
    serde_json::from_str::<Members<'_>>(v.get())
        .ok()
        .map(|m| m.0)
}

fn elements_of(v: &RawValue) -> Option<Vec<&RawValue>> {
    if !v.get().starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<&RawValue>>(v.get()).ok()
}

/// An object's members in document order, values kept raw.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> de::Deserialize<'de> for Members<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Str<'de>>()? {
                    let v: &'de RawValue = map.next_value()?;
                    out.push((k.0, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry of `check`'s image table stays 24 bytes (a `u128` key made it 32), and the
    /// packed key keeps both halves of the hash.
    #[test]
    fn image_table_entries_are_24_bytes_and_keys_stay_whole() {
        assert_eq!(std::mem::size_of::<(PackedKey, u64)>(), 24);
        let (a, b) = (
            source_ref_key("s3://b/a.jpg"),
            source_ref_key("s3://b/b.jpg"),
        );
        assert_ne!(PackedKey::of(a), PackedKey::of(b));
        // Same low half, other high half: a different key.
        assert_ne!(PackedKey::of(a), PackedKey::of(a ^ (1u128 << 100)));
        assert_eq!(PackedKey::of(a), PackedKey::of(a));
    }

    /// Class-maps shared between lines (the fast path parses each distinct one once per block)
    /// give what each line gives alone, and what the slow path gives, whatever came before.
    #[test]
    fn shared_class_maps_change_nothing() {
        let meta = |map: &str| {
            format!(
                r#"{{"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2026-01-01T00:00:00","objects":[{{"confidence":1}}],"class-map":{map}}}"#
            )
        };
        let bb = r#"{"image_size":[{"width":100,"height":100,"depth":3}],"annotations":[{"class_id":0,"top":1,"left":1,"width":10,"height":10}]}"#;
        let maps = [
            r#"{"0":"cat"}"#,
            r#"{"0":"dog"}"#,
            r#"{"0":"cat","1":"dog"}"#,
            r#"{"0":1}"#,
            "null",
            r#"{"1":"cat"}"#,
        ];
        let mut lines = Vec::new();
        for (i, map) in maps.iter().enumerate() {
            let other = maps[(i + 3) % maps.len()];
            let src = format!(r#""source-ref":"s3://bucket/{i}.jpg""#);
            // One attribute; two sharing a class-map; an unpaired metadata with another one.
            lines.push(format!(
                r#"{{{src},"bb":{bb},"bb-metadata":{}}}"#,
                meta(map)
            ));
            lines.push(format!(
                r#"{{{src},"a":{bb},"a-metadata":{},"b":{bb},"b-metadata":{}}}"#,
                meta(map),
                meta(map)
            ));
            lines.push(format!(
                r#"{{{src},"bb":{bb},"bb-metadata":{},"zz-metadata":{}}}"#,
                meta(map),
                meta(other)
            ));
        }
        let options = CheckOptions {
            max_line_bytes: 1 << 24,
            images: None,
        };
        let mut shared = CheckClassMaps::default();
        for round in 0..2 {
            for (n, line) in (1..).zip(&lines) {
                let line = line.as_bytes();
                let with_shared = check_line_with(
                    n,
                    line,
                    &options,
                    DEFAULT_MAX_ISSUES_PER_LINE,
                    Some(&mut shared),
                );
                assert_eq!(with_shared, check_line(n, line, &options), "{round}:{n}");
                assert_eq!(
                    with_shared,
                    check_line_with(n, line, &options, DEFAULT_MAX_ISSUES_PER_LINE, None),
                    "{round}:{n}"
                );
            }
        }
        // The well-formed lines did take the fast path.
        let text = std::str::from_utf8(lines[0].as_bytes()).unwrap();
        let fast = serde_json::from_str::<FastLine<'_>>(text).unwrap();
        assert!(well_formed(fast, &mut shared).is_some());
    }

    /// The fast path gives exactly what the slow path gives, on every line of the sample and
    /// real manifests.
    #[test]
    fn the_fast_path_changes_nothing() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        let real = std::env::var_os("REKCHECK_REAL_MANIFESTS").map(std::path::PathBuf::from);
        for dir in ["sample-manifests", "../shared/real-manifests"] {
            let dir = match (&real, dir) {
                (Some(r), "../shared/real-manifests") => r.clone(),
                _ => root.join(dir),
            };
            let mut stack = vec![dir];
            while let Some(d) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&d) else {
                    continue;
                };
                for e in entries.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x != "md") {
                        files.push(p);
                    }
                }
            }
        }
        assert!(files.len() >= 6);
        let mut generated = Vec::new();
        // And generated lines with issues at every level (5 %, or 30 % for more broken ones).
        for (seed, issue_per_mille) in [(3, 50), (4, 300)] {
            let path = std::env::temp_dir().join(format!(
                "rekcheck-fast-path-{}-{seed}.manifest",
                std::process::id()
            ));
            let mut out = std::fs::File::create(&path).unwrap();
            let opts = rekcheck_testkit::generate::GenOptions {
                seed,
                issue_per_mille,
                ..Default::default()
            };
            rekcheck_testkit::generate::generate_lines(&mut out, 3000, &opts).unwrap();
            generated.push(path.clone());
            files.push(path);
        }
        let options = CheckOptions {
            max_line_bytes: 1 << 24,
            images: None,
        };
        let (mut lines, mut fast_taken) = (0u64, 0u64);
        let mut class_maps = CheckClassMaps::default();
        for f in files {
            let text = std::fs::read(&f).unwrap();
            for (n, line) in (1..).zip(text.split(|&b| b == b'\n')) {
                let fast = check_line_with(
                    n,
                    line,
                    &options,
                    DEFAULT_MAX_ISSUES_PER_LINE,
                    Some(&mut class_maps),
                );
                let slow = check_line_with(n, line, &options, DEFAULT_MAX_ISSUES_PER_LINE, None);
                assert_eq!(fast, slow, "{}:{n}", f.display());
                lines += 1;
                if std::str::from_utf8(line)
                    .ok()
                    .and_then(|t| serde_json::from_str::<FastLine<'_>>(t).ok())
                    .is_some_and(|l| well_formed(l, &mut class_maps).is_some())
                {
                    fast_taken += 1;
                }
            }
        }
        for p in generated {
            let _ = std::fs::remove_file(p);
        }
        assert!(
            fast_taken > 0 && fast_taken < lines,
            "{fast_taken} of {lines}"
        );
    }
}
