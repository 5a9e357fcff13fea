//! The dataset-level rules of `rekcheck check`: duplicate `source-ref`s, image buckets, invalid
//! rows, label counts, label overlap between training and testing, and the auto-split.
//!
//! Lines are checked in parallel ([`crate::check_line`]); the rules that need every line run on
//! the single ordered writer thread through a [`CheckTally`], one per dataset.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::codes::{
    REKCHECK_DUPLICATE_SOURCE_REF, REKCHECK_IMAGE_IN_TRAINING_AND_TESTING,
    REKCHECK_LABEL_MINIMUM_READING, REKCHECK_LABEL_OVERLAP_READING, REKCHECK_OTHER_USE_CASE,
    documented,
};
use crate::error::Error;
use crate::model::{ImageRow, ImageStatus, Issue, Level, Severity};
use crate::output::report::{ManifestContext, ManifestReport, ReportWriter};
use crate::reading::framing::{Block, BlockKind, block_lines};
use crate::results::analysis::{BlockAnalysis, Stats};
use crate::results::fast::RUN_LINES;
use crate::results::line::{DEFAULT_MAX_ISSUES_PER_LINE, LineOutcome};
use crate::rules::validate::{
    CheckClassMaps, CheckOptions, KeyBuildHasher, LineFacts, PackedKey, check_read_line, oversized,
    read_line,
};

/// Largest manifest Rekognition reads (1 GB).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 30;
/// Most lines in a manifest, blank lines included: "Maximum of 250,000 dataset objects as lines
/// in a manifest", and "Blank/invalid lines are also counted as dataset objects"
/// (md-create-manifest-file-validation-rules).
pub const MAX_MANIFEST_LINES: u64 = 250_000;
/// Most distinct labels.
pub const MAX_LABELS: usize = 250;
/// Fewest distinct labels for image-level classification (see the code table's note).
pub const MIN_LABELS_CLASSIFICATION: usize = 2;
/// Fewest distinct labels for object detection.
pub const MIN_LABELS_DETECTION: usize = 1;
/// Fewest valid images a label needs for the automatic 80/20 split (see the code table's note).
pub const MIN_IMAGES_FOR_AUTOSPLIT: u64 = 5;
/// Least label overlap between training and testing, as a share of the training labels:
/// "Overlaps are (common labels between test and train)/(train labels)"
/// (md-create-manifest-file-validation-rules). tm-debugging-aggregate-errors words it as a
/// share of the testing labels; that reading is stated in the message, or given as a
/// [`REKCHECK_LABEL_OVERLAP_READING`] warning, when the two disagree.
pub const MIN_LABEL_OVERLAP: f64 = 0.5;

/// What the dataset rules need from a checked block: each row's facts, and the block's counts
/// (added up in the analysis threads, so that the one writer thread only merges them).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct CheckedLines {
    /// One per row of the block's analysis.
    pub facts: Vec<LineFacts>,
    /// Images per bucket.
    buckets: FxHashMap<String, u64>,
    /// Valid images per label: image-level lines, bounding-box lines.
    labels: [FxHashMap<String, u64>; 2],
    /// Valid lines per use case.
    lines: [u64; 2],
}

/// The labels of a used row that Rekognition trains on: all of them but those whose every box
/// is dropped ([`LineFacts::dropped`]).
fn used_labels<'r>(row: &'r ImageRow, f: &LineFacts) -> impl Iterator<Item = &'r String> {
    row.labels
        .iter()
        .enumerate()
        .filter(|(i, _)| *i >= 64 || f.dropped & (1u64 << i) == 0)
        .map(|(_, l)| l)
}

/// Bit `i` set when every box of `row.labels[i]` has an annotation-level error, so that a used
/// line does not give Rekognition that label. Only the first 64 labels are tracked: a line with
/// more breaks the 50-labels-per-image limit and is not used.
fn dropped_labels(row: &ImageRow, issues: &[Issue]) -> u64 {
    if !row.used || row.errors == 0 {
        return 0;
    }
    let mut mask = 0u64;
    let mut bad: Vec<(&str, u32)> = Vec::new();
    for (i, (label, boxes)) in row.labels.iter().zip(&row.label_boxes).enumerate().take(64) {
        if *boxes == 0 {
            continue;
        }
        bad.clear();
        bad.extend(
            issues
                .iter()
                .filter(|x| {
                    x.severity == Severity::Error
                        && x.level == Level::Annotation
                        && *x.label == **label
                })
                .filter_map(|x| x.annotation.map(|a| (&*x.attribute, a))),
        );
        bad.sort_unstable();
        bad.dedup();
        if bad.len() >= *boxes as usize {
            mask |= 1 << i;
        }
    }
    mask
}

/// The use cases of a valid row, as indices into the per-use-case counts.
fn cases(f: &LineFacts) -> impl Iterator<Item = usize> {
    [f.use_cases.classification, f.use_cases.detection]
        .into_iter()
        .enumerate()
        .filter_map(|(i, on)| on.then_some(i))
}

/// Checks every line of a block: the rows and issues, and what the dataset rules need.
pub fn check_block(block: &Block, options: &CheckOptions<'_>) -> (BlockAnalysis, CheckedLines) {
    check_block_with(block, options, DEFAULT_MAX_ISSUES_PER_LINE)
}

/// [`check_block`], listing at most `max_issues` issues per line.
pub(crate) fn check_block_with(
    block: &Block,
    options: &CheckOptions<'_>,
    max_issues: usize,
) -> (BlockAnalysis, CheckedLines) {
    let mut out = BlockAnalysis::with_room(block);
    let mut facts = Vec::with_capacity(out.rows.capacity());
    let mut take = |outcome: LineOutcome, mut f: LineFacts| {
        out.stats.count(&outcome);
        if let LineOutcome::Image { row, issues } = outcome {
            f.dropped = dropped_labels(&row, &issues);
            out.rows.push(row);
            out.issues.extend(issues);
            facts.push(f);
        }
    };
    match &block.kind {
        BlockKind::Lines(data) => {
            let mut class_maps = CheckClassMaps::default();
            // A run of lines is scanned, then checked: the scanner's code and the rules' code
            // each stay in the instruction cache across the run (see `read_line`).
            let mut lines = block_lines(block.first_line, data);
            let mut run = Vec::with_capacity(RUN_LINES);
            loop {
                run.extend(
                    lines
                        .by_ref()
                        .take(RUN_LINES)
                        .map(|(n, line)| (n, read_line(n, line, options, true))),
                );
                if run.is_empty() {
                    break;
                }
                for (n, read) in run.drain(..) {
                    let (outcome, f) =
                        check_read_line(n, read, options, max_issues, Some(&mut class_maps));
                    take(outcome, f);
                }
            }
        }
        BlockKind::Oversized { bytes } => {
            take(
                oversized(block.first_line, *bytes, options.max_line_bytes),
                LineFacts::default(),
            );
        }
    }
    let mut checked = CheckedLines {
        facts,
        ..CheckedLines::default()
    };
    for (row, f) in out.rows.iter().zip(&checked.facts) {
        if let Some(bucket) = f.bucket(row) {
            add(&mut checked.buckets, bucket, 1);
        }
        if row.used {
            for i in cases(f) {
                checked.lines[i] += 1;
                for label in used_labels(row, f) {
                    add(&mut checked.labels[i], label, 1);
                }
            }
        }
    }
    (out, checked)
}

/// Checks an input manifest read from `reader` the way Rekognition would validate it
/// (`rekcheck check`), adds its rows to `report`, and feeds the dataset-level rules in `tally`.
/// `progress` is called with the number of bytes of each block as it is written.
///
/// # Errors
///
/// As [`ReportWriter::add_manifest`].
///
/// # Example
///
/// ```
/// use rekcheck_analyze::{
///     CheckOptions, CheckTally, ManifestContext, ReportOptions, ReportWriter, check_manifest,
/// };
///
/// let check = CheckOptions { max_line_bytes: 1 << 20, images: None };
/// let mut report = ReportWriter::in_memory(ReportOptions::default())?;
/// let mut tally = CheckTally::new();
/// let manifest = b"{\"source-ref\":\"not a uri\"}\n";
/// let context = ManifestContext::default();
/// let checked = check_manifest(
///     &mut report, &context, &manifest[..], &check, &mut tally, &mut |_| {},
/// )?;
/// assert_eq!(checked.stats.error, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_manifest<'r, R: std::io::Read>(
    report: &'r mut ReportWriter,
    context: &ManifestContext,
    reader: R,
    check: &CheckOptions<'_>,
    tally: &mut CheckTally,
    progress: &mut dyn FnMut(u64),
) -> Result<&'r ManifestReport, Error> {
    report.add_manifest_with(
        context,
        reader,
        check.max_line_bytes,
        |block, options| check_block_with(block, check, options.max_issues_per_line),
        |analysis, checked| tally.absorb(analysis, &checked),
        progress,
    )
}

/// Like [`check_manifest`], for blocks framed elsewhere (e.g. from S3).
///
/// # Errors
///
/// As [`ReportWriter::add_manifest`].
pub fn check_manifest_blocks<'r, I>(
    report: &'r mut ReportWriter,
    context: &ManifestContext,
    blocks: I,
    check: &CheckOptions<'_>,
    tally: &mut CheckTally,
    progress: &mut dyn FnMut(u64),
) -> Result<&'r ManifestReport, Error>
where
    I: IntoIterator<Item = std::io::Result<crate::Block>>,
{
    report.add_manifest_blocks_with(
        context,
        blocks,
        |block, options| check_block_with(block, check, options.max_issues_per_line),
        |analysis, checked| tally.absorb(analysis, &checked),
        progress,
    )
}

/// Adds `n` to `key`'s count.
fn add(counts: &mut FxHashMap<String, u64>, key: &str, n: u64) {
    match counts.get_mut(key) {
        Some(c) => *c += n,
        None => {
            counts.insert(key.to_owned(), n);
        }
    }
}

/// Most distinct labels a [`CheckTally`] keeps per use case; the images of further labels are
/// counted in [`CheckTally::overflow`]. Far above Rekognition's [`MAX_LABELS`], so the label
/// rules still fire.
pub const MAX_TALLY_LABELS: usize = 10_000;
/// Most distinct buckets a [`CheckTally`] keeps; the images of further buckets are counted in
/// [`CheckTally::overflow`].
pub const MAX_TALLY_BUCKETS: usize = 1_000;

/// Adds `n` to `key`'s count, or takes it away when `take` (a count of 0 is no entry). A new key
/// is not added when `counts` holds `max` keys: `false` then.
fn merge(counts: &mut BTreeMap<String, u64>, key: &str, n: u64, take: bool, max: usize) -> bool {
    let full = counts.len() >= max;
    match counts.get_mut(key) {
        Some(c) if take => {
            *c = c.saturating_sub(n);
            if *c == 0 {
                counts.remove(key);
            }
        }
        Some(c) => *c += n,
        None if take => {}
        None if full => return false,
        None => {
            counts.insert(key.to_owned(), n);
        }
    }
    true
}

/// What the dataset-level rules know about one dataset's manifest, built line by line in order.
#[derive(Debug, Default)]
pub struct CheckTally {
    seen: HashMap<PackedKey, u64, KeyBuildHasher>,
    /// The training manifest's images (`source-ref` key, first line), when this is the testing
    /// manifest's tally (see [`CheckTally::compare_with_training`]).
    training: Option<HashMap<PackedKey, u64, KeyBuildHasher>>,
    buckets: BTreeMap<String, u64>,
    /// Valid images per label: image-level lines, bounding-box lines.
    labels: [BTreeMap<String, u64>; 2],
    /// Valid lines per use case: image-level, bounding boxes.
    lines: [u64; 2],
    /// Counts not kept: of buckets and labels over [`MAX_TALLY_BUCKETS`] and
    /// [`MAX_TALLY_LABELS`].
    overflow: u64,
}

impl CheckTally {
    /// Counts (images per bucket or label) that were not kept because the tally already held
    /// [`MAX_TALLY_BUCKETS`] buckets or [`MAX_TALLY_LABELS`] labels.
    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    /// An empty tally.
    pub fn new() -> CheckTally {
        CheckTally::default()
    }

    /// Makes this (the testing manifest's, still empty) tally flag every image that the
    /// training manifest holds too: "There should not be an overlap between test and training
    /// datasets" (md-create-manifest-file-validation-rules). The page names no error, so each
    /// such testing line gets a line-level [`REKCHECK_IMAGE_IN_TRAINING_AND_TESTING`] warning.
    /// The training tally's images are moved here (it needs them no more).
    pub fn compare_with_training(&mut self, training: &mut CheckTally) {
        self.training = Some(std::mem::take(&mut training.seen));
    }

    /// Applies the rules that need earlier lines (a repeated `source-ref`, an image also in
    /// training) to a block, in line order, and adds its counts. Returns whether the block's
    /// rows or issues changed.
    pub fn absorb(&mut self, a: &mut BlockAnalysis, checked: &CheckedLines) -> bool {
        for (bucket, n) in &checked.buckets {
            if !merge(&mut self.buckets, bucket, *n, false, MAX_TALLY_BUCKETS) {
                self.overflow += n;
            }
        }
        for i in 0..2 {
            self.lines[i] += checked.lines[i];
            for (label, n) in &checked.labels[i] {
                if !merge(&mut self.labels[i], label, *n, false, MAX_TALLY_LABELS) {
                    self.overflow += n;
                }
            }
        }
        let mut added: Vec<(u64, Issue)> = Vec::new();
        for (row, f) in a.rows.iter_mut().zip(&checked.facts) {
            if let Some(key) = f.key.map(PackedKey::of) {
                match self.seen.entry(key) {
                    Entry::Vacant(v) => {
                        v.insert(row.line);
                        if let Some(line) = self.training.as_ref().and_then(|t| t.get(&key)) {
                            row.warnings += 1;
                            a.stats.warning_issues += 1;
                            if row.status == ImageStatus::Ok {
                                row.status = ImageStatus::Warning;
                                a.stats.ok -= 1;
                                a.stats.warning += 1;
                            }
                            added.push((
                                row.line,
                                Issue {
                                    line: Some(row.line),
                                    source_ref: row.source_ref.as_str().into(),
                                    level: Level::Line,
                                    attribute: "".into(),
                                    annotation: None,
                                    label: "".into(),
                                    severity: Severity::Warning,
                                    code: REKCHECK_IMAGE_IN_TRAINING_AND_TESTING.to_owned(),
                                    message: format!(
                                        "The image is also on line {line} of the training manifest; training and testing should not share images (md-create-manifest-file-validation-rules)."
                                    ),
                                },
                            ));
                        }
                    }
                    Entry::Occupied(first) => {
                        let before = row.status;
                        let was_used = row.used;
                        row.errors += 1;
                        row.status = ImageStatus::Error;
                        row.used = false;
                        if was_used {
                            // No longer a used image: take back what it added.
                            for i in cases(f) {
                                self.lines[i] -= 1;
                                for label in used_labels(row, f) {
                                    merge(&mut self.labels[i], label, 1, true, usize::MAX);
                                }
                            }
                            a.stats.used -= 1;
                            if before == ImageStatus::Error {
                                a.stats.error_used -= 1;
                            }
                        }
                        match before {
                            ImageStatus::Ok => a.stats.ok -= 1,
                            ImageStatus::Warning => a.stats.warning -= 1,
                            ImageStatus::Error | ImageStatus::Unparsable => {}
                        }
                        if before != ImageStatus::Error {
                            a.stats.error += 1;
                        }
                        a.stats.error_issues += 1;
                        added.push((
                            row.line,
                            Issue {
                                line: Some(row.line),
                                source_ref: Arc::from(row.source_ref.as_str()),
                                level: Level::Line,
                                attribute: Arc::from(""),
                                annotation: None,
                                label: Arc::from(""),
                                severity: Severity::Error,
                                code: REKCHECK_DUPLICATE_SOURCE_REF.to_owned(),
                                message: format!(
                                    "The source-ref is already used on line {}; Rekognition keeps one line per image.",
                                    first.get()
                                ),
                            },
                        ));
                    }
                }
            }
        }
        if added.is_empty() {
            return false;
        }
        // Put each new issue after the other issues of its line.
        let old = std::mem::take(&mut a.issues);
        let mut added = added.into_iter().peekable();
        for issue in old {
            while let Some((line, _)) = added.peek() {
                if issue.line.is_some_and(|l| l > *line) {
                    if let Some((_, i)) = added.next() {
                        a.issues.push(i);
                    }
                } else {
                    break;
                }
            }
            a.issues.push(issue);
        }
        a.issues.extend(added.map(|(_, i)| i));
        true
    }

    /// The use case Rekognition would pick: the one with more valid lines (bounding boxes on a
    /// tie). `None` when no line is valid.
    pub fn use_case(&self) -> Option<UseCase> {
        match self.lines {
            [0, 0] => None,
            [c, d] if c > d => Some(UseCase::Classification),
            _ => Some(UseCase::Detection),
        }
    }

    /// Valid images per label for the chosen use case (all labels when there is none).
    pub fn usable_labels(&self) -> &BTreeMap<String, u64> {
        match self.use_case() {
            Some(UseCase::Classification) => &self.labels[0],
            _ => &self.labels[1],
        }
    }

    /// Images per bucket.
    pub fn buckets(&self) -> &BTreeMap<String, u64> {
        &self.buckets
    }

    /// The manifest-level issues of this dataset alone, from its counts (`stats`) and size
    /// (`bytes`).
    pub fn dataset_issues(&self, stats: &Stats, bytes: u64) -> Vec<Issue> {
        let mut out = Vec::new();
        let images = stats.lines - stats.blank;
        if images == 0 {
            out.push(doc("ERROR_EMPTY_MANIFEST", "", ""));
            return out;
        }
        if bytes > MAX_MANIFEST_BYTES {
            out.push(doc(
                "ERROR_MANIFEST_SIZE_TOO_LARGE",
                "",
                &format!("The manifest is {bytes} bytes; the limit is {MAX_MANIFEST_BYTES}."),
            ));
        }
        // Blank lines count: "Blank/invalid lines are also counted as dataset objects"
        // (md-create-manifest-file-validation-rules). tm-debugging-aggregate-errors counts "JSON
        // Lines (number of images)"; when only that reading passes, the message says so.
        if stats.lines > MAX_MANIFEST_LINES {
            let other = if images <= MAX_MANIFEST_LINES {
                format!(
                    " Counting only the {images} non-blank lines (images), as tm-debugging-aggregate-errors words the limit, it would pass: remove the blank lines."
                )
            } else {
                String::new()
            };
            out.push(doc(
                "ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM",
                "",
                &format!(
                    "The manifest has {} lines ({} blank); the limit is {MAX_MANIFEST_LINES}, blank lines included (md-create-manifest-file-validation-rules).{other}",
                    stats.lines, stats.blank
                ),
            ));
        }
        // Lines Rekognition still uses (errors on boxes only) are not invalid rows.
        let invalid = stats.blank + stats.unparsable + stats.error.saturating_sub(stats.error_used);
        if invalid * 5 > stats.lines {
            #[allow(clippy::cast_precision_loss)]
            let pct = invalid as f64 * 100.0 / stats.lines as f64;
            out.push(doc(
                "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST",
                "",
                &format!(
                    "{invalid} of {} lines ({pct:.1} %) are blank, unparsable or in error and not used; the limit is 20 %.",
                    stats.lines
                ),
            ));
        }
        if self.buckets.len() > 1 {
            let mut by_count: Vec<(&String, &u64)> = self.buckets.iter().collect();
            by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let shown: Vec<String> = by_count
                .iter()
                .take(5)
                .map(|(b, n)| format!("{b} ({n} images)"))
                .collect();
            let more = if by_count.len() > 5 { ", ..." } else { "" };
            let count = if self.buckets.len() >= MAX_TALLY_BUCKETS {
                format!("at least {MAX_TALLY_BUCKETS}")
            } else {
                self.buckets.len().to_string()
            };
            out.push(doc(
                "ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS",
                "",
                &format!(
                    "The images are in {count} buckets: {}{more}.",
                    shown.join(", ")
                ),
            ));
        }
        let [c, d] = self.lines;
        let chosen = self.use_case();
        if c > 0 && d > 0 {
            let (used, other, n) = match chosen {
                Some(UseCase::Classification) => ("image-level", "bounding-box", d),
                _ => ("bounding-box", "image-level", c),
            };
            out.push(Issue::manifest(
                Severity::Warning,
                REKCHECK_OTHER_USE_CASE,
                format!(
                    "{c} valid lines have image-level labels and {d} have bounding boxes; Rekognition picks one use case (rekcheck assumes {used}, the larger) and does not use the {n} {other} lines."
                ),
            ));
        }
        let usable = self.usable_labels().len();
        let all = {
            let mut names: Vec<&String> =
                self.labels[0].keys().chain(self.labels[1].keys()).collect();
            names.sort();
            names.dedup();
            names.len()
        };
        let min = match chosen {
            Some(UseCase::Classification) => MIN_LABELS_CLASSIFICATION,
            _ => MIN_LABELS_DETECTION,
        };
        if usable > MAX_LABELS {
            out.push(doc(
                "ERROR_MANIFEST_TOO_MANY_LABELS",
                "",
                &format!("The manifest has {usable} labels; the limit is {MAX_LABELS}."),
            ));
        } else if usable < min {
            let what = match chosen {
                Some(UseCase::Classification) => "image-level classification",
                _ => "object detection",
            };
            if all >= min {
                out.push(doc(
                    "ERROR_MANIFEST_TOO_FEW_USABLE_LABELS",
                    "",
                    &format!("Only {usable} labels are in lines of the chosen use case ({what}); it needs at least {min}."),
                ));
            } else {
                // The other reading (tm-debugging-aggregate-errors asks image-level
                // classification for 1 label only) said where it disagrees.
                let other = if matches!(chosen, Some(UseCase::Classification)) && usable == 1 {
                    " (limits page; tm-debugging-aggregate-errors asks for 1 only, under which this dataset would pass)"
                } else {
                    ""
                };
                out.push(doc(
                    "ERROR_MANIFEST_TOO_FEW_LABELS",
                    "",
                    &format!(
                        "Valid lines hold {usable} distinct labels; {what} needs at least {min}{other}."
                    ),
                ));
            }
        } else if usable == 1 && !matches!(chosen, Some(UseCase::Classification)) {
            out.push(Issue::manifest(
                Severity::Warning,
                REKCHECK_LABEL_MINIMUM_READING,
                "The bounding boxes have 1 distinct label: enough for object detection on the limits page (what rekcheck follows), but md-create-manifest-file-validation-rules and tm-debugging-aggregate-errors ask for 2; under their reading Rekognition reports ERROR_MANIFEST_TOO_FEW_LABELS.".to_owned(),
            ));
        }
        out
    }

    /// The training-versus-testing rules on the labels of the lines Rekognition uses:
    /// `ERROR_INSUFFICIENT_LABEL_OVERLAP` on all labels, then
    /// `ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP` on the labels of each dataset's use case (when
    /// a dataset mixes use cases, so that the two differ). The overlap is common labels /
    /// training labels, at least [`MIN_LABEL_OVERLAP`] (md-create-manifest-file-validation-rules);
    /// where tm-debugging-aggregate-errors' reading (common labels / testing labels) disagrees,
    /// the error says so, or a [`REKCHECK_LABEL_OVERLAP_READING`] warning gives the error that
    /// reading predicts. The issues belong to the testing manifest.
    pub fn overlap_issues(training: &CheckTally, testing: &CheckTally) -> Vec<Issue> {
        let all = |t: &CheckTally| -> BTreeSet<String> {
            t.labels[0]
                .keys()
                .chain(t.labels[1].keys())
                .cloned()
                .collect()
        };
        let usable =
            |t: &CheckTally| -> BTreeSet<String> { t.usable_labels().keys().cloned().collect() };
        let (train_all, test_all) = (all(training), all(testing));
        let mut out: Vec<Issue> = overlap_issue(
            "ERROR_INSUFFICIENT_LABEL_OVERLAP",
            "labels",
            &train_all,
            &test_all,
        )
        .into_iter()
        .collect();
        if out.iter().any(|i| i.severity == Severity::Error) {
            return out;
        }
        let (train_usable, test_usable) = (usable(training), usable(testing));
        if train_usable != train_all || test_usable != test_all {
            let warned = !out.is_empty();
            out.extend(
                overlap_issue(
                    "ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP",
                    "usable labels",
                    &train_usable,
                    &test_usable,
                )
                .filter(|i| i.severity == Severity::Error || !warned),
            );
        }
        out
    }

    /// The auto-split rule (`--auto-split`): every label needs enough valid images for an
    /// 80/20 split.
    pub fn autosplit_issues(&self) -> Vec<Issue> {
        let few: Vec<String> = self
            .usable_labels()
            .iter()
            .filter(|(_, n)| **n < MIN_IMAGES_FOR_AUTOSPLIT)
            .map(|(l, n)| format!("{l} ({n})"))
            .collect();
        if few.is_empty() {
            return Vec::new();
        }
        let shown = few.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
        let more = if few.len() > 10 { ", ..." } else { "" };
        vec![doc(
            "ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_AUTOSPLIT",
            "",
            &format!(
                "{} labels have fewer than {MIN_IMAGES_FOR_AUTOSPLIT} valid images: {shown}{more}.",
                few.len()
            ),
        )]
    }
}

/// The use case Rekognition trains for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UseCase {
    /// Image-level labels.
    Classification,
    /// Bounding boxes.
    Detection,
}

/// The verdict for a manifest's manifest-level issues: `pass`, or `fail: CODE` with the first
/// error.
pub fn verdict(manifest_issues: &[Issue]) -> String {
    manifest_issues
        .iter()
        .find(|i| i.severity == Severity::Error)
        .map_or_else(|| "pass".to_owned(), |i| format!("fail: {}", i.code))
}

/// One label-overlap rule (`code`) on two label sets (`what` names them in the message): an
/// error when common / training labels is under [`MIN_LABEL_OVERLAP`], a warning when only
/// common / testing labels is; nothing when either set is empty (the label-count rules cover
/// that).
fn overlap_issue(
    code: &str,
    what: &str,
    train: &BTreeSet<String>,
    test: &BTreeSet<String>,
) -> Option<Issue> {
    if train.is_empty() || test.is_empty() {
        return None;
    }
    let common = train.intersection(test).count();
    #[allow(clippy::cast_precision_loss)]
    let (by_train, by_test) = (
        common as f64 / train.len() as f64,
        common as f64 / test.len() as f64,
    );
    let list = |set: &BTreeSet<String>, other: &BTreeSet<String>| {
        let missing: Vec<&str> = set
            .iter()
            .filter(|l| !other.contains(*l))
            .map(String::as_str)
            .collect();
        let more = if missing.len() > 10 { ", ..." } else { "" };
        let shown: Vec<&str> = missing.into_iter().take(10).collect();
        format!("{}{more}", shown.join(", "))
    };
    let rules = format!(
        "{common} of the {} training {what} ({:.0} %) are testing {what} (common / training labels, md-create-manifest-file-validation-rules)",
        train.len(),
        by_train * 100.0
    );
    let aggregate = format!(
        "{common} of the {} testing {what} ({:.0} %) are training {what} (common / testing labels, tm-debugging-aggregate-errors)",
        test.len(),
        by_test * 100.0
    );
    if by_train < MIN_LABEL_OVERLAP {
        let other = if by_test >= MIN_LABEL_OVERLAP {
            format!(" The other reading passes: {aggregate}.")
        } else {
            format!(" The other reading fails too: {aggregate}.")
        };
        return Some(doc(
            code,
            "50",
            &format!(
                "{rules}.{other} Training {what} not in testing: {}.",
                list(train, test)
            ),
        ));
    }
    if by_test < MIN_LABEL_OVERLAP {
        return Some(Issue::manifest(
            Severity::Warning,
            REKCHECK_LABEL_OVERLAP_READING,
            format!(
                "The {what} pass the overlap rule as rekcheck reads it: {rules}. But {aggregate}: under that reading Rekognition reports {code}. Testing {what} not in training: {}.",
                list(test, train)
            ),
        ));
    }
    None
}

/// A manifest-level issue with a documented code and message (see [`documented`]).
fn doc(code: &str, fill: &str, detail: &str) -> Issue {
    let (severity, message) = documented(code, fill, detail);
    Issue::manifest(severity, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::analysis::BlockAnalysis;
    use crate::rules::validate::check_line_with;

    /// A block is checked a run of lines at a time (scanned, then checked): whatever the lines
    /// and wherever the runs cut them, it gives what checking each line on its own, in order,
    /// gives: the same rows, issues, counts and facts.
    #[test]
    fn a_block_checked_by_runs_equals_its_lines_checked_one_by_one() {
        let meta = r#""x-metadata":{"type":"groundtruth/image-classification","class-name":"cat","confidence":1,"human-annotated":"yes","creation-date":"2026-01-01T00:00:00"}"#;
        let detection = |i: usize, cid: &str| {
            format!(
                r#"{{"source-ref":"s3://b/{i}.jpg","bb":{{"image_size":[{{"width":100,"height":100,"depth":3}}],"annotations":[{{"class_id":{cid},"top":1,"left":2,"width":30.5,"height":40}}]}},"bb-metadata":{{"objects":[{{"confidence":1}}],"class-map":{{"0":"dog","1":"cat"}},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2026-01-01T00:00:00"}}}}"#
            )
        };
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for i in 0..70 {
            let line = match i % 10 {
                0 => format!(r#"{{"source-ref":"s3://b/{i}.jpg","x":0,{meta}}}"#),
                1 => detection(i, "0"),
                2 => detection(i, "7"),
                3 => "   ".to_owned(),
                4 => r#"{"source-ref":"s3://b/1.jpg","x":0"#.to_owned(),
                5 => detection(1, "1"),
                6 => format!(r#"{{"source-ref":"s3://b/{i}\u00e9.jpg","x":1,{meta}}}"#),
                7 => "[".repeat(200),
                8 => "x".repeat(3000),
                _ => format!(r#"{{"source-ref":"s3://b/{i}.jpg","x":"cat",{meta}}}"#),
            };
            let mut line = line.into_bytes();
            if i % 10 == 9 && i > 40 {
                line.push(0xff);
            }
            lines.push(line);
        }
        let options = CheckOptions {
            max_line_bytes: 2000,
            images: None,
        };
        let mut data = lines.join(&b'\n');
        data.extend_from_slice(b"\r\n");
        let block = Block::new(0, 1, BlockKind::Lines(data));
        let (by_runs, checked) = check_block_with(&block, &options, 5);

        let mut one_by_one = BlockAnalysis::default();
        let mut facts = Vec::new();
        let mut class_maps = CheckClassMaps::default();
        for (i, line) in lines.iter().enumerate() {
            let n = i as u64 + 1;
            let raw: &[u8] = if i + 1 == lines.len() {
                &[line.as_slice(), b"\r"].concat()
            } else {
                line
            };
            let (outcome, f) = check_line_with(n, raw, &options, 5, Some(&mut class_maps));
            one_by_one.stats.count(&outcome);
            if let LineOutcome::Image { row, issues } = outcome {
                one_by_one.rows.push(row);
                one_by_one.issues.extend(issues);
                facts.push(f);
            }
        }
        assert!(by_runs.rows.len() > 2 * RUN_LINES, "{}", by_runs.rows.len());
        assert!(by_runs.stats.error > 0 && by_runs.stats.blank > 0);
        assert_eq!(by_runs.rows, one_by_one.rows);
        assert_eq!(by_runs.issues, one_by_one.issues);
        assert_eq!(by_runs.stats, one_by_one.stats);
        let dropped: Vec<LineFacts> = checked
            .facts
            .iter()
            .map(|f| LineFacts { dropped: 0, ..*f })
            .collect();
        assert_eq!(dropped, facts);
    }
}
