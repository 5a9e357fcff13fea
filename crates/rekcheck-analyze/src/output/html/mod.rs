//! The self-contained HTML report (`report.html`): what was read, each manifest's line
//! accounting as a stacked bar beside Rekognition's summary, the top codes as a bar chart with
//! meaning and fix, labels per dataset side by side, and the failing images with their boxes
//! drawn as SVG from `image_size` (no image bytes needed).
//!
//! * [`HtmlCollector`] picks the images to show from the blocks as they are analyzed (bounded).
//! * [`HtmlPage`] holds what the page says; [`render_html`] renders it, [`write_html`] writes
//!   it beside the CSV files (temporary file, then rename).
//!
//! The page is bounded whatever the manifest size: aggregates (at most 25 codes and 500 labels
//! per version listed) plus at most `max_images` images ([`DEFAULT_HTML_MAX_IMAGES`]) of at
//! most [`MAX_ISSUES_PER_IMAGE`] issues and [`MAX_DRAWN_BOXES`] boxes each, every text cut at
//! [`MAX_TEXT_BYTES`]: a few MB at most without embedded pixels.
//!
//! Every value from data is escaped by the template engine (maud). A strict
//! Content-Security-Policy allows only the page's own script and style (by hash), no remote
//! resource, and images only as `data:` URIs or from the origins of presigned URLs the page
//! was given. The page makes no request unless it was given presigned URLs, and it is fully
//! readable with JavaScript off (the script only adds a filter and sortable columns).

pub(crate) mod collect;
mod page;
mod svg;

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

pub use collect::{
    DEFAULT_HTML_MAX_IMAGES, HtmlCollector, ImagePixels, MAX_ISSUES_PER_IMAGE, MAX_TEXT_BYTES,
    ShownImage, ShownIssue,
};

use crate::error::Error;
use crate::output::HTML_FILE;
use crate::output::files::{PartialFile, commit};
use crate::output::report::ReportSummary;

/// The page's script (vanilla JS, no CDN): a filter and sortable columns on the images table.
const SCRIPT: &str = include_str!("assets/report.js");
/// The page's style sheet.
const STYLE: &str = include_str!("assets/report.css");

/// Most distinct image origins named in the Content-Security-Policy.
const MAX_ORIGINS: usize = 16;

/// What the HTML page shows: the finished report's aggregates, the collected images, and a few
/// words on the run.
///
/// # Example
///
/// ```
/// use rekcheck_analyze::{HtmlCollector, HtmlPage, ReportOptions, ReportWriter, render_html};
///
/// let report = ReportWriter::in_memory(ReportOptions::default())?;
/// let summary = report.finish()?;
/// let images = HtmlCollector::new(10);
/// let html = render_html(&HtmlPage::new(&summary, &images).with_command("report"));
/// assert!(html.starts_with("<!DOCTYPE html>"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct HtmlPage<'a> {
    summary: &'a ReportSummary,
    images: &'a HtmlCollector,
    command: String,
    verdict: String,
    sources: Vec<String>,
    generated: String,
    pixels_note: String,
    image_origins: Vec<String>,
}

impl<'a> HtmlPage<'a> {
    /// A page of `summary` showing the images of `images`.
    pub fn new(summary: &'a ReportSummary, images: &'a HtmlCollector) -> HtmlPage<'a> {
        let verdict = if summary.has_issues_at(crate::Severity::Error) {
            "Errors found"
        } else if summary.has_issues_at(crate::Severity::Warning) {
            "Warnings found"
        } else {
            "No issues found"
        };
        let mut origins: Vec<String> = Vec::new();
        for img in images.images() {
            if let Some(ImagePixels::Url(u)) = &img.pixels
                && let Some(o) = origin(u)
                && !origins.contains(&o)
                && origins.len() < MAX_ORIGINS
            {
                origins.push(o);
            }
        }
        HtmlPage {
            summary,
            images,
            command: "report".to_owned(),
            verdict: verdict.to_owned(),
            sources: Vec::new(),
            generated: String::new(),
            pixels_note: String::new(),
            image_origins: origins,
        }
    }

    /// The command that wrote the page (`report` or `check`), in its title.
    #[must_use]
    pub fn with_command(mut self, command: impl Into<String>) -> Self {
        self.command = command.into();
        self
    }

    /// rekcheck's verdict, shown at the top (by default, whether errors or warnings were found).
    #[must_use]
    pub fn with_verdict(mut self, verdict: impl Into<String>) -> Self {
        self.verdict = verdict.into();
        self
    }

    /// What was read (paths, `s3://` prefixes, ARNs), as given.
    #[must_use]
    pub fn with_sources(mut self, sources: Vec<String>) -> Self {
        self.sources = sources;
        self
    }

    /// When the report was written (any format, shown as given).
    #[must_use]
    pub fn with_generated(mut self, when: impl Into<String>) -> Self {
        self.generated = when.into();
        self
    }

    /// A note on the images' pixels, such as when presigned URLs expire.
    #[must_use]
    pub fn with_pixels_note(mut self, note: impl Into<String>) -> Self {
        self.pixels_note = note.into();
        self
    }
}

/// `scheme://host[:port]` of an `http(s)` URL, for the Content-Security-Policy; `None` for
/// anything else or a host with characters a policy could not hold.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    ok.then(|| format!("{scheme}://{host}"))
}

/// Standard base64 with padding (for `data:` URIs and CSP hashes).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `sha256-<base64>` of an inline script or style, for the Content-Security-Policy.
pub(crate) fn asset_hash(text: &str) -> String {
    format!("sha256-{}", base64(&Sha256::digest(text.as_bytes())))
}

/// Renders the page.
pub fn render_html(page: &HtmlPage<'_>) -> String {
    page::page(page).into_string()
}

/// Writes the page to `dir`/[`HTML_FILE`] under a temporary name, then renames it; returns the
/// final path.
///
/// # Errors
///
/// [`Error::Write`] when the file cannot be written, [`Error::Commit`] when it cannot be renamed.
pub fn write_html(dir: &Path, page: &HtmlPage<'_>) -> Result<PathBuf, Error> {
    use std::io::Write as _;
    let dest = dir.join(HTML_FILE);
    let mut file = PartialFile::create(&dest)?;
    file.write_all(render_html(page).as_bytes())
        .map_err(|source| Error::Write {
            path: dest.clone(),
            source,
        })?;
    let mut done = commit(vec![file])?;
    Ok(done.pop().unwrap_or(dest))
}

#[cfg(test)]
mod tests;
