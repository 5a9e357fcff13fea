//! The pipeline: locate -> fetch -> analyze -> one ordered writer.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;

use rekcheck_analyze::{
    BlockCallback, Dataset, Issue, ManifestContext, ManifestSummary, ReportOptions, ReportSummary,
    ReportWriter, Severity, Stats, VersionRow,
};
use rekcheck_fetch::{FetchError, Fetcher, RetryPolicy, S3Source};
use rekcheck_locate::{Locator, VersionFilter};

use crate::discover::{EXPECTED_NAMES, Group, Input, discover};
use crate::error::{Failure, PipelineError};
use crate::reporter::{NoProgress, Reporter};
use crate::{datasets, versions};

type StopFn = Arc<dyn Fn() -> bool + Send + Sync>;

/// Builds a [`Pipeline`]. Sources are local paths, `s3://` objects and prefixes, and
/// Rekognition project or version ARNs; anything remote needs an `SdkConfig` or clients.
#[must_use]
pub struct PipelineBuilder {
    sdk: Option<aws_config::SdkConfig>,
    s3: Option<aws_sdk_s3::Client>,
    rekognition: Option<aws_sdk_rekognition::Client>,
    s3_path_style: bool,
    sources: Vec<String>,
    all_projects: bool,
    datasets: Vec<String>,
    filter: VersionFilter,
    concurrency: usize,
    retries: u32,
    report: ReportOptions,
    reporter: Arc<dyn Reporter>,
    stop: Option<StopFn>,
}

impl std::fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("sources", &self.sources)
            .field("all_projects", &self.all_projects)
            .field("datasets", &self.datasets)
            .finish_non_exhaustive()
    }
}

impl PipelineBuilder {
    /// The AWS configuration the S3 and Rekognition clients are built from.
    pub fn sdk_config(mut self, config: &aws_config::SdkConfig) -> Self {
        self.sdk = Some(config.clone());
        self
    }

    /// Use this S3 client (its retries should be off: the pipeline retries and resumes).
    pub fn s3_client(mut self, client: aws_sdk_s3::Client) -> Self {
        self.s3 = Some(client);
        self
    }

    /// Use this Rekognition client.
    pub fn rekognition_client(mut self, client: aws_sdk_rekognition::Client) -> Self {
        self.rekognition = Some(client);
        self
    }

    /// Path-style S3 addressing and checksums only when required, for S3-compatible endpoints
    /// (applies to the client built from the `SdkConfig`).
    pub fn s3_path_style(mut self, yes: bool) -> Self {
        self.s3_path_style = yes;
        self
    }

    /// Adds a source: a local file or folder, `s3://bucket/key`, `s3://bucket/prefix/`, or a
    /// Rekognition project or project version ARN.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.sources.push(source.into());
        self
    }

    /// Adds several sources.
    pub fn sources<I, S>(mut self, sources: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.sources.extend(sources.into_iter().map(Into::into));
        self
    }

    /// Also every Custom Labels project of the region.
    pub fn all_projects(mut self, yes: bool) -> Self {
        self.all_projects = yes;
        self
    }

    /// Also the current datasets of this project ARN (entries with errors).
    pub fn datasets(mut self, project_arn: impl Into<String>) -> Self {
        self.datasets.push(project_arn.into());
        self
    }

    /// Which versions of the projects to report.
    pub fn filter(mut self, filter: VersionFilter) -> Self {
        self.filter = filter;
        self
    }

    /// S3 objects downloaded at once (default 8).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Attempts per S3 request or resume, and per Rekognition call (default 5).
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }

    /// Analysis threads; 0 (the default) means one per core.
    pub fn threads(mut self, n: usize) -> Self {
        self.report.threads = n;
        self
    }

    /// Lines longer than this are unparsable.
    pub fn max_line_bytes(mut self, n: usize) -> Self {
        self.report.analyze.max_line_bytes = n;
        self
    }

    /// Lines analyzed per manifest (default [`rekcheck_analyze::DEFAULT_MAX_LINES`], 1,000,000);
    /// later lines are counted and reported by one `REKCHECK_MAX_LINES` error.
    pub fn max_lines(mut self, n: u64) -> Self {
        self.report.analyze.max_lines = n;
        self
    }

    /// Issues listed per line (default 1,000); the others are counted and summed up in one
    /// `REKCHECK_TOO_MANY_ISSUES` row.
    pub fn max_issues_per_line(mut self, n: usize) -> Self {
        self.report.analyze.max_issues_per_line = n;
        self
    }

    /// Longest CSV text cell in bytes (default [`rekcheck_analyze::DEFAULT_MAX_CELL_BYTES`],
    /// 64 KiB); longer cells are cut with a `…[truncated N bytes]` marker, except with
    /// [`PipelineBuilder::csv_raw`].
    pub fn max_cell_bytes(mut self, n: usize) -> Self {
        self.report.max_cell_bytes = n;
        self
    }

    /// Write CSV cells exactly as found (no `'` before formula characters, no cut).
    pub fn csv_raw(mut self, yes: bool) -> Self {
        self.report.csv_raw = yes;
        self
    }

    /// Where progress goes.
    pub fn reporter(mut self, reporter: Arc<dyn Reporter>) -> Self {
        self.reporter = reporter;
        self
    }

    /// Stop the run when this returns true (checked on every read): the run ends with
    /// [`PipelineError::Stopped`] and leaves no report file behind.
    pub fn stop_when(mut self, stop: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.stop = Some(Arc::new(stop));
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<Pipeline, PipelineError> {
        if self.sources.is_empty() && !self.all_projects && self.datasets.is_empty() {
            return Err(PipelineError::Input(
                "nothing to read: add a source, all_projects or datasets".into(),
            ));
        }
        if self.concurrency == 0 || self.retries == 0 {
            return Err(PipelineError::Input(
                "concurrency and retries must be at least 1".into(),
            ));
        }
        let needs_rekognition = self.all_projects
            || !self.datasets.is_empty()
            || self.sources.iter().any(|s| s.starts_with("arn:"));
        let needs_s3 = needs_rekognition || self.sources.iter().any(|s| s.starts_with("s3://"));
        if needs_s3 && self.sdk.is_none() && self.s3.is_none() {
            return Err(PipelineError::Input(
                "S3 sources need an SdkConfig or an S3 client".into(),
            ));
        }
        if needs_rekognition && self.sdk.is_none() && self.rekognition.is_none() {
            return Err(PipelineError::Input(
                "Rekognition sources need an SdkConfig or a Rekognition client".into(),
            ));
        }
        let s3 = self.s3.or_else(|| {
            // Also without S3 sources: the report may be written to S3.
            let sdk = self.sdk.as_ref()?;
            let mut conf = aws_sdk_s3::config::Builder::from(sdk)
                .retry_config(aws_config::retry::RetryConfig::disabled());
            if self.s3_path_style {
                conf = conf
                    .force_path_style(true)
                    .request_checksum_calculation(
                        aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
                    )
                    .response_checksum_validation(
                        aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
                    );
            }
            Some(aws_sdk_s3::Client::from_conf(conf.build()))
        });
        let rekognition = self.rekognition.or_else(|| {
            let sdk = self.sdk.as_ref().filter(|_| needs_rekognition)?;
            let conf = aws_sdk_rekognition::config::Builder::from(sdk)
                .retry_config(
                    aws_config::retry::RetryConfig::adaptive().with_max_attempts(self.retries),
                )
                .build();
            Some(aws_sdk_rekognition::Client::from_conf(conf))
        });
        Ok(Pipeline {
            s3,
            locator: rekognition.map(Locator::new),
            sources: self.sources,
            all_projects: self.all_projects,
            datasets: self.datasets,
            filter: self.filter,
            concurrency: self.concurrency,
            retries: self.retries,
            report: self.report,
            reporter: self.reporter,
            stop: self.stop.unwrap_or_else(|| Arc::new(|| false)),
        })
    }
}

/// One run over a set of sources; see the crate documentation.
pub struct Pipeline {
    pub(crate) s3: Option<aws_sdk_s3::Client>,
    locator: Option<Locator>,
    pub(crate) sources: Vec<String>,
    all_projects: bool,
    datasets: Vec<String>,
    filter: VersionFilter,
    pub(crate) concurrency: usize,
    pub(crate) retries: u32,
    pub(crate) report: ReportOptions,
    pub(crate) reporter: Arc<dyn Reporter>,
    pub(crate) stop: StopFn,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

/// What a run found.
#[derive(Debug)]
pub struct RunOutcome {
    /// Versions, manifests, codes, labels, terminal errors and the files written.
    pub summary: ReportSummary,
    /// Inputs that could not be read; the rest was still reported.
    pub failures: Vec<Failure>,
    /// Things worth telling the user (a listing fallback, a summary without its manifest...).
    pub notes: Vec<String>,
}

impl RunOutcome {
    /// The exit-code contract: 2 when an input could not be read, 1 when an issue at or above
    /// `fail_on` was found (`None`: never), 0 otherwise.
    pub fn exit_code(&self, fail_on: Option<Severity>) -> u8 {
        if self.failures.is_empty() {
            u8::from(fail_on.is_some_and(|s| self.summary.has_issues_at(s)))
        } else {
            2
        }
    }
}

enum Output {
    Memory(Option<BlockCallback>),
    /// A folder, and what `versions.csv` calls the report location (`{project}/{version}`
    /// placeholders at the end are filled in per version).
    Dir(PathBuf, String),
}

impl Pipeline {
    /// A builder with the defaults: 8 objects at once, 5 attempts, one thread per core.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder {
            sdk: None,
            s3: None,
            rekognition: None,
            s3_path_style: false,
            sources: Vec::new(),
            all_projects: false,
            datasets: Vec::new(),
            filter: VersionFilter::default(),
            concurrency: 8,
            retries: 5,
            report: ReportOptions::default(),
            reporter: Arc::new(NoProgress),
            stop: None,
        }
    }

    /// Runs without writing any file: the outcome holds the aggregates.
    pub async fn run(self) -> Result<RunOutcome, PipelineError> {
        self.spawn(Output::Memory(None)).await
    }

    /// Runs without writing any file, handing every block's typed rows and issues to
    /// `on_block` in (manifest, line) order.
    pub async fn run_with(self, on_block: BlockCallback) -> Result<RunOutcome, PipelineError> {
        self.spawn(Output::Memory(Some(on_block))).await
    }

    /// Runs and writes the CSV report into `dir` (created if needed).
    pub async fn write_csv(self, dir: impl Into<PathBuf>) -> Result<RunOutcome, PipelineError> {
        let dir = dir.into();
        let location = dir.display().to_string();
        self.spawn(Output::Dir(dir, location)).await
    }

    /// Runs and uploads the report under `prefix` (`s3://bucket/prefix/`): each version's files
    /// under `<prefix>/<project>/<version>/`, the whole run's under `<prefix>/runs/<UTC time>/`,
    /// and that folder's `index.json` last, so that its presence means the run is complete.
    /// Each object is one `PutObject`: nothing half-written is ever visible.
    pub async fn write_s3(
        self,
        prefix: rekcheck_fetch::S3Location,
    ) -> Result<RunOutcome, PipelineError> {
        let Some(client) = self.s3.clone() else {
            return Err(PipelineError::Input(
                "writing the report to S3 needs an SdkConfig or an S3 client".into(),
            ));
        };
        let staging = crate::upload::Staging::new()?;
        let base = prefix.to_string();
        let base = base.trim_end_matches('/').to_owned();
        let mut outcome = self
            .spawn(Output::Dir(
                staging.path().to_owned(),
                format!("{base}/{{project}}/{{version}}/"),
            ))
            .await?;
        let uploaded = crate::upload::upload(&client, &prefix, staging.path(), &outcome).await?;
        outcome.summary.files = uploaded;
        Ok(outcome)
    }

    async fn spawn(self, output: Output) -> Result<RunOutcome, PipelineError> {
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || self.execute(&handle, output))
            .await
            .map_err(|e| PipelineError::Task(e.to_string()))?
    }

    /// Local files, and S3 objects when there is a client.
    pub(crate) fn fetcher(&self, handle: &tokio::runtime::Handle) -> Fetcher {
        match &self.s3 {
            Some(client) => {
                let policy = RetryPolicy {
                    attempts: self.retries,
                    ..RetryPolicy::default()
                };
                Fetcher::with_s3(
                    S3Source::new(client.clone(), handle.clone()).with_retry_policy(policy),
                )
            }
            None => Fetcher::local(),
        }
    }

    /// The blocking part: discovery, then each group in order through the one writer.
    fn execute(
        self,
        handle: &tokio::runtime::Handle,
        output: Output,
    ) -> Result<RunOutcome, PipelineError> {
        let fetcher = self.fetcher(handle);
        let (arns, paths): (Vec<String>, Vec<String>) = self
            .sources
            .iter()
            .cloned()
            .partition(|p| p.starts_with("arn:"));
        let mut failures: Vec<Failure> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        let mut groups = discover(&paths, &fetcher, handle, &mut failures);
        if let Some(locator) = &self.locator {
            let (found, failed) = handle.block_on(versions::find_versions(
                locator,
                &arns,
                self.all_projects,
                &self.filter,
            ));
            failures.extend(failed);
            for v in &found {
                groups.push(versions::version_group(
                    v,
                    &fetcher,
                    handle,
                    &mut notes,
                    &mut failures,
                ));
            }
        }
        let dataset_inputs = match &self.locator {
            Some(locator) => datasets::collect(locator, handle, &self.datasets, &mut failures),
            None => Vec::new(),
        };
        let inputs: usize = groups
            .iter()
            .map(|g| {
                g.manifests.len()
                    + usize::from(g.summary.is_some())
                    + usize::from(g.version_info.is_some())
            })
            .sum::<usize>()
            + dataset_inputs.len();
        if inputs == 0 {
            let detail: Vec<String> = failures
                .iter()
                .map(|f| format!("{}: {}", f.what, f.error))
                .collect();
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", detail.join("; "))
            };
            if paths.is_empty() {
                return Err(PipelineError::NothingFound(format!(
                    "no project version or dataset matched (check the ARNs, the version, status and date filters, and the region){detail}"
                )));
            }
            return Err(PipelineError::NothingFound(format!(
                "no manifests found in {}; in a folder or S3 prefix rekcheck reads {EXPECTED_NAMES} (name a file or object directly to read it whatever its name){detail}",
                self.sources.join(", ")
            )));
        }

        let (mut writer, report_location) = match output {
            Output::Dir(dir, location) => (ReportWriter::create(&dir, self.report)?, location),
            Output::Memory(callback) => {
                let mut w = ReportWriter::in_memory(self.report)?;
                if let Some(cb) = callback {
                    w.on_block(cb);
                }
                (w, String::new())
            }
        };
        self.reporter.started(
            groups
                .iter()
                .flat_map(|g| &g.manifests)
                .filter_map(|m| m.size)
                .sum(),
        );
        let manifests: Vec<&Input> = groups.iter().flat_map(|g| &g.manifests).collect();
        let mut window = OpenAhead::new(&fetcher, &manifests, self.concurrency);
        let mut index = 0;
        for group in &groups {
            add_group(
                &mut writer,
                group,
                &fetcher,
                &mut window,
                &mut index,
                self.reporter.as_ref(),
                self.stop.as_ref(),
                &report_location,
                &mut failures,
                &mut notes,
            )?;
        }
        for d in &dataset_inputs {
            datasets::add(&mut writer, d, &mut notes)?;
        }
        self.reporter.finished();
        if (self.stop)() {
            return Err(PipelineError::Stopped);
        }
        let summary = writer.finish()?;
        Ok(RunOutcome {
            summary,
            failures,
            notes,
        })
    }
}

/// A reader that fails once the run is told to stop.
pub(crate) struct Stoppable<'a, R> {
    pub(crate) inner: R,
    pub(crate) stop: &'a (dyn Fn() -> bool + Send + Sync),
}

impl<R: Read> Read for Stoppable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if (self.stop)() {
            return Err(io::Error::other("stopped"));
        }
        self.inner.read(buf)
    }
}

/// Keeps the next `concurrency` manifests open, so that S3 downloads run ahead of the analysis
/// (each bounded by its reader's buffer) while the report stays in manifest order.
struct OpenAhead<'a> {
    fetcher: &'a Fetcher,
    manifests: &'a [&'a Input],
    concurrency: usize,
    next_to_open: usize,
    open: std::collections::VecDeque<Result<Box<dyn Read + Send>, FetchError>>,
}

impl<'a> OpenAhead<'a> {
    fn new(fetcher: &'a Fetcher, manifests: &'a [&'a Input], concurrency: usize) -> Self {
        OpenAhead {
            fetcher,
            manifests,
            concurrency,
            next_to_open: 0,
            open: std::collections::VecDeque::new(),
        }
    }

    /// The reader of manifest `index`; manifests must be taken in order.
    fn take(&mut self, index: usize) -> Result<Box<dyn Read + Send>, FetchError> {
        while self.next_to_open < self.manifests.len()
            && self.next_to_open < index + self.concurrency
        {
            let m = self.manifests[self.next_to_open];
            self.open.push_back(self.fetcher.open(&m.source));
            self.next_to_open += 1;
        }
        self.open.pop_front().unwrap_or_else(|| {
            Err(FetchError::Io(std::io::Error::other(
                "manifest taken out of order",
            )))
        })
    }
}

/// Adds one training's files to the report: the summary's terminal errors, then each manifest.
#[allow(clippy::too_many_arguments)]
fn add_group(
    writer: &mut ReportWriter,
    group: &Group,
    fetcher: &Fetcher,
    window: &mut OpenAhead<'_>,
    index: &mut usize,
    reporter: &dyn Reporter,
    stop: &(dyn Fn() -> bool + Send + Sync),
    report_location: &str,
    failures: &mut Vec<Failure>,
    notes: &mut Vec<String>,
) -> Result<(), PipelineError> {
    let summary = group.summary.as_ref().and_then(|input| {
        let parsed = fetcher
            .read_all(&input.source)
            .map_err(PipelineError::from)
            .and_then(|bytes| {
                ManifestSummary::from_slice(&bytes).map_err(|e| {
                    PipelineError::Input(format!(
                        "not a valid manifest summary ({e}); expected one JSON object with `statistics` and `errors`"
                    ))
                })
            });
        match parsed {
            Ok(s) => Some((input, s)),
            Err(error) => {
                failures.push(Failure {
                    what: input.display.clone(),
                    error,
                });
                None
            }
        }
    });
    for extra in &group.extra_summaries {
        notes.push(format!(
            "{} was not used: {} is the manifest summary of the same training",
            extra.display,
            group.summary.as_ref().map_or("", |s| s.display.as_str())
        ));
    }
    let context = |dataset: Dataset, manifest: &str| ManifestContext {
        project: group.project.clone(),
        version: group.version.clone(),
        dataset,
        manifest: manifest.to_owned(),
    };

    if summary.is_none()
        && let (Some((code, message)), Some(v)) = (&group.status_issue, &group.version_info)
    {
        let issue = Issue::manifest(Severity::Error, code.clone(), message.clone());
        writer.add_manifest_issues(&context(Dataset::Unknown, &v.arn), &[issue])?;
    }

    if let Some((input, s)) = &summary {
        let sides = [
            (Dataset::Training, s.statistics.training.as_ref()),
            (Dataset::Testing, s.statistics.testing.as_ref()),
        ];
        for (dataset, side) in sides {
            let issues = side.map(|d| terminal_issues(&d.errors)).unwrap_or_default();
            writer.add_manifest_issues(&context(dataset, &input.display), &issues)?;
        }
        writer.add_manifest_issues(
            &context(Dataset::Unknown, &input.display),
            &terminal_issues(&s.errors),
        )?;
    }

    for m in &group.manifests {
        let reader = window.take(*index);
        *index += 1;
        let side = summary.as_ref().and_then(|(_, s)| match m.dataset {
            Dataset::Training => s.statistics.training.as_ref(),
            Dataset::Testing => s.statistics.testing.as_ref(),
            Dataset::Unknown => None,
        });
        let ctx = context(m.dataset, &m.display);
        let reader = match reader {
            Ok(r) => r,
            Err(e) => {
                read_failed(writer, &ctx, &e.to_string())?;
                failures.push(Failure {
                    what: m.display.clone(),
                    error: e.into(),
                });
                continue;
            }
        };
        tracing::info!(manifest = %m.display, dataset = m.dataset.as_str(), "analyzing");
        reporter.object_started(&m.display, m.size);
        let reader = Stoppable {
            inner: reader,
            stop,
        };
        let result = writer.add_manifest(&ctx, reader, side, &mut |n| {
            reporter.bytes(&m.display, n);
        });
        reporter.object_finished(&m.display);
        if stop() {
            return Err(PipelineError::Stopped);
        }
        match result {
            Ok(_) => {}
            Err(rekcheck_analyze::Error::Read { source, .. }) => {
                let e = rekcheck_fetch::into_fetch_error(source);
                read_failed(writer, &ctx, &e.to_string())?;
                failures.push(Failure {
                    what: m.display.clone(),
                    error: PipelineError::Input(format!(
                        "{e}; reading stopped part-way, the rows before the failure are in the report"
                    )),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }

    if !group.project.is_empty() || !group.version.is_empty() {
        let meta = group.meta.clone().unwrap_or_default();
        // The error that stopped the training: the documented code of the status message, else
        // the summary's first terminal error, else the status issue's code.
        let from_status = meta
            .status
            .ends_with("FAILED")
            .then(|| rekcheck_analyze::code_for_message(&meta.status_message))
            .flatten()
            .map(|c| c.code.to_owned());
        let terminal_code = from_status
            .or_else(|| {
                summary.as_ref().and_then(|(_, s)| {
                    let sides = [
                        s.statistics.training.as_ref(),
                        s.statistics.testing.as_ref(),
                    ];
                    sides
                        .into_iter()
                        .flatten()
                        .flat_map(|d| &d.errors)
                        .chain(&s.errors)
                        .map(|e| e.code.clone())
                        .next()
                })
            })
            .or_else(|| group.status_issue.as_ref().map(|(c, _)| c.clone()))
            .unwrap_or_default();
        writer.add_version(VersionRow {
            project: group.project.clone(),
            version: group.version.clone(),
            status: meta.status,
            status_message: meta.status_message,
            terminal_code,
            created: meta.created,
            training_ended: meta.training_ended,
            report: match report_location.strip_suffix("/{project}/{version}/") {
                Some(prefix) => format!("{prefix}/{}/{}/", group.project, group.version),
                None => report_location.to_owned(),
            },
            stats: Stats::default(),
        });
    }

    // Datasets the summary describes but whose manifest is not here keep their counts.
    if let Some((input, s)) = &summary {
        for (dataset, side) in [
            (Dataset::Training, s.statistics.training.as_ref()),
            (Dataset::Testing, s.statistics.testing.as_ref()),
        ] {
            if let Some(side) = side
                && !group.manifests.iter().any(|m| m.dataset == dataset)
            {
                writer.add_rekognition_only(&context(dataset, &input.display), side);
                notes.push(format!(
                    "{} describes a {} manifest that is not among the inputs; only its counts are reported",
                    input.display,
                    dataset.as_str()
                ));
            }
        }
    }
    Ok(())
}

/// Records in the report that a manifest could not be read (completely).
fn read_failed(
    writer: &mut ReportWriter,
    ctx: &ManifestContext,
    message: &str,
) -> Result<(), PipelineError> {
    let issue = Issue::manifest(
        Severity::Error,
        rekcheck_analyze::REKCHECK_READ_FAILED,
        message,
    );
    writer.add_manifest_issues(ctx, &[issue])?;
    Ok(())
}

fn terminal_issues(errors: &[rekcheck_analyze::SummaryError]) -> Vec<Issue> {
    errors
        .iter()
        .map(|e| {
            let severity = if e.code.starts_with("WARNING_") {
                Severity::Warning
            } else {
                Severity::Error
            };
            Issue::manifest(severity, e.code.clone(), e.message.clone())
        })
        .collect()
}
