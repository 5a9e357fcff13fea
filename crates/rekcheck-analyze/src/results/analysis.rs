//! One block of validation lines -> typed rows, issues and counts; a whole reader through the
//! analysis threads.

use std::io::{self, Read};
use std::ops::{Add, AddAssign};

use crate::codes::REKCHECK_MALFORMED_ISSUE;
use crate::model::{ImageRow, ImageStatus, Issue};
use crate::reading::engine::{Budget, in_flight, ordered_par_map_within};
use crate::reading::framing::{
    Block, BlockKind, BlockReader, DEFAULT_BLOCK_BYTES, DEFAULT_MAX_LINE_BYTES, Framer, block_lines,
};
use crate::results::line::{
    ClassMaps, DEFAULT_MAX_ISSUES_PER_LINE, LineOutcome, analyze_line_with, oversized_line,
};

/// Default of [`AnalyzeOptions::max_lines`]: four times Rekognition's limit of 250,000 lines
/// per manifest ([`crate::MAX_MANIFEST_LINES`]).
pub const DEFAULT_MAX_LINES: u64 = 1_000_000;
/// Default of [`AnalyzeOptions::in_flight_bytes`]: 16 MiB.
pub const DEFAULT_IN_FLIGHT_BYTES: usize = 16 << 20;

/// How lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalyzeOptions {
    /// Lines longer than this are unparsable (and skipped without being buffered). Default
    /// [`DEFAULT_MAX_LINE_BYTES`] (16 MiB).
    pub max_line_bytes: usize,
    /// The target size of the blocks handed to the analysis threads. Default
    /// [`DEFAULT_BLOCK_BYTES`] (1 MiB); a block also ends after [`crate::MAX_BLOCK_LINES`] lines.
    pub block_bytes: usize,
    /// Most issues listed for one line; the others are counted in the line's `errors` and
    /// `warnings` and summed up in one `REKCHECK_TOO_MANY_ISSUES` row. Default 1,000.
    pub max_issues_per_line: usize,
    /// Most lines analyzed per manifest; the lines after are read and counted but not analyzed,
    /// and one manifest-level `REKCHECK_MAX_LINES` error gives their number. Default
    /// [`DEFAULT_MAX_LINES`] (1,000,000).
    pub max_lines: u64,
    /// Most bytes of blocks being analyzed or waiting to be written, whatever the number of
    /// threads (a single block bigger than this, a long line, still goes through alone).
    /// Default [`DEFAULT_IN_FLIGHT_BYTES`] (16 MiB).
    pub in_flight_bytes: usize,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            block_bytes: DEFAULT_BLOCK_BYTES,
            max_issues_per_line: DEFAULT_MAX_ISSUES_PER_LINE,
            max_lines: DEFAULT_MAX_LINES,
            in_flight_bytes: DEFAULT_IN_FLIGHT_BYTES,
        }
    }
}

impl AnalyzeOptions {
    /// A framer for these options.
    pub fn framer(&self) -> Framer {
        Framer::new(self.block_bytes, self.max_line_bytes)
    }
}

/// Line counts of a manifest (or of a part of one). Values add, so rayon can reduce them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Stats {
    /// Physical lines: `blank + unparsable + ok + warning + error`.
    pub lines: u64,
    /// Empty or whitespace-only lines.
    pub blank: u64,
    /// Lines that are not a JSON object.
    pub unparsable: u64,
    /// Lines without issues.
    pub ok: u64,
    /// Lines with warnings only.
    pub warning: u64,
    /// Lines with at least one error.
    pub error: u64,
    /// Error issues, all levels.
    pub error_issues: u64,
    /// Warning issues, all levels.
    pub warning_issues: u64,
    /// Bounding boxes.
    pub boxes: u64,
    /// Lines in error that Rekognition still trains on ([`crate::is_used`]): their errors are
    /// on bounding boxes (only the boxes are dropped, tm-debugging-scope-json-line) or on an
    /// attribute of an unsupported type beside a valid one. Counted in `error` too.
    pub error_used: u64,
    /// Lines Rekognition trains on (`used` = `yes` in `images.csv`, [`crate::is_used`]): lines
    /// without issues, and lines with warnings or errors that drop no more than boxes or an
    /// unsupported attribute. Counted in `ok`, `warning` or `error` too.
    pub used: u64,
    /// Lines that carry validation results: at least one issue read from an `errors`,
    /// `warnings`, `cl-errors` or `cl-warnings` key at any level (any code but rekcheck's own
    /// `REKCHECK_` codes, except `REKCHECK_MALFORMED_ISSUE`, which is a malformed one).
    pub with_results: u64,
}

impl Add for Stats {
    type Output = Stats;
    fn add(self, o: Stats) -> Stats {
        Stats {
            lines: self.lines + o.lines,
            blank: self.blank + o.blank,
            unparsable: self.unparsable + o.unparsable,
            ok: self.ok + o.ok,
            warning: self.warning + o.warning,
            error: self.error + o.error,
            error_issues: self.error_issues + o.error_issues,
            warning_issues: self.warning_issues + o.warning_issues,
            boxes: self.boxes + o.boxes,
            error_used: self.error_used + o.error_used,
            used: self.used + o.used,
            with_results: self.with_results + o.with_results,
        }
    }
}

impl AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        *self = *self + o;
    }
}

impl std::iter::Sum for Stats {
    fn sum<I: Iterator<Item = Stats>>(iter: I) -> Stats {
        iter.fold(Stats::default(), Add::add)
    }
}

impl Stats {
    pub(crate) fn count(&mut self, outcome: &LineOutcome) {
        self.lines += 1;
        match outcome {
            LineOutcome::Blank => self.blank += 1,
            LineOutcome::Image { row, issues } => {
                self.count_image(
                    row.status,
                    (row.errors, row.warnings, row.boxes),
                    row.used,
                    issues.iter().any(is_validation_result),
                );
            }
        }
    }

    /// Counts one image row (not its physical line): `counts` are its errors, warnings and
    /// boxes, `with_results` whether an issue was read from validation results.
    pub(crate) fn count_image(
        &mut self,
        status: ImageStatus,
        (errors, warnings, boxes): (u32, u32, u32),
        used: bool,
        with_results: bool,
    ) {
        match status {
            ImageStatus::Ok => self.ok += 1,
            ImageStatus::Warning => self.warning += 1,
            ImageStatus::Error => self.error += 1,
            ImageStatus::Unparsable => self.unparsable += 1,
        }
        self.error_issues += u64::from(errors);
        self.warning_issues += u64::from(warnings);
        self.boxes += u64::from(boxes);
        if used {
            self.used += 1;
            if status == ImageStatus::Error {
                self.error_used += 1;
            }
        }
        if with_results {
            self.with_results += 1;
        }
    }

    /// rekcheck's own counts in Rekognition's terms (see the `summary.csv` documentation):
    /// `(total, valid, invalid, ignored)`: valid lines are the used ones, invalid lines are
    /// blank, unparsable or in error and not used, ignored lines have warnings only and are not
    /// used.
    pub fn rekognition_terms(&self) -> (u64, u64, u64, u64) {
        let invalid = self.blank + self.unparsable + self.error.saturating_sub(self.error_used);
        let ignored = self.lines.saturating_sub(self.used).saturating_sub(invalid);
        (self.lines, self.used, invalid, ignored)
    }
}

/// Whether an issue was read from the validation results Rekognition wrote (rather than found
/// by rekcheck in a line that has none).
fn is_validation_result(i: &Issue) -> bool {
    !i.code.starts_with("REKCHECK_") || i.code == REKCHECK_MALFORMED_ISSUE
}

/// The typed result of one block: its image rows, its issues and its counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct BlockAnalysis {
    /// One row per non-blank line, in line order.
    pub rows: Vec<ImageRow>,
    /// The issues, in line order.
    pub issues: Vec<Issue>,
    /// The counts.
    pub stats: Stats,
    /// The frame and boxes of the lines with issues and boxes, in line order; filled only when
    /// [`ReportWriter::keep_image_geometry`](crate::ReportWriter::keep_image_geometry) asks for
    /// them (for the HTML report's drawings).
    pub geometry: Vec<crate::results::geometry::ImageGeometry>,
}

impl BlockAnalysis {
    /// Adds to `geometry` the frame and boxes of each line of `block` whose row has an issue
    /// and at least one box (the lines the HTML report may draw) and no drawing yet. Called
    /// again by `check` after its dataset rules turned ok lines into failing ones (a repeated
    /// `source-ref`), with the block kept until then.
    pub(crate) fn attach_geometry(&mut self, block: &Block) {
        let BlockKind::Lines(data) = &block.kind else {
            return;
        };
        let mut had = std::mem::take(&mut self.geometry).into_iter().peekable();
        let mut rows = self.rows.iter().peekable();
        for (n, line) in block_lines(block.first_line, data) {
            while rows.peek().is_some_and(|r| r.line < n) {
                rows.next();
            }
            let Some(row) = rows.peek() else { break };
            if row.line != n
                || row.boxes == 0
                || matches!(row.status, ImageStatus::Unparsable | ImageStatus::Ok)
            {
                continue;
            }
            while let Some(g) = had.next_if(|g| g.line < n) {
                self.geometry.push(g);
            }
            if let Some(g) = had.next_if(|g| g.line == n) {
                self.geometry.push(g);
            } else if let Some(g) = crate::results::geometry::image_geometry(n, line) {
                self.geometry.push(g);
            }
        }
        self.geometry.extend(had);
    }

    /// An empty analysis with room for a row per line of `block` (growing the rows vector
    /// line by line was 3 % of the instructions).
    pub(crate) fn with_room(block: &Block) -> BlockAnalysis {
        BlockAnalysis {
            rows: Vec::with_capacity(usize::try_from(block.line_count()).unwrap_or(0)),
            ..BlockAnalysis::default()
        }
    }
}

/// Analyzes every line of a block.
pub fn analyze_block(block: &Block, options: &AnalyzeOptions) -> BlockAnalysis {
    let mut out = BlockAnalysis::with_room(block);
    let mut take = |outcome: LineOutcome| {
        out.stats.count(&outcome);
        if let LineOutcome::Image { row, issues } = outcome {
            out.rows.push(row);
            out.issues.extend(issues);
        }
    };
    match &block.kind {
        BlockKind::Lines(data) => {
            let mut class_maps = ClassMaps::default();
            for (n, line) in block_lines(block.first_line, data) {
                take(analyze_line_with(
                    n,
                    line,
                    options.max_line_bytes,
                    options.max_issues_per_line,
                    &mut class_maps,
                ));
            }
        }
        BlockKind::Oversized { bytes } => {
            take(oversized_line(
                block.first_line,
                *bytes,
                options.max_line_bytes,
            ));
        }
    }
    out
}

/// Analyzes a whole manifest held in memory, as [`Analyzer::analyze_reader`] would read it
/// (a leading byte order mark removed), on the calling thread: one analysis for all its lines.
/// Lines longer than [`AnalyzeOptions::max_line_bytes`] are unparsable rows, as when read.
///
/// # Example
///
/// ```
/// use rekcheck_analyze::{AnalyzeOptions, ImageStatus, analyze_slice};
///
/// let manifest = b"\xEF\xBB\xBF{\"source-ref\":\"s3://b/1.jpg\"}\nnot json\n";
/// let analysis = analyze_slice(manifest, &AnalyzeOptions::default());
/// assert_eq!(analysis.rows[0].status, ImageStatus::Ok);
/// assert_eq!(analysis.rows[1].status, ImageStatus::Unparsable);
/// ```
pub fn analyze_slice(bytes: &[u8], options: &AnalyzeOptions) -> BlockAnalysis {
    let mut out = BlockAnalysis::default();
    let mut framer = options.framer();
    let mut blocks = Vec::new();
    framer.push(bytes, &mut blocks);
    framer.finish(&mut blocks);
    for block in blocks {
        let a = analyze_block(&block, options);
        out.rows.extend(a.rows);
        out.issues.extend(a.issues);
        out.stats += a.stats;
    }
    out
}

/// The analysis threads, started once: reads whole manifests in parallel, in bounded memory,
/// and hands back their rows and issues in line order.
///
/// # Example
///
/// ```
/// use rekcheck_analyze::{Analyzer, ImageStatus, Stats};
///
/// let manifest = b"{\"source-ref\":\"s3://b/1.jpg\"}\nnot json\n\n";
/// let analyzer = Analyzer::new(2)?;
/// let mut stats = Stats::default();
/// analyzer.analyze_reader(&manifest[..], |block| stats += block.stats)?;
/// assert_eq!((stats.lines, stats.ok, stats.unparsable, stats.blank), (3, 1, 1, 1));
///
/// // Or pull one image at a time, with its issues.
/// let statuses: Vec<ImageStatus> = analyzer
///     .images(&manifest[..])
///     .map(|image| image.map(|i| i.row.status))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(statuses, [ImageStatus::Ok, ImageStatus::Unparsable]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Analyzer {
    pool: rayon::ThreadPool,
    options: AnalyzeOptions,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("threads", &self.pool.current_num_threads())
            .field("options", &self.options)
            .finish()
    }
}

impl Analyzer {
    /// Starts `threads` analysis threads (0: one per core), with the default
    /// [`AnalyzeOptions`].
    ///
    /// # Errors
    ///
    /// [`Error::Threads`](crate::Error::Threads) when the threads cannot be started.
    pub fn new(threads: usize) -> Result<Analyzer, crate::Error> {
        Ok(Analyzer {
            pool: crate::reading::engine::thread_pool(threads)?,
            options: AnalyzeOptions::default(),
        })
    }

    /// Reads lines with `options`.
    #[must_use]
    pub fn with_options(mut self, options: AnalyzeOptions) -> Analyzer {
        self.options = options;
        self
    }

    /// The options lines are read with.
    pub fn options(&self) -> &AnalyzeOptions {
        &self.options
    }

    /// Streams `reader` through the analysis threads and hands each block's analysis to `sink`,
    /// in line order, on the calling thread. Memory stays bounded: only a few blocks are in
    /// flight.
    ///
    /// # Errors
    ///
    /// The first error `reader` returns; the blocks before it have been handed to `sink`.
    /// Nothing in the bytes themselves is an error: a line that is not valid JSON is an
    /// [`ImageStatus::Unparsable`](crate::ImageStatus::Unparsable) row with an issue.
    pub fn analyze_reader<R, F>(&self, reader: R, mut sink: F) -> io::Result<()>
    where
        R: Read,
        F: FnMut(BlockAnalysis),
    {
        let options = &self.options;
        let blocks = BlockReader::new(reader, options.framer());
        ordered_par_map_within(
            &self.pool,
            blocks,
            budget(&self.pool, options),
            block_weight,
            |a: &BlockAnalysis| analysis_weight(a),
            |b| analyze_block(&b, options),
            |a| {
                sink(a);
                Ok(())
            },
        )
    }

    /// The images of the manifest `reader` holds, one per non-blank line in line order, each
    /// with its issues: a pull-style iterator over [`Analyzer::analyze_reader`]'s results (blank
    /// lines have no row; [`Images::stats`] counts them). Blocks are analyzed a few at a time
    /// on the analysis threads as the iterator is drawn.
    pub fn images<R: Read>(&self, reader: R) -> Images<'_, R> {
        Images {
            analyzer: self,
            blocks: BlockReader::new(reader, self.options.framer()),
            ready: std::collections::VecDeque::new(),
            stats: Stats::default(),
            error: None,
            done: false,
        }
    }
}

/// One image (a non-blank line) with its issues, from [`Analyzer::images`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Image {
    /// The line's row, as in `images.csv`.
    pub row: ImageRow,
    /// The line's issues, at every level, in the order they were read.
    pub issues: Vec<Issue>,
}

/// The iterator of [`Analyzer::images`].
pub struct Images<'a, R> {
    analyzer: &'a Analyzer,
    blocks: BlockReader<R>,
    ready: std::collections::VecDeque<Image>,
    stats: Stats,
    /// The reader's error, returned once the images before it have been.
    error: Option<io::Error>,
    done: bool,
}

impl<R> std::fmt::Debug for Images<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Images")
            .field("stats", &self.stats)
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl<R> Images<'_, R> {
    /// The counts of the lines read so far (blank lines included); complete once the iterator
    /// has returned `None`.
    pub fn stats(&self) -> Stats {
        self.stats
    }
}

impl<R: Read> Iterator for Images<'_, R> {
    type Item = io::Result<Image>;

    fn next(&mut self) -> Option<io::Result<Image>> {
        use rayon::prelude::*;
        loop {
            if let Some(image) = self.ready.pop_front() {
                return Some(Ok(image));
            }
            if let Some(e) = self.error.take() {
                return Some(Err(e));
            }
            if self.done {
                return None;
            }
            // A few blocks per thread, and no more bytes than the in-flight budget.
            let options = &self.analyzer.options;
            let most = in_flight(&self.analyzer.pool);
            let mut batch = Vec::with_capacity(most);
            let mut bytes = 0usize;
            while batch.len() < most && (batch.is_empty() || bytes < options.in_flight_bytes) {
                match self.blocks.next() {
                    Some(Ok(block)) => {
                        bytes = bytes.saturating_add(block_weight(&block));
                        batch.push(block);
                    }
                    Some(Err(e)) => {
                        // Returned after the images of the blocks before it.
                        self.error = Some(e);
                        self.done = true;
                        break;
                    }
                    None => {
                        self.done = true;
                        break;
                    }
                }
            }
            let analyses: Vec<BlockAnalysis> = self.analyzer.pool.install(|| {
                batch
                    .par_iter()
                    .map(|b| analyze_block(b, options))
                    .collect()
            });
            for a in analyses {
                self.stats += a.stats;
                let mut issues = a.issues.into_iter().peekable();
                for row in a.rows {
                    let mut mine = Vec::new();
                    while let Some(i) = issues.next_if(|i| i.line.is_none_or(|l| l <= row.line)) {
                        mine.push(i);
                    }
                    self.ready.push_back(Image { row, issues: mine });
                }
            }
        }
    }
}

/// What may be in flight: a few blocks per thread, and [`AnalyzeOptions::in_flight_bytes`].
pub(crate) fn budget(pool: &rayon::ThreadPool, options: &AnalyzeOptions) -> Budget {
    Budget {
        items: in_flight(pool),
        bytes: options.in_flight_bytes,
    }
}

/// About the bytes a block takes in memory while it is analyzed: its own, and a row, its
/// issues and their CSV per line (short lines cost more than their bytes).
pub(crate) fn block_weight(b: &Block) -> usize {
    const PER_LINE: usize = 512;
    match &b.kind {
        BlockKind::Lines(data) => data.len().saturating_add(
            usize::try_from(b.line_count())
                .unwrap_or(usize::MAX)
                .saturating_mul(PER_LINE),
        ),
        BlockKind::Oversized { .. } => PER_LINE,
    }
}

/// About the bytes a block's analysis holds in memory (rows and issues, with their strings).
pub(crate) fn analysis_weight(a: &BlockAnalysis) -> usize {
    let rows: usize = a
        .rows
        .iter()
        .map(|r| {
            std::mem::size_of::<ImageRow>()
                + r.source_ref.len()
                + r.labels.iter().map(|l| l.len() + 32).sum::<usize>()
        })
        .sum();
    let issues: usize = a
        .issues
        .iter()
        .map(|i| std::mem::size_of::<Issue>() + i.code.len() + i.message.len())
        .sum();
    // The drawings kept for the HTML report (of every box line under `check`).
    let geometry: usize = a
        .geometry
        .iter()
        .map(|g| {
            std::mem::size_of::<crate::results::geometry::ImageGeometry>()
                + g.boxes
                    .iter()
                    .map(|b| {
                        std::mem::size_of::<crate::results::geometry::BoxGeometry>()
                            + b.label.len()
                            + b.attribute.len()
                    })
                    .sum::<usize>()
        })
        .sum();
    rows + issues + geometry
}
