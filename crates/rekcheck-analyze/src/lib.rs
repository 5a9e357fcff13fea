//! Analyze Amazon Rekognition Custom Labels validation results.
//!
//! When a Custom Labels training fails, Rekognition writes a manifest summary and two *manifests
//! with validation*: JSON Lines copies of the training and testing manifests in which each bad
//! image, label attribute, metadata block or bounding box carries `errors` or `warnings`. This
//! crate turns those lines into typed [`Issue`]s and [`ImageRow`]s, counts them ([`Stats`]), and
//! writes the report as CSV ([`ReportWriter`]), in parallel with rayon and in bounded memory.
//!
//! The crate has four parts, one per job, and the arrows between them go one way
//! (reading <- results <- output <- rules):
//!
//! * **reading**: [`Framer`] / [`BlockReader`] cut any byte stream into ordered [`Block`]s of
//!   whole lines (a leading byte order mark is not part of line 1); the engine analyzes blocks
//!   on the threads of an [`Analyzer`] and hands them back in line order.
//! * **results** (what Rekognition wrote): [`analyze_line`], [`analyze_block`] and
//!   [`analyze_slice`] read validation lines into [`ImageRow`]s and [`Issue`]s;
//!   [`Analyzer::analyze_reader`] streams a whole manifest through the threads, in line order,
//!   and [`Analyzer::images`] pulls it one [`Image`] (row and issues) at a time;
//!   [`ManifestSummary`] reads the manifest summary.
//! * **output**: [`ReportWriter`] writes the five CSV files documented in
//!   [`ReportWriter`]'s module docs; [`CODES`] explains every code.
//! * **rules** (what Rekognition would write): [`check_line`], [`CheckTally`] and
//!   [`check_manifest`] predict Rekognition's validation of an input manifest
//!   (`rekcheck check`); [`fix_line`] and [`fix_manifest`] write a manifest ready to retrain
//!   (`rekcheck fix`).
//!
//! The crate is synchronous (no async runtime, no AWS): the fetch stage hands it blocks.
//! Threads are named in no signature: an [`Analyzer`] or a [`ReportWriter`] starts its own.
//!
//! # Features
//!
//! * `html` (default): the HTML report (`HtmlCollector`, `HtmlPage`, `render_html`,
//!   `write_html`), with maud and sha2. Without it the crate writes the CSV report only.
//! * `serde`: `serde::Serialize` on the rows, issues, counts and summaries.
//!
//! # Example
//!
//! ```
//! use rekcheck_analyze::{Analyzer, ImageStatus};
//!
//! let manifest = br#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}
//! {"source-ref":"s3://b/2.jpg"}
//! "#;
//! let analyzer = Analyzer::new(2)?;
//! let mut rows = Vec::new();
//! analyzer.analyze_reader(&manifest[..], |block| rows.extend(block.rows))?;
//! assert_eq!(rows[0].status, ImageStatus::Error);
//! assert_eq!(rows[1].status, ImageStatus::Ok);
//!
//! // The same, one image at a time with its issues.
//! for image in analyzer.images(&manifest[..]) {
//!     let image = image?;
//!     println!("{} {:?}: {} issue(s)", image.row.line, image.row.status, image.issues.len());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod codes;
mod error;
mod model;
pub mod output;
mod reading;
mod results;
mod rules;

pub use codes::{
    CODES, CodeInfo, CodeKind, REKCHECK_BUCKET_NAME, REKCHECK_DUPLICATE_SOURCE_REF,
    REKCHECK_IMAGE_IN_TRAINING_AND_TESTING, REKCHECK_IMAGE_SIZE_MISMATCH,
    REKCHECK_LABEL_MINIMUM_READING, REKCHECK_LABEL_OVERLAP_READING, REKCHECK_LINE_TOO_LONG,
    REKCHECK_MALFORMED_ISSUE, REKCHECK_MAX_LINES, REKCHECK_MULTILABEL_TYPE,
    REKCHECK_OTHER_USE_CASE, REKCHECK_READ_FAILED, REKCHECK_TOO_MANY_ISSUES,
    REKCHECK_TOO_MANY_LABELS_PER_IMAGE, REKCHECK_TRAINING_FAILED, REKCHECK_UNPARSABLE_LINE,
    code_for_message, code_info,
};
pub use error::Error;
pub use model::{Dataset, ImageRow, ImageStatus, Issue, Level, Severity, is_used};
pub use output::HTML_FILE;
#[cfg(feature = "html")]
pub use output::html::{
    DEFAULT_HTML_MAX_IMAGES, HtmlCollector, HtmlPage, ImagePixels, MAX_ISSUES_PER_IMAGE,
    MAX_TEXT_BYTES, ShownImage, ShownIssue, render_html, write_html,
};
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use output::report::fast_path_agrees;
pub use output::report::{
    BlockCallback, CODES_HEADER, CodeRow, DEFAULT_MAX_CELL_BYTES, IMAGES_HEADER, ISSUES_HEADER,
    LABELS_HEADER, LabelRow, MAX_CODE_ROWS, MAX_LABEL_ROWS, ManifestContext, ManifestReport,
    NOT_GIVEN_VERDICT, NOT_VALIDATED_VERDICT, OTHER_ROW, REPORT_FILES, RekognitionCounts,
    ReportOptions, ReportSummary, ReportWriter, SUMMARY_HEADER, VERSIONS_FILE, VERSIONS_HEADER,
    VersionRow, safe_cell,
};
pub use reading::framing::{
    Block, BlockKind, BlockReader, DEFAULT_BLOCK_BYTES, DEFAULT_MAX_LINE_BYTES, Framer,
    MAX_BLOCK_LINES, block_lines,
};
pub use results::analysis::{
    AnalyzeOptions, Analyzer, BlockAnalysis, DEFAULT_IN_FLIGHT_BYTES, DEFAULT_MAX_LINES, Image,
    Images, Stats, analyze_block, analyze_slice,
};
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use results::geometry::geometry_agrees;
pub use results::geometry::{
    BoxGeometry, ImageGeometry, MAX_COORD_PX, MAX_DRAWN_BOXES, image_geometry,
};
pub use results::line::{
    DEFAULT_MAX_ISSUES_PER_LINE, LineOutcome, MAX_DEPTH, analyze_line, oversized_line,
};
pub use results::summary::{DatasetStatistics, ManifestSummary, Statistics, SummaryError};
pub use rules::check::{
    CheckTally, CheckedLines, MAX_LABELS, MAX_MANIFEST_BYTES, MAX_MANIFEST_LINES,
    MAX_TALLY_BUCKETS, MAX_TALLY_LABELS, MIN_IMAGES_FOR_AUTOSPLIT, MIN_LABEL_OVERLAP,
    MIN_LABELS_CLASSIFICATION, MIN_LABELS_DETECTION, UseCase, check_block, check_manifest,
    check_manifest_blocks, verdict,
};
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use rules::fastline::scan_agrees;
pub use rules::fix::{
    FixOptions, FixOutcome, FixedLine, REMOVED_HEADER, Removal, fix_line, fix_manifest,
};
pub use rules::validate::{
    CheckOptions, IMAGE_SIDE, ImageCheck, ImageChecks, LineFacts, MAX_ASPECT, MAX_BOXES,
    MAX_IMAGE_BYTES, MAX_LABEL_CHARS, MAX_LABELS_PER_IMAGE, MAX_LINE_CHARS, SCALED_SIDE,
    TYPE_CLASSIFICATION, TYPE_CLASSIFICATION_MULTILABEL, TYPE_DETECTION, UseCases,
    bucket_name_note, check_line, parse_s3_uri, source_ref_key,
};
