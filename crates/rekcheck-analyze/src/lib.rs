//! Analyze Amazon Rekognition Custom Labels validation results.
//!
//! When a Custom Labels training fails, Rekognition writes a manifest summary and two *manifests
//! with validation*: JSON Lines copies of the training and testing manifests in which each bad
//! image, label attribute, metadata block or bounding box carries `errors` or `warnings`. This
//! crate turns those lines into typed [`Issue`]s and [`ImageRow`]s, counts them ([`Stats`]), and
//! writes the report as CSV ([`ReportWriter`]), in parallel with rayon and in bounded memory.
//!
//! * [`Framer`] / [`BlockReader`] cut any byte stream into ordered [`Block`]s of whole lines.
//! * [`analyze_line`] and [`analyze_block`] apply the reading rules to lines.
//! * [`analyze_reader`] streams a whole manifest through a thread pool, in line order.
//! * [`ReportWriter`] writes the five CSV files documented in [`report`](crate::ReportWriter).
//! * [`ManifestSummary`] reads the manifest summary; [`CODES`] explains every code.
//! * [`check_line`], [`CheckTally`] and [`ReportWriter::check_manifest`] predict Rekognition's
//!   validation of an input manifest (`rekcheck check`); [`fix_line`] and [`fix_manifest`] write
//!   a manifest ready to retrain (`rekcheck fix`).
//!
//! The crate is synchronous (no async runtime): the fetch stage hands it blocks.
//!
//! # Example
//!
//! ```
//! use rekcheck_analyze::{analyze_reader, AnalyzeOptions, ImageStatus};
//!
//! let manifest = br#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}
//! {"source-ref":"s3://b/2.jpg"}
//! "#;
//! let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build()?;
//! let mut rows = Vec::new();
//! analyze_reader(&pool, &manifest[..], &AnalyzeOptions::default(), |block| {
//!     rows.extend(block.rows);
//! })?;
//! assert_eq!(rows[0].status, ImageStatus::Error);
//! assert_eq!(rows[1].status, ImageStatus::Ok);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod check;
mod codes;
mod csvrow;
mod engine;
mod fix;
mod framing;
mod html;
mod line;
mod model;
pub mod output;
mod report;
mod summary;
mod validate;

pub use check::{
    CheckTally, CheckedLines, MAX_LABELS, MAX_MANIFEST_BYTES, MAX_MANIFEST_LINES,
    MAX_TALLY_BUCKETS, MAX_TALLY_LABELS, MIN_IMAGES_FOR_AUTOSPLIT, MIN_LABEL_OVERLAP,
    MIN_LABELS_CLASSIFICATION, MIN_LABELS_DETECTION, UseCase, check_block, verdict,
};
pub use codes::{
    CODES, CodeInfo, CodeKind, REKCHECK_BUCKET_NAME, REKCHECK_DUPLICATE_SOURCE_REF,
    REKCHECK_IMAGE_IN_TRAINING_AND_TESTING, REKCHECK_IMAGE_SIZE_MISMATCH,
    REKCHECK_LABEL_OVERLAP_READING, REKCHECK_LINE_TOO_LONG, REKCHECK_MALFORMED_ISSUE,
    REKCHECK_MAX_LINES, REKCHECK_MULTILABEL_TYPE, REKCHECK_OTHER_USE_CASE, REKCHECK_READ_FAILED,
    REKCHECK_TOO_MANY_ISSUES, REKCHECK_TOO_MANY_LABELS_PER_IMAGE, REKCHECK_TRAINING_FAILED,
    REKCHECK_UNPARSABLE_LINE, code_for_message, code_info,
};
pub use engine::ordered_par_map;
pub use fix::{FixOptions, FixOutcome, FixedLine, REMOVED_HEADER, Removal, fix_line, fix_manifest};
pub use framing::{
    Block, BlockKind, BlockReader, BufferPool, DEFAULT_BLOCK_BYTES, DEFAULT_MAX_LINE_BYTES, Framer,
    MAX_BLOCK_LINES, block_lines,
};
pub use html::{
    BoxGeometry, DEFAULT_HTML_MAX_IMAGES, HTML_FILE, HtmlCollector, HtmlPage, ImageGeometry,
    ImagePixels, MAX_COORD_PX, MAX_DRAWN_BOXES, MAX_ISSUES_PER_IMAGE, MAX_TEXT_BYTES, ShownImage,
    ShownIssue, image_geometry, render_html, write_html,
};
pub use line::{DEFAULT_MAX_ISSUES_PER_LINE, LineOutcome, MAX_DEPTH, analyze_line, oversized_line};
pub use model::{Dataset, ImageRow, ImageStatus, Issue, Level, Severity, is_used};
pub use report::{
    AnalyzeOptions, BlockAnalysis, BlockCallback, CODES_HEADER, CodeRow, DEFAULT_IN_FLIGHT_BYTES,
    DEFAULT_MAX_CELL_BYTES, DEFAULT_MAX_LINES, Error, IMAGES_HEADER, ISSUES_HEADER, LABELS_HEADER,
    LabelRow, MAX_CODE_ROWS, MAX_LABEL_ROWS, ManifestContext, ManifestReport, NOT_GIVEN_VERDICT,
    NOT_VALIDATED_VERDICT, OTHER_ROW, REPORT_FILES, RekognitionCounts, ReportOptions,
    ReportSummary, ReportWriter, SUMMARY_HEADER, Stats, VERSIONS_FILE, VERSIONS_HEADER, VersionRow,
    analyze_block, analyze_reader, safe_cell,
};
pub use summary::{DatasetStatistics, ManifestSummary, Statistics, SummaryError};
pub use validate::{
    CheckOptions, IMAGE_SIDE, ImageCheck, ImageChecks, LineFacts, MAX_ASPECT, MAX_BOXES,
    MAX_IMAGE_BYTES, MAX_LABEL_CHARS, MAX_LABELS_PER_IMAGE, MAX_LINE_CHARS, SCALED_SIDE,
    TYPE_CLASSIFICATION, TYPE_CLASSIFICATION_MULTILABEL, TYPE_DETECTION, UseCases,
    bucket_name_note, check_line, parse_s3_uri, source_ref_key,
};
