//! Picks the failing images the HTML report shows, from the blocks as they are analyzed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashSet;

use crate::model::{ImageStatus, Level, Severity};
use crate::output::report::{ImageSink, ManifestContext, ReportWriter};
use crate::output::room::Room;
use crate::results::analysis::BlockAnalysis;
use crate::results::geometry::ImageGeometry;

/// Default of [`HtmlCollector::new`]'s `max_images` (`--html-max-images`).
pub const DEFAULT_HTML_MAX_IMAGES: usize = 200;
/// Most issues kept per image shown; the others are counted.
pub const MAX_ISSUES_PER_IMAGE: usize = 20;
/// Longest message, `source-ref` or label kept for the page, in bytes (longer ones are cut
/// and marked).
pub const MAX_TEXT_BYTES: usize = 1000;
/// Most manifests the page names (a run reads far fewer).
const MAX_MANIFESTS: usize = 10_000;

/// Pixels to draw under an image's boxes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImagePixels {
    /// A URL the browser fetches (an S3 presigned GET URL, `--html-images presign`).
    Url(String),
    /// The image's bytes, embedded as a `data:` URI (`--html-images embed`).
    Embedded {
        /// `image/jpeg` or `image/png`.
        mime: &'static str,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// No pixels, and why (too large to embed, not a JPEG or PNG, not readable): the page
    /// says so under the image.
    Missing(String),
}

impl ImagePixels {
    /// The bytes as an embedded image, when they are a JPEG or a PNG (the formats Rekognition
    /// accepts); `None` otherwise.
    pub fn embedded(bytes: Vec<u8>) -> Option<ImagePixels> {
        let mime = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            "image/jpeg"
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            "image/png"
        } else {
            return None;
        };
        Some(ImagePixels::Embedded { mime, bytes })
    }
}

/// One issue of a shown image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownIssue {
    /// Error or warning.
    pub severity: Severity,
    /// The code.
    pub code: String,
    /// Where it sits.
    pub level: Level,
    /// The label attribute, for attribute, metadata and annotation levels.
    pub attribute: String,
    /// The box's index, for annotation level.
    pub annotation: Option<u32>,
    /// The label concerned, when known.
    pub label: String,
    /// The message (cut at [`MAX_TEXT_BYTES`]).
    pub message: String,
}

/// One failing image the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownImage {
    /// Index into [`HtmlCollector::manifests`].
    pub manifest: usize,
    /// 1-based physical line.
    pub line: u64,
    /// The `source-ref` (cut at [`MAX_TEXT_BYTES`]).
    pub source_ref: String,
    /// The image's status.
    pub status: ImageStatus,
    /// Whether Rekognition trains on it.
    pub used: bool,
    /// Its issues, at most [`MAX_ISSUES_PER_IMAGE`].
    pub issues: Vec<ShownIssue>,
    /// Issues not kept.
    pub more_issues: usize,
    /// Its frame and boxes, when the line has boxes.
    pub geometry: Option<ImageGeometry>,
    /// Pixels to draw under the boxes, when asked for and fetched.
    pub pixels: Option<ImagePixels>,
}

/// Collects the images the HTML report shows: for each code, the first images that have it,
/// at most `max_images` in all. Feed it every block through
/// [`ReportWriter::on_block`](crate::ReportWriter::on_block) (with
/// [`ReportWriter::keep_image_geometry`](crate::ReportWriter::keep_image_geometry) for the
/// drawings).
///
/// An image is taken while fewer than `max_images` are held and one of its codes has fewer
/// than `max(1, max_images / 4)` examples, so that a frequent code does not crowd the others
/// out. Memory is bounded by `max_images` images of at most [`MAX_ISSUES_PER_IMAGE`] issues,
/// [`MAX_DRAWN_BOXES`](crate::MAX_DRAWN_BOXES) boxes and texts of [`MAX_TEXT_BYTES`].
#[derive(Debug, Clone, Default)]
pub struct HtmlCollector {
    max_images: usize,
    manifests: Vec<ManifestContext>,
    images: Vec<ShownImage>,
    per_code: BTreeMap<(Severity, String), usize>,
    /// Failing images seen (shown or not).
    failing: u64,
}

/// `s` cut to at most [`MAX_TEXT_BYTES`] bytes at a character boundary, marked when cut.
pub(crate) fn cut(s: &str) -> String {
    if s.len() <= MAX_TEXT_BYTES {
        return s.to_owned();
    }
    let mut end = MAX_TEXT_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[cut {} bytes]", &s[..end], s.len() - end)
}

impl HtmlCollector {
    /// A collector that keeps at most `max_images` images.
    pub fn new(max_images: usize) -> HtmlCollector {
        HtmlCollector {
            max_images,
            ..HtmlCollector::default()
        }
    }

    /// The manifests the images come from, in the order they were seen.
    pub fn manifests(&self) -> &[ManifestContext] {
        &self.manifests
    }

    /// The images kept, in (manifest, line) order.
    pub fn images(&self) -> &[ShownImage] {
        &self.images
    }

    /// The images kept, to attach their pixels.
    pub fn images_mut(&mut self) -> &mut [ShownImage] {
        &mut self.images
    }

    /// The most images kept.
    pub fn max_images(&self) -> usize {
        self.max_images
    }

    /// Images with an error or a warning seen, shown or not.
    pub fn failing_images(&self) -> u64 {
        self.failing
    }

    fn manifest_index(&mut self, context: &ManifestContext) -> Option<usize> {
        if let Some(i) = self.manifests.iter().rposition(|m| m == context) {
            return Some(i);
        }
        if self.manifests.len() >= MAX_MANIFESTS {
            return None;
        }
        self.manifests.push(context.clone());
        Some(self.manifests.len() - 1)
    }

    /// Most images one code gets, so that a frequent code leaves room for the others.
    fn per_code(&self) -> usize {
        (self.max_images / 4).max(1)
    }

    /// What the collector can still take, for a worker to skip reading again the failing lines
    /// it would not take (see [`Room`]).
    pub(crate) fn room(&self) -> Room {
        let per_code = self.per_code();
        let mut saturated: [FxHashSet<String>; 2] = Default::default();
        for ((severity, code), n) in &self.per_code {
            if *n >= per_code {
                saturated[usize::from(*severity == Severity::Warning)].insert(code.clone());
            }
        }
        Room {
            full: self.images.len() >= self.max_images,
            per_code,
            saturated,
        }
    }

    /// Takes the failing images of one block that the page has room for.
    pub fn add(&mut self, context: &ManifestContext, analysis: &BlockAnalysis) {
        self.failing += self.take(context, analysis);
    }

    /// [`HtmlCollector::add`] for a block whose analysis holds only some of its failing rows
    /// (those a worker found the collector could take, see [`Room`]); `failing` counts them all.
    pub(crate) fn add_selected(
        &mut self,
        context: &ManifestContext,
        analysis: &BlockAnalysis,
        failing: u64,
    ) {
        self.take(context, analysis);
        self.failing += failing;
    }

    /// Takes the images of `analysis` that the page has room for; returns the failing rows
    /// seen.
    fn take(&mut self, context: &ManifestContext, analysis: &BlockAnalysis) -> u64 {
        let per_code = self.per_code();
        let mut failing = 0;
        let mut issues = analysis.issues.iter().peekable();
        let mut geometry = analysis.geometry.iter().peekable();
        for row in &analysis.rows {
            let mut own = Vec::new();
            while let Some(i) = issues.peek() {
                match i.line {
                    Some(l) if l < row.line => {
                        issues.next();
                    }
                    Some(l) if l == row.line => {
                        own.push(*i);
                        issues.next();
                    }
                    None => {
                        issues.next();
                    }
                    Some(_) => break,
                }
            }
            if row.status == ImageStatus::Ok {
                continue;
            }
            failing += 1;
            if self.images.len() >= self.max_images {
                continue;
            }
            let wanted = own.iter().any(|i| {
                self.per_code
                    .get(&(i.severity, i.code.clone()))
                    .is_none_or(|n| *n < per_code)
            });
            if !wanted {
                continue;
            }
            let Some(manifest) = self.manifest_index(context) else {
                continue;
            };
            let mut codes: Vec<(Severity, &str)> =
                own.iter().map(|i| (i.severity, i.code.as_str())).collect();
            codes.sort_unstable();
            codes.dedup();
            for (severity, code) in codes {
                *self
                    .per_code
                    .entry((severity, code.to_owned()))
                    .or_default() += 1;
            }
            while geometry.peek().is_some_and(|g| g.line < row.line) {
                geometry.next();
            }
            let geometry = geometry
                .peek()
                .filter(|g| g.line == row.line)
                .map(|g| (*g).clone());
            self.images.push(ShownImage {
                manifest,
                line: row.line,
                source_ref: cut(&row.source_ref),
                status: row.status,
                used: row.used,
                more_issues: own.len().saturating_sub(MAX_ISSUES_PER_IMAGE),
                issues: own
                    .iter()
                    .take(MAX_ISSUES_PER_IMAGE)
                    .map(|i| ShownIssue {
                        severity: i.severity,
                        code: cut(&i.code),
                        level: i.level,
                        attribute: cut(&i.attribute),
                        annotation: i.annotation,
                        label: cut(&i.label),
                        message: cut(&i.message),
                    })
                    .collect(),
                geometry,
                pixels: None,
            });
        }
        failing
    }
}

impl ImageSink for Mutex<HtmlCollector> {
    fn room(&self) -> Room {
        self.lock().map_or_else(|_| Room::default(), |c| c.room())
    }

    fn add(&self, context: &ManifestContext, analysis: &BlockAnalysis, failing: Option<u64>) {
        if let Ok(mut c) = self.lock() {
            match failing {
                Some(failing) => c.add_selected(context, analysis, failing),
                None => c.add(context, analysis),
            }
        }
    }
}

impl ReportWriter {
    /// Hands `collector` the failing images of every block, with their frame and boxes, in
    /// (manifest, line) order, as they are analyzed. Unlike [`ReportWriter::on_block`] (which
    /// needs every line's typed row), this keeps the report's fast path: a worker reads a
    /// failing line a second time, into its typed row and issues, only while the collector
    /// might still take it (one of its codes has examples to find and the page is not full).
    pub fn collect_images(&mut self, collector: Arc<Mutex<HtmlCollector>>) {
        self.set_image_sink(collector);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Analyzer;

    fn collect(max: usize, manifest: &str) -> HtmlCollector {
        let mut c = HtmlCollector::new(max);
        let context = ManifestContext::default();
        Analyzer::new(1)
            .unwrap()
            .analyze_reader(manifest.as_bytes(), |b| c.add(&context, &b))
            .unwrap();
        c
    }

    fn line(n: usize, code: &str) -> String {
        format!(r#"{{"source-ref":"s3://b/{n}.jpg","errors":[{{"code":"{code}","message":"m"}}]}}"#)
    }

    #[test]
    fn at_most_max_images_and_a_share_per_code() {
        let mut m = String::new();
        for n in 0..100 {
            m += &line(n, "ERROR_A");
            m.push('\n');
        }
        m += &line(100, "ERROR_B");
        m.push('\n');
        m += "{\"source-ref\":\"s3://b/ok.jpg\"}\n";
        let c = collect(8, &m);
        // ERROR_A gets 8 / 4 = 2 images, ERROR_B its one: a frequent code leaves room.
        assert_eq!(c.images().len(), 3);
        assert_eq!(c.failing_images(), 101);
        assert_eq!(c.images()[2].source_ref, "s3://b/100.jpg");
        let c = collect(0, &m);
        assert!(c.images().is_empty());
    }

    #[test]
    fn long_texts_are_cut() {
        let long = "x".repeat(MAX_TEXT_BYTES * 3);
        let c = collect(4, &line(0, &long));
        let code = &c.images()[0].issues[0].code;
        assert!(code.len() < MAX_TEXT_BYTES + 40, "{}", code.len());
        assert!(code.ends_with("bytes]"));
    }
}
