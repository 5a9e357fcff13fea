//! Deterministic synthetic manifests with validation results.
//!
//! The same seed and options always give the same bytes. Lines are object-detection lines shaped
//! like Rekognition's own output (Python-style `", "` separators), and a configurable share of
//! them carries errors or warnings at every level: line, attribute, metadata and annotation, plus
//! blank lines and invalid-JSON replacement lines.

use std::io::{self, Write};

/// A small, fast, deterministic PRNG (xorshift64*), so the kit needs no `rand` dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value, zero included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// The kind of manifest to generate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// Object-detection lines of about 980 bytes, `issue_per_mille` of them with one issue.
    #[default]
    Clean,
    /// What a failed training's manifest looks like: short lines (about 615 bytes), image
    /// classification (some with several label attributes) mixed with object detection, and
    /// `issue_per_mille` of them (set it to about 250) with one to three issues at line,
    /// attribute, metadata and annotation level, in `errors`, `cl-errors` and `warnings`.
    Failed,
}

impl Profile {
    /// The profile named `name` (`clean` or `failed`).
    pub fn from_name(name: &str) -> Option<Profile> {
        match name {
            "clean" => Some(Profile::Clean),
            "failed" => Some(Profile::Failed),
            _ => None,
        }
    }

    /// The profile's name.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Clean => "clean",
            Profile::Failed => "failed",
        }
    }

    /// The options of this profile (the failed one: a quarter of the lines with issues).
    pub fn options(self, seed: u64) -> GenOptions {
        match self {
            Profile::Clean => GenOptions {
                seed,
                ..GenOptions::default()
            },
            Profile::Failed => GenOptions {
                seed,
                issue_per_mille: 250,
                max_boxes: 4,
                labels: 6,
                profile: Profile::Failed,
            },
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenOptions {
    /// The seed.
    pub seed: u64,
    /// Lines with an issue, per thousand (about 50 = 5 %).
    pub issue_per_mille: u64,
    /// At most this many boxes per line.
    pub max_boxes: u64,
    /// Number of distinct labels.
    pub labels: u64,
    /// The kind of lines.
    pub profile: Profile,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            seed: 1,
            issue_per_mille: 50,
            max_boxes: 8,
            labels: 12,
            profile: Profile::Clean,
        }
    }
}

/// What was generated, for checking a tool's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenStats {
    /// Physical lines written.
    pub lines: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Blank lines.
    pub blank: u64,
    /// Lines whose status is error.
    pub error_lines: u64,
    /// Lines whose status is warning.
    pub warning_lines: u64,
    /// Error issues, all levels.
    pub error_issues: u64,
    /// Warning issues, all levels.
    pub warning_issues: u64,
    /// Bounding boxes.
    pub boxes: u64,
}

const ERR_BOX_SMALL: &str = r#"{"code": "ERROR_BOUNDING_BOX_TOO_SMALL", "message": "The height and width of the bounding box is too small."}"#;
const ERR_BOX_OFF: &str = r#"{"code": "ERROR_INVALID_BOUNDING_BOX", "message": "The bounding box has off frame values."}"#;
const ERR_IMAGE: &str = r#"{"code": "ERROR_INVALID_IMAGE", "message": "The image is invalid. Check S3 path and/or image properties."}"#;
const ERR_ATTR: &str = r#"{"code": "ERROR_TOO_MANY_BOUNDING_BOXES", "message": "There are more bounding boxes than the allowed maximum."}"#;
const ERR_META: &str = r#"{"code": "ERROR_MISSING_CLASS_MAP_ID", "message": "One of more class ids is missing from the class map."}"#;
const ERR_JSON: &str = r#"{"errors": [{"code": "ERROR_INVALID_JSON_LINE", "message": "The JSON Line has an invalid format."}]}"#;
const WARN_LINE: &str =
    r#"{"code": "WARNING_NO_ANNOTATIONS", "message": "No annotations were found."}"#;
const WARN_ATTR: &str = r#"{"code": "WARNING_NO_ATTRIBUTE_ANNOTATIONS", "message": "No attribute annotations were found."}"#;

/// Writes one line (without its newline) into `out` and updates `stats`.
pub fn write_line(
    rng: &mut Rng,
    opts: &GenOptions,
    n: u64,
    out: &mut Vec<u8>,
    stats: &mut GenStats,
) {
    use std::fmt::Write as _;
    if opts.profile == Profile::Failed {
        write_failed_line(rng, opts, n, out, stats);
        return;
    }
    let mut s = String::with_capacity(900);
    let kind = if rng.chance(opts.issue_per_mille) {
        1 + rng.below(7)
    } else {
        0
    };
    stats.lines += 1;
    match kind {
        6 => {
            stats.blank += 1;
            return;
        }
        7 => {
            out.extend_from_slice(ERR_JSON.as_bytes());
            stats.error_lines += 1;
            stats.error_issues += 1;
            return;
        }
        _ => {}
    }
    let warn_only = kind == 5;
    let boxes = if warn_only {
        0
    } else {
        1 + rng.below(opts.max_boxes)
    };
    let (w, h) = (640 + rng.below(3000), 480 + rng.below(3000));
    let _ = write!(
        s,
        r#"{{"source-ref": "s3://synthetic-images-111122223333/dataset/img-{n:09}.jpg", "bounding-box": {{"image_size": [{{"width": {w}, "height": {h}, "depth": 3}}], "annotations": ["#
    );
    let bad_box = if kind == 1 {
        rng.below(boxes.max(1))
    } else {
        u64::MAX
    };
    for i in 0..boxes {
        if i > 0 {
            s.push_str(", ");
        }
        let cid = rng.below(opts.labels);
        let _ = write!(
            s,
            r#"{{"class_id": {cid}, "top": {}, "left": {}, "width": {}, "height": {}"#,
            rng.below(h / 2),
            rng.below(w / 2),
            10 + rng.below(w / 2),
            10 + rng.below(h / 2)
        );
        if i == bad_box {
            let e = if rng.chance(500) {
                ERR_BOX_SMALL
            } else {
                ERR_BOX_OFF
            };
            let _ = write!(s, r#", "errors": [{e}]"#);
        }
        s.push('}');
    }
    s.push(']');
    stats.boxes += boxes;
    if kind == 2 {
        let _ = write!(s, r#", "errors": [{ERR_ATTR}]"#);
    }
    if warn_only {
        let _ = write!(s, r#", "warnings": [{WARN_ATTR}]"#);
    }
    s.push_str(r#"}, "bounding-box-metadata": {"objects": ["#);
    for i in 0..boxes {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(r#"{"confidence": 1}"#);
    }
    s.push_str(r#"], "class-map": {"#);
    for l in 0..opts.labels {
        if l > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, r#""{l}": "label-{l:02}""#);
    }
    s.push_str(
        r#"}, "type": "groundtruth/object-detection", "human-annotated": "yes", "creation-date": "2026-11-18T09:12:44.123456", "job-name": "labeling-job/synthetic""#,
    );
    if kind == 3 {
        let _ = write!(s, r#", "errors": [{ERR_META}]"#);
    }
    s.push('}');
    if kind == 4 {
        let _ = write!(s, r#", "errors": [{ERR_IMAGE}]"#);
    }
    if warn_only {
        let _ = write!(s, r#", "warnings": [{WARN_LINE}]"#);
    }
    s.push('}');
    match kind {
        1..=4 => {
            stats.error_lines += 1;
            stats.error_issues += 1;
        }
        5 => {
            stats.warning_lines += 1;
            stats.warning_issues += 2;
        }
        _ => {}
    }
    out.extend_from_slice(s.as_bytes());
}

const ERR_LABEL: &str = r#"{"code": "ERROR_INVALID_LABEL_NAME_LENGTH", "message": "The label name length is invalid."}"#;
const ERR_CLASS: &str =
    r#"{"code": "ERROR_INVALID_CLASS_ID", "message": "The class id is not in the class map."}"#;
const ERR_USE_CASE: &str = r#"{"code": "ERROR_UNSUPPORTED_USE_CASE_TYPE", "message": "The use case type is not supported."}"#;
const WARN_BOX: &str = r#"{"code": "WARNING_BOUNDING_BOX_OFF_FRAME", "message": "The bounding box is partly off frame, it was clipped."}"#;

/// Where an issue of a failed line goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Spot {
    Line,
    /// The label attribute (detection lines only).
    Attribute,
    /// The metadata of the first label attribute.
    Metadata,
    /// One bounding box (detection lines only).
    Annotation,
}

/// The issues of one spot: the JSON of the `errors`, `cl-errors` and `warnings` containers.
#[derive(Default)]
struct Containers {
    errors: Vec<&'static str>,
    cl_errors: Vec<&'static str>,
    warnings: Vec<&'static str>,
}

impl Containers {
    fn write(&self, s: &mut String) {
        for (key, items) in [
            ("errors", &self.errors),
            ("cl-errors", &self.cl_errors),
            ("warnings", &self.warnings),
        ] {
            if !items.is_empty() {
                s.push_str(", \"");
                s.push_str(key);
                s.push_str("\": [");
                s.push_str(&items.join(", "));
                s.push(']');
            }
        }
    }
}

/// One line of the failed profile (see [`Profile::Failed`]).
fn write_failed_line(
    rng: &mut Rng,
    opts: &GenOptions,
    n: u64,
    out: &mut Vec<u8>,
    stats: &mut GenStats,
) {
    use std::fmt::Write as _;
    stats.lines += 1;
    match rng.below(1000) {
        0..=4 => {
            stats.blank += 1;
            return;
        }
        5..=14 => {
            out.extend_from_slice(ERR_JSON.as_bytes());
            stats.error_lines += 1;
            stats.error_issues += 1;
            return;
        }
        _ => {}
    }
    let detection = rng.chance(550);
    let boxes = if detection {
        1 + rng.below(opts.max_boxes)
    } else {
        0
    };
    // The issues: (spot, container 0 errors / 1 cl-errors / 2 warnings, item).
    let mut spots: [Containers; 4] = Default::default();
    let bad_box = rng.below(boxes.max(1));
    let (mut errors, mut warnings) = (0u64, 0u64);
    if rng.chance(opts.issue_per_mille) {
        for _ in 0..=rng.below(3) {
            let spot = match rng.below(if detection { 4 } else { 2 }) {
                0 => Spot::Line,
                1 => Spot::Metadata,
                2 => Spot::Attribute,
                _ => Spot::Annotation,
            };
            let warning = rng.chance(200);
            let item = match (spot, warning) {
                (Spot::Line, false) => ERR_IMAGE,
                (Spot::Line, true) => WARN_LINE,
                (Spot::Metadata, false) if detection => ERR_META,
                (Spot::Metadata, false) => ERR_LABEL,
                (Spot::Metadata, true) => ERR_USE_CASE,
                (Spot::Attribute, false) => ERR_ATTR,
                (Spot::Attribute, true) => WARN_ATTR,
                (Spot::Annotation, false) if rng.chance(500) => ERR_BOX_SMALL,
                (Spot::Annotation, false) => ERR_CLASS,
                (Spot::Annotation, true) => WARN_BOX,
            };
            // Metadata warnings are written as errors (Rekognition writes none there).
            let warning = warning && spot != Spot::Metadata;
            let c = &mut spots[spot as usize];
            if warning {
                c.warnings.push(item);
                warnings += 1;
            } else if rng.chance(500) {
                c.cl_errors.push(item);
                errors += 1;
            } else {
                c.errors.push(item);
                errors += 1;
            }
        }
    }
    let mut s = String::with_capacity(700);
    let _ = write!(
        s,
        r#"{{"source-ref": "s3://failed-training-111122223333/images/img-{n:09}.jpg""#
    );
    let date = r#""human-annotated": "yes", "creation-date": "2026-11-18T09:12:44.123456""#;
    if detection {
        let (w, h) = (640 + rng.below(3000), 480 + rng.below(3000));
        let _ = write!(
            s,
            r#", "bounding-box": {{"image_size": [{{"width": {w}, "height": {h}, "depth": 3}}], "annotations": ["#
        );
        for i in 0..boxes {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(
                s,
                r#"{{"class_id": {}, "top": {}, "left": {}, "width": {}, "height": {}"#,
                rng.below(opts.labels),
                rng.below(h / 2),
                rng.below(w / 2),
                10 + rng.below(w / 2),
                10 + rng.below(h / 2)
            );
            if i == bad_box {
                spots[Spot::Annotation as usize].write(&mut s);
            }
            s.push('}');
        }
        s.push(']');
        spots[Spot::Attribute as usize].write(&mut s);
        s.push_str(r#"}, "bounding-box-metadata": {"objects": ["#);
        for i in 0..boxes {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(r#"{"confidence": 1}"#);
        }
        s.push_str(r#"], "class-map": {"#);
        for l in 0..opts.labels {
            if l > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, r#""{l}": "label-{l:02}""#);
        }
        let _ = write!(
            s,
            r#"}}, "type": "groundtruth/object-detection", {date}, "job-name": "labeling-job/failed""#
        );
        spots[Spot::Metadata as usize].write(&mut s);
        s.push('}');
        stats.boxes += boxes;
    } else {
        // One to three label attributes, the issues on the first one's metadata.
        for a in 0..1 + u64::from(rng.chance(300)) + u64::from(rng.chance(100)) {
            let name = ["sport", "ball", "indoor"][usize::try_from(a).unwrap_or(0)];
            let _ = write!(
                s,
                r#", "{name}": {}, "{name}-metadata": {{"confidence": 1, "class-name": "label-{:02}", "type": "groundtruth/image-classification", {date}, "job-name": "labeling-job/failed""#,
                rng.below(2),
                rng.below(opts.labels),
            );
            if a == 0 {
                spots[Spot::Metadata as usize].write(&mut s);
            }
            s.push('}');
        }
    }
    spots[Spot::Line as usize].write(&mut s);
    s.push('}');
    if errors > 0 {
        stats.error_lines += 1;
    } else if warnings > 0 {
        stats.warning_lines += 1;
    }
    stats.error_issues += errors;
    stats.warning_issues += warnings;
    out.extend_from_slice(s.as_bytes());
}

/// Writes lines into `out` until at least `target_bytes` are written; returns what was written.
pub fn generate<W: Write>(
    out: &mut W,
    target_bytes: u64,
    opts: &GenOptions,
) -> io::Result<GenStats> {
    let mut rng = Rng::new(opts.seed);
    let mut stats = GenStats::default();
    let mut buf = Vec::with_capacity(1 << 20);
    let mut n = 0;
    while stats.bytes < target_bytes {
        n += 1;
        let before = buf.len();
        write_line(&mut rng, opts, n, &mut buf, &mut stats);
        buf.push(b'\n');
        stats.bytes += (buf.len() - before) as u64;
        if buf.len() >= 1 << 20 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    Ok(stats)
}

/// Generates exactly `lines` lines.
pub fn generate_lines<W: Write>(
    out: &mut W,
    lines: u64,
    opts: &GenOptions,
) -> io::Result<GenStats> {
    let mut rng = Rng::new(opts.seed);
    let mut stats = GenStats::default();
    let mut buf = Vec::new();
    for n in 1..=lines {
        let before = buf.len();
        write_line(&mut rng, opts, n, &mut buf, &mut stats);
        buf.push(b'\n');
        stats.bytes += (buf.len() - before) as u64;
    }
    out.write_all(&buf)?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut c = Vec::new();
        let o = GenOptions::default();
        generate(&mut a, 100_000, &o).unwrap();
        generate(&mut b, 100_000, &o).unwrap();
        generate(&mut c, 100_000, &GenOptions { seed: 2, ..o }).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.len() >= 100_000);
    }

    #[test]
    fn every_non_blank_line_is_json_and_the_issue_share_is_near_the_option() {
        let mut out = Vec::new();
        let stats = generate_lines(&mut out, 4000, &GenOptions::default()).unwrap();
        let mut lines = 0;
        for l in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            serde_json_check(l);
            lines += 1;
        }
        assert_eq!(lines + stats.blank, 4000);
        let with_issues = stats.error_lines + stats.warning_lines + stats.blank;
        assert!((120..=280).contains(&with_issues), "{with_issues}");
    }

    #[test]
    fn the_failed_profile_has_short_lines_and_a_quarter_with_issues() {
        let mut out = Vec::new();
        let stats = generate_lines(&mut out, 4000, &Profile::Failed.options(3)).unwrap();
        let mut lines = 0;
        for l in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            serde_json_check(l);
            lines += 1;
        }
        assert_eq!(lines + stats.blank, 4000);
        let with_issues = stats.error_lines + stats.warning_lines;
        assert!((900..=1300).contains(&with_issues), "{with_issues}");
        assert!(stats.error_issues > with_issues, "{stats:?}");
        let per_line = stats.bytes / stats.lines;
        assert!((450..=800).contains(&per_line), "{per_line}");
        let text = String::from_utf8(out).unwrap();
        for needle in [
            "\"cl-errors\"",
            "\"sport-metadata\"",
            "\"ball-metadata\"",
            "groundtruth/object-detection",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
    }

    fn serde_json_check(l: &[u8]) {
        let v: serde_json::Value = serde_json::from_slice(l).unwrap();
        assert!(v.is_object());
    }
}
