//! `rekcheck`: explain failed Amazon Rekognition Custom Labels trainings.
//!
//! The binary owns flags, wiring, output, progress and exit codes; the analysis lives in the
//! `rekcheck-analyze` library.

// Doc comments on the argument structs are help texts: plain words, no Markdown.
#![allow(clippy::doc_markdown)]

mod aws;
mod cancel;
mod datasets;
mod inputs;
mod render;
mod versions;

use std::io::{IsTerminal as _, Read, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use rekcheck_analyze::{
    AnalyzeOptions, Dataset, Issue, Level, ManifestContext, ManifestSummary, ReportOptions,
    ReportWriter, Severity, Stats, VersionRow,
};

use rekcheck_fetch::{FetchError, Fetcher, RetryPolicy, S3Source};

use crate::inputs::{EXPECTED_NAMES, Failure, Group, Input, discover};

/// Exit code: no issue at or above `--fail-on`.
const EXIT_OK: u8 = 0;
/// Exit code: issues at or above `--fail-on`.
const EXIT_ISSUES: u8 = 1;
/// Exit code: something could not be read or written.
const EXIT_FATAL: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "rekcheck",
    version,
    about = "Explain failed Amazon Rekognition Custom Labels trainings: per-image errors and statistics as CSV",
    after_help = "Exit codes: 0 no issue at or above --fail-on, 1 issues found, 2 something could not be read or written."
)]
struct Cli {
    /// More logging on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Log lines as text or as JSON (for log collectors).
    #[arg(long, value_enum, default_value = "text", global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Report the errors and warnings of Rekognition's validation results as CSV.
    Report(ReportArgs),
    /// Print where the validation files of project versions are (CSV on stdout).
    Locate(LocateArgs),
}

#[derive(Debug, clap::Args)]
struct VersionArgs {
    /// Only these version names (repeatable).
    #[arg(long = "version", value_name = "NAME")]
    versions: Vec<String>,
    /// Only versions with this status, e.g. TRAINING_FAILED (repeatable).
    #[arg(long = "status", value_name = "STATUS")]
    statuses: Vec<String>,
    /// Only versions created since: a duration (7d, 24h, 30m) or a date (2026-11-01).
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Every Custom Labels project of the region (DescribeProjects).
    #[arg(long)]
    all_projects: bool,
}

impl VersionArgs {
    fn filter(&self) -> anyhow::Result<rekcheck_locate::VersionFilter> {
        let since = match &self.since {
            Some(s) => Some(
                versions::parse_since(s, std::time::SystemTime::now())
                    .map_err(|e| anyhow::anyhow!("--since: {e}"))?,
            ),
            None => None,
        };
        Ok(rekcheck_locate::VersionFilter {
            versions: self.versions.clone(),
            statuses: self.statuses.clone(),
            since,
            page_size: None,
        })
    }
}

#[derive(Debug, clap::Args)]
struct LocateArgs {
    /// Project or project version ARNs.
    #[arg(value_name = "ARN", required_unless_present = "all_projects")]
    arns: Vec<String>,
    #[command(flatten)]
    filter: VersionArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Exit 1 when any error is found.
    Error,
    /// Exit 1 when any error or warning is found.
    Warning,
    /// Never exit 1 (for scheduled jobs).
    Never,
}

// Flags are bools by nature.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// Validation manifests, manifest summaries, or folders holding them (a copy of the
    /// training's S3 output prefix): local files or folders; `s3://bucket/key` (one object) or `s3://bucket/prefix/` (searched
    /// like a folder); project ARNs (their versions, see --version/--status/--since) or version
    /// ARNs.
    #[arg(value_name = "PATH|S3|ARN", required_unless_present_any = ["all_projects", "datasets"])]
    paths: Vec<String>,
    #[command(flatten)]
    filter: VersionArgs,
    /// Report the current datasets of this project (ListDatasetEntries with HasErrors, and
    /// DescribeDataset): errors before any training (repeatable).
    #[arg(long, value_name = "PROJECT_ARN")]
    datasets: Vec<String>,
    /// Folder for the five CSV files.
    #[arg(long, short, default_value = "rekcheck-report", value_name = "DIR")]
    out: PathBuf,
    /// Exit with 1 when an issue of this severity or worse is found.
    #[arg(long, value_enum, default_value = "error")]
    fail_on: FailOn,
    /// Analysis threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Lines longer than this many bytes are reported as unparsable.
    #[arg(long, default_value_t = rekcheck_analyze::DEFAULT_MAX_LINE_BYTES, value_name = "BYTES")]
    max_line_bytes: usize,
    /// Write cells as found, without the leading ' that stops spreadsheets running formulas.
    #[arg(long)]
    csv_raw: bool,
    /// Hide progress bars.
    #[arg(long)]
    no_progress: bool,
    /// Print nothing but errors on stderr (no progress, no summary).
    #[arg(short, long)]
    quiet: bool,
    /// Print a machine-readable summary (versions, manifests, counts per code, files) as JSON
    /// on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, clap::Args)]
struct AwsArgs {
    /// AWS profile (default: the standard credential chain: env, profile, SSO, IMDS).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// AWS region (default: from the profile or AWS_REGION).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Custom S3-compatible endpoint (also AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3); path-style
    /// addressing is used with it.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// S3 objects downloaded at the same time.
    #[arg(long, default_value_t = 8, value_name = "N")]
    concurrency: usize,
    /// Attempts per S3 request or resume before giving up.
    #[arg(long, default_value_t = 5, value_name = "N")]
    retries: u32,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.log_format);
    let result = match cli.command {
        Command::Report(args) => report(&args),
        Command::Locate(args) => locate(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if let Some(code) = cancel::cancelled() {
                eprintln!("rekcheck: stopped by a signal; no report was written");
                ExitCode::from(code)
            } else {
                eprintln!("rekcheck: error: {e:#}");
                ExitCode::from(EXIT_FATAL)
            }
        }
    }
}

fn init_logging(verbose: u8, format: LogFormat) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal())
            .try_init(),
    };
}

fn report(args: &ReportArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("rekcheck-io")
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")?;
    cancel::install(&runtime, args.out.clone());
    let filter = args.filter.filter()?;
    let (arn_args, paths): (Vec<String>, Vec<String>) = args
        .paths
        .iter()
        .cloned()
        .partition(|p| p.starts_with("arn:"));
    let uses_rekognition =
        !arn_args.is_empty() || args.filter.all_projects || !args.datasets.is_empty();
    let uses_aws = uses_rekognition || paths.iter().any(|p| p.starts_with("s3://"));
    let sdk = uses_aws.then(|| runtime.block_on(aws::sdk_config(&args.aws)));
    let fetcher = match &sdk {
        Some(sdk) => {
            let policy = RetryPolicy {
                attempts: args.aws.retries.max(1),
                ..RetryPolicy::default()
            };
            let client = aws::s3_client(sdk, &args.aws);
            Fetcher::with_s3(
                S3Source::new(client, runtime.handle().clone()).with_retry_policy(policy),
            )
        }
        None => Fetcher::local(),
    };
    let locator = sdk
        .as_ref()
        .filter(|_| uses_rekognition)
        .map(|sdk| rekcheck_locate::Locator::new(aws::rekognition_client(sdk, &args.aws)));
    let mut failures: Vec<Failure> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut groups = discover(&paths, &fetcher, &runtime, &mut failures);
    if let Some(locator) = &locator {
        let found = versions::locate_versions(
            locator,
            &runtime,
            &arn_args,
            args.filter.all_projects,
            &filter,
            &mut failures,
        );
        for v in &found {
            groups.push(versions::version_group(
                v,
                &fetcher,
                &runtime,
                &mut notes,
                &mut failures,
            ));
        }
    }
    let dataset_inputs = match &locator {
        Some(locator) => datasets::collect(locator, &runtime, &args.datasets, &mut failures),
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
        for f in &failures {
            eprintln!("rekcheck: error: {}: {:#}", f.what, f.error);
        }
        if uses_rekognition && paths.is_empty() {
            anyhow::bail!(
                "no project version or dataset matched (check the ARNs, --version, --status and --since, and the region)"
            );
        }
        anyhow::bail!(
            "no manifests found in {}; in a folder or S3 prefix rekcheck reads {EXPECTED_NAMES} (name a file or object directly to read it whatever its name)",
            args.paths.join(", ")
        );
    }

    let options = ReportOptions {
        analyze: AnalyzeOptions {
            max_line_bytes: args.max_line_bytes,
            ..AnalyzeOptions::default()
        },
        threads: args.threads.unwrap_or(0),
        csv_raw: args.csv_raw,
    };
    let mut writer = ReportWriter::create(&args.out, options)?;
    let show_progress = !args.quiet && !args.no_progress && std::io::stderr().is_terminal();
    let progress = render::Progress::new(
        show_progress,
        groups
            .iter()
            .flat_map(|g| &g.manifests)
            .filter_map(|m| m.size)
            .sum(),
    );
    let manifests: Vec<&Input> = groups.iter().flat_map(|g| &g.manifests).collect();
    let mut window = OpenAhead::new(&fetcher, &manifests, args.aws.concurrency.max(1));

    let mut index = 0;
    for group in &groups {
        add_group(
            &mut writer,
            group,
            &fetcher,
            &mut window,
            &mut index,
            &progress,
            &args.out.display().to_string(),
            &mut failures,
            &mut notes,
        )?;
    }
    for d in &dataset_inputs {
        datasets::add(&mut writer, d, &mut notes)?;
    }
    progress.finish();
    if cancel::cancelled().is_some() {
        return Err(Stopped.into());
    }
    let summary = writer.finish()?;
    drop(window);
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));

    if !args.quiet {
        let text = render::summary(&summary, &notes, started.elapsed());
        eprint!("{text}");
    }
    for f in &failures {
        eprintln!("rekcheck: error: {}: {:#}", f.what, f.error);
    }
    let fail = match args.fail_on {
        FailOn::Error => summary.has_issues_at(Severity::Error),
        FailOn::Warning => summary.has_issues_at(Severity::Warning),
        FailOn::Never => false,
    };
    let code = if !failures.is_empty() {
        EXIT_FATAL
    } else if fail {
        EXIT_ISSUES
    } else {
        EXIT_OK
    };
    if args.json {
        let doc = render::json_summary(&summary, &failures, code);
        let mut stdout = std::io::stdout().lock();
        let written = serde_json::to_writer_pretty(&mut stdout, &doc)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout));
        if let Err(e) = written
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            return Err(e.into());
        }
    }
    Ok(code)
}

fn locate(args: &LocateArgs) -> anyhow::Result<u8> {
    let filter = args.filter.filter()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")?;
    let sdk = runtime.block_on(aws::sdk_config(&args.aws));
    let locator = rekcheck_locate::Locator::new(aws::rekognition_client(&sdk, &args.aws));
    let mut failures = Vec::new();
    let found = versions::locate_versions(
        &locator,
        &runtime,
        &args.arns,
        args.filter.all_projects,
        &filter,
        &mut failures,
    );
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(std::io::stdout().lock());
    w.write_record([
        "project",
        "version",
        "status",
        "created",
        "training_manifest",
        "testing_manifest",
        "manifest_summary",
        "status_message",
    ])?;
    let loc = |l: &Option<rekcheck_fetch::S3Location>| {
        l.as_ref().map(ToString::to_string).unwrap_or_default()
    };
    for v in &found {
        let record = [
            v.project.clone(),
            v.version.clone(),
            v.status.clone(),
            v.created.map(versions::rfc3339).unwrap_or_default(),
            loc(&v.training_manifest),
            loc(&v.testing_manifest),
            loc(&v.summary),
            v.status_message.clone(),
        ];
        if let Err(e) = w.write_record(
            record
                .iter()
                .map(|c| rekcheck_analyze::safe_cell(c, false).into_owned()),
        ) {
            if matches!(&e.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return Ok(EXIT_OK);
            }
            return Err(e.into());
        }
    }
    if let Err(e) = w.flush()
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    for f in &failures {
        eprintln!("rekcheck: error: {}: {:#}", f.what, f.error);
    }
    Ok(if failures.is_empty() {
        EXIT_OK
    } else {
        EXIT_FATAL
    })
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
    progress: &render::Progress,
    report_location: &str,
    failures: &mut Vec<Failure>,
    notes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let summary = group.summary.as_ref().and_then(|input| {
        let parsed = fetcher
            .read_all(&input.source)
            .map_err(anyhow::Error::from)
            .and_then(|bytes| {
                ManifestSummary::from_slice(&bytes).map_err(|e| {
                    anyhow::anyhow!(
                        "not a valid manifest summary ({e}); expected one JSON object with `statistics` and `errors`"
                    )
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
        let issue = Issue {
            line: None,
            source_ref: String::new(),
            level: Level::Manifest,
            attribute: String::new(),
            annotation: None,
            label: String::new(),
            severity: Severity::Error,
            code: code.clone(),
            message: message.clone(),
        };
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
        let bar = progress.object(&m.display, m.size);
        let result = writer.add_manifest(&ctx, cancel::Cancellable(reader), side, &mut |n| {
            bar.inc(n);
        });
        bar.finish_and_clear();
        if cancel::cancelled().is_some() {
            return Err(Stopped.into());
        }
        match result {
            Ok(_) => {}
            Err(rekcheck_analyze::Error::Read { source, .. }) => {
                let e = rekcheck_fetch::into_fetch_error(source);
                read_failed(writer, &ctx, &e.to_string())?;
                failures.push(Failure {
                    what: m.display.clone(),
                    error: anyhow::Error::new(e).context(
                        "reading stopped part-way; the rows before the failure are in the report",
                    ),
                });
            }
            Err(e) => {
                return Err(e).with_context(|| format!("writing the report for {}", m.display));
            }
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
            report: report_location.to_owned(),
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

/// The run was stopped by a signal.
#[derive(Debug, thiserror::Error)]
#[error("stopped by a signal; no report was written")]
struct Stopped;

/// Records in the report that a manifest could not be read (completely).
fn read_failed(
    writer: &mut ReportWriter,
    ctx: &ManifestContext,
    message: &str,
) -> anyhow::Result<()> {
    let issue = Issue {
        line: None,
        source_ref: String::new(),
        level: Level::Manifest,
        attribute: String::new(),
        annotation: None,
        label: String::new(),
        severity: Severity::Error,
        code: rekcheck_analyze::REKCHECK_READ_FAILED.to_owned(),
        message: message.to_owned(),
    };
    writer.add_manifest_issues(ctx, &[issue])?;
    Ok(())
}

fn terminal_issues(errors: &[rekcheck_analyze::SummaryError]) -> Vec<Issue> {
    errors
        .iter()
        .map(|e| Issue {
            line: None,
            source_ref: String::new(),
            level: Level::Manifest,
            attribute: String::new(),
            annotation: None,
            label: String::new(),
            severity: if e.code.starts_with("WARNING_") {
                Severity::Warning
            } else {
                Severity::Error
            },
            code: e.code.clone(),
            message: e.message.clone(),
        })
        .collect()
}
