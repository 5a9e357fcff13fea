//! The five CSV files and the aggregates behind them.
//!
//! # Output format
//!
//! All files are UTF-8 CSV as in RFC 4180 (comma separated, `"` quoting where needed, CRLF record
//! terminators), with a header row. Line numbers are 1-based physical lines, blank lines included.
//! A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a
//! leading `'` so that a spreadsheet never evaluates it as a formula (OWASP CSV injection);
//! [`ReportOptions::csv_raw`] turns this off. Each file is written under an unpredictable
//! temporary name (`.<file>.<pid>.<random>.partial`, see [`crate::output`]) and all are renamed
//! when the report is complete. A run holds `.rekcheck.lock` in the folder while it writes there:
//! a second run into the same folder stops with [`Error::Locked`].
//!
//! * `issues.csv`: one row per issue:
//!   `project,version,dataset,manifest,line,source_ref,level,attribute,annotation,label,severity,code,message`.
//!   `line` is empty for manifest-level issues, `annotation` (0-based index into the attribute's
//!   `annotations`) is empty except for annotation-level issues; `level` is one of
//!   `manifest,line,attribute,metadata,annotation`; `severity` is `error` or `warning`.
//! * `images.csv`: one row per non-blank line:
//!   `project,version,dataset,manifest,line,source_ref,status,errors,warnings,labels,boxes,used`;
//!   `status` is `ok,warning,error,unparsable`; `errors`/`warnings` count the line's issues at all
//!   levels; `labels` are the distinct labels joined with `;`; `boxes` counts annotation objects;
//!   `used` is `yes` when Rekognition trains on the image and `no` when it drops or ignores the
//!   line ([`crate::is_used`]): `status` = `error` with `used` = `yes` is an image trained on
//!   without its bad boxes (or without an attribute of an unsupported type).
//! * `summary.csv`: one row per manifest:
//!   `project,version,dataset,manifest,lines,blank,unparsable,ok,warning,error,error_issues,warning_issues,rekognition_total,rekognition_valid,rekognition_invalid,rekognition_ignored,rekognition_agrees,verdict`.
//!   `lines = blank + unparsable + ok + warning + error` always holds. The `rekognition_*` columns
//!   come from the manifest summary beside the manifest (empty without one). rekcheck counts in
//!   the summary's terms: total = every physical line (blank lines count as dataset objects:
//!   md-create-manifest-file-validation-rules), valid = the lines `images.csv` calls
//!   `used` (lines without issues, lines whose errors are all on bounding boxes: the model "is
//!   still trained using the other valid bounding boxes", tm-debugging-scope-json-line, and lines
//!   whose only errors are on an attribute of an unsupported type beside a valid one), invalid =
//!   blank, unparsable and other lines in error, ignored = the other lines with warnings. `rekognition_agrees` is `yes` when
//!   each of the summary's total/valid/invalid/ignored equals rekcheck's, its error line indices
//!   (0- or 1-based, whichever matches) are exactly the lines rekcheck found in error (at any
//!   level, unparsable included) and the summary does not contradict itself (total =
//!   valid + invalid + ignored, every index within its lines); `no: ` followed by each part
//!   that differs (`invalid 7 vs 6`, rekcheck's count first; `listed lines without errors: 3`;
//!   `lines with errors not listed: 5`; `the summary contradicts itself: ...`) otherwise; and
//!   `not given` on the row of a dataset the summary describes whose manifest was not among
//!   the inputs (its line columns are then 0: nothing was read). `verdict` is set by
//!   `rekcheck check`: `pass` when Rekognition's validation is predicted to let the training
//!   through, `fail: CODE` with the terminal error that would stop it; by `report`: `not given`
//!   (as above), `not validated` for a manifest without validation results (no line carries an
//!   `errors`/`warnings`/`cl-errors`/`cl-warnings` key, no manifest summary goes with it, and it
//!   does not have a Rekognition validation file name or is empty: an input manifest, for
//!   `rekcheck check`), `fail: REKCHECK_READ_FAILED` for a manifest that could not be read
//!   completely; empty otherwise.
//! * `codes.csv`: one row per code: `project,version,dataset,severity,code,issues,images,first_line,meaning,fix`;
//!   `images` counts distinct lines with the code, `first_line` is the first such line; `meaning`
//!   and `fix` come from [`crate::CODES`] and are empty for unknown codes.
//! * `labels.csv`: one row per label: `project,version,dataset,label,images,boxes,images_with_errors`.
//! * `versions.csv`: one row per project version of the run:
//!   `project,version,status,status_message,terminal_code,created,training_ended,lines,ok,warning,error,unparsable,report`;
//!   the counts add up the version's manifests, `terminal_code` is the error that stopped the
//!   training, `report` where the version's report is.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};

use rustc_hash::{FxHashMap, FxHashSet};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::codes::{REKCHECK_MAX_LINES, code_info};
use crate::error::Error;
use crate::model::Level;
use crate::model::{Dataset, ImageRow, ImageStatus, Issue, Severity};
use crate::output::csvrow::{self, Row};
use crate::output::files::{self as output, OutputLock, PartialFile};
use crate::output::room::{BlockRoom, Room};
use crate::reading::engine::{ordered_par_map_within, thread_pool};
use crate::reading::framing::block_lines;
use crate::reading::framing::{Block, BlockKind, BlockReader, BufferPool, Framer};
use crate::results::analysis::{
    AnalyzeOptions, BlockAnalysis, Stats, analysis_weight, analyze_block, block_weight, budget,
};
use crate::results::fast::{self, Fast};
use crate::results::line::{ClassMaps, LineOutcome, analyze_line_with};
use crate::results::summary::DatasetStatistics;

/// Header of `issues.csv`.
pub const ISSUES_HEADER: &[&str] = &[
    "project",
    "version",
    "dataset",
    "manifest",
    "line",
    "source_ref",
    "level",
    "attribute",
    "annotation",
    "label",
    "severity",
    "code",
    "message",
];
/// Header of `images.csv`.
pub const IMAGES_HEADER: &[&str] = &[
    "project",
    "version",
    "dataset",
    "manifest",
    "line",
    "source_ref",
    "status",
    "errors",
    "warnings",
    "labels",
    "boxes",
    "used",
];
/// Header of `summary.csv`.
pub const SUMMARY_HEADER: &[&str] = &[
    "project",
    "version",
    "dataset",
    "manifest",
    "lines",
    "blank",
    "unparsable",
    "ok",
    "warning",
    "error",
    "error_issues",
    "warning_issues",
    "rekognition_total",
    "rekognition_valid",
    "rekognition_invalid",
    "rekognition_ignored",
    "rekognition_agrees",
    "verdict",
];
/// `summary.csv`'s `verdict` (and `rekognition_agrees`) for a dataset the manifest summary
/// describes whose manifest was not among the inputs.
pub const NOT_GIVEN_VERDICT: &str = "not given";
/// `summary.csv`'s `verdict` for a manifest without validation results (an input manifest).
pub const NOT_VALIDATED_VERDICT: &str = "not validated";

/// Header of `codes.csv`.
pub const CODES_HEADER: &[&str] = &[
    "project",
    "version",
    "dataset",
    "severity",
    "code",
    "issues",
    "images",
    "first_line",
    "meaning",
    "fix",
];
/// Header of `labels.csv`.
pub const LABELS_HEADER: &[&str] = &[
    "project",
    "version",
    "dataset",
    "label",
    "images",
    "boxes",
    "images_with_errors",
];

/// Header of `versions.csv`.
pub const VERSIONS_HEADER: &[&str] = &[
    "project",
    "version",
    "status",
    "status_message",
    "terminal_code",
    "created",
    "training_ended",
    "lines",
    "ok",
    "warning",
    "error",
    "unparsable",
    "report",
];

/// The sixth file: one row per project version.
pub const VERSIONS_FILE: &str = "versions.csv";

/// The names of the five report files, in the order they are documented.
pub const REPORT_FILES: [&str; 5] = [
    "issues.csv",
    "images.csv",
    "summary.csv",
    "codes.csv",
    "labels.csv",
];

/// Where a manifest belongs: the first four columns of its rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ManifestContext {
    /// The project name, as in the project ARN; empty when unknown.
    pub project: String,
    /// The version name, as in the version ARN; empty when unknown.
    pub version: String,
    /// Training, testing or unknown.
    pub dataset: Dataset,
    /// The manifest as the user named it (a path or an `s3://` URI).
    pub manifest: String,
}

/// Default of [`ReportOptions::max_cell_bytes`]: 64 KiB.
pub const DEFAULT_MAX_CELL_BYTES: usize = 64 << 10;
/// Most distinct labels kept in `labels.csv` (all datasets together); the images of further
/// labels are added up in an `(other)` row per dataset ([`ReportSummary::labels_overflow`]).
pub const MAX_LABEL_ROWS: usize = 10_000;
/// Most distinct codes kept in `codes.csv` (all datasets and severities together); the issues of
/// further codes are added up in an `(other)` row per dataset and severity
/// ([`ReportSummary::codes_overflow`]).
pub const MAX_CODE_ROWS: usize = 1_000;
/// The label or code of the row that adds up those over [`MAX_LABEL_ROWS`] or [`MAX_CODE_ROWS`].
pub const OTHER_ROW: &str = "(other)";

// ---------------------------------------------------------------------------------------------
// Aggregates.

#[derive(Debug, Clone, Copy, Default)]
struct CodeAgg {
    issues: u64,
    images: u64,
    first_line: Option<u64>,
}

impl CodeAgg {
    fn merge(&mut self, o: &CodeAgg) {
        self.issues += o.issues;
        self.images += o.images;
        self.first_line = match (self.first_line, o.first_line) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct LabelAgg {
    images: u64,
    boxes: u64,
    images_with_errors: u64,
}

/// A block analysed and rendered as CSV bytes, ready for the single ordered writer.
#[derive(Default)]
struct RenderedBlock<X = ()> {
    issues_csv: Vec<u8>,
    images_csv: Vec<u8>,
    stats: Stats,
    // Fx hashing: SipHash of every label of every row was 2 % of the instructions. One map per
    // severity (errors, warnings), looked up by `&str`: no key is built per issue.
    codes: [FxHashMap<String, CodeAgg>; 2],
    labels: FxHashMap<String, LabelAgg>,
    error_lines: Vec<u64>,
    bytes: u64,
    /// The analysis, kept for the block callback or for the rows left to render.
    analysis: Option<BlockAnalysis>,
    /// When `analysis` holds only the failing rows an [`HtmlCollector`](crate::output::html::HtmlCollector) might take (the fast
    /// path's selection, see [`ReportWriter::collect_images`]): the block's failing rows, all
    /// counted.
    failing: Option<u64>,
    /// The first issue and row not rendered in `issues_csv` and `images_csv`, when the block's
    /// CSV grew over [`RENDER_LIMIT`]: the writer renders the rest a chunk at a time.
    issues_from: Option<usize>,
    images_from: Option<usize>,
    /// What a custom analysis hands the writer beside the block's rows (see
    /// [`ReportWriter::add_manifest_with`]).
    extra: X,
    /// The block's text, kept for the writer thread when `check`'s dataset rules may still turn
    /// an ok line with boxes into a failing one that the HTML report draws.
    text: Option<Block>,
}

/// The stage of the reading path: validation results are read, not predicted.
type NoStage = Option<(
    fn(&Block, &AnalyzeOptions) -> (BlockAnalysis, ()),
    fn(&mut BlockAnalysis, ()) -> bool,
)>;
const NO_STAGE: NoStage = None;

/// Most CSV bytes of one file a worker renders for a block; the rest is rendered by the writer
/// thread in chunks of this size, so that no block holds its whole CSV however amplified.
const RENDER_LIMIT: usize = 4 << 20;

impl<X> RenderedBlock<X> {
    fn is_deferred(&self) -> bool {
        self.issues_from.is_some() || self.images_from.is_some()
    }

    /// About the bytes the block holds in memory.
    fn weight(&self) -> usize {
        self.issues_csv.capacity()
            + self.images_csv.capacity()
            + self.analysis.as_ref().map_or(0, analysis_weight)
            + (self.codes[0].len() + self.codes[1].len() + self.labels.len()) * 128
            + match self.text.as_ref().map(|b| &b.kind) {
                Some(BlockKind::Lines(data)) => data.capacity(),
                _ => 0,
            }
    }
}

/// How cells are written: defused unless `raw`, cut to `cap` bytes.
#[derive(Clone, Copy)]
struct Cells {
    raw: bool,
    cap: usize,
}

impl Cells {
    fn of(options: &ReportOptions) -> Cells {
        Cells {
            raw: options.csv_raw,
            // Raw or not: a raw cell is only never defused (a hostile line must not turn into
            // gigabytes of output when cells are raw, the default for S3).
            cap: options.max_cell_bytes,
        }
    }

    /// A text cell: cut to the cap, then defused.
    fn text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        match clip(s, self.cap) {
            Cow::Borrowed(s) => safe_cell(s, self.raw),
            Cow::Owned(s) => Cow::Owned(safe_cell(&s, self.raw).into_owned()),
        }
    }
}

/// `s` cut to at most `max` bytes (at a character boundary) followed by
/// `…[truncated N bytes]`, or `s` whole when it fits.
pub(crate) fn clip(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…[truncated {} bytes]", &s[..end], s.len() - end))
}

type CodeKey = (String, String, Dataset, Severity, String);
type LabelKey = (String, String, Dataset, String);

/// Adds a block's count of a code; a new code past [`MAX_CODE_ROWS`] goes to the `(other)` row.
fn add_code(
    codes: &mut BTreeMap<CodeKey, CodeAgg>,
    key: CodeKey,
    agg: &CodeAgg,
    overflow: &mut u64,
) {
    if let Some(e) = codes.get_mut(&key) {
        e.merge(agg);
        return;
    }
    let key = if codes.len() >= MAX_CODE_ROWS {
        *overflow += agg.issues;
        (key.0, key.1, key.2, key.3, OTHER_ROW.to_owned())
    } else {
        key
    };
    codes.entry(key).or_default().merge(agg);
}

/// Adds a block's count of a label; a new label past [`MAX_LABEL_ROWS`] goes to the `(other)`
/// row.
fn add_label(
    labels: &mut BTreeMap<LabelKey, LabelAgg>,
    key: LabelKey,
    agg: &LabelAgg,
    overflow: &mut u64,
) {
    let full = labels.len() >= MAX_LABEL_ROWS;
    let e = match labels.get_mut(&key) {
        Some(e) => e,
        None if full => {
            *overflow += agg.images;
            labels
                .entry((key.0, key.1, key.2, OTHER_ROW.to_owned()))
                .or_default()
        }
        None => labels.entry(key).or_default(),
    };
    e.images += agg.images;
    e.boxes += agg.boxes;
    e.images_with_errors += agg.images_with_errors;
}

/// The (severity, code) pairs seen on one line: a scan for a few, a set for many.
#[derive(Default)]
struct SeenOnLine<'a> {
    few: Vec<(Severity, &'a str)>,
    many: Option<FxHashSet<(Severity, &'a str)>>,
}

impl<'a> SeenOnLine<'a> {
    const SCAN: usize = 16;

    fn clear(&mut self) {
        self.few.clear();
        self.many = None;
    }

    /// Whether `key` is new on the line.
    fn insert(&mut self, key: (Severity, &'a str)) -> bool {
        if let Some(many) = &mut self.many {
            return many.insert(key);
        }
        if self.few.contains(&key) {
            return false;
        }
        self.few.push(key);
        if self.few.len() > Self::SCAN {
            self.many = Some(self.few.drain(..).collect());
        }
        true
    }
}

/// Where [`ReportWriter::collect_images`] hands the failing images (the HTML page's
/// collector): what it can still take, asked by the workers, and each block's analysis in
/// order, on the writer thread.
pub(crate) trait ImageSink: Send + Sync {
    /// What the sink can still take, as of now (it only fills up).
    fn room(&self) -> Room;
    /// One block's analysis: all its rows (`failing` is `None`), or only the failing rows a
    /// worker found the sink might take, `failing` counting them all.
    fn add(&self, context: &ManifestContext, analysis: &BlockAnalysis, failing: Option<u64>);
}

/// What a worker keeps of a block besides the aggregates.
// Four independent switches, each asked by one part of the writer.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Copy)]
struct Keep {
    error_lines: bool,
    csv: bool,
    /// The whole analysis (for [`ReportWriter::on_block`]).
    analysis: bool,
    /// The failing rows an [`HtmlCollector`](crate::output::html::HtmlCollector) might take, as of a `Room` (for
    /// [`ReportWriter::collect_images`]); the whole analysis where the block is not read on
    /// the fast path.
    images: bool,
}

/// One row of `codes.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CodeRow {
    /// Project name.
    pub project: String,
    /// Version name.
    pub version: String,
    /// Dataset.
    pub dataset: Dataset,
    /// Severity.
    pub severity: Severity,
    /// The code.
    pub code: String,
    /// Number of issues with the code.
    pub issues: u64,
    /// Number of distinct lines with the code.
    pub images: u64,
    /// The first line with the code; `None` for manifest-level codes.
    pub first_line: Option<u64>,
}

/// One row of `labels.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct LabelRow {
    /// Project name.
    pub project: String,
    /// Version name.
    pub version: String,
    /// Dataset.
    pub dataset: Dataset,
    /// The label.
    pub label: String,
    /// Images with the label.
    pub images: u64,
    /// Boxes with the label.
    pub boxes: u64,
    /// Images with the label and at least one error.
    pub images_with_errors: u64,
}

/// What Rekognition's manifest summary says of a manifest, next to what rekcheck found.
///
/// Agreement is exact: each of `total_json_lines`, `valid_json_lines`, `invalid_json_lines` and
/// `ignored_json_lines` the summary gives equals rekcheck's count in the same terms
/// ([`Stats::rekognition_terms`]), the error line indices (0- or 1-based, whichever matches)
/// are exactly the lines rekcheck found in error, and the summary does not contradict itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct RekognitionCounts {
    /// `total_json_lines`.
    pub total: Option<u64>,
    /// `valid_json_lines`.
    pub valid: Option<u64>,
    /// `invalid_json_lines`.
    pub invalid: Option<u64>,
    /// `ignored_json_lines`.
    pub ignored: Option<u64>,
    /// The base of `error_json_line_indices` that matches the lines in error (0 or 1); `None`
    /// when there are no indices.
    pub index_base: Option<u8>,
    /// Indices (converted to 1-based lines) of lines rekcheck found without errors.
    pub indexed_without_errors: u64,
    /// Lines rekcheck found in error that the summary does not list.
    pub errors_not_indexed: u64,
    /// What differs between the summary and rekcheck, one part each, e.g. `invalid 7 vs 6`
    /// (rekcheck's count first), in the order total, valid, invalid, ignored, indices.
    pub differences: Vec<String>,
    /// Where the summary contradicts itself, e.g. `total 12 is not valid 4 + invalid 6 +
    /// ignored 3`, or an index outside the lines it counts.
    pub contradictions: Vec<String>,
    /// The summary describes this dataset but its manifest was not among the inputs: only
    /// Rekognition's counts are known (`rekognition_agrees` is `not given`).
    pub not_given: bool,
    /// Whether the summary agrees with rekcheck: no difference, no contradiction, and the
    /// manifest was given.
    pub agrees: bool,
}

impl RekognitionCounts {
    /// The `rekognition_agrees` cell: `yes`, `not given`, or `no: ` and what differs.
    pub fn agreement(&self) -> String {
        if self.not_given {
            return "not given".to_owned();
        }
        if self.agrees {
            return "yes".to_owned();
        }
        let mut parts: Vec<String> = self
            .contradictions
            .iter()
            .map(|c| format!("the summary contradicts itself: {c}"))
            .collect();
        parts.extend(self.differences.iter().cloned());
        format!("no: {}", parts.join("; "))
    }
}

/// One row of `summary.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ManifestReport {
    /// Where the manifest belongs.
    pub context: ManifestContext,
    /// Its line counts.
    pub stats: Stats,
    /// Bytes read.
    pub bytes: u64,
    /// The manifest summary's view, when one was found.
    pub rekognition: Option<RekognitionCounts>,
    /// `check`'s verdict (`pass`, or `fail: CODE`); empty for a report.
    pub verdict: String,
}

/// One project version of the run (a row of `versions.csv`); the line counts are added from its
/// manifests when the report is finished.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct VersionRow {
    /// Project name.
    pub project: String,
    /// Version name.
    pub version: String,
    /// `TRAINING_FAILED`, `TRAINING_COMPLETED`, ...; empty when unknown.
    pub status: String,
    /// The status message.
    pub status_message: String,
    /// The code of the terminal error that stopped the training, if any.
    pub terminal_code: String,
    /// When training started (RFC 3339), if known.
    pub created: String,
    /// When training ended (RFC 3339), if known.
    pub training_ended: String,
    /// Where this version's report is.
    pub report: String,
    /// Line counts over the version's manifests (filled in by [`ReportWriter::finish`]).
    pub stats: Stats,
}

/// What a finished report holds, for a summary on screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ReportSummary {
    /// One entry per manifest, in the order they were added.
    pub manifests: Vec<ManifestReport>,
    /// The rows of `codes.csv`.
    pub codes: Vec<CodeRow>,
    /// The rows of `labels.csv`.
    pub labels: Vec<LabelRow>,
    /// Manifest-level issues (terminal errors), with their manifest.
    pub terminal: Vec<(ManifestContext, Issue)>,
    /// The rows of `versions.csv`.
    pub versions: Vec<VersionRow>,
    /// The report files written.
    pub files: Vec<PathBuf>,
    /// Issues counted in `(other)` rows of `codes.csv` because more than [`MAX_CODE_ROWS`]
    /// distinct codes were found (0 when every code has its row).
    pub codes_overflow: u64,
    /// Images counted in `(other)` rows of `labels.csv` because more than [`MAX_LABEL_ROWS`]
    /// distinct labels were found (0 when every label has its row).
    pub labels_overflow: u64,
}

impl ReportSummary {
    /// Whether any issue has at least this severity (`Error` counts for `Warning`).
    pub fn has_issues_at(&self, severity: Severity) -> bool {
        self.codes
            .iter()
            .any(|c| c.severity <= severity && c.issues > 0)
    }
}

// ---------------------------------------------------------------------------------------------
// The writer.

/// Options of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOptions {
    /// How lines are read.
    pub analyze: AnalyzeOptions,
    /// Analysis threads; 0 means one per core.
    pub threads: usize,
    /// Write cells as found, without the `'` that defuses spreadsheet formulas (for programs
    /// and query engines). Cells are still cut to `max_cell_bytes`.
    pub csv_raw: bool,
    /// Longest text cell written, in bytes: a longer one is cut at a character boundary and
    /// ends with `…[truncated N bytes]`, raw or not. Default [`DEFAULT_MAX_CELL_BYTES`]
    /// (64 KiB); raise it to keep longer cells whole.
    pub max_cell_bytes: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            analyze: AnalyzeOptions::default(),
            threads: 0,
            csv_raw: false,
            max_cell_bytes: DEFAULT_MAX_CELL_BYTES,
        }
    }
}

struct CsvFile {
    tmp: PathBuf,
    out: Option<io::BufWriter<PartialFile>>,
}

impl CsvFile {
    fn create(dir: &Path, name: &str, header: &[&str]) -> Result<CsvFile, Error> {
        let partial = PartialFile::create(&dir.join(name))?;
        let mut f = CsvFile {
            tmp: partial.path().to_owned(),
            out: Some(io::BufWriter::with_capacity(1 << 20, partial)),
        };
        let mut w = csv_writer(Vec::new());
        w.write_record(header)
            .map_err(io::Error::from)
            .map_err(|e| f.err(e))?;
        let bytes = w.into_inner().map_err(|e| f.err(e.into_error()))?;
        f.write(&bytes)?;
        Ok(f)
    }

    /// A file that is not written (a report kept in memory).
    fn disabled() -> CsvFile {
        CsvFile {
            tmp: PathBuf::new(),
            out: None,
        }
    }

    fn err(&self, source: io::Error) -> Error {
        Error::Write {
            path: self.tmp.clone(),
            source,
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let r = match self.out.as_mut() {
            Some(out) => out.write_all(bytes),
            None => Ok(()),
        };
        r.map_err(|e| self.err(e))
    }

    /// The complete file, ready for [`output::commit`]; `None` for a disabled file.
    fn complete(&mut self) -> Result<Option<PartialFile>, Error> {
        let Some(out) = self.out.take() else {
            return Ok(None);
        };
        out.into_inner()
            .map(Some)
            .map_err(|e| self.err(e.into_error()))
    }
}

impl Drop for CsvFile {
    fn drop(&mut self) {
        if let Some(out) = self.out.take() {
            // Not committed: the partial file is removed as it drops (without writing out the
            // buffer first).
            drop(out.into_parts());
        }
    }
}

fn csv_writer<W: Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(w)
}

/// Defuses spreadsheet formulas: a cell starting with `=`, `+`, `-`, `@`, tab or CR gets a `'`.
pub fn safe_cell(s: &str, raw: bool) -> Cow<'_, str> {
    if !raw && s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// A callback for the typed rows and issues of each block.
pub type BlockCallback = Box<dyn FnMut(&ManifestContext, &BlockAnalysis) + Send>;

/// Writes the five CSV files of a report into a folder.
///
/// Add manifests in the order they should appear; rows come out in (manifest, line) order, byte
/// for byte the same whatever the number of threads. Nothing is visible under the final names
/// until [`ReportWriter::finish`] succeeds; dropping the writer removes the temporary files.
///
/// # Example
///
/// ```
/// use rekcheck_analyze::{Dataset, ManifestContext, ReportOptions, ReportWriter};
///
/// let dir = tempfile::tempdir()?;
/// let mut report = ReportWriter::create(dir.path(), ReportOptions::default())?;
/// let context = ManifestContext {
///     dataset: Dataset::Training,
///     manifest: "training.json".into(),
///     ..ManifestContext::default()
/// };
/// let manifest = br#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}"#;
/// let added = report.add_manifest(&context, &manifest[..], None, &mut |_bytes| {})?;
/// assert_eq!(added.stats.error, 1);
/// let summary = report.finish()?;
/// assert!(dir.path().join("issues.csv").is_file());
/// assert_eq!(summary.codes[0].code, "ERROR_INVALID_IMAGE");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ReportWriter {
    options: ReportOptions,
    pool: rayon::ThreadPool,
    dir: Option<PathBuf>,
    /// Called with each block's typed rows and issues, in (manifest, line) order.
    on_block: Option<BlockCallback>,
    /// Whether blocks handed to `on_block` carry [`BlockAnalysis::geometry`].
    geometry: bool,
    /// Handed the failing images of each block, in (manifest, line) order.
    collector: Option<Arc<dyn ImageSink>>,
    issues: CsvFile,
    images: CsvFile,
    summary: CsvFile,
    codes_file: CsvFile,
    labels_file: CsvFile,
    versions_file: CsvFile,
    versions: Vec<VersionRow>,
    manifests: Vec<ManifestReport>,
    codes: BTreeMap<CodeKey, CodeAgg>,
    labels: BTreeMap<LabelKey, LabelAgg>,
    codes_overflow: u64,
    labels_overflow: u64,
    terminal: Vec<(ManifestContext, Issue)>,
    /// The output folder's lock; last, so that it is released after the files are removed.
    lock: Option<OutputLock>,
}

impl std::fmt::Debug for ReportWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportWriter")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl ReportWriter {
    /// Creates `dir` if needed, takes its lock ([`Error::Locked`] when another run holds it),
    /// removes the temporary files that killed runs left there, and opens the files under
    /// temporary names.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] when the folder or a file cannot be created, [`Error::Locked`] when
    /// another run holds the folder's lock, [`Error::Threads`] when the analysis threads cannot
    /// be started.
    pub fn create(dir: &Path, options: ReportOptions) -> Result<ReportWriter, Error> {
        fs_err::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.to_owned(),
            source,
        })?;
        let lock = OutputLock::acquire(dir)?;
        let names: Vec<&std::ffi::OsStr> = REPORT_FILES
            .iter()
            .chain([&VERSIONS_FILE, &crate::output::HTML_FILE])
            .map(std::ffi::OsStr::new)
            .collect();
        output::remove_stale_partials(dir, &names);
        let mut w = ReportWriter::in_memory(options)?;
        w.lock = Some(lock);
        w.dir = Some(dir.to_owned());
        w.issues = CsvFile::create(dir, REPORT_FILES[0], ISSUES_HEADER)?;
        w.images = CsvFile::create(dir, REPORT_FILES[1], IMAGES_HEADER)?;
        w.summary = CsvFile::create(dir, REPORT_FILES[2], SUMMARY_HEADER)?;
        w.codes_file = CsvFile::create(dir, REPORT_FILES[3], CODES_HEADER)?;
        w.labels_file = CsvFile::create(dir, REPORT_FILES[4], LABELS_HEADER)?;
        w.versions_file = CsvFile::create(dir, VERSIONS_FILE, VERSIONS_HEADER)?;
        Ok(w)
    }

    /// A report that writes no file: the aggregates come back from [`ReportWriter::finish`],
    /// and rows can be taken with [`ReportWriter::on_block`].
    ///
    /// # Errors
    ///
    /// [`Error::Threads`] when the analysis threads cannot be started.
    pub fn in_memory(options: ReportOptions) -> Result<ReportWriter, Error> {
        let pool = thread_pool(options.threads)?;
        Ok(ReportWriter {
            options,
            pool,
            dir: None,
            on_block: None,
            geometry: false,
            collector: None,
            issues: CsvFile::disabled(),
            images: CsvFile::disabled(),
            summary: CsvFile::disabled(),
            codes_file: CsvFile::disabled(),
            labels_file: CsvFile::disabled(),
            versions_file: CsvFile::disabled(),
            versions: Vec::new(),
            manifests: Vec::new(),
            codes: BTreeMap::new(),
            labels: BTreeMap::new(),
            codes_overflow: 0,
            labels_overflow: 0,
            terminal: Vec::new(),
            lock: None,
        })
    }

    /// Hands every block's typed rows and issues to `callback`, in (manifest, line) order, as
    /// they are analyzed.
    pub fn on_block(&mut self, callback: BlockCallback) {
        self.on_block = Some(callback);
    }

    /// Attaches the collector behind [`ReportWriter::collect_images`].
    #[cfg(feature = "html")]
    pub(crate) fn set_image_sink(&mut self, sink: Arc<dyn ImageSink>) {
        self.collector = Some(sink);
    }

    /// Has the blocks handed to [`ReportWriter::on_block`] carry the frame and boxes of their
    /// lines with issues ([`BlockAnalysis::geometry`]), for the HTML report's drawings. Those
    /// lines are parsed a second time.
    pub fn keep_image_geometry(&mut self, yes: bool) {
        self.geometry = yes;
    }

    /// Adds manifest-level issues (terminal errors from a manifest summary or a training status).
    pub fn add_manifest_issues(
        &mut self,
        context: &ManifestContext,
        issues: &[Issue],
    ) -> Result<(), Error> {
        let cells = Cells::of(&self.options);
        let prefix = context_prefix(context, cells);
        let mut w = Vec::new();
        for issue in issues {
            write_issue(&mut w, &prefix, issue, cells);
            let key = (
                context.project.clone(),
                context.version.clone(),
                context.dataset,
                issue.severity,
                issue.code.clone(),
            );
            let agg = CodeAgg {
                issues: 1,
                images: 0,
                first_line: issue.line,
            };
            add_code(&mut self.codes, key, &agg, &mut self.codes_overflow);
            self.terminal.push((context.clone(), issue.clone()));
        }
        self.issues.write(&w)
    }

    /// Analyzes a manifest read from `reader` and adds its rows. `rekognition` is the manifest
    /// summary's statistics for the same dataset, when there is one. `progress` is called with
    /// the number of bytes of each block as it is written.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] when `reader` fails (the rows before the failure are kept),
    /// [`Error::Write`] when a report file cannot be written.
    pub fn add_manifest<R: Read>(
        &mut self,
        context: &ManifestContext,
        reader: R,
        rekognition: Option<&DatasetStatistics>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<&ManifestReport, Error> {
        let pool = BufferPool::default();
        let framer = self.options.analyze.framer().with_pool(pool.clone());
        self.add_blocks(
            context,
            BlockReader::new(reader, framer),
            rekognition,
            progress,
            Some(&pool),
            NO_STAGE,
        )
    }

    /// Like [`ReportWriter::add_manifest`], for blocks framed elsewhere (e.g. from S3).
    pub fn add_manifest_blocks<I>(
        &mut self,
        context: &ManifestContext,
        blocks: I,
        rekognition: Option<&DatasetStatistics>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<&ManifestReport, Error>
    where
        I: IntoIterator<Item = io::Result<Block>>,
    {
        self.add_blocks(context, blocks, rekognition, progress, None, NO_STAGE)
    }

    /// Adds a manifest read from `reader` whose lines are analyzed by `analyze` rather than read
    /// as validation results: `rekcheck check` predicts Rekognition's validation this way
    /// ([`crate::check_manifest`]). Lines longer than `max_line_bytes` are not buffered.
    ///
    /// `analyze` runs on the analysis threads, once per block, and returns the block's analysis
    /// with anything else the caller needs (`X`); `absorb` runs on the calling thread with each
    /// block's analysis and `X`, in line order, before the block's rows are written, and returns
    /// `true` when it changed the analysis (the rows are then rendered again).
    ///
    /// # Errors
    ///
    /// As [`ReportWriter::add_manifest`].
    pub fn add_manifest_with<R, X, A, B>(
        &mut self,
        context: &ManifestContext,
        reader: R,
        max_line_bytes: usize,
        analyze: A,
        absorb: B,
        progress: &mut dyn FnMut(u64),
    ) -> Result<&ManifestReport, Error>
    where
        R: Read,
        X: Send + Default,
        A: Fn(&Block, &AnalyzeOptions) -> (BlockAnalysis, X) + Sync,
        B: FnMut(&mut BlockAnalysis, X) -> bool,
    {
        let pool = BufferPool::default();
        let framer =
            Framer::new(self.options.analyze.block_bytes, max_line_bytes).with_pool(pool.clone());
        self.add_blocks(
            context,
            BlockReader::new(reader, framer),
            None,
            progress,
            Some(&pool),
            Some((analyze, absorb)),
        )
    }

    /// Like [`ReportWriter::add_manifest_with`], for blocks framed elsewhere (e.g. from S3).
    ///
    /// # Errors
    ///
    /// As [`ReportWriter::add_manifest`].
    pub fn add_manifest_blocks_with<I, X, A, B>(
        &mut self,
        context: &ManifestContext,
        blocks: I,
        analyze: A,
        absorb: B,
        progress: &mut dyn FnMut(u64),
    ) -> Result<&ManifestReport, Error>
    where
        I: IntoIterator<Item = io::Result<Block>>,
        X: Send + Default,
        A: Fn(&Block, &AnalyzeOptions) -> (BlockAnalysis, X) + Sync,
        B: FnMut(&mut BlockAnalysis, X) -> bool,
    {
        self.add_blocks(
            context,
            blocks,
            None,
            progress,
            None,
            Some((analyze, absorb)),
        )
    }

    /// Sets the `verdict` column of the manifests of `context` (see `summary.csv`).
    pub fn set_verdict(&mut self, context: &ManifestContext, verdict: &str) {
        for m in &mut self.manifests {
            if &m.context == context {
                verdict.clone_into(&mut m.verdict);
            }
        }
    }

    #[allow(clippy::too_many_lines)]
    fn add_blocks<I, X, A, B>(
        &mut self,
        context: &ManifestContext,
        blocks: I,
        rekognition: Option<&DatasetStatistics>,
        progress: &mut dyn FnMut(u64),
        buffers: Option<&BufferPool>,
        stage: Option<(A, B)>,
    ) -> Result<&ManifestReport, Error>
    where
        I: IntoIterator<Item = io::Result<Block>>,
        X: Send + Default,
        A: Fn(&Block, &AnalyzeOptions) -> (BlockAnalysis, X) + Sync,
        B: FnMut(&mut BlockAnalysis, X) -> bool,
    {
        let options = self.options;
        let cells = Cells::of(&options);
        let (analyze, mut absorb) = match stage {
            Some((a, b)) => (Some(a), Some(b)),
            None => (None, None),
        };
        let geometry_of_ok_lines = absorb.is_some();
        let keep_error_lines = rekognition.is_some();
        let mut stats = Stats::default();
        let mut bytes = 0u64;
        let mut error_lines: Vec<u64> = Vec::new();
        let budget = budget(&self.pool, &options.analyze);
        let render_csv = self.dir.is_some();
        let keep_analysis = self.on_block.is_some();
        let keep_images = self.collector.is_some();
        let keep_geometry = (keep_analysis && self.geometry) || keep_images;
        let ReportWriter {
            pool,
            issues,
            images,
            codes,
            labels,
            on_block,
            collector,
            codes_overflow,
            labels_overflow,
            ..
        } = self;
        // Lines past `max_lines` are counted, not analyzed.
        let max_lines = options.analyze.max_lines;
        let taken = Cell::new(0u64);
        let skipped_lines = Cell::new(0u64);
        let skipped_bytes = Cell::new(0u64);
        let blocks = blocks.into_iter().filter_map(|b| {
            let mut block = match b {
                Ok(block) => block,
                Err(source) => {
                    return Some(Err(Error::Read {
                        manifest: context.manifest.clone(),
                        source,
                    }));
                }
            };
            let lines = block.line_count();
            let room = max_lines.saturating_sub(taken.get());
            if lines > room {
                let before = block.byte_len();
                if room > 0 {
                    block.keep_lines(room);
                }
                skipped_lines.set(skipped_lines.get() + (lines - room));
                skipped_bytes.set(skipped_bytes.get() + (before - block.byte_len()));
                if room == 0 {
                    if let Some(buffers) = buffers {
                        buffers.recycle(block);
                    }
                    return None;
                }
            }
            taken.set(taken.get() + lines.min(room));
            Some(Ok(block))
        });
        ordered_par_map_within(
            pool,
            blocks,
            budget,
            block_weight,
            RenderedBlock::weight,
            |block| {
                let keep = Keep {
                    error_lines: keep_error_lines,
                    csv: render_csv,
                    analysis: keep_analysis,
                    images: keep_images,
                };
                // What the collector can still take, as of now (it only fills up).
                let room = collector.as_ref().map(|c| c.room());
                let mut rendered = match &analyze {
                    None => render_block(&block, context, &options, keep, room.as_ref()),
                    Some(analyze) => {
                        let (analysis, extra) = analyze(&block, &options.analyze);
                        let keep = Keep {
                            analysis: true,
                            ..keep
                        };
                        let mut r =
                            render_analysis(analysis, block.byte_len(), context, &options, keep);
                        r.extra = extra;
                        r
                    }
                };
                // A full page takes no more images (it only fills up): no drawing is needed.
                let page_full = room.as_ref().is_some_and(|r| r.full);
                if keep_geometry
                    && !page_full
                    && let Some(a) = rendered.analysis.as_mut()
                {
                    a.attach_geometry(&block);
                    // `check`'s dataset rules (`absorb`) can turn an ok line into an error on
                    // the writer thread: the text is kept until then, and only such a line is
                    // read again (reading every ok line for a drawing was half of `check`'s
                    // time on a clean manifest).
                    if geometry_of_ok_lines
                        && a.rows
                            .iter()
                            .any(|r| r.status == ImageStatus::Ok && r.boxes > 0)
                    {
                        rendered.text = Some(block);
                        return rendered;
                    }
                }
                if let Some(buffers) = buffers {
                    buffers.recycle(block);
                }
                rendered
            },
            |mut r: RenderedBlock<X>| {
                let text = r.text.take();
                if let Some(absorb) = absorb.as_mut()
                    && let Some(mut a) = r.analysis.take()
                {
                    let extra = std::mem::take(&mut r.extra);
                    if absorb(&mut a, extra) {
                        if let Some(block) = &text {
                            a.attach_geometry(block);
                        }
                        let keep = Keep {
                            error_lines: keep_error_lines,
                            csv: render_csv,
                            analysis: keep_analysis,
                            images: keep_images,
                        };
                        r = render_analysis(a, r.bytes, context, &options, keep);
                    } else if keep_analysis || keep_images || r.is_deferred() {
                        r.analysis = Some(a);
                    }
                }
                if let (Some(buffers), Some(block)) = (buffers, text) {
                    buffers.recycle(block);
                }
                issues.write(&r.issues_csv)?;
                images.write(&r.images_csv)?;
                if r.is_deferred()
                    && let Some(a) = &r.analysis
                {
                    // Rows too many to render in the worker: rendered here, a chunk at a time.
                    let prefix = context_prefix(context, cells);
                    let mut chunk = Vec::new();
                    let mut from = r.issues_from;
                    while let Some(start) = from {
                        chunk.clear();
                        from = render_issues(&mut chunk, &a.issues, start, &prefix, cells);
                        issues.write(&chunk)?;
                    }
                    let mut from = r.images_from;
                    while let Some(start) = from {
                        chunk.clear();
                        from = render_images(&mut chunk, &a.rows, start, &prefix, cells);
                        images.write(&chunk)?;
                    }
                }
                if let (Some(c), Some(a)) = (collector.as_ref(), r.analysis.as_ref()) {
                    c.add(context, a, r.failing);
                }
                if keep_analysis && let (Some(cb), Some(a)) = (on_block.as_mut(), r.analysis.take())
                {
                    cb(context, &a);
                }
                stats += r.stats;
                bytes += r.bytes;
                error_lines.extend_from_slice(&r.error_lines);
                let [errors, warnings] = r.codes;
                let codes_seen = errors
                    .into_iter()
                    .map(|(code, agg)| (Severity::Error, code, agg))
                    .chain(
                        warnings
                            .into_iter()
                            .map(|(code, agg)| (Severity::Warning, code, agg)),
                    );
                for (severity, code, agg) in codes_seen {
                    let key = (
                        context.project.clone(),
                        context.version.clone(),
                        context.dataset,
                        severity,
                        code,
                    );
                    add_code(codes, key, &agg, codes_overflow);
                }
                for (label, agg) in r.labels {
                    let key = (
                        context.project.clone(),
                        context.version.clone(),
                        context.dataset,
                        label,
                    );
                    add_label(labels, key, &agg, labels_overflow);
                }
                progress(r.bytes);
                Ok(())
            },
        )?;
        bytes += skipped_bytes.get();
        let rekognition = rekognition.map(|r| compare(r, &stats, &error_lines));
        if skipped_lines.get() > 0 {
            let issue = Issue::manifest(
                Severity::Error,
                REKCHECK_MAX_LINES,
                format!(
                    "The manifest has {} more lines after line {max_lines}; they were read and counted but not analyzed (--max-lines {max_lines}).",
                    skipped_lines.get()
                ),
            );
            self.add_manifest_issues(context, &[issue])?;
        }
        self.manifests.push(ManifestReport {
            context: context.clone(),
            stats,
            bytes,
            rekognition,
            verdict: String::new(),
        });
        let last = self.manifests.len() - 1;
        Ok(&self.manifests[last])
    }

    /// Adds a `summary.csv` row for a dataset the manifest summary describes but whose manifest
    /// was not given, so that Rekognition's counts are not lost.
    pub fn add_rekognition_only(
        &mut self,
        context: &ManifestContext,
        rekognition: &DatasetStatistics,
    ) {
        let stats = Stats::default();
        let mut counts = compare(rekognition, &stats, &[]);
        counts.differences.clear();
        counts.not_given = true;
        counts.agrees = false;
        self.manifests.push(ManifestReport {
            context: context.clone(),
            stats,
            bytes: 0,
            rekognition: Some(counts),
            verdict: NOT_GIVEN_VERDICT.to_owned(),
        });
    }

    /// Adds a project version (a row of `versions.csv`).
    pub fn add_version(&mut self, row: VersionRow) {
        self.versions.push(row);
    }

    /// Writes `summary.csv`, `codes.csv`, `labels.csv` and `versions.csv`, and gives all files
    /// their final names.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] when a file cannot be written or flushed, [`Error::Commit`] when one
    /// cannot be given its final name (the error says which files were already replaced).
    pub fn finish(mut self) -> Result<ReportSummary, Error> {
        self.finish_files()
    }

    /// [`ReportWriter::finish`], handing back the output folder's lock (`None` for a report
    /// in memory) so that the caller can add files that need the finished summary (the HTML
    /// page) before another run may write there: the folder is released when the lock is
    /// dropped.
    ///
    /// # Errors
    ///
    /// As [`ReportWriter::finish`].
    ///
    /// Not part of the stable API; used by the rekcheck facade.
    #[doc(hidden)]
    pub fn finish_holding_lock(mut self) -> Result<(ReportSummary, Option<OutputLock>), Error> {
        let summary = self.finish_files()?;
        Ok((summary, self.lock.take()))
    }

    fn finish_files(&mut self) -> Result<ReportSummary, Error> {
        let cells = Cells::of(&self.options);
        // versions.csv: counts over each version's manifests.
        let mut versions = std::mem::take(&mut self.versions);
        for v in &mut versions {
            v.stats = self
                .manifests
                .iter()
                .filter(|m| m.context.project == v.project && m.context.version == v.version)
                .map(|m| m.stats)
                .sum();
        }
        let mut w = csv_writer(Vec::new());
        for v in &versions {
            write_version_row(&mut w, v, cells).map_err(|e| self.versions_file.err(e))?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| self.versions_file.err(e.into_error()))?;
        self.versions_file.write(&bytes)?;

        // summary.csv
        let mut w = csv_writer(Vec::new());
        for m in &self.manifests {
            write_summary_row(&mut w, m, cells).map_err(|e| self.summary.err(e))?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| self.summary.err(e.into_error()))?;
        self.summary.write(&bytes)?;

        // codes.csv: per dataset, errors first, most frequent first.
        let mut codes: Vec<CodeRow> = self
            .codes
            .iter()
            .map(|((project, version, dataset, severity, code), a)| CodeRow {
                project: project.clone(),
                version: version.clone(),
                dataset: *dataset,
                severity: *severity,
                code: code.clone(),
                issues: a.issues,
                images: a.images,
                first_line: a.first_line,
            })
            .collect();
        codes.sort_by(|a, b| {
            (&a.project, &a.version, a.dataset, a.severity)
                .cmp(&(&b.project, &b.version, b.dataset, b.severity))
                .then(b.issues.cmp(&a.issues))
                .then(a.code.cmp(&b.code))
        });
        let mut w = csv_writer(Vec::new());
        for c in &codes {
            write_code_row(&mut w, c, cells).map_err(|e| self.codes_file.err(e))?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| self.codes_file.err(e.into_error()))?;
        self.codes_file.write(&bytes)?;

        // labels.csv: per dataset, by label.
        let labels: Vec<LabelRow> = self
            .labels
            .iter()
            .map(|((project, version, dataset, label), a)| LabelRow {
                project: project.clone(),
                version: version.clone(),
                dataset: *dataset,
                label: label.clone(),
                images: a.images,
                boxes: a.boxes,
                images_with_errors: a.images_with_errors,
            })
            .collect();
        let mut w = csv_writer(Vec::new());
        for l in &labels {
            write_label_row(&mut w, l, cells).map_err(|e| self.labels_file.err(e))?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| self.labels_file.err(e.into_error()))?;
        self.labels_file.write(&bytes)?;

        let mut complete = Vec::with_capacity(6);
        for f in [
            &mut self.issues,
            &mut self.images,
            &mut self.summary,
            &mut self.codes_file,
            &mut self.labels_file,
            &mut self.versions_file,
        ] {
            complete.extend(f.complete()?);
        }
        let files = output::commit(complete)?;
        Ok(ReportSummary {
            manifests: std::mem::take(&mut self.manifests),
            codes,
            labels,
            terminal: std::mem::take(&mut self.terminal),
            versions,
            files,
            codes_overflow: self.codes_overflow,
            labels_overflow: self.labels_overflow,
        })
    }
}

/// At most this many line numbers are named in a difference of indices.
const LINES_NAMED: usize = 5;

/// `lines` (sorted) as `3, 9, 12` with `, ...` after [`LINES_NAMED`].
fn some_lines(lines: &[u64]) -> String {
    let mut out: Vec<String> = lines.iter().take(LINES_NAMED).map(u64::to_string).collect();
    if lines.len() > LINES_NAMED {
        out.push("...".to_owned());
    }
    out.join(", ")
}

fn compare(r: &DatasetStatistics, stats: &Stats, error_lines: &[u64]) -> RekognitionCounts {
    let indices = r.error_indices();
    let ours: HashSet<u64> = error_lines.iter().copied().collect();
    let index_base = if indices.is_empty() {
        None
    } else {
        let one = indices.iter().filter(|&&i| ours.contains(&i)).count();
        let zero = indices.iter().filter(|&&i| ours.contains(&(i + 1))).count();
        Some(u8::from(zero <= one))
    };
    let theirs: HashSet<u64> = indices
        .iter()
        .map(|&i| i.saturating_add(u64::from(index_base == Some(0))))
        .collect();
    let mut listed_clean: Vec<u64> = theirs.difference(&ours).copied().collect();
    let mut not_listed: Vec<u64> = ours.difference(&theirs).copied().collect();
    listed_clean.sort_unstable();
    not_listed.sort_unstable();

    let (total, valid, invalid, ignored) = stats.rekognition_terms();
    let mut differences = Vec::new();
    for (name, ours, theirs) in [
        ("total", total, r.total_json_lines),
        ("valid", valid, r.valid_json_lines),
        ("invalid", invalid, r.invalid_json_lines),
        ("ignored", ignored, r.ignored_json_lines),
    ] {
        if let Some(theirs) = theirs
            && theirs != ours
        {
            differences.push(format!("{name} {ours} vs {theirs}"));
        }
    }
    if !listed_clean.is_empty() {
        differences.push(format!(
            "listed lines without errors: {}",
            some_lines(&listed_clean)
        ));
    }
    if !not_listed.is_empty() {
        differences.push(format!(
            "lines with errors not listed: {}",
            some_lines(&not_listed)
        ));
    }

    let mut contradictions = Vec::new();
    if let (Some(t), Some(v), Some(i), Some(g)) = (
        r.total_json_lines,
        r.valid_json_lines,
        r.invalid_json_lines,
        r.ignored_json_lines,
    ) && v.checked_add(i).and_then(|s| s.checked_add(g)) != Some(t)
    {
        contradictions.push(format!(
            "total {t} is not valid {v} + invalid {i} + ignored {g}"
        ));
    }
    if let Some(t) = r.total_json_lines {
        // 1-based indices run 1..=total, 0-based 0..total: either way none is above total,
        // and with 1-based indices none is 0.
        let (low, high) = match index_base {
            Some(0) => (0, t.saturating_sub(1)),
            _ => (1, t),
        };
        let mut outside: Vec<u64> = indices
            .iter()
            .copied()
            .filter(|&i| i < low || i > high)
            .collect();
        outside.sort_unstable();
        outside.dedup();
        if !outside.is_empty() {
            let base = index_base.unwrap_or(1);
            contradictions.push(format!(
                "indices outside its {t} lines ({base}-based): {}",
                some_lines(&outside)
            ));
        }
    }
    let agrees = differences.is_empty() && contradictions.is_empty();
    RekognitionCounts {
        total: r.total_json_lines,
        valid: r.valid_json_lines,
        invalid: r.invalid_json_lines,
        ignored: r.ignored_json_lines,
        index_base,
        indexed_without_errors: listed_clean.len() as u64,
        errors_not_indexed: not_listed.len() as u64,
        differences,
        contradictions,
        not_given: false,
        agrees,
    }
}

fn render_block<X: Default>(
    block: &Block,
    context: &ManifestContext,
    options: &ReportOptions,
    keep: Keep,
    room: Option<&Room>,
) -> RenderedBlock<X> {
    if !keep.analysis
        && let Some(rendered) = render_lines(block, context, options, keep, room)
    {
        return rendered;
    }
    let analysis = analyze_block(block, &options.analyze);
    render_analysis(analysis, block.byte_len(), context, options, keep)
}

/// Adds one issue to the block's code counts (`seen` holds the codes of its line so far).
fn count_issue<'a>(
    codes: &mut [FxHashMap<String, CodeAgg>; 2],
    seen: &mut SeenOnLine<'a>,
    severity: Severity,
    code: &'a str,
    line: Option<u64>,
) {
    let map = &mut codes[usize::from(severity == Severity::Warning)];
    let agg = match map.get_mut(code) {
        Some(agg) => agg,
        None => map.entry(code.to_owned()).or_default(),
    };
    agg.issues += 1;
    if seen.insert((severity, code)) {
        agg.images += 1;
    }
    if let Some(line) = line {
        agg.first_line = Some(agg.first_line.map_or(line, |f| f.min(line)));
    }
}

/// Adds one image's label to the block's label counts.
fn count_label(labels: &mut FxHashMap<String, LabelAgg>, label: &str, boxes: u32, in_error: bool) {
    let e = match labels.get_mut(label) {
        Some(e) => e,
        None => labels.entry(label.to_owned()).or_default(),
    };
    e.images += 1;
    e.boxes += u64::from(boxes);
    e.images_with_errors += u64::from(in_error);
}

/// Renders a block line by line without typed rows: each well-formed line on the fast path
/// ([`fast::analyze`]), any other with [`analyze_line_with`], into the same bytes and counts as
/// [`analyze_block`] then [`render_analysis`]. `None` (the caller renders the block the usual
/// way) for an oversized line's block, or when the block's CSV grows over [`RENDER_LIMIT`].
///
/// With `room` (an [`HtmlCollector`](crate::output::html::HtmlCollector) is attached), the failing lines it might take are read
/// again into typed rows and issues, kept as the block's analysis beside the count of its
/// failing lines.
fn render_lines<X: Default>(
    block: &Block,
    context: &ManifestContext,
    options: &ReportOptions,
    keep: Keep,
    room: Option<&Room>,
) -> Option<RenderedBlock<X>> {
    let BlockKind::Lines(data) = &block.kind else {
        return None;
    };
    let cells = Cells::of(options);
    let prefix = context_prefix(context, cells);
    let a = &options.analyze;
    let mut out = RenderedBlock {
        bytes: block.byte_len(),
        ..RenderedBlock::default()
    };
    // Room for the usual output (an image row is a sixth of its line or less), so that the
    // buffers rarely grow.
    let capacity = if keep.csv { data.len() / 6 } else { 0 };
    let mut issues_csv = Vec::with_capacity(capacity);
    let mut images_csv = Vec::with_capacity(capacity);
    // A run of lines is read on the fast path, then rendered: the reader's code and the
    // renderer's code each stay in the instruction cache across the run (see
    // `fast::RUN_LINES`). Each line of the run has its scratch.
    let mut scratches: Vec<fast::Scratch> = std::iter::repeat_with(fast::Scratch::default)
        .take(fast::RUN_LINES)
        .collect();
    let mut run = Vec::with_capacity(fast::RUN_LINES);
    let mut class_maps = ClassMaps::default();
    let mut selected = BlockAnalysis::default();
    let mut block_room = BlockRoom::default();
    let mut failing = 0u64;
    let mut lines = block_lines(block.first_line, data);
    loop {
        for ((n, line), scratch) in lines.by_ref().take(fast::RUN_LINES).zip(&mut scratches) {
            let read = fast::analyze(
                line,
                a.max_line_bytes,
                a.max_issues_per_line,
                scratch,
                &mut class_maps,
            );
            run.push((n, line, read));
        }
        if run.is_empty() {
            break;
        }
        for ((n, line, read), scratch) in run.drain(..).zip(&mut scratches) {
            match read {
                Some((Fast::Blank, _)) => {
                    out.stats.lines += 1;
                    out.stats.blank += 1;
                }
                Some((Fast::Image(row), text)) => {
                    let source_ref = scratch.source_ref(text);
                    let mut seen = SeenOnLine::default();
                    // The codes of a failing line, when a collector is attached.
                    let select = room.is_some() && row.status != ImageStatus::Ok;
                    let mut line_codes: Vec<(Severity, &str)> = Vec::new();
                    let mut over = false;
                    scratch.for_each_issue(text, |i| {
                        if select {
                            line_codes.push((i.severity, i.code));
                        }
                        count_issue(&mut out.codes, &mut seen, i.severity, i.code, Some(n));
                        // One line's issues can render to far more than the limit (a long
                        // source-ref repeated in each): stop there, the block goes the chunked way.
                        over = over || issues_csv.len() > RENDER_LIMIT;
                        if keep.csv && !over {
                            write_issue_parts(
                                &mut issues_csv,
                                &prefix,
                                &IssueParts {
                                    line: Some(n),
                                    source_ref,
                                    level: i.level,
                                    attribute: i.attribute,
                                    annotation: i.annotation,
                                    label: i.label,
                                    severity: i.severity,
                                    code: i.code,
                                    message: i.message,
                                },
                                cells,
                            );
                        }
                    });
                    if over {
                        return None;
                    }
                    out.stats.lines += 1;
                    out.stats.count_image(
                        row.status,
                        (row.errors, row.warnings, row.boxes),
                        row.used,
                        row.with_results,
                    );
                    let in_error = row.status == ImageStatus::Error;
                    for (label, boxes) in scratch.labels(text) {
                        count_label(&mut out.labels, label, boxes, in_error);
                    }
                    if keep.error_lines && in_error {
                        out.error_lines.push(n);
                    }
                    if let Some(room) = room
                        && select
                    {
                        failing += 1;
                        line_codes.sort_unstable();
                        line_codes.dedup();
                        if room.wants(&mut block_room, &line_codes)
                            && let LineOutcome::Image { row, issues } = analyze_line_with(
                                n,
                                line,
                                a.max_line_bytes,
                                a.max_issues_per_line,
                                &mut class_maps,
                            )
                        {
                            selected.rows.push(row);
                            selected.issues.extend(issues);
                        }
                    }
                    if keep.csv {
                        let labels = scratch.joined_labels(text);
                        write_image_parts(
                            &mut images_csv,
                            &prefix,
                            &ImageParts {
                                line: n,
                                source_ref,
                                status: row.status,
                                errors: row.errors,
                                warnings: row.warnings,
                                labels,
                                boxes: row.boxes,
                                used: row.used,
                            },
                            cells,
                        );
                    }
                }
                None => {
                    let outcome = analyze_line_with(
                        n,
                        line,
                        a.max_line_bytes,
                        a.max_issues_per_line,
                        &mut class_maps,
                    );
                    out.stats.count(&outcome);
                    if let LineOutcome::Image { row, issues } = &outcome {
                        let mut seen = SeenOnLine::default();
                        for issue in issues {
                            count_issue(
                                &mut out.codes,
                                &mut seen,
                                issue.severity,
                                &issue.code,
                                issue.line,
                            );
                            if keep.csv {
                                if issues_csv.len() > RENDER_LIMIT {
                                    return None;
                                }
                                write_issue(&mut issues_csv, &prefix, issue, cells);
                            }
                        }
                        let in_error = row.status == ImageStatus::Error;
                        for (label, &boxes) in row.labels.iter().zip(&row.label_boxes) {
                            count_label(&mut out.labels, label, boxes, in_error);
                        }
                        if keep.error_lines
                            && matches!(row.status, ImageStatus::Error | ImageStatus::Unparsable)
                        {
                            out.error_lines.push(row.line);
                        }
                        if keep.csv {
                            write_image(&mut images_csv, &prefix, row, cells);
                        }
                    }
                    if let Some(room) = room
                        && let LineOutcome::Image { row, issues } = outcome
                        && row.status != ImageStatus::Ok
                    {
                        failing += 1;
                        let mut line_codes: Vec<(Severity, &str)> = issues
                            .iter()
                            .map(|i| (i.severity, i.code.as_str()))
                            .collect();
                        line_codes.sort_unstable();
                        line_codes.dedup();
                        if room.wants(&mut block_room, &line_codes) {
                            selected.rows.push(row);
                            selected.issues.extend(issues);
                        }
                    }
                }
            }
            if issues_csv.len() > RENDER_LIMIT || images_csv.len() > RENDER_LIMIT {
                return None;
            }
        }
    }
    out.issues_csv = issues_csv;
    out.images_csv = images_csv;
    if room.is_some() {
        out.analysis = Some(selected);
        out.failing = Some(failing);
    }
    Some(out)
}

/// Renders a block's analysis as CSV bytes and aggregates.
fn render_analysis<X: Default>(
    analysis: BlockAnalysis,
    bytes: u64,
    context: &ManifestContext,
    options: &ReportOptions,
    keep: Keep,
) -> RenderedBlock<X> {
    let cells = Cells::of(options);
    let mut out = RenderedBlock {
        stats: analysis.stats,
        bytes,
        ..RenderedBlock::default()
    };
    let prefix = context_prefix(context, cells);
    let mut seen_on_line = SeenOnLine::default();
    let mut current_line = None;
    for issue in &analysis.issues {
        if current_line != issue.line {
            current_line = issue.line;
            seen_on_line.clear();
        }
        count_issue(
            &mut out.codes,
            &mut seen_on_line,
            issue.severity,
            &issue.code,
            issue.line,
        );
    }
    if keep.csv {
        let mut w = Vec::with_capacity((analysis.issues.len() * 160).min(RENDER_LIMIT));
        out.issues_from = render_issues(&mut w, &analysis.issues, 0, &prefix, cells);
        out.issues_csv = w;
    }

    for row in &analysis.rows {
        let in_error = row.status == ImageStatus::Error;
        for (label, &boxes) in row.labels.iter().zip(&row.label_boxes) {
            count_label(&mut out.labels, label, boxes, in_error);
        }
        if keep.error_lines && matches!(row.status, ImageStatus::Error | ImageStatus::Unparsable) {
            out.error_lines.push(row.line);
        }
    }
    if keep.csv {
        let mut w = Vec::with_capacity((analysis.rows.len() * 120).min(RENDER_LIMIT));
        out.images_from = render_images(&mut w, &analysis.rows, 0, &prefix, cells);
        out.images_csv = w;
    }
    if keep.analysis || keep.images || out.is_deferred() {
        out.analysis = Some(analysis);
    }
    out
}

/// Renders `issues` from index `from` into `w` until it holds [`RENDER_LIMIT`] bytes; the index
/// of the first issue not rendered, if any.
fn render_issues(
    w: &mut Vec<u8>,
    issues: &[Issue],
    from: usize,
    prefix: &[u8],
    cells: Cells,
) -> Option<usize> {
    for (i, issue) in issues.iter().enumerate().skip(from) {
        if w.len() >= RENDER_LIMIT {
            return Some(i);
        }
        write_issue(w, prefix, issue, cells);
    }
    None
}

/// [`render_issues`] for image rows.
fn render_images(
    w: &mut Vec<u8>,
    rows: &[ImageRow],
    from: usize,
    prefix: &[u8],
    cells: Cells,
) -> Option<usize> {
    for (i, row) in rows.iter().enumerate().skip(from) {
        if w.len() >= RENDER_LIMIT {
            return Some(i);
        }
        write_image(w, prefix, row, cells);
    }
    None
}

fn num(buf: &mut itoa::Buffer, n: u64) -> &str {
    buf.format(n)
}

fn opt_num(buf: &mut itoa::Buffer, n: Option<u64>) -> &str {
    match n {
        Some(n) => buf.format(n),
        None => "",
    }
}

/// The columns every row of a manifest's issues.csv and images.csv starts with.
fn context_prefix(c: &ManifestContext, cells: Cells) -> Vec<u8> {
    csvrow::prefix(&[
        &cells.text(&c.project),
        &cells.text(&c.version),
        c.dataset.as_str(),
        &cells.text(&c.manifest),
    ])
}

fn write_issue(w: &mut Vec<u8>, prefix: &[u8], i: &Issue, cells: Cells) {
    write_issue_parts(
        w,
        prefix,
        &IssueParts {
            line: i.line,
            source_ref: &i.source_ref,
            level: i.level,
            attribute: &i.attribute,
            annotation: i.annotation,
            label: &i.label,
            severity: i.severity,
            code: &i.code,
            message: &i.message,
        },
        cells,
    );
}

/// The cells of an `issues.csv` row.
struct IssueParts<'a> {
    line: Option<u64>,
    source_ref: &'a str,
    level: Level,
    attribute: &'a str,
    annotation: Option<u32>,
    label: &'a str,
    severity: Severity,
    code: &'a str,
    message: &'a str,
}

fn write_issue_parts(w: &mut Vec<u8>, prefix: &[u8], i: &IssueParts<'_>, cells: Cells) {
    let mut b1 = itoa::Buffer::new();
    let mut b2 = itoa::Buffer::new();
    let mut row = Row::start(w, prefix);
    row.field(opt_num(&mut b1, i.line))
        .field(&cells.text(i.source_ref))
        .field(i.level.as_str())
        .field(&cells.text(i.attribute))
        .field(opt_num(&mut b2, i.annotation.map(u64::from)))
        .field(&cells.text(i.label))
        .field(i.severity.as_str())
        .field(&cells.text(i.code))
        .field(&cells.text(i.message));
    row.end();
}

fn write_image(w: &mut Vec<u8>, prefix: &[u8], r: &ImageRow, cells: Cells) {
    let labels = match r.labels.as_slice() {
        [] => Cow::Borrowed(""),
        [one] => Cow::Borrowed(one.as_str()),
        many => Cow::Owned(many.join(";")),
    };
    write_image_parts(
        w,
        prefix,
        &ImageParts {
            line: r.line,
            source_ref: &r.source_ref,
            status: r.status,
            errors: r.errors,
            warnings: r.warnings,
            labels: &labels,
            boxes: r.boxes,
            used: r.used,
        },
        cells,
    );
}

/// The cells of an `images.csv` row (`labels` joined with `;`).
struct ImageParts<'a> {
    line: u64,
    source_ref: &'a str,
    status: ImageStatus,
    errors: u32,
    warnings: u32,
    labels: &'a str,
    boxes: u32,
    used: bool,
}

fn write_image_parts(w: &mut Vec<u8>, prefix: &[u8], r: &ImageParts<'_>, cells: Cells) {
    let mut b = itoa::Buffer::new();
    let mut row = Row::start(w, prefix);
    row.field(b.format(r.line))
        .field(&cells.text(r.source_ref))
        .field(r.status.as_str())
        .field(b.format(r.errors))
        .field(b.format(r.warnings))
        .field(&cells.text(r.labels))
        .field(b.format(r.boxes))
        .field(if r.used { "yes" } else { "no" });
    row.end();
}

fn write_summary_row<W: Write>(
    w: &mut csv::Writer<W>,
    m: &ManifestReport,
    cells: Cells,
) -> io::Result<()> {
    let c = &m.context;
    let s = &m.stats;
    let r = m.rekognition.clone().unwrap_or_default();
    let agrees = m
        .rekognition
        .as_ref()
        .map(RekognitionCounts::agreement)
        .unwrap_or_default();
    let mut b: [itoa::Buffer; 12] = std::array::from_fn(|_| itoa::Buffer::new());
    let [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11] = &mut b;
    w.write_record([
        &*cells.text(&c.project),
        &*cells.text(&c.version),
        c.dataset.as_str(),
        &*cells.text(&c.manifest),
        num(b0, s.lines),
        num(b1, s.blank),
        num(b2, s.unparsable),
        num(b3, s.ok),
        num(b4, s.warning),
        num(b5, s.error),
        num(b6, s.error_issues),
        num(b7, s.warning_issues),
        opt_num(b8, r.total),
        opt_num(b9, r.valid),
        opt_num(b10, r.invalid),
        opt_num(b11, r.ignored),
        &agrees,
        &m.verdict,
    ])?;
    Ok(())
}

fn write_code_row<W: Write>(w: &mut csv::Writer<W>, c: &CodeRow, cells: Cells) -> io::Result<()> {
    let info = code_info(&c.code);
    let (mut b1, mut b2, mut b3) = (
        itoa::Buffer::new(),
        itoa::Buffer::new(),
        itoa::Buffer::new(),
    );
    w.write_record([
        &*cells.text(&c.project),
        &*cells.text(&c.version),
        c.dataset.as_str(),
        c.severity.as_str(),
        &*cells.text(&c.code),
        num(&mut b1, c.issues),
        num(&mut b2, c.images),
        opt_num(&mut b3, c.first_line),
        info.map_or("", |i| i.meaning),
        info.map_or("", |i| i.fix),
    ])?;
    Ok(())
}

fn write_version_row<W: Write>(
    w: &mut csv::Writer<W>,
    v: &VersionRow,
    cells: Cells,
) -> io::Result<()> {
    let mut b: [itoa::Buffer; 5] = std::array::from_fn(|_| itoa::Buffer::new());
    let [b0, b1, b2, b3, b4] = &mut b;
    let s = &v.stats;
    w.write_record([
        &*cells.text(&v.project),
        &*cells.text(&v.version),
        &*cells.text(&v.status),
        &*cells.text(&v.status_message),
        &*cells.text(&v.terminal_code),
        &*cells.text(&v.created),
        &*cells.text(&v.training_ended),
        num(b0, s.lines),
        num(b1, s.ok),
        num(b2, s.warning),
        num(b3, s.error),
        num(b4, s.unparsable),
        &*cells.text(&v.report),
    ])?;
    Ok(())
}

fn write_label_row<W: Write>(w: &mut csv::Writer<W>, l: &LabelRow, cells: Cells) -> io::Result<()> {
    let (mut b1, mut b2, mut b3) = (
        itoa::Buffer::new(),
        itoa::Buffer::new(),
        itoa::Buffer::new(),
    );
    w.write_record([
        &*cells.text(&l.project),
        &*cells.text(&l.version),
        l.dataset.as_str(),
        &*cells.text(&l.label),
        num(&mut b1, l.images),
        num(&mut b2, l.boxes),
        num(&mut b3, l.images_with_errors),
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The fast `images.csv` writer writes every column of [`IMAGES_HEADER`], `used`
        /// included, exactly as `csv::Writer` writes the same record.
        #[test]
        fn image_rows_are_written_as_csv_writes_them(
            source_ref in "[a-z,\"\r\n =+'é]{0,8}",
            labels in prop::collection::vec("[a-z,\"\n =é]{1,5}", 0..3),
            line in 1u64..1_000_000,
            status in 0usize..4,
            (errors, warnings, boxes) in (0u32..5, 0u32..5, 0u32..60),
            used: bool,
            raw: bool,
        ) {
            let status = [
                ImageStatus::Ok,
                ImageStatus::Warning,
                ImageStatus::Error,
                ImageStatus::Unparsable,
            ][status];
            let row = ImageRow {
                line,
                source_ref,
                status,
                errors,
                warnings,
                label_boxes: vec![0; labels.len()],
                labels,
                boxes,
                used,
            };
            let context = ManifestContext {
                project: "p,1".into(),
                version: "v".into(),
                dataset: Dataset::Testing,
                manifest: "m\"x".into(),
            };
            let mut fast = Vec::new();
            let cells = Cells { raw, cap: usize::MAX };
            write_image(&mut fast, &context_prefix(&context, cells), &row, cells);
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(Vec::new());
            let record = [
                safe_cell(&context.project, raw).into_owned(),
                safe_cell(&context.version, raw).into_owned(),
                context.dataset.as_str().to_owned(),
                safe_cell(&context.manifest, raw).into_owned(),
                row.line.to_string(),
                safe_cell(&row.source_ref, raw).into_owned(),
                row.status.as_str().to_owned(),
                row.errors.to_string(),
                row.warnings.to_string(),
                safe_cell(&row.labels.join(";"), raw).into_owned(),
                row.boxes.to_string(),
                if row.used { "yes" } else { "no" }.to_owned(),
            ];
            prop_assert_eq!(record.len(), IMAGES_HEADER.len());
            w.write_record(&record).unwrap();
            prop_assert_eq!(fast, w.into_inner().unwrap());
        }
    }
}

/// For the differential fuzz target only (the `fuzzing` feature, off by default): renders
/// `data` (whole lines) on the fast path and with the full analyzer, and panics when the bytes or
/// counts differ. `knobs` picks the options: bit 0 raw cells, bit 1 cells cut at 16 bytes, bits
/// 4-7 the issues listed per line.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn fast_path_agrees(data: &[u8], knobs: u8) {
    let options = ReportOptions {
        csv_raw: knobs & 1 == 1,
        max_cell_bytes: if knobs & 2 == 2 { 16 } else { 64 << 10 },
        analyze: AnalyzeOptions {
            max_issues_per_line: usize::from(knobs >> 4).max(1),
            max_line_bytes: 4096,
            ..AnalyzeOptions::default()
        },
        ..ReportOptions::default()
    };
    let Some((fast, full)) = both_paths(data, &options) else {
        return;
    };
    assert_eq!(fast.issues_csv, full.issues_csv, "issues.csv");
    assert_eq!(fast.images_csv, full.images_csv, "images.csv");
    assert_eq!(rendered_counts(&fast), rendered_counts(&full), "counts");
}

/// `data` (whole lines) rendered on the fast path and by the full analyzer, for the
/// differential checks; `None` when the fast path declines the block.
#[cfg(any(test, feature = "fuzzing"))]
fn both_paths(data: &[u8], options: &ReportOptions) -> Option<(RenderedBlock, RenderedBlock)> {
    let block = Block::new(0, 1, BlockKind::Lines(data.to_vec()));
    let context = ManifestContext {
        project: "p".into(),
        dataset: Dataset::Training,
        manifest: "m.json".into(),
        ..ManifestContext::default()
    };
    let keep = Keep {
        error_lines: true,
        csv: true,
        analysis: false,
        images: false,
    };
    let fast = render_lines::<()>(&block, &context, options, keep, None)?;
    let full = render_analysis(
        analyze_block(&block, &options.analyze),
        block.byte_len(),
        &context,
        options,
        keep,
    );
    Some((fast, full))
}

/// A block's counts as text, for comparing two renderings.
#[cfg(any(test, feature = "fuzzing"))]
fn rendered_counts<X>(r: &RenderedBlock<X>) -> String {
    let mut codes: Vec<String> = r
        .codes
        .iter()
        .enumerate()
        .flat_map(|(s, m)| m.iter().map(move |(c, a)| format!("{s} {c} {a:?}")))
        .collect();
    codes.sort();
    let mut labels: Vec<String> = r.labels.iter().map(|(l, a)| format!("{l} {a:?}")).collect();
    labels.sort();
    format!(
        "{:?}\n{codes:?}\n{labels:?}\n{:?}\n{}",
        r.stats, r.error_lines, r.bytes
    )
}

/// The fast path ([`render_lines`]) against the full analyzer ([`analyze_block`] then
/// [`render_analysis`]): the same bytes and counts on generated, edge and mutated lines.
#[cfg(test)]
mod differential {
    use super::*;
    use proptest::prelude::*;
    use rekcheck_testkit::generate::{Profile, Rng, generate_lines};

    /// Asserts that both paths agree on `data` (whole lines); the lines the fast path took.
    fn agree(data: &[u8], options: &ReportOptions) -> usize {
        let Some((fast, full)) = both_paths(data, options) else {
            return 0;
        };
        assert_eq!(
            String::from_utf8_lossy(&fast.issues_csv),
            String::from_utf8_lossy(&full.issues_csv),
            "issues.csv of {}",
            String::from_utf8_lossy(data)
        );
        assert_eq!(
            String::from_utf8_lossy(&fast.images_csv),
            String::from_utf8_lossy(&full.images_csv),
            "images.csv of {}",
            String::from_utf8_lossy(data)
        );
        assert_eq!(
            rendered_counts(&fast),
            rendered_counts(&full),
            "{}",
            String::from_utf8_lossy(data)
        );
        let mut scratch = fast::Scratch::default();
        let mut maps = ClassMaps::default();
        block_lines(1, data)
            .filter(|(_, l)| {
                fast::analyze(
                    l,
                    options.analyze.max_line_bytes,
                    options.analyze.max_issues_per_line,
                    &mut scratch,
                    &mut maps,
                )
                .is_some()
            })
            .count()
    }

    fn option_sets() -> Vec<ReportOptions> {
        let small = ReportOptions {
            max_cell_bytes: 12,
            analyze: AnalyzeOptions {
                max_issues_per_line: 2,
                max_line_bytes: 700,
                ..AnalyzeOptions::default()
            },
            ..ReportOptions::default()
        };
        let raw = ReportOptions {
            csv_raw: true,
            ..ReportOptions::default()
        };
        vec![ReportOptions::default(), small, raw]
    }

    const EDGE: &[&str] = &[
        "",
        "  \t",
        "\r",
        "{}",
        " { } ",
        "{}\r",
        "[]",
        "null",
        "{\"source-ref\":\"s3://b/a.jpg\",\"source-ref\":7}",
        "{\"source-ref\":7,\"source-ref\":\"s3://b/b.jpg\"}",
        "{\"errors\":null,\"warnings\":[],\"cl-errors\":[{\"code\":\"E\",\"message\":\"m\"}]}",
        "{\"errors\":\"oops\"}",
        "{\"errors\":[{\"code\":5}]}",
        "{\"errors\":[{\"code\":\"A\",\"code\":5}]}",
        "{\"errors\":[{\"code\":5,\"code\":\"A\",\"message\":1,\"x\":[1,{\"y\":null}]}]}",
        "{\"errors\":[{\"code\":\"A\"}],\"errors\":[{\"code\":\"B\",\"message\":\"=1+1\"}]}",
        "{\"errors\":[\"str\"]}",
        "{\"errors\":[{\"code\":\"REKCHECK_X\",\"message\":\"own\"}]}",
        "{\"errors\":[{\"code\":\"REKCHECK_MALFORMED_ISSUE\",\"message\":\"\"}]}",
        "{\"warnings\":[{\"code\":\"WARNING_NO_ANNOTATIONS\",\"message\":\"a,b\\\"c\"}]}",
        "{\"bb\":{\"annotations\":[{\"class_id\":0},\"x\",{\"class_id\":1,\"errors\":[{\"code\":\"E\"}]}]},\"bb-metadata\":{\"class-map\":{\"0\":\"a\",\"1\":\"b\"}}}",
        "{\"bb-metadata\":{\"class-map\":{\"0\":\"a\",\"1\":\"b\",\"01\":\"c\"}},\"bb\":{\"annotations\":[{\"class_id\":1.0},{\"class_id\":\"01\"},{\"class_id\":-0},{\"class_id\":1.5},{\"class_id\":true},{\"class_id\":[1]},{}]}}",
        "{\"bb\":{\"annotations\":[{\"class_id\":0,\"errors\":[{\"code\":\"A\"}]}],\"annotations\":[{\"class_id\":1}],\"annotations\":{\"x\":1}},\"bb-metadata\":{\"class-map\":{\"0\":\"a\",\"1\":\"b\"}}}",
        "{\"bb\":{\"errors\":[{\"code\":\"ERROR_UNSUPPORTED_USE_CASE_TYPE\"}]},\"bb-metadata\":{},\"cc\":1,\"cc-metadata\":{\"class-name\":\"x\"}}",
        "{\"bb\":{\"errors\":[{\"code\":\"ERROR_UNSUPPORTED_USE_CASE_TYPE\"}]},\"bb-metadata\":{}}",
        "{\"m\":[1,0,8,\"8\",1.0,null],\"m-metadata\":{\"class-map\":{\"1\":\"bicycle\",\"0\":\"person\",\"8\":\"clothing\"}}}",
        "{\"a\":0,\"a-metadata\":{\"class-name\":\"x\",\"class-name\":null},\"a-metadata\":{\"class-name\":\"y\",\"errors\":[{\"code\":\"E\"}]}}",
        "{\"a\":0,\"a\":1,\"a-metadata\":{\"class-name\":\"-x\"},\"b\":\"s\",\"b-metadata\":{\"class-name\":\"-x\"}}",
        "{\"-metadata\":{\"class-name\":\"e\"},\"\":null,\"errors-metadata\":{\"errors\":[{\"code\":\"E\"}]}}",
        "{\"a-metadata\":[1],\"a-metadata\":\"x\",\"a\":{\"nested\":{\"errors\":[{\"code\":\"IGNORED\"}]}}}",
        "{\"n\":1e400}",
        "{\"n\":-}",
        "{\"n\":01}",
        "{\"n\":1.}",
        "{\"n\":123456789012345678901234567890}",
        "{\"bb\":{\"annotations\":[{\"class_id\":123456789012345678901234567890}]}}",
        "{\"bb\":{\"annotations\":[{\"class_id\":9223372036854775808}]},\"bb-metadata\":{\"class-map\":{\"9223372036854775807\":\"m\"}}}",
        "{\"a\":\"\u{1}\"}",
        "{\"a\":\"caf\u{e9}\",\"source-ref\":\"s3://b/\u{e9}.jpg\"}",
        "{\"a\":tru}",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{} {}",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        "{\"source\\u002dref\":\"x\"}",
        "{\"bb\":{\"annotations\":[{\"class_id\":0}]},\"bb-metadata\":{\"class-map\":{\"0\":\"x\\ud800\"}}}",
        "\u{feff}{}",
    ];

    #[test]
    fn edge_lines_agree_alone_and_together() {
        for options in option_sets() {
            for line in EDGE {
                agree(line.as_bytes(), &options);
                agree(format!("{line}\n").as_bytes(), &options);
            }
            agree(EDGE.join("\n").as_bytes(), &options);
        }
    }

    const SNIPPETS: &[&str] = &[
        "\"errors\":null,",
        "\"cl-errors\":[{\"code\":\"X\",\"code\":5}],",
        "\"warnings\":[{\"code\":\"WARNING_X\",\"message\":\"=m\"}],",
        "\"class_id\":1.0,",
        "\"class_id\":\"01\",",
        "\"annotations\":[1,{\"class_id\":2}],",
        "\"source-ref\":7,",
        "\"a-metadata\":{\"class-name\":\"=x\"},",
        "\"errors\":[{\"code\":\"ERROR_UNSUPPORTED_USE_CASE_TYPE\"}],",
        "\"x\":1e5,",
        "\"class-map\":{\"0\":\"z\",\"0\":\"y\"},",
        "\"s\":\"a,\\\"b\\u0041\",",
        "\"y\":[{},[],\"\"],",
    ];
    const BYTES: &[u8] = b"\"\\{}[],:01.e- nx\t\x01\xc3";

    /// `line` with `n` random mutations: a byte replaced, a snippet inserted, a range removed.
    fn mutate(rng: &mut Rng, line: &mut Vec<u8>, n: u64) {
        for _ in 0..n {
            let at = usize::try_from(rng.below(line.len() as u64 + 1)).unwrap();
            match rng.below(3) {
                0 if at < line.len() => {
                    line[at] = BYTES[usize::try_from(rng.below(BYTES.len() as u64)).unwrap()];
                }
                1 => {
                    let s = SNIPPETS[usize::try_from(rng.below(SNIPPETS.len() as u64)).unwrap()];
                    // After a `{` when there is one near, so that the snippet is often a key.
                    let at = line[..at]
                        .iter()
                        .rposition(|&b| b == b'{')
                        .map_or(at, |i| i + 1);
                    line.splice(at..at, s.bytes());
                }
                _ => {
                    let end = (at + usize::try_from(rng.below(8)).unwrap()).min(line.len());
                    line.drain(at..end);
                }
            }
        }
    }

    fn generated(profile: Profile, seed: u64, lines: u64) -> Vec<u8> {
        let mut out = Vec::new();
        generate_lines(&mut out, lines, &profile.options(seed)).unwrap();
        out
    }

    #[test]
    fn generated_lines_agree_and_nearly_all_take_the_fast_path() {
        for profile in [Profile::Clean, Profile::Failed] {
            let data = generated(profile, 11, 3000);
            let fast = agree(&data, &ReportOptions::default());
            assert!(fast >= 2990, "{fast} of 3000 lines on the fast path");
            for options in option_sets() {
                agree(&data, &options);
            }
        }
    }

    /// A line of many boxes, issue items or class ids goes to the fallback past
    /// [`fast::MAX_FAST_ENTRIES`] (the scratch would hold an entry per item: 16 lines of 15 MB
    /// of `{}` boxes took 390 MB), and agrees either side of the bound.
    #[test]
    fn lines_past_the_entry_bound_take_the_fallback_and_agree() {
        let meta = r#""a-metadata":{"class-map":{"0":"cat"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2020-01-01T00:00:00","job-name":"j"}"#;
        let boxes = |n: usize| {
            let b = vec![r#"{"class_id":0,"left":1,"top":1,"width":2,"height":2}"#; n].join(",");
            format!(
                r#"{{"source-ref":"s3://b/x.jpg","a":{{"annotations":[{b}],"image_size":[{{"width":9,"height":9,"depth":3}}]}},{meta}}}"#
            )
        };
        let issues = |n: usize| {
            let e = vec![r#"{"code":"ERROR_X","message":"m"}"#; n].join(",");
            format!(r#"{{"source-ref":"s3://b/y.jpg","errors":[{e}]}}"#)
        };
        let ids = |n: usize| {
            let i = vec!["0"; n].join(",");
            format!(r#"{{"source-ref":"s3://b/z.jpg","a":[{i}],{meta}}}"#)
        };
        let options = ReportOptions {
            analyze: AnalyzeOptions {
                max_issues_per_line: 100_000,
                ..AnalyzeOptions::default()
            },
            ..ReportOptions::default()
        };
        for make in [&boxes as &dyn Fn(usize) -> String, &issues, &ids] {
            let within = make(fast::MAX_FAST_ENTRIES);
            let past = make(fast::MAX_FAST_ENTRIES + 1);
            assert_eq!(agree(format!("{within}\n").as_bytes(), &options), 1);
            assert_eq!(agree(format!("{past}\n").as_bytes(), &options), 0);
        }
    }

    #[test]
    fn mutated_lines_agree() {
        let mut rng = Rng::new(5);
        let options = option_sets();
        for round in 0..400u64 {
            let profile = if round % 2 == 0 {
                Profile::Clean
            } else {
                Profile::Failed
            };
            let data = generated(profile, round, 50);
            let mut out = Vec::new();
            for line in data.split(|&b| b == b'\n') {
                let mut line = line.to_vec();
                let n = rng.below(4);
                mutate(&mut rng, &mut line, n);
                line.retain(|&b| b != b'\n');
                out.extend_from_slice(&line);
                out.push(b'\n');
            }
            agree(&out, &options[usize::try_from(round % 3).unwrap()]);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_mutation_of_generated_lines_agrees(
            seed in any::<u64>(),
            failed in any::<bool>(),
            mutations in 0u64..6,
            which in 0usize..3,
        ) {
            let profile = if failed { Profile::Failed } else { Profile::Clean };
            let data = generated(profile, seed, 8);
            let mut rng = Rng::new(seed);
            let mut out = Vec::new();
            for line in data.split(|&b| b == b'\n') {
                let mut line = line.to_vec();
                mutate(&mut rng, &mut line, mutations);
                line.retain(|&b| b != b'\n');
                out.extend_from_slice(&line);
                out.push(b'\n');
            }
            agree(&out, &option_sets()[which]);
        }
    }
}
