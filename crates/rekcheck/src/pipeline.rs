//! The pipeline: locate -> fetch -> analyze -> one ordered writer.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;

use rekcheck_analyze::output::OutputLock;
use rekcheck_analyze::{
    BlockCallback, Dataset, DatasetStatistics, Issue, ManifestContext, ManifestSummary,
    ReportOptions, ReportWriter, Severity, Stats, VersionRow,
};
use rekcheck_fetch::{FetchError, Fetcher};
#[cfg(feature = "s3")]
use rekcheck_fetch::{RetryPolicy, S3Source};
#[cfg(feature = "rekognition")]
use rekcheck_locate::{Locator, VersionFilter};

use crate::discover::{EXPECTED_NAMES, Group, Input, Kind, Parked, discover, folder_kind};
use crate::error::{Failure, PipelineError};
use crate::inputs::Stoppable;
use crate::outcome::RunOutcome;
use crate::reporter::{NoProgress, Reporter};
use crate::rt::Handle;
use crate::source::{Named, Source};
#[cfg(feature = "rekognition")]
use crate::{datasets, versions};

type StopFn = Arc<dyn Fn() -> bool + Send + Sync>;

#[cfg(feature = "s3")]
use rekcheck_fetch::DEFAULT_TIMEOUT;
/// How long one request may take to answer by default (no request is sent without `s3`).
#[cfg(not(feature = "s3"))]
const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The most analysis threads a pipeline uses: [`PipelineBuilder::threads`] clamps to it.
///
/// Threads beyond the cores only cost memory (each keeps blocks in flight) and start-up time
/// (100,000 threads took minutes to spawn, during which a signal was not acted on).
pub const MAX_THREADS: usize = 256;

/// The most S3 objects a pipeline downloads at once (and, with `--verify-images`, the most
/// image requests in flight): [`PipelineBuilder::concurrency`] clamps to it. Each open object
/// buffers up to 64 body chunks.
pub const MAX_CONCURRENCY: usize = 256;

/// Builds a [`Pipeline`]. Sources are local paths, `s3://` objects and prefixes, and
/// Rekognition project or version ARNs; anything remote needs an `SdkConfig` or clients.
///
/// Made by [`Pipeline::builder`]; every setting has a default, and [`PipelineBuilder::build`]
/// checks them.
///
/// # Example
///
/// ```no_run
/// use rekcheck::{Pipeline, Source};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = aws_config::load_from_env().await;
/// let pipeline = Pipeline::builder()
///     .sdk_config(&config)
///     .source("s3://my-bucket/training-output/".parse::<Source>()?)
///     .source("arn:aws:rekognition:us-east-1:111122223333:project/my-project/1690474772815".parse::<Source>()?)
///     .concurrency(16)
///     .retries(3)
///     .timeout(std::time::Duration::from_secs(60))
///     .build()?;
/// let outcome = pipeline.write_csv("rekcheck-report").await?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct PipelineBuilder {
    #[cfg(feature = "s3")]
    sdk: Option<aws_config::SdkConfig>,
    #[cfg(feature = "s3")]
    s3: Option<aws_sdk_s3::Client>,
    #[cfg(feature = "rekognition")]
    rekognition: Option<aws_sdk_rekognition::Client>,
    #[cfg(feature = "s3")]
    s3_path_style: bool,
    sources: Vec<Named>,
    all_projects: bool,
    datasets: Vec<String>,
    #[cfg(feature = "rekognition")]
    filter: VersionFilter,
    concurrency: usize,
    retries: u32,
    timeout: Option<std::time::Duration>,
    report: ReportOptions,
    reporter: Arc<dyn Reporter>,
    stop: Option<StopFn>,
    #[cfg(feature = "html")]
    html: Option<crate::html::HtmlOptions>,
}

impl std::fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field(
                "sources",
                &self.sources.iter().map(|n| &n.arg).collect::<Vec<_>>(),
            )
            .field("all_projects", &self.all_projects)
            .field("datasets", &self.datasets)
            .finish_non_exhaustive()
    }
}

impl PipelineBuilder {
    #[cfg(feature = "s3")]
    /// The AWS configuration the S3 and Rekognition clients are built from.
    pub fn sdk_config(mut self, config: &aws_config::SdkConfig) -> Self {
        self.sdk = Some(config.clone());
        self
    }

    #[cfg(feature = "s3")]
    /// Use this S3 client (its retries should be off: the pipeline retries and resumes).
    pub fn s3_client(mut self, client: aws_sdk_s3::Client) -> Self {
        self.s3 = Some(client);
        self
    }

    #[cfg(feature = "rekognition")]
    /// Use this Rekognition client.
    pub fn rekognition_client(mut self, client: aws_sdk_rekognition::Client) -> Self {
        self.rekognition = Some(client);
        self
    }

    #[cfg(feature = "s3")]
    /// Path-style S3 addressing and checksums only when required, for S3-compatible endpoints
    /// (applies to the client built from the `SdkConfig`).
    pub fn s3_path_style(mut self, yes: bool) -> Self {
        self.s3_path_style = yes;
        self
    }

    /// Adds a source: a local file or folder, an S3 object or prefix, or a Rekognition project
    /// or project version ARN (see [`Source`]: a `PathBuf` or `&Path` is always a path; parse a
    /// string with [`str::parse`], or give it to [`source_arg`](PipelineBuilder::source_arg)).
    ///
    /// # Example
    ///
    /// ```
    /// use rekcheck::{Pipeline, Source};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let version: Source =
    ///     "arn:aws:rekognition:us-east-1:111122223333:project/p/version/p.1/1690474772815".parse()?;
    /// let builder = Pipeline::builder().source(dir.path()).source(version);
    /// # let _ = builder;
    /// # Ok(()) }
    /// ```
    pub fn source(mut self, source: impl Into<Source>) -> Self {
        self.sources.push(Named::typed(source.into(), None));
        self
    }

    /// Adds a local file or S3 object that is a manifest of `dataset`, whatever its name
    /// (`report --training FILE`, `--testing FILE`, `--dataset`); a manifest summary beside it
    /// is used as in a folder. For a folder or prefix the dataset is not used: the file names
    /// there tell it.
    pub fn source_dataset(mut self, source: impl Into<Source>, dataset: Dataset) -> Self {
        self.sources
            .push(Named::typed(source.into(), Some(dataset)));
        self
    }

    /// Adds a source as a user typed it, parsed as [`Source`]'s `FromStr` does, with the dataset
    /// it is a manifest of (as [`source_dataset`](PipelineBuilder::source_dataset)), if given.
    /// A string that does not parse (`s3://` with a bad bucket, `arn:` that is no Rekognition
    /// ARN) does not fail the build: the run reports it in [`RunOutcome::failures`] and reads the
    /// other sources, as a command-line tool wants.
    pub fn source_arg(mut self, arg: impl Into<String>, dataset: Option<Dataset>) -> Self {
        self.sources.push(Named::parsed(arg.into(), dataset));
        self
    }

    /// Adds several sources.
    pub fn sources<I, S>(mut self, sources: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Source>,
    {
        self.sources
            .extend(sources.into_iter().map(|s| Named::typed(s.into(), None)));
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

    #[cfg(feature = "rekognition")]
    /// Which versions of the projects to report.
    pub fn filter(mut self, filter: VersionFilter) -> Self {
        self.filter = filter;
        self
    }

    /// S3 objects downloaded at once (default 8), at most [`MAX_CONCURRENCY`]: a larger value
    /// is clamped to it (0 is refused by [`PipelineBuilder::build`]).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.min(MAX_CONCURRENCY);
        self
    }

    /// Attempts per S3 request or resume, and per Rekognition call (default 5).
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }

    /// How long one network request may take to answer, and a body may stay silent (default:
    /// the `SdkConfig`'s read timeout, else [`rekcheck_fetch::DEFAULT_TIMEOUT`], 30 s).
    ///
    /// The pipeline applies it whatever the clients' own configuration: to each S3 request it
    /// sends to read (`ListObjectsV2`, `GetObject`, `HeadObject`; a body must also bring at least
    /// [`rekcheck_fetch::MIN_BODY_BYTES_PER_SECOND`]), and to the clients it builds from an
    /// `SdkConfig`: connect timeout for S3, connect, read and operation-attempt timeouts for
    /// Rekognition, whose calls are also bounded as a whole (with their retries) by
    /// `(timeout + 20 s) x retries`. Each upload attempt (`--out s3://`) may take the timeout
    /// plus one second per KiB of the object, so that a large report is not cut off but an
    /// endpoint that never answers cannot hang the run.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Analysis threads; 0 (the default) means one per core. At most [`MAX_THREADS`]: a larger
    /// value is clamped to it.
    pub fn threads(mut self, n: usize) -> Self {
        self.report.threads = n.min(MAX_THREADS);
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

    /// Also write `report.html` beside the CSV files (with [`Pipeline::write_csv`],
    /// `Pipeline::write_s3`, [`Pipeline::check`] and `Pipeline::check_s3`); `None`, the
    /// default, writes none. Feature `html`.
    #[cfg(feature = "html")]
    pub fn html(mut self, options: Option<crate::html::HtmlOptions>) -> Self {
        self.html = options;
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

    /// Checks the settings and builds the S3 and Rekognition clients from the `SdkConfig`.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Input`] when there is nothing to read (no source, no
    /// [`all_projects`](PipelineBuilder::all_projects), no [`datasets`](PipelineBuilder::datasets)),
    /// when [`concurrency`](PipelineBuilder::concurrency) or
    /// [`retries`](PipelineBuilder::retries) is 0, or when an `s3://` source or an ARN has
    /// neither an `SdkConfig` nor the client it needs.
    ///
    /// # Example
    ///
    /// ```
    /// use rekcheck::{Pipeline, PipelineError};
    ///
    /// let prefix: rekcheck::Source = "s3://my-bucket/output/".parse().unwrap();
    /// let err = Pipeline::builder().source(prefix).build().unwrap_err();
    /// assert!(matches!(err, PipelineError::Input(_)));
    /// ```
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
            || self.sources.iter().any(Named::is_arn);
        let needs_s3 = needs_rekognition || self.sources.iter().any(Named::is_remote);
        #[cfg(not(feature = "rekognition"))]
        if needs_rekognition {
            return Err(PipelineError::FeatureDisabled {
                what: "a Rekognition ARN, all_projects or datasets",
                feature: "rekognition",
            });
        }
        #[cfg(not(feature = "s3"))]
        if needs_s3 {
            return Err(PipelineError::FeatureDisabled {
                what: "an S3 source",
                feature: "s3",
            });
        }
        #[cfg(feature = "s3")]
        if needs_s3 && self.sdk.is_none() && self.s3.is_none() {
            return Err(PipelineError::Input(
                "S3 sources need an SdkConfig or an S3 client".into(),
            ));
        }
        #[cfg(feature = "rekognition")]
        if needs_rekognition && self.sdk.is_none() && self.rekognition.is_none() {
            return Err(PipelineError::Input(
                "Rekognition sources need an SdkConfig or a Rekognition client".into(),
            ));
        }
        #[cfg(feature = "s3")]
        let sdk_timeout = self
            .sdk
            .as_ref()
            .and_then(|c| c.timeout_config())
            .and_then(aws_config::timeout::TimeoutConfig::read_timeout);
        #[cfg(not(feature = "s3"))]
        let sdk_timeout = None;
        let timeout = self
            .timeout
            .or(sdk_timeout)
            .unwrap_or(DEFAULT_TIMEOUT)
            .max(std::time::Duration::from_millis(1));
        #[cfg(feature = "s3")]
        let s3 = self.s3.or_else(|| {
            // Also without S3 sources: the report may be written to S3.
            let sdk = self.sdk.as_ref()?;
            let mut conf = aws_sdk_s3::config::Builder::from(sdk)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .interceptor(rekcheck_fetch::DotSegmentEncoder::default())
                .timeout_config(
                    aws_config::timeout::TimeoutConfig::builder()
                        .connect_timeout(timeout)
                        .disable_read_timeout()
                        .disable_operation_attempt_timeout()
                        .disable_operation_timeout()
                        .build(),
                );
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
        #[cfg(feature = "rekognition")]
        let rekognition = self.rekognition.or_else(|| {
            let sdk = self.sdk.as_ref().filter(|_| needs_rekognition)?;
            let conf = aws_sdk_rekognition::config::Builder::from(sdk)
                .retry_config(
                    aws_config::retry::RetryConfig::adaptive().with_max_attempts(self.retries),
                )
                .retry_classifier(rekcheck_locate::NoRetryOnConfigErrors)
                .timeout_config(
                    aws_config::timeout::TimeoutConfig::builder()
                        .connect_timeout(timeout)
                        .read_timeout(timeout)
                        .operation_attempt_timeout(timeout)
                        .build(),
                )
                .build();
            Some(aws_sdk_rekognition::Client::from_conf(conf))
        });
        #[cfg(feature = "rekognition")]
        let call_timeout =
            (timeout + std::time::Duration::from_secs(20)).saturating_mul(self.retries.max(1));
        Ok(Pipeline {
            #[cfg(feature = "s3")]
            s3,
            timeout,
            #[cfg(feature = "rekognition")]
            locator: rekognition.map(|c| Locator::new(c).with_timeout(call_timeout)),
            sources: self.sources,
            all_projects: self.all_projects,
            datasets: self.datasets,
            #[cfg(feature = "rekognition")]
            filter: self.filter,
            concurrency: self.concurrency,
            retries: self.retries,
            report: self.report,
            reporter: self.reporter,
            stop: self.stop.unwrap_or_else(|| Arc::new(|| false)),
            #[cfg(feature = "html")]
            html: self.html,
        })
    }
}

/// Runs `f` with a runtime handle when the run `needs` one: a runtime of its own, which
/// cannot be started inside another one (an error then, never a panic).
pub(crate) fn with_runtime<T>(
    needs: bool,
    f: impl FnOnce(Option<&Handle>) -> Result<T, PipelineError>,
) -> Result<T, PipelineError> {
    if !needs {
        return f(None);
    }
    #[cfg(feature = "s3")]
    {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(PipelineError::Runtime(
                "a blocking run method that reads S3 or Rekognition cannot run inside a Tokio runtime (it would block one of its threads): await the async method instead, or call it from std::thread::spawn or spawn_blocking",
            ));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| PipelineError::Task(format!("cannot start a Tokio runtime: {e}")))?;
        f(Some(runtime.handle()))
    }
    #[cfg(not(feature = "s3"))]
    f(None)
}

/// The runtime the async run methods run on, or [`PipelineError::Runtime`] outside one.
#[cfg(feature = "s3")]
pub(crate) fn current_runtime() -> Result<tokio::runtime::Handle, PipelineError> {
    tokio::runtime::Handle::try_current().map_err(|_| {
        PipelineError::Runtime(
            "the async run methods must be awaited inside a Tokio runtime: start one (#[tokio::main] or tokio::runtime::Runtime), or call the _blocking variant",
        )
    })
}

/// One run over a set of sources; see the crate documentation.
pub struct Pipeline {
    #[cfg(feature = "s3")]
    pub(crate) s3: Option<aws_sdk_s3::Client>,
    /// How long one request may take to answer (see [`PipelineBuilder::timeout`]).
    pub(crate) timeout: std::time::Duration,
    #[cfg(feature = "rekognition")]
    locator: Option<Locator>,
    pub(crate) sources: Vec<Named>,
    all_projects: bool,
    datasets: Vec<String>,
    #[cfg(feature = "rekognition")]
    filter: VersionFilter,
    pub(crate) concurrency: usize,
    pub(crate) retries: u32,
    pub(crate) report: ReportOptions,
    pub(crate) reporter: Arc<dyn Reporter>,
    pub(crate) stop: StopFn,
    #[cfg(feature = "html")]
    pub(crate) html: Option<crate::html::HtmlOptions>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field(
                "sources",
                &self.sources.iter().map(|n| &n.arg).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

enum Output {
    Memory(Option<BlockCallback>),
    /// A folder, and what `versions.csv` calls the report location.
    Dir(PathBuf, ReportLocation),
}

/// What `versions.csv` gives as each version's report.
enum ReportLocation {
    /// The same for every version: the local folder.
    Local(String),
    /// Each version's folder under this `s3://` prefix (see the `upload` module).
    #[cfg(feature = "s3")]
    S3(rekcheck_fetch::S3Location, crate::layout::Layout),
}

impl Output {
    /// The writer the run adds to, and what `versions.csv` calls the report location.
    fn writer(
        self,
        options: ReportOptions,
    ) -> Result<(ReportWriter, ReportLocation), PipelineError> {
        Ok(match self {
            Output::Dir(dir, location) => (ReportWriter::create(&dir, options)?, location),
            Output::Memory(callback) => {
                let mut w = ReportWriter::in_memory(options)?;
                if let Some(cb) = callback {
                    w.on_block(cb);
                }
                (w, ReportLocation::Local(String::new()))
            }
        })
    }
}

impl ReportLocation {
    fn of(&self, project: &str, version: &str) -> String {
        match self {
            ReportLocation::Local(dir) => dir.clone(),
            #[cfg(feature = "s3")]
            ReportLocation::S3(prefix, layout) => {
                crate::upload::version_report(prefix, *layout, project, version)
            }
        }
    }
}

impl Pipeline {
    /// A builder with the defaults: 8 objects at once, 5 attempts, one thread per core.
    ///
    /// # Example
    ///
    /// A local folder needs no AWS configuration:
    ///
    /// ```
    /// use rekcheck::Pipeline;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(
    /// #     dir.path().join("TrainingManifestWithValidation-p-v.json"),
    /// #     r#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}"#,
    /// # )?;
    /// let pipeline = Pipeline::builder()
    ///     .source(dir.path())
    ///     .threads(2)
    ///     .build()?;
    /// let outcome = tokio::runtime::Runtime::new()?.block_on(pipeline.run())?;
    /// assert_eq!(outcome.summary.manifests[0].stats.error, 1);
    /// # Ok(()) }
    /// ```
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder {
            #[cfg(feature = "s3")]
            sdk: None,
            #[cfg(feature = "s3")]
            s3: None,
            #[cfg(feature = "rekognition")]
            rekognition: None,
            #[cfg(feature = "s3")]
            s3_path_style: false,
            sources: Vec::new(),
            all_projects: false,
            datasets: Vec::new(),
            #[cfg(feature = "rekognition")]
            filter: VersionFilter::default(),
            concurrency: 8,
            retries: 5,
            timeout: None,
            report: ReportOptions::default(),
            reporter: Arc::new(NoProgress),
            stop: None,
            #[cfg(feature = "html")]
            html: None,
        }
    }

    /// Runs without writing any file: the outcome holds the aggregates.
    ///
    /// # Errors
    ///
    /// [`PipelineError::NothingFound`] when no manifest, version or dataset was found;
    /// [`PipelineError::Stopped`] when [`stop_when`](PipelineBuilder::stop_when) said so;
    /// [`PipelineError::Locate`] / [`PipelineError::Fetch`] when listing the sources failed as
    /// a whole; [`PipelineError::Task`] when the blocking task could not run. An input that cannot
    /// be read does not end the run: it is in [`RunOutcome::failures`].
    ///
    /// # Runtime
    ///
    /// Needs the `s3` feature, and must be awaited inside a Tokio runtime (either flavor): the
    /// analysis runs on its blocking thread pool (`spawn_blocking`). Polled outside one it
    /// returns [`PipelineError::Runtime`]; it never panics. Without a runtime, use the
    /// `_blocking` variant.
    ///
    /// # Example
    ///
    /// ```
    /// use rekcheck::{Pipeline, analyze::Severity};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(
    /// #     dir.path().join("TrainingManifestWithValidation-p-v.json"),
    /// #     r#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}"#,
    /// # )?;
    /// let runtime = tokio::runtime::Runtime::new()?;
    /// let pipeline = Pipeline::builder().source(dir.path()).build()?;
    /// let outcome = runtime.block_on(pipeline.run())?;
    /// let m = &outcome.summary.manifests[0];
    /// assert_eq!((m.stats.lines, m.stats.error), (1, 1));
    /// assert!(outcome.summary.files.is_empty());
    /// assert_eq!(outcome.exit_code(Some(Severity::Error)), 1);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "s3")]
    pub async fn run(self) -> Result<RunOutcome, PipelineError> {
        self.spawn(Output::Memory(None)).await
    }

    /// Runs without writing any file, handing every block's typed rows and issues to
    /// `on_block` in (manifest, line) order.
    ///
    /// # Errors
    ///
    /// [`PipelineError::NothingFound`] when no manifest, version or dataset was found;
    /// [`PipelineError::Stopped`] when [`stop_when`](PipelineBuilder::stop_when) said so;
    /// [`PipelineError::Locate`] / [`PipelineError::Fetch`] when listing the sources failed as
    /// a whole; [`PipelineError::Task`] when the blocking task could not run. An input that cannot
    /// be read does not end the run: it is in [`RunOutcome::failures`].
    ///
    /// # Runtime
    ///
    /// Needs the `s3` feature, and must be awaited inside a Tokio runtime (either flavor): the
    /// analysis runs on its blocking thread pool (`spawn_blocking`). Polled outside one it
    /// returns [`PipelineError::Runtime`]; it never panics. Without a runtime, use the
    /// `_blocking` variant.
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use rekcheck::Pipeline;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(
    /// #     dir.path().join("TrainingManifestWithValidation-p-v.json"),
    /// #     r#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}"#,
    /// # )?;
    /// let codes = Arc::new(Mutex::new(Vec::new()));
    /// let sink = Arc::clone(&codes);
    /// let pipeline = Pipeline::builder().source(dir.path()).build()?;
    /// tokio::runtime::Runtime::new()?.block_on(pipeline.run_with(Box::new(move |_manifest, block| {
    ///     let mut codes = sink.lock().unwrap();
    ///     codes.extend(block.issues.iter().map(|i| (i.line, i.code.clone())));
    /// })))?;
    /// assert_eq!(*codes.lock().unwrap(), [(Some(1), "ERROR_INVALID_IMAGE".to_owned())]);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "s3")]
    pub async fn run_with(self, on_block: BlockCallback) -> Result<RunOutcome, PipelineError> {
        self.spawn(Output::Memory(Some(on_block))).await
    }

    /// [`run`](Pipeline::run) for callers without a Tokio runtime: blocks the calling thread.
    ///
    /// # Errors
    ///
    /// As [`run`](Pipeline::run); [`PipelineError::Runtime`] when the run reads S3 or
    /// Rekognition and this is called inside a Tokio runtime (await `run` there instead).
    ///
    /// # Runtime
    ///
    /// None needed. Local files and folders are read on the calling thread (and the analysis
    /// threads); S3 and Rekognition sources (feature `s3`) are read on a runtime of its own,
    /// started for the run.
    ///
    /// # Example
    ///
    /// ```
    /// use rekcheck::Pipeline;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(
    /// #     dir.path().join("TrainingManifestWithValidation-p-v.json"),
    /// #     r#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}"#,
    /// # )?;
    /// let outcome = Pipeline::builder().source(dir.path()).build()?.run_blocking()?;
    /// assert_eq!(outcome.summary.manifests[0].stats.error, 1);
    /// # Ok(()) }
    /// ```
    pub fn run_blocking(self) -> Result<RunOutcome, PipelineError> {
        self.blocking_run(Output::Memory(None))
    }

    /// [`run_with`](Pipeline::run_with) for callers without a Tokio runtime (see
    /// [`run_blocking`](Pipeline::run_blocking)).
    ///
    /// # Errors
    ///
    /// As [`run_blocking`](Pipeline::run_blocking).
    pub fn run_with_blocking(self, on_block: BlockCallback) -> Result<RunOutcome, PipelineError> {
        self.blocking_run(Output::Memory(Some(on_block)))
    }

    /// [`write_csv`](Pipeline::write_csv) for callers without a Tokio runtime (see
    /// [`run_blocking`](Pipeline::run_blocking)).
    ///
    /// # Errors
    ///
    /// As [`write_csv`](Pipeline::write_csv) and [`run_blocking`](Pipeline::run_blocking).
    ///
    /// # Example
    ///
    /// ```
    /// use rekcheck::Pipeline;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(
    /// #     dir.path().join("TrainingManifestWithValidation-p-v.json"),
    /// #     r#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}"#,
    /// # )?;
    /// let out = tempfile::tempdir()?;
    /// Pipeline::builder().source(dir.path()).build()?.write_csv_blocking(out.path())?;
    /// assert!(out.path().join("issues.csv").is_file());
    /// # Ok(()) }
    /// ```
    pub fn write_csv_blocking(self, dir: impl Into<PathBuf>) -> Result<RunOutcome, PipelineError> {
        let dir = dir.into();
        let location = ReportLocation::Local(dir.display().to_string());
        self.blocking_run(Output::Dir(dir, location))
    }

    fn blocking_run(self, output: Output) -> Result<RunOutcome, PipelineError> {
        with_runtime(self.needs_runtime(), |handle| self.execute(handle, output))
    }
}

impl Pipeline {
    /// Runs and writes the CSV report into `dir` (created if needed).
    ///
    /// # Errors
    ///
    /// As [`Pipeline::run`], and [`PipelineError::Report`] when `dir` cannot be created or
    /// written, or another run is writing there (its lock is held). No file appears under its
    /// final name unless the whole report was written.
    ///
    /// # Runtime
    ///
    /// Needs the `s3` feature, and must be awaited inside a Tokio runtime (either flavor): the
    /// analysis runs on its blocking thread pool (`spawn_blocking`). Polled outside one it
    /// returns [`PipelineError::Runtime`]; it never panics. Without a runtime, use the
    /// `_blocking` variant.
    ///
    /// # Example
    ///
    /// ```
    /// use rekcheck::Pipeline;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(
    /// #     dir.path().join("TrainingManifestWithValidation-p-v.json"),
    /// #     r#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}"#,
    /// # )?;
    /// let out = tempfile::tempdir()?;
    /// let pipeline = Pipeline::builder().source(dir.path()).build()?;
    /// let outcome = tokio::runtime::Runtime::new()?.block_on(pipeline.write_csv(out.path()))?;
    /// assert!(out.path().join("issues.csv").is_file());
    /// assert!(outcome.summary.files.iter().any(|f| f.ends_with("summary.csv")));
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "s3")]
    pub async fn write_csv(self, dir: impl Into<PathBuf>) -> Result<RunOutcome, PipelineError> {
        let dir = dir.into();
        let location = ReportLocation::Local(dir.display().to_string());
        self.spawn(Output::Dir(dir, location)).await
    }

    /// Runs and uploads the report under `prefix` (`s3://bucket/prefix/`): each version's files
    /// under `<prefix>/<project>/<version>/` (the names percent-encoded: `A`-`Z a`-`z 0`-`9 - _`
    /// and a `.` that is not first stay, every other byte becomes `%XX`, the empty name is `~`;
    /// a folder over 512 bytes becomes `~sha256/<hex>`), the whole run's under
    /// `<prefix>/runs/<UTC time>/`, and that folder's `index.json` last, so that its presence
    /// means the run is complete. Each object is one `PutObject`: nothing half-written is ever
    /// visible. A failed `PutObject` is sent again with backoff (the [`retries`] setting); if it
    /// still fails, the run ends with [`PipelineError::Upload`], which names the local folder
    /// where the whole report is kept.
    ///
    /// # Errors
    ///
    /// As [`Pipeline::write_csv`]; [`PipelineError::Input`] when the pipeline has neither an
    /// `SdkConfig` nor an S3 client; [`PipelineError::Upload`] when an object could not be
    /// uploaded after the retries (the report is then kept in the folder it names).
    ///
    /// # Runtime
    ///
    /// Needs the `s3` feature, and must be awaited inside a Tokio runtime (either flavor): the
    /// analysis runs on its blocking thread pool (`spawn_blocking`). Polled outside one it
    /// returns [`PipelineError::Runtime`]; it never panics. Without a runtime, use the
    /// `_blocking` variant.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use rekcheck::Pipeline;
    /// use rekcheck::fetch::S3Location;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = aws_config::load_from_env().await;
    /// let prefix: S3Location = "s3://my-reports/rekcheck/".parse()?;
    /// let outcome = Pipeline::builder()
    ///     .sdk_config(&config)
    ///     .source("arn:aws:rekognition:us-east-1:111122223333:project/my-project/1690474772815".parse::<rekcheck::Source>()?)
    ///     .build()?
    ///     .write_s3(prefix)
    ///     .await?;
    /// for file in &outcome.summary.files {
    ///     println!("uploaded {}", file.display());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// [`retries`]: PipelineBuilder::retries
    #[cfg(feature = "s3")]
    pub async fn write_s3(
        self,
        prefix: rekcheck_fetch::S3Location,
    ) -> Result<RunOutcome, PipelineError> {
        let output = crate::layout::S3Output::new(crate::layout::Layout::Folders);
        self.write_s3_with(prefix, &output).await
    }

    /// [`Pipeline::write_s3`] in `output`'s layout ([`Layout::Tables`](crate::layout::Layout)
    /// is documented in the [`layout`](crate::layout) module), with its server-side encryption
    /// on every object.
    ///
    /// # Errors
    ///
    /// As [`Pipeline::write_s3`].
    ///
    /// # Runtime
    ///
    /// As [`Pipeline::write_s3`].
    #[cfg(feature = "s3")]
    pub async fn write_s3_with(
        self,
        prefix: rekcheck_fetch::S3Location,
        output: &crate::layout::S3Output,
    ) -> Result<RunOutcome, PipelineError> {
        let Some(client) = self.s3.clone() else {
            return Err(PipelineError::Input(
                "writing the report to S3 needs an SdkConfig or an S3 client".into(),
            ));
        };
        let staging = crate::upload::Staging::new()?;
        let csv_raw = self.report.csv_raw;
        let self_timeout = self.timeout;
        let policy = RetryPolicy {
            attempts: self.retries,
            ..RetryPolicy::default()
        };
        let mut outcome = self
            .spawn(Output::Dir(
                staging.path().to_owned(),
                ReportLocation::S3(prefix.clone(), output.layout),
            ))
            .await?;
        let uploaded = crate::upload::upload(
            &client,
            &prefix,
            staging.path(),
            crate::upload::Finished {
                summary: &outcome.summary,
                failures: &mut outcome.failures,
            },
            csv_raw,
            output,
            &policy,
            self_timeout,
        )
        .await;
        match uploaded {
            Ok(files) => {
                outcome.summary.files = files;
                Ok(outcome)
            }
            Err(e) => {
                let cause = match e {
                    crate::upload::UploadError::Split(e) => {
                        format!("cannot split the report per version: {e}")
                    }
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

    /// Runs the blocking part on the runtime's blocking pool; outside a runtime, an error.
    #[cfg(feature = "s3")]
    async fn spawn(self, output: Output) -> Result<RunOutcome, PipelineError> {
        let handle = current_runtime()?;
        tokio::task::spawn_blocking(move || self.execute(Some(&handle), output))
            .await
            .map_err(|e| PipelineError::Task(e.to_string()))?
    }

    /// Whether the run calls S3 or Rekognition, which block on a Tokio runtime.
    pub(crate) fn needs_runtime(&self) -> bool {
        self.all_projects || !self.datasets.is_empty() || self.sources.iter().any(Named::is_remote)
    }

    /// The run's S3 client, when it has one.
    #[cfg(feature = "s3")]
    #[cfg_attr(not(feature = "html"), allow(dead_code))]
    pub(crate) fn s3_client(&self) -> Option<&crate::rt::S3Client> {
        self.s3.as_ref()
    }

    /// Without the `s3` feature there is no S3 client.
    #[cfg(not(feature = "s3"))]
    #[allow(clippy::unused_self)]
    pub(crate) fn s3_client(&self) -> Option<&crate::rt::S3Client> {
        None
    }

    /// Local files, and S3 objects when there is a client and a runtime.
    #[cfg_attr(not(feature = "s3"), allow(clippy::unused_self))]
    pub(crate) fn fetcher(&self, handle: Option<&Handle>) -> Fetcher {
        #[cfg(not(feature = "s3"))]
        let _ = handle;
        #[cfg(feature = "s3")]
        if let (Some(client), Some(handle)) = (&self.s3, handle) {
            {
                let policy = RetryPolicy {
                    attempts: self.retries,
                    ..RetryPolicy::default()
                };
                return Fetcher::with_s3(
                    S3Source::new(client.clone(), handle.clone())
                        .with_retry_policy(policy)
                        .with_timeout(self.timeout),
                );
            }
        }
        Fetcher::local()
    }

    /// The blocking part: discovery, then each group in order through the one writer.
    fn execute(self, handle: Option<&Handle>, output: Output) -> Result<RunOutcome, PipelineError> {
        let fetcher = self.fetcher(handle);
        let (arns, paths): (Vec<&Named>, Vec<&Named>) =
            self.sources.iter().partition(|n| n.is_arn());
        #[cfg(feature = "rekognition")]
        let arns: Vec<String> = arns.into_iter().map(|n| n.arg.clone()).collect();
        #[cfg(not(feature = "rekognition"))]
        let _ = arns;
        let named: Vec<Named> = paths.iter().map(|n| (*n).clone()).collect();
        let mut failures: Vec<Failure> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        #[cfg_attr(not(feature = "rekognition"), allow(unused_mut))]
        let mut parked = Parked::new(self.concurrency);
        let mut groups = discover(
            &named,
            &fetcher,
            handle,
            &mut failures,
            &mut notes,
            &mut parked,
        );
        #[cfg(feature = "rekognition")]
        if let (Some(locator), Some(handle)) = (&self.locator, handle) {
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
        #[cfg(feature = "rekognition")]
        let dataset_inputs = match (&self.locator, handle) {
            (Some(locator), Some(handle)) => {
                datasets::collect(locator, handle, &self.datasets, &mut failures)
            }
            _ => Vec::new(),
        };
        #[cfg(not(feature = "rekognition"))]
        let dataset_inputs: Vec<std::convert::Infallible> = Vec::new();
        let inputs: usize = groups
            .iter()
            .map(|g| {
                g.manifests.len()
                    + g.unread.len()
                    + usize::from(g.summary.is_some())
                    + usize::from(g.version_arn.is_some())
            })
            .sum::<usize>()
            + dataset_inputs.len();
        if inputs == 0 {
            let detail: Vec<String> = failures
                .iter()
                .map(|f| format!("{}: {}", f.what, f.error))
                .collect();
            // Nothing could be read: the failures are the news, not what was not found.
            if !detail.is_empty() && failures.iter().all(|f| f.error.is_request_failure()) {
                return Err(PipelineError::NothingFound(detail.join("; ")));
            }
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
                self.sources
                    .iter()
                    .map(|n| n.arg.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }

        #[cfg(feature = "html")]
        let html_dir = match &output {
            Output::Dir(dir, _) => Some(dir.clone()),
            Output::Memory(_) => None,
        };
        // `mut` for html::attach.
        #[cfg_attr(not(feature = "html"), allow(unused_mut))]
        let (mut writer, location) = output.writer(self.report)?;
        #[cfg(feature = "html")]
        let collector = match (&html_dir, &self.html) {
            (Some(_), Some(options)) => Some(crate::html::attach(&mut writer, options)),
            _ => None,
        };
        self.reporter.started(
            groups
                .iter()
                .flat_map(|g| &g.manifests)
                .filter_map(|m| m.size)
                .sum(),
        );
        let manifests: Vec<&Input> = groups.iter().flat_map(|g| &g.manifests).collect();
        let mut run = Run {
            writer,
            fetcher: &fetcher,
            window: OpenAhead::new(&fetcher, &manifests, self.concurrency, parked),
            reporter: self.reporter.as_ref(),
            stop: self.stop.as_ref(),
            location,
            failures,
            notes,
            not_validated: Vec::new(),
        };
        for group in &groups {
            run.add_group(group)?;
        }
        #[cfg(feature = "rekognition")]
        for d in &dataset_inputs {
            run.add_dataset(d)?;
        }
        // The folder stays locked until report.html is written too.
        #[cfg_attr(not(feature = "html"), allow(unused_mut))]
        let (mut outcome, _lock) = run.finish()?;
        #[cfg(feature = "html")]
        if let (Some(dir), Some(c)) = (&html_dir, &collector) {
            let sources: Vec<String> = self.sources.iter().map(|n| n.arg.clone()).collect();
            let path = crate::html::write(
                c,
                self.s3_client(),
                handle,
                dir,
                &outcome.summary,
                "report",
                &sources,
            )?;
            outcome.summary.files.push(path);
        }
        Ok(outcome)
    }
}

/// Keeps the next `concurrency` manifests open, so that S3 downloads run ahead of the analysis
/// (each bounded by its reader's buffer) while the report stays in manifest order. A manifest
/// whose reader discovery left open is read from that reader, not requested again.
struct OpenAhead<'a> {
    fetcher: &'a Fetcher,
    parked: Parked,
    manifests: &'a [&'a Input],
    concurrency: usize,
    next_to_open: usize,
    /// How many readers were taken.
    taken: usize,
    open: std::collections::VecDeque<Result<Box<dyn Read + Send>, FetchError>>,
}

impl<'a> OpenAhead<'a> {
    fn new(
        fetcher: &'a Fetcher,
        manifests: &'a [&'a Input],
        concurrency: usize,
        parked: Parked,
    ) -> Self {
        OpenAhead {
            fetcher,
            parked,
            manifests,
            concurrency,
            next_to_open: 0,
            taken: 0,
            open: std::collections::VecDeque::new(),
        }
    }

    /// The reader of the next manifest, in the order given.
    fn next(&mut self) -> Result<Box<dyn Read + Send>, FetchError> {
        let index = self.taken;
        self.taken += 1;
        while self.next_to_open < self.manifests.len()
            && self.next_to_open < index + self.concurrency
        {
            let m = self.manifests[self.next_to_open];
            let reader = match self.parked.take(&m.source) {
                Some(reader) => Ok(reader),
                None => self.fetcher.open(&m.source),
            };
            self.open.push_back(reader);
            self.next_to_open += 1;
        }
        self.open.pop_front().unwrap_or_else(|| {
            Err(FetchError::Io(std::io::Error::other(
                "manifest taken out of order",
            )))
        })
    }
}

/// One run's state, which every group and dataset adds to: the one writer, where the manifests
/// come from (opened ahead, in order), whom to tell and when to stop, and what the outcome will
/// hold besides the report.
struct Run<'a> {
    writer: ReportWriter,
    fetcher: &'a Fetcher,
    window: OpenAhead<'a>,
    reporter: &'a dyn Reporter,
    stop: &'a (dyn Fn() -> bool + Send + Sync),
    location: ReportLocation,
    failures: Vec<Failure>,
    notes: Vec<String>,
    not_validated: Vec<String>,
}

impl Run<'_> {
    /// Adds one training's files to the report: the summary's terminal errors, then each
    /// manifest.
    fn add_group(&mut self, group: &Group) -> Result<(), PipelineError> {
        let summary = group.summary.as_ref().and_then(|input| {
            let parsed = self
                .fetcher
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
                    self.failures.push(Failure {
                        what: input.display.clone(),
                        error,
                    });
                    None
                }
            }
        });
        for extra in &group.extra_summaries {
            self.notes.push(format!(
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
            && let (Some((code, message)), Some(v)) = (&group.status_issue, &group.version_arn)
        {
            let issue = Issue::manifest(Severity::Error, code.clone(), message.clone());
            self.writer
                .add_manifest_issues(&context(Dataset::Unknown, v), &[issue])?;
        }

        if let Some((input, s)) = &summary {
            let sides = [
                (Dataset::Training, s.statistics.training.as_ref()),
                (Dataset::Testing, s.statistics.testing.as_ref()),
            ];
            for (dataset, side) in sides {
                let issues = side.map(|d| terminal_issues(&d.errors)).unwrap_or_default();
                self.writer
                    .add_manifest_issues(&context(dataset, &input.display), &issues)?;
            }
            self.writer.add_manifest_issues(
                &context(Dataset::Unknown, &input.display),
                &terminal_issues(&s.errors),
            )?;
        }

        let side_of = |dataset: Dataset| {
            summary.as_ref().and_then(|(_, s)| match dataset {
                Dataset::Training => s.statistics.training.as_ref(),
                Dataset::Testing => s.statistics.testing.as_ref(),
                Dataset::Unknown => None,
            })
        };
        for m in &group.manifests {
            let reader = self.window.next();
            let side = side_of(m.dataset);
            let ctx = context(m.dataset, &m.display);
            let reader = match reader {
                Ok(r) => r,
                Err(e) => {
                    not_read(&mut self.writer, &ctx, side, &e.to_string())?;
                    self.failures.push(Failure {
                        what: m.display.clone(),
                        error: e.into(),
                    });
                    continue;
                }
            };
            tracing::info!(manifest = %m.display, dataset = m.dataset.as_str(), "analyzing");
            self.reporter.object_started(&m.display, m.size);
            let reader = Stoppable {
                inner: reader,
                stop: self.stop,
            };
            // A failed read ends the manifest at its last whole line, and the manifest keeps its
            // summary.csv row with what was read.
            let mut read_error = None;
            let reader = WholeLinesUntilError::new(reader, &mut read_error);
            let result = self.writer.add_manifest(&ctx, reader, side, &mut |n| {
                self.reporter.bytes(&m.display, n);
            });
            self.reporter.object_finished(&m.display);
            if (self.stop)() {
                return Err(PipelineError::Stopped);
            }
            let (stats, bytes) = {
                let r = result?;
                (r.stats, r.bytes)
            };
            if let Some(source) = read_error {
                let e = rekcheck_fetch::into_fetch_error(source);
                read_failed(&mut self.writer, &ctx, &e.to_string())?;
                let what = if bytes > 0 {
                    format!(
                        "{e}; reading stopped part-way, the rows before the failure are in the report"
                    )
                } else {
                    format!("{e}; nothing could be read from it")
                };
                self.failures.push(Failure {
                    what: m.display.clone(),
                    error: PipelineError::Input(what),
                });
            } else if stats.with_results == 0
                && summary.is_none()
                && group.version_arn.is_none()
                && (stats.lines == 0 || folder_kind(&m.source.file_name()) != Some(Kind::Manifest))
            {
                self.writer
                    .set_verdict(&ctx, rekcheck_analyze::NOT_VALIDATED_VERDICT);
                self.not_validated.push(m.display.clone());
            }
        }
        for (m, why) in &group.unread {
            not_read(
                &mut self.writer,
                &context(m.dataset, &m.display),
                side_of(m.dataset),
                why,
            )?;
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
            self.writer.add_version(VersionRow {
                project: group.project.clone(),
                version: group.version.clone(),
                status: meta.status,
                status_message: meta.status_message,
                terminal_code,
                created: meta.created,
                training_ended: meta.training_ended,
                report: self.location.of(&group.project, &group.version),
                stats: Stats::default(),
            });
        }

        // Datasets the summary describes but whose manifest is not here keep their counts.
        if let Some((input, s)) = &summary {
            if let Some(m) = group
                .manifests
                .iter()
                .chain(group.unread.iter().map(|(m, _)| m))
                .find(|m| m.dataset == Dataset::Unknown)
            {
                self.notes.push(format!(
                    "{}: its name does not say whether it is the training or the testing manifest, so {} is not compared with it; name it with --training FILE or --testing FILE (or add --dataset training|testing)",
                    m.display, input.display
                ));
            }
            for (dataset, side) in [
                (Dataset::Training, s.statistics.training.as_ref()),
                (Dataset::Testing, s.statistics.testing.as_ref()),
            ] {
                if let Some(side) = side
                    && !group
                        .manifests
                        .iter()
                        .chain(group.unread.iter().map(|(m, _)| m))
                        .any(|m| m.dataset == dataset)
                {
                    self.writer
                        .add_rekognition_only(&context(dataset, &input.display), side);
                    self.notes.push(format!(
                        "{} describes a {} manifest that was not given; only its counts are reported (summary.csv: not given)",
                        input.display,
                        dataset.as_str()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Adds one dataset's entries with errors.
    #[cfg(feature = "rekognition")]
    fn add_dataset(&mut self, input: &datasets::DatasetInput) -> Result<(), PipelineError> {
        datasets::add(&mut self.writer, input, &mut self.notes)
    }

    /// Ends the report: the outcome, unless the run was told to stop, and the output folder's
    /// lock (held until the caller has added report.html).
    fn finish(self) -> Result<(RunOutcome, Option<OutputLock>), PipelineError> {
        self.reporter.finished();
        if (self.stop)() {
            return Err(PipelineError::Stopped);
        }
        let (summary, lock) = self.writer.finish_holding_lock()?;
        Ok((
            RunOutcome {
                summary,
                failures: self.failures,
                notes: self.notes,
                not_validated: self.not_validated,
            },
            lock,
        ))
    }
}

/// The longest partial line [`WholeLinesUntilError`] holds back: a longer line cut by a read
/// failure reaches the analysis cut (and is reported as such).
const MAX_HELD_LINE: usize = 1 << 20;

/// A reader that ends at the last whole line (`\n`) before the first read error, which it keeps
/// in `error`, instead of failing: the analysis then ends normally with the lines read, and the
/// line the failure cut is not analyzed. At the end of the stream a last line without `\n` is
/// passed on as usual. Holds back at most the current partial line, up to [`MAX_HELD_LINE`].
struct WholeLinesUntilError<'a, R> {
    inner: R,
    /// Bytes read after the last `\n` passed on (the partial line).
    held: Vec<u8>,
    /// How many bytes at the start of `held` may be passed on now.
    release: usize,
    done: bool,
    error: &'a mut Option<io::Error>,
}

impl<'a, R: Read> WholeLinesUntilError<'a, R> {
    fn new(inner: R, error: &'a mut Option<io::Error>) -> Self {
        WholeLinesUntilError {
            inner,
            held: Vec::new(),
            release: 0,
            done: false,
            error,
        }
    }

    /// Whether the partial line is too long to hold back: then it is passed on.
    fn release_if_too_long(&mut self) {
        if self.held.len() > MAX_HELD_LINE {
            self.release = self.held.len();
        }
    }

    /// Keeps the error, drops the partial line and ends the stream.
    fn fail(&mut self, e: io::Error) {
        self.held.clear();
        self.release = 0;
        self.done = true;
        *self.error = Some(e);
    }
}

impl<R: Read> Read for WholeLinesUntilError<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.release > 0 {
                let n = self.release.min(buf.len());
                buf[..n].copy_from_slice(&self.held[..n]);
                self.held.drain(..n);
                self.release -= n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            let h = self.held.len();
            if h < buf.len() {
                // The (short) partial line first, then new bytes straight into `buf`.
                buf[..h].copy_from_slice(&self.held);
                match self.inner.read(&mut buf[h..]) {
                    Ok(0) => {
                        self.done = true;
                        self.held.clear();
                        return Ok(h);
                    }
                    Ok(n) => {
                        let total = h + n;
                        self.held.clear();
                        if let Some(i) = buf[h..total].iter().rposition(|&b| b == b'\n') {
                            let cut = h + i + 1;
                            self.held.extend_from_slice(&buf[cut..total]);
                            return Ok(cut);
                        }
                        self.held.extend_from_slice(&buf[..total]);
                        self.release_if_too_long();
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.fail(e);
                        return Ok(0);
                    }
                }
            } else {
                // A partial line longer than `buf`: read on behind it.
                self.held.resize(h + buf.len(), 0);
                match self.inner.read(&mut self.held[h..]) {
                    Ok(0) => {
                        self.held.truncate(h);
                        self.done = true;
                        self.release = h;
                    }
                    Ok(n) => {
                        self.held.truncate(h + n);
                        match self.held[h..].iter().rposition(|&b| b == b'\n') {
                            Some(i) => self.release = h + i + 1,
                            None => self.release_if_too_long(),
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => self.held.truncate(h),
                    Err(e) => {
                        self.fail(e);
                        return Ok(0);
                    }
                }
            }
        }
    }
}

/// What `summary.csv`'s `verdict` column says of a manifest that could not be read completely.
const READ_FAILED_VERDICT: &str = "fail: REKCHECK_READ_FAILED";

/// Records in the report that a manifest could not be read (completely): a
/// `REKCHECK_READ_FAILED` issue, and the verdict of its `summary.csv` row.
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
    writer.set_verdict(ctx, READ_FAILED_VERDICT);
    Ok(())
}

/// Records a manifest that could not be opened at all: its `summary.csv` row (no lines; with
/// Rekognition's counts when its summary is there) and its `REKCHECK_READ_FAILED` issue.
fn not_read(
    writer: &mut ReportWriter,
    ctx: &ManifestContext,
    side: Option<&DatasetStatistics>,
    message: &str,
) -> Result<(), PipelineError> {
    writer.add_manifest_blocks(ctx, std::iter::empty(), side, &mut |_| {})?;
    read_failed(writer, ctx, message)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives `chunks` one per read, then `fail` (an error) or the end.
    struct Chunks {
        chunks: std::collections::VecDeque<Vec<u8>>,
        fail: bool,
    }

    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.chunks.pop_front() {
                Some(mut c) => {
                    if c.len() > buf.len() {
                        let rest = c.split_off(buf.len());
                        self.chunks.push_front(rest);
                    }
                    buf[..c.len()].copy_from_slice(&c);
                    Ok(c.len())
                }
                None if self.fail => Err(io::Error::other("connection reset")),
                None => Ok(0),
            }
        }
    }

    fn read_through(chunks: &[&[u8]], fail: bool, buf_len: usize) -> (Vec<u8>, Option<io::Error>) {
        let mut error = None;
        let mut r = WholeLinesUntilError::new(
            Chunks {
                chunks: chunks.iter().map(|c| c.to_vec()).collect(),
                fail,
            },
            &mut error,
        );
        let mut out = Vec::new();
        let mut buf = vec![0; buf_len];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        (out, error)
    }

    #[test]
    fn a_failed_read_ends_the_stream_at_the_last_whole_line() {
        let chunks: [&[u8]; 4] = [b"{\"a\":1}\n{\"b\"", b":2}\n{\"c", b"\":3}\n{\"d\":", b"4"];
        for buf_len in [1, 3, 7, 64, 4096] {
            let (out, error) = read_through(&chunks, true, buf_len);
            assert_eq!(out, b"{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n", "{buf_len}");
            assert_eq!(error.unwrap().to_string(), "connection reset");
            // Without a failure every byte is passed on, the last line without \n too.
            let (out, error) = read_through(&chunks, false, buf_len);
            assert_eq!(out, chunks.concat(), "{buf_len}");
            assert!(error.is_none());
        }
        // A failure before any byte: nothing, and the error.
        let (out, error) = read_through(&[], true, 16);
        assert!(out.is_empty() && error.is_some());
    }

    #[test]
    fn a_partial_line_longer_than_the_hold_is_passed_on() {
        let long = vec![b'x'; MAX_HELD_LINE + 10];
        let (out, error) = read_through(&[b"{}\n", &long], true, 4096);
        assert_eq!(out.len(), 3 + long.len());
        assert!(error.is_some());
    }

    #[test]
    fn threads_and_concurrency_are_clamped() {
        let p = Pipeline::builder()
            .source(std::path::Path::new("m.json"))
            .threads(100_000)
            .concurrency(100_000)
            .build()
            .unwrap();
        assert_eq!(p.report.threads, MAX_THREADS);
        assert_eq!(p.concurrency, MAX_CONCURRENCY);
        let p = Pipeline::builder()
            .source(std::path::Path::new("m.json"))
            .threads(3)
            .concurrency(5)
            .build()
            .unwrap();
        assert_eq!((p.report.threads, p.concurrency), (3, 5));
    }
}
