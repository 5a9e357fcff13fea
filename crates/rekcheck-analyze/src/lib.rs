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

mod codes;
mod engine;
mod framing;
mod line;
mod model;
mod report;
mod summary;

pub use codes::{
    CODES, CodeInfo, CodeKind, REKCHECK_MALFORMED_ISSUE, REKCHECK_READ_FAILED,
    REKCHECK_TRAINING_FAILED, REKCHECK_UNPARSABLE_LINE, code_for_message, code_info,
};
pub use engine::ordered_par_map;
pub use framing::{
    Block, BlockKind, BlockReader, BufferPool, DEFAULT_BLOCK_BYTES, DEFAULT_MAX_LINE_BYTES, Framer,
    block_lines,
};
pub use line::{LineOutcome, MAX_DEPTH, analyze_line, oversized_line};
pub use model::{Dataset, ImageRow, ImageStatus, Issue, Level, Severity};
pub use report::{
    AnalyzeOptions, BlockAnalysis, BlockCallback, CODES_HEADER, CodeRow, Error, IMAGES_HEADER,
    ISSUES_HEADER, LABELS_HEADER, LabelRow, ManifestContext, ManifestReport, REPORT_FILES,
    RekognitionCounts, ReportOptions, ReportSummary, ReportWriter, SUMMARY_HEADER, Stats,
    VERSIONS_FILE, VERSIONS_HEADER, VersionRow, analyze_block, analyze_reader, safe_cell,
};
pub use summary::{DatasetStatistics, ManifestSummary, Statistics, SummaryError};
