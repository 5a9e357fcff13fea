//! `check`: predict Rekognition's validation of input manifests before training.

use std::path::{Path, PathBuf};

use rekcheck_analyze::output::{self, OutputLock, PartialFile};
use rekcheck_analyze::{
    CheckOptions, CheckTally, Dataset, ImageChecks, Issue, ManifestContext, ReportSummary,
    ReportWriter, Severity, verdict,
};
use rekcheck_fetch::Source;
#[cfg(feature = "s3")]
use rekcheck_fetch::{RetryPolicy, S3Location};

use crate::error::PipelineError;
use crate::inputs::{CheckSpec, Stoppable, check_inputs, manifest_source, open};
use crate::pipeline::{Pipeline, with_runtime};
use crate::rt::Handle;

/// The predicted outcome of Rekognition's validation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CheckOutcome {
    /// The report, as for `report`; each manifest's `verdict` is set.
    pub summary: ReportSummary,
    /// The terminal errors that would stop the training, with their dataset, in order.
    pub terminal: Vec<(Dataset, Issue)>,
    /// Images whose headers were read (`verify_images`).
    pub images_verified: u64,
}

impl CheckOutcome {
    /// Whether the training is predicted to pass validation.
    pub fn passes(&self) -> bool {
        self.terminal.is_empty()
    }

    /// The exit code contract of `rekcheck check`: 0 if it would pass and no issue reaches
    /// `fail_on`, 1 otherwise.
    pub fn exit_code(&self, fail_on: Option<Severity>) -> u8 {
        let issues = fail_on.is_some_and(|s| self.summary.has_issues_at(s));
        u8::from(!self.passes() || issues)
    }
}

impl Pipeline {
    /// Predicts Rekognition's validation of the training manifest (the pipeline's single source)
    /// and of `spec.testing`, and writes the report into `out` (or keeps it in memory).
    ///
    /// # Errors
    ///
    /// [`PipelineError::Input`] when the pipeline does not have exactly one source, when
    /// `spec.testing` and `spec.auto_split` are both set, or when a manifest is neither a path
    /// nor a valid `s3://` URI; [`PipelineError::Fetch`] when a manifest
    /// cannot be read; [`PipelineError::Report`] when `out` cannot be written or is locked by
    /// another run; [`PipelineError::Stopped`] and [`PipelineError::Task`] as for
    /// [`Pipeline::run`].
    ///
    /// # Runtime
    ///
    /// Needs the `s3` feature, and must be awaited inside a Tokio runtime (either flavor);
    /// polled outside one it returns [`PipelineError::Runtime`] (it never panics). Without a
    /// runtime, use the `_blocking` variant.
    ///
    /// # Example
    ///
    /// ```
    /// use rekcheck::{CheckSpec, Pipeline};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let training = dir.path().join("train.manifest");
    /// std::fs::write(&training, r#"{"source-ref":"s3://my-bucket/1.jpg","cat":1,"cat-metadata":{"class-name":"cat","type":"groundtruth/image-classification","human-annotated":"yes","creation-date":"2026-01-01T00:00:00","job-name":"j"}}"#)?;
    /// let pipeline = Pipeline::builder().source(training.as_path()).build()?;
    /// let outcome = tokio::runtime::Runtime::new()?
    ///     .block_on(pipeline.check(CheckSpec::default(), None))?;
    /// // One image and one label are too few for a training.
    /// assert!(!outcome.passes());
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "s3")]
    pub async fn check(
        self,
        spec: CheckSpec,
        out: Option<PathBuf>,
    ) -> Result<CheckOutcome, PipelineError> {
        let handle = crate::pipeline::current_runtime()?;
        let images = if spec.verify_images {
            Some(crate::images::verify_manifests(&self, &spec, &handle).await?)
        } else {
            None
        };
        tokio::task::spawn_blocking(move || {
            self.execute_check(Some(&handle), &spec, out.as_deref(), images.as_ref())
        })
        .await
        .map_err(|e| PipelineError::Task(e.to_string()))?
    }

    /// [`check`](Pipeline::check), with the report uploaded under `prefix`
    /// (`s3://bucket/prefix/`) as [`write_s3`](Pipeline::write_s3) uploads a report: staged
    /// in a private local folder, then one `PutObject` per file (sent again with backoff, the
    /// `retries` setting) under `<prefix>/runs/<UTC time>/`, that folder's `index.json` last.
    /// A check names no project version, so there are no per-version folders. The outcome's
    /// `summary.files` are the objects written. If an upload still fails, the run ends with
    /// [`PipelineError::Upload`], which names the local folder where the report is kept.
    ///
    /// # Errors
    ///
    /// As [`Pipeline::check`]; [`PipelineError::Input`] without an `SdkConfig` or S3 client;
    /// [`PipelineError::Upload`] when an object could not be uploaded after the retries.
    ///
    /// # Runtime
    ///
    /// Needs the `s3` feature, and must be awaited inside a Tokio runtime (either flavor);
    /// polled outside one it returns [`PipelineError::Runtime`] (it never panics). Without a
    /// runtime, use the `_blocking` variant.
    #[cfg(feature = "s3")]
    pub async fn check_s3(
        self,
        spec: CheckSpec,
        prefix: S3Location,
    ) -> Result<CheckOutcome, PipelineError> {
        self.check_s3_with(spec, prefix, None).await
    }

    /// [`check_s3`](Pipeline::check_s3) with server-side encryption `sse` on every object
    /// uploaded (a bucket whose policy demands SSE-KMS refuses objects without it). The
    /// objects are laid out as `check_s3` lays them out: a check names no project version, so
    /// there is no table layout for it.
    ///
    /// # Errors
    ///
    /// As [`check_s3`](Pipeline::check_s3).
    ///
    /// # Runtime
    ///
    /// As [`check_s3`](Pipeline::check_s3).
    #[cfg(feature = "s3")]
    pub async fn check_s3_with(
        self,
        spec: CheckSpec,
        prefix: S3Location,
        sse: Option<crate::layout::Sse>,
    ) -> Result<CheckOutcome, PipelineError> {
        let Some(client) = self.s3.clone() else {
            return Err(PipelineError::Input(
                "writing the report to S3 needs an SdkConfig or an S3 client".into(),
            ));
        };
        let staging = crate::upload::Staging::new()?;
        let csv_raw = self.report.csv_raw;
        let timeout = self.timeout;
        let policy = RetryPolicy {
            attempts: self.retries,
            ..RetryPolicy::default()
        };
        let mut outcome = self.check(spec, Some(staging.path().to_owned())).await?;
        // A check has no failures of its own; index.json lists those of the upload.
        let mut failures = Vec::new();
        let uploaded = crate::upload::upload(
            &client,
            &prefix,
            staging.path(),
            crate::upload::Finished {
                summary: &outcome.summary,
                failures: &mut failures,
            },
            csv_raw,
            &crate::layout::S3Output::new(crate::layout::Layout::Folders).with_sse(sse),
            &policy,
            timeout,
        )
        .await;
        match uploaded {
            Ok(files) => {
                outcome.summary.files = files;
                Ok(outcome)
            }
            Err(e) => {
                let cause = match e {
                    crate::upload::UploadError::Split(e) => e.to_string(),
                    crate::upload::UploadError::Put(p) => {
                        format!("cannot upload {}: {}", p.location, p.cause)
                    }
                };
                Err(PipelineError::Upload {
                    cause,
                    kept: staging.keep(),
                })
            }
        }
    }

    /// [`check`](Pipeline::check) for callers without a Tokio runtime, and without
    /// `verify_images` (which reads S3 asynchronously: refused here).
    ///
    /// # Errors
    ///
    /// As [`check`](Pipeline::check); [`PipelineError::Input`] with `spec.verify_images`;
    /// [`PipelineError::Runtime`] when a manifest is in S3 and this is called inside a Tokio
    /// runtime.
    ///
    /// # Example
    ///
    /// ```
    /// use rekcheck::{CheckSpec, Pipeline};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let training = dir.path().join("train.manifest");
    /// std::fs::write(&training, r#"{"source-ref":"s3://my-bucket/1.jpg","cat":1,"cat-metadata":{"class-name":"cat","type":"groundtruth/image-classification","human-annotated":"yes","creation-date":"2026-01-01T00:00:00","job-name":"j"}}"#)?;
    /// let outcome = Pipeline::builder()
    ///     .source(training.as_path())
    ///     .build()?
    ///     .check_blocking(CheckSpec::default(), None)?;
    /// assert!(!outcome.passes());
    /// # Ok(()) }
    /// ```
    #[allow(clippy::needless_pass_by_value)] // the same arguments as `check`
    pub fn check_blocking(
        self,
        spec: CheckSpec,
        out: Option<PathBuf>,
    ) -> Result<CheckOutcome, PipelineError> {
        if spec.verify_images {
            return Err(PipelineError::Input(
                "verify_images reads the images asynchronously: use the async check inside a Tokio runtime".into(),
            ));
        }
        let needs = self.needs_runtime()
            || spec
                .testing
                .as_deref()
                .is_some_and(|t| t.starts_with("s3://"));
        with_runtime(needs, |handle| {
            self.execute_check(handle, &spec, out.as_deref(), None)
        })
    }

    fn execute_check(
        self,
        handle: Option<&Handle>,
        spec: &CheckSpec,
        out: Option<&std::path::Path>,
        images: Option<&ImageChecks>,
    ) -> Result<CheckOutcome, PipelineError> {
        let inputs = check_inputs(&self.sources, spec)?;
        let fetcher = self.fetcher(handle);
        let mut writer = match &out {
            Some(dir) => ReportWriter::create(dir, self.report)?,
            None => ReportWriter::in_memory(self.report)?,
        };
        #[cfg(feature = "html")]
        let collector = match (&out, &self.html) {
            (Some(_), Some(options)) => Some(crate::html::attach(&mut writer, options)),
            _ => None,
        };
        let images_verified = images.map_or(0, |m| m.len() as u64);
        let options = CheckOptions {
            max_line_bytes: self.report.analyze.max_line_bytes,
            images,
        };
        self.reporter.started(0);
        let mut checked: Vec<(ManifestContext, CheckTally, Vec<Issue>)> = Vec::new();
        for (dataset, display, source) in &inputs {
            let context = ManifestContext {
                project: String::new(),
                version: String::new(),
                dataset: *dataset,
                manifest: display.clone(),
            };
            let reader = open(&fetcher, source)?;
            self.reporter.object_started(display, None);
            let mut tally = CheckTally::new();
            if *dataset == Dataset::Testing
                && let Some((_, training, _)) = checked
                    .iter_mut()
                    .find(|(c, _, _)| c.dataset == Dataset::Training)
            {
                tally.compare_with_training(training);
            }
            let reader = Stoppable {
                inner: reader,
                stop: self.stop.as_ref(),
            };
            let report = rekcheck_analyze::check_manifest(
                &mut writer,
                &context,
                reader,
                &options,
                &mut tally,
                &mut |n| {
                    self.reporter.bytes(display, n);
                },
            )
            .map_err(|e| read_error(e, (self.stop)()))?;
            self.reporter.object_finished(display);
            let issues = tally.dataset_issues(&report.stats, report.bytes);
            checked.push((context, tally, issues));
        }
        if spec.auto_split
            && let Some((_, tally, issues)) = checked.first_mut()
        {
            issues.extend(tally.autosplit_issues());
        }
        if let [(_, training, _), (_, testing, testing_issues)] = checked.as_mut_slice() {
            testing_issues.extend(CheckTally::overlap_issues(training, testing));
        }
        let mut terminal = Vec::new();
        for (context, _, issues) in &checked {
            writer.add_manifest_issues(context, issues)?;
            writer.set_verdict(context, &verdict(issues));
            terminal.extend(
                issues
                    .iter()
                    .filter(|i| i.severity == Severity::Error)
                    .map(|i| (context.dataset, i.clone())),
            );
        }
        self.reporter.finished();
        if (self.stop)() {
            return Err(PipelineError::Stopped);
        }
        // The folder stays locked until report.html is written too.
        #[cfg_attr(not(feature = "html"), allow(unused_mut))]
        let (mut summary, _lock) = writer.finish_holding_lock()?;
        #[cfg(feature = "html")]
        if let (Some(dir), Some(c)) = (out, &collector) {
            let sources: Vec<String> = inputs.iter().map(|(_, d, _)| d.clone()).collect();
            let path = crate::html::write(
                c,
                self.s3_client(),
                handle,
                dir,
                &summary,
                "check",
                &sources,
            )?;
            summary.files.push(path);
        }
        Ok(CheckOutcome {
            summary,
            terminal,
            images_verified,
        })
    }
}

/// A failed read is the stop when the run was told to stop, otherwise a fetch error.
fn read_error(e: rekcheck_analyze::Error, stopped: bool) -> PipelineError {
    match e {
        rekcheck_analyze::Error::Read { .. } if stopped => PipelineError::Stopped,
        rekcheck_analyze::Error::Read { source, .. } => {
            PipelineError::Fetch(rekcheck_fetch::into_fetch_error(source))
        }
        e => e.into(),
    }
}

/// Where `fix` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixSpec {
    /// The clean manifest (a local file; written under a temporary name, then renamed). Its
    /// folder (and that of `removed`) is locked while `fix` runs, as a report folder is.
    pub out: PathBuf,
    /// `removed.csv`: one row per line or box removed.
    pub removed: PathBuf,
    /// Drop lines that only have warnings too.
    pub drop_warnings: bool,
}

pub use rekcheck_analyze::FixOutcome;

/// Where `fix` uploads, for [`Pipeline::fix_s3`].
#[cfg(feature = "s3")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixS3Spec {
    /// The clean manifest's object, ready for `CreateDataset`.
    pub out: S3Location,
    /// `removed.csv`'s object.
    pub removed: S3Location,
    /// Drop lines that only have warnings too.
    pub drop_warnings: bool,
    /// Server-side encryption of both objects (`None`: the bucket's default).
    pub sse: Option<crate::layout::Sse>,
}

/// The content type of an uploaded manifest (JSON Lines).
#[cfg(feature = "s3")]
const MANIFEST_CONTENT_TYPE: &str = "application/x-ndjson";

impl Pipeline {
    /// Writes a manifest ready to retrain from the pipeline's single source (a manifest with
    /// validation results or an input manifest); see [`rekcheck_analyze::fix_line`] for the
    /// rules. The outcome's [`FixOutcome::passes`] and [`FixOutcome::verdict`] tell whether the
    /// fixed manifest would still fail `check`'s dataset-level rules (every line dropped, too few
    /// labels, ...): retrain on it only when it passes.
    ///
    /// An input that is no manifest is refused with [`PipelineError::Input`] and nothing is
    /// written: an empty file (or only blank lines), a manifest summary, or a file in which no
    /// line is a JSON object.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Input`] when the pipeline does not have exactly one source or `out`
    /// and `removed` name the source or each other; [`PipelineError::Fetch`] when the source
    /// cannot be read; [`PipelineError::Report`] when `out` or `removed` cannot be written or
    /// their folder is locked by another run.
    ///
    /// # Runtime
    ///
    /// Needs the `s3` feature, and must be awaited inside a Tokio runtime (either flavor);
    /// polled outside one it returns [`PipelineError::Runtime`] (it never panics). Without a
    /// runtime, use the `_blocking` variant.
    ///
    /// # Example
    ///
    /// ```
    /// use rekcheck::{FixSpec, Pipeline};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let with_validation = dir.path().join("TrainingManifestWithValidation-p-v.json");
    /// std::fs::write(&with_validation, concat!(
    ///     r#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}"#, "\n",
    ///     r#"{"source-ref":"s3://my-bucket/2.jpg","cat":1,"cat-metadata":{"class-name":"cat","confidence":1,"type":"groundtruth/image-classification","human-annotated":"yes","creation-date":"2026-01-01T00:00:00","job-name":"j"}}"#, "\n",
    /// ))?;
    /// let spec = FixSpec {
    ///     out: dir.path().join("fixed.manifest"),
    ///     removed: dir.path().join("removed.csv"),
    ///     drop_warnings: false,
    /// };
    /// let pipeline = Pipeline::builder().source(with_validation.as_path()).build()?;
    /// let outcome = tokio::runtime::Runtime::new()?.block_on(pipeline.fix(spec))?;
    /// assert_eq!((outcome.kept, outcome.dropped), (1, 1));
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "s3")]
    pub async fn fix(self, spec: FixSpec) -> Result<FixOutcome, PipelineError> {
        let handle = crate::pipeline::current_runtime()?;
        tokio::task::spawn_blocking(move || self.execute_fix(Some(&handle), &spec))
            .await
            .map_err(|e| PipelineError::Task(e.to_string()))?
    }

    /// [`fix`](Pipeline::fix), with the clean manifest and `removed.csv` uploaded: both are
    /// written in a private local folder first, then each is one `PutObject` (sent again with
    /// backoff while it fails in a retryable way, the `retries` setting), `removed.csv` first
    /// and the manifest last. If an upload still fails, the run ends with
    /// [`PipelineError::FixUpload`], which names the local folder where both files are kept.
    ///
    /// # Errors
    ///
    /// As [`Pipeline::fix`]; [`PipelineError::Input`] without an `SdkConfig` or S3 client, or
    /// when `out` and `removed` are the same object or the source;
    /// [`PipelineError::FixUpload`] when an object could not be uploaded after the retries.
    ///
    /// # Runtime
    ///
    /// Needs the `s3` feature, and must be awaited inside a Tokio runtime (either flavor);
    /// polled outside one it returns [`PipelineError::Runtime`] (it never panics). Without a
    /// runtime, use the `_blocking` variant.
    #[cfg(feature = "s3")]
    pub async fn fix_s3(self, spec: FixS3Spec) -> Result<FixOutcome, PipelineError> {
        let timeout = self.timeout;
        let Some(client) = self.s3.clone() else {
            return Err(PipelineError::Input(
                "writing the fixed manifest to S3 needs an SdkConfig or an S3 client".into(),
            ));
        };
        if spec.out == spec.removed {
            return Err(PipelineError::Input(format!(
                "--out and --removed both name {}: the clean manifest and removed.csv need two objects; choose another --removed",
                spec.out
            )));
        }
        if let [input] = self.sources.as_slice()
            && let Ok(Source::S3(from)) = manifest_source(input)
            && (from == spec.out || from == spec.removed)
        {
            return Err(PipelineError::Input(format!(
                "{from}: --out would overwrite the manifest being fixed; choose another key"
            )));
        }
        let staging = crate::upload::Staging::new()?;
        let policy = RetryPolicy {
            attempts: self.retries,
            ..RetryPolicy::default()
        };
        let local = FixSpec {
            out: staging.path().join("fixed.manifest"),
            removed: staging.path().join("removed.csv"),
            drop_warnings: spec.drop_warnings,
        };
        let outcome = self.fix(local.clone()).await?;
        for (to, from, content_type) in [
            (&spec.removed, &local.removed, "text/csv; charset=utf-8"),
            (&spec.out, &local.out, MANIFEST_CONTENT_TYPE),
        ] {
            if let Err(p) = crate::upload::put(
                &client,
                to,
                from,
                content_type,
                &policy,
                timeout,
                spec.sse.as_ref(),
            )
            .await
            {
                return Err(PipelineError::FixUpload {
                    cause: format!("cannot upload {}: {}", p.location, p.cause),
                    kept: staging.keep(),
                });
            }
        }
        Ok(outcome)
    }

    /// [`fix`](Pipeline::fix) for callers without a Tokio runtime.
    ///
    /// # Errors
    ///
    /// As [`fix`](Pipeline::fix); [`PipelineError::Runtime`] when the manifest is in S3 and
    /// this is called inside a Tokio runtime.
    #[allow(clippy::needless_pass_by_value)] // the same arguments as `fix`
    pub fn fix_blocking(self, spec: FixSpec) -> Result<FixOutcome, PipelineError> {
        with_runtime(self.needs_runtime(), |handle| {
            self.execute_fix(handle, &spec)
        })
    }

    fn execute_fix(
        self,
        handle: Option<&Handle>,
        spec: &FixSpec,
    ) -> Result<FixOutcome, PipelineError> {
        let [input] = self.sources.as_slice() else {
            return Err(PipelineError::Input("fix reads one manifest".into()));
        };
        let source = manifest_source(input)?;
        if same_destination(&spec.out, &spec.removed) {
            return Err(PipelineError::Input(format!(
                "--out and --removed both name {}: the clean manifest and removed.csv need two files; choose another --removed",
                spec.out.display()
            )));
        }
        if let Source::Local(p) = &source
            && (same_file(p, &spec.out) || same_file(p, &spec.removed))
        {
            return Err(PipelineError::Input(format!(
                "{}: --out would overwrite the manifest being fixed; choose another file",
                p.display()
            )));
        }
        let _locks = lock_folders(&[&spec.out, &spec.removed])?;
        let fetcher = self.fetcher(handle);
        let reader = Stoppable {
            inner: open(&fetcher, &source)?,
            stop: self.stop.as_ref(),
        };
        let out = PartialFile::create(&spec.out)?;
        let removed = PartialFile::create(&spec.removed)?;
        let options = rekcheck_analyze::FixOptions {
            drop_warnings: spec.drop_warnings,
            max_line_bytes: self.report.analyze.max_line_bytes,
            threads: self.report.threads,
            csv_raw: self.report.csv_raw,
        };
        let outcome = rekcheck_analyze::fix_manifest(reader, out.file(), removed.file(), &options)
            .map_err(|e| read_error(e, (self.stop)()))?;
        if (self.stop)() {
            return Err(PipelineError::Stopped);
        }
        if outcome.kept == 0 {
            // Nothing is written for an input that is no manifest at all.
            let summary = || {
                open(&fetcher, &source)
                    .ok()
                    .and_then(rekcheck_analyze::ManifestSummary::sniff)
                    .is_some()
            };
            not_a_manifest(&input.arg, &outcome, summary)?;
        }
        output::commit(vec![out, removed])?;
        Ok(outcome)
    }
}

/// What to give `fix` instead, in the refusals of [`not_a_manifest`].
const GIVE_A_MANIFEST: &str = "give fix a manifest: the one Rekognition validated (its name has manifest_with_validation or ManifestWithValidation) or the dataset's input manifest";

/// Refuses an input that `fix` wrote nothing for because it is no manifest: an empty file (or
/// only blank lines), a manifest summary (`is_summary` reads it again to tell), or a file in
/// which no line is a JSON object. A JSON Lines manifest whose every line is dropped is not
/// refused: its fixed manifest is written, and its verdict says it would fail.
fn not_a_manifest(
    input: &str,
    outcome: &FixOutcome,
    is_summary: impl FnOnce() -> bool,
) -> Result<(), PipelineError> {
    let lines = outcome.lines - outcome.blank;
    if lines == 0 {
        let what = if outcome.lines == 0 {
            "is empty"
        } else {
            "holds only blank lines"
        };
        return Err(PipelineError::Input(format!(
            "{input} {what}: there is nothing to fix; {GIVE_A_MANIFEST}"
        )));
    }
    if is_summary() {
        return Err(PipelineError::Input(format!(
            "{input} is a manifest summary (statistics of a validation), not a manifest: fix rewrites a manifest, one JSON line per image; give it the training or testing manifest beside this summary, or run `rekcheck report` on their folder to read the summary"
        )));
    }
    if outcome.unparsable == lines {
        return Err(PipelineError::Input(format!(
            "{input} is not JSON Lines: none of its {lines} non-blank lines is a JSON object (a manifest has one JSON object per line; a pretty-printed JSON document, a CSV or a binary file is not one; lines longer than --max-line-bytes are not read); {GIVE_A_MANIFEST}"
        )));
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Whether two output paths end up as the same file: the same existing file (through links or
/// `..`), or the same name in the same folder.
fn same_destination(a: &Path, b: &Path) -> bool {
    if a == b || same_file(a, b) {
        return true;
    }
    let folder = |p: &Path| {
        let dir = output::parent_dir(p);
        dir.canonicalize().unwrap_or_else(|_| dir.to_owned())
    };
    a.file_name().is_some() && a.file_name() == b.file_name() && folder(a) == folder(b)
}

/// Takes the lock of each output file's folder (once per folder) and removes the temporary
/// files that killed runs left for these outputs.
fn lock_folders(outputs: &[&Path]) -> Result<Vec<OutputLock>, PipelineError> {
    let mut locks: Vec<(PathBuf, OutputLock)> = Vec::new();
    for out in outputs {
        let dir = output::parent_dir(out);
        let key = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
        if !locks.iter().any(|(k, _)| *k == key) {
            locks.push((key, OutputLock::acquire(dir)?));
        }
        if let Some(name) = out.file_name() {
            output::remove_stale_partials(dir, &[name]);
        }
    }
    Ok(locks.into_iter().map(|(_, l)| l).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fix's temporary names used to be `.<file>.<pid>.partial`, opened with `File::create`: a
    /// link planted there had its target overwritten.
    #[cfg(unix)]
    #[test]
    fn fix_never_follows_a_link_planted_at_the_old_temporary_names() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("precious");
        std::fs::write(&target, "keep me").unwrap();
        let input = dir.path().join("in.manifest");
        std::fs::write(&input, "{\"source-ref\":\"s3://b/1.jpg\"}\n").unwrap();
        let pid = std::process::id();
        for name in ["fixed.manifest", "removed.csv"] {
            std::os::unix::fs::symlink(&target, dir.path().join(format!(".{name}.{pid}.partial")))
                .unwrap();
        }
        let spec = FixSpec {
            out: dir.path().join("fixed.manifest"),
            removed: dir.path().join("removed.csv"),
            drop_warnings: false,
        };
        let pipeline = Pipeline::builder()
            .source(input.as_path())
            .threads(1)
            .build()
            .unwrap();
        pipeline.fix_blocking(spec.clone()).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        for f in [&spec.out, &spec.removed] {
            let meta = std::fs::symlink_metadata(f).unwrap();
            assert!(meta.file_type().is_file(), "{}", f.display());
        }
    }

    #[test]
    fn the_same_destination_is_seen_through_other_names() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert!(same_destination(&a, &a));
        assert!(same_destination(&a, &sub.join("../a")));
        assert!(!same_destination(&a, &sub.join("a")));
        std::fs::write(&a, "x").unwrap();
        assert!(same_destination(&a, &sub.join("../a")));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&a, sub.join("link")).unwrap();
            assert!(same_destination(&a, &sub.join("link")));
        }
    }
}
