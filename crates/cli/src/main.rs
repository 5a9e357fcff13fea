//! `rekcheck`: explain failed Amazon Rekognition Custom Labels trainings.
//!
//! The binary owns flags, wiring, output, progress and exit codes; the pipeline lives in the
//! `rekcheck` library.

// Doc comments on the argument structs are help texts: plain words, no Markdown.
#![allow(clippy::doc_markdown)]

mod aws;
mod cancel;
mod render;

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use rekcheck::Pipeline;
use rekcheck::analyze::Severity;

/// Exit code: no issue at or above `--fail-on`.
const EXIT_OK: u8 = 0;
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
    /// Predict Rekognition's validation of input manifests before training: the same CSV files
    /// as report, with the issues Rekognition would find, and a verdict.
    Check(CheckArgs),
    /// Write a manifest ready to retrain: without the lines and boxes in error, and without
    /// errors/warnings keys; the removed lines are listed in removed.csv.
    Fix(FixArgs),
}

// Flags are bools by nature.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The training manifest (SageMaker Ground Truth JSON Lines): a local file or s3://bucket/key.
    #[arg(value_name = "TRAINING_MANIFEST")]
    training: String,
    /// The testing manifest (checked too, and for label overlap with training).
    #[arg(long, value_name = "TESTING_MANIFEST", conflicts_with = "auto_split")]
    testing: Option<String>,
    /// The training will split the training manifest 80/20 (no testing manifest).
    #[arg(long)]
    auto_split: bool,
    /// Read every image's header from S3 (HeadObject + a ranged GetObject, --concurrency at a
    /// time) and apply the image rules to the real format, size and dimensions.
    #[arg(long)]
    verify_images: bool,
    /// Folder for the CSV files.
    #[arg(long, short, default_value = "rekcheck-check", value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

/// What report and check share: exit code, threads, line limit, CSV cells, output on stderr.
// Flags are bools by nature.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Exit with 1 when an issue of this severity or worse is found (for check, a predicted
    /// terminal error always exits 1).
    #[arg(long, value_enum, default_value = "error")]
    fail_on: FailOn,
    /// Analysis threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Lines longer than this many bytes are not read and reported as unparsable (check also
    /// reports Rekognition's own 100,000-character limit).
    #[arg(long, default_value_t = rekcheck::analyze::DEFAULT_MAX_LINE_BYTES, value_name = "BYTES")]
    max_line_bytes: usize,
    /// Analyze at most this many lines per manifest (default: four times Rekognition's limit of
    /// 250,000 lines); the lines after are counted and reported as REKCHECK_MAX_LINES.
    #[arg(long, default_value_t = rekcheck::analyze::DEFAULT_MAX_LINES, value_name = "N")]
    max_lines: u64,
    /// List at most this many issues per line; the others are counted and summed up in one
    /// REKCHECK_TOO_MANY_ISSUES row.
    #[arg(long, default_value_t = rekcheck::analyze::DEFAULT_MAX_ISSUES_PER_LINE, value_name = "N")]
    max_issues_per_line: usize,
    /// Cut CSV text cells longer than this many bytes, ending them with "…[truncated N bytes]"
    /// (not with --csv-raw).
    #[arg(long, default_value_t = rekcheck::analyze::DEFAULT_MAX_CELL_BYTES, value_name = "BYTES")]
    max_cell_bytes: usize,
    /// Write cells as found: without the leading ' that stops spreadsheets running formulas, and
    /// whole (not cut to --max-cell-bytes).
    #[arg(long)]
    csv_raw: bool,
    /// Hide progress bars.
    #[arg(long)]
    no_progress: bool,
    /// Print nothing but errors on stderr (no progress, no summary).
    #[arg(short, long)]
    quiet: bool,
}

impl RunArgs {
    fn fail_on(&self) -> Option<Severity> {
        match self.fail_on {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Never => None,
        }
    }

    /// A pipeline with these settings and the AWS ones; with an SDK configuration when
    /// `uses_aws`.
    fn pipeline(
        &self,
        aws_args: &AwsArgs,
        uses_aws: bool,
        runtime: &tokio::runtime::Runtime,
    ) -> rekcheck::PipelineBuilder {
        let show_progress = !self.quiet && !self.no_progress && std::io::stderr().is_terminal();
        let builder = Pipeline::builder()
            .concurrency(aws_args.concurrency.max(1))
            .retries(aws_args.retries.max(1))
            .threads(self.threads.unwrap_or(0))
            .max_line_bytes(self.max_line_bytes)
            .max_lines(self.max_lines)
            .max_issues_per_line(self.max_issues_per_line)
            .max_cell_bytes(self.max_cell_bytes)
            .csv_raw(self.csv_raw)
            .reporter(Arc::new(render::Progress::new(show_progress)))
            .stop_when(|| cancel::cancelled().is_some());
        if uses_aws {
            with_aws(builder, aws_args, runtime)
        } else {
            builder
        }
    }
}

/// `builder` with the SDK configuration of the AWS flags (profile, region, endpoint).
fn with_aws(
    builder: rekcheck::PipelineBuilder,
    aws_args: &AwsArgs,
    runtime: &tokio::runtime::Runtime,
) -> rekcheck::PipelineBuilder {
    let sdk = runtime.block_on(aws::sdk_config(aws_args));
    builder
        .sdk_config(&sdk)
        .s3_path_style(aws::custom_s3_endpoint(aws_args))
}

#[derive(Debug, clap::Args)]
struct FixArgs {
    /// A manifest with validation results, or an input manifest (its errors are predicted as
    /// check does): a local file or s3://bucket/key.
    #[arg(value_name = "MANIFEST")]
    manifest: String,
    /// Where to write the clean manifest (a local file).
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
    /// Also drop lines that only have warnings (ignored by Rekognition anyway).
    #[arg(long)]
    drop_warnings: bool,
    /// Where to write removed.csv (default: beside --out, named <out>.removed.csv).
    #[arg(long, value_name = "FILE")]
    removed: Option<PathBuf>,
    /// Lines longer than this many bytes are not read and are dropped.
    #[arg(long, default_value_t = rekcheck::analyze::DEFAULT_MAX_LINE_BYTES, value_name = "BYTES")]
    max_line_bytes: usize,
    /// Print nothing but errors on stderr.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    aws: AwsArgs,
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
    fn filter(&self) -> anyhow::Result<rekcheck::locate::VersionFilter> {
        let since = match &self.since {
            Some(s) => Some(
                rekcheck::time::parse_since(s, std::time::SystemTime::now())
                    .map_err(|e| anyhow::anyhow!("--since: {e}"))?,
            ),
            None => None,
        };
        Ok(rekcheck::locate::VersionFilter {
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
    /// Folder for the CSV files, or s3://bucket/prefix/ to upload them (per version under
    /// <prefix>/<project>/<version>/, the run under <prefix>/runs/<UTC time>/, index.json last).
    #[arg(long, short, default_value = "rekcheck-report", value_name = "DIR|S3")]
    out: PathBuf,
    #[command(flatten)]
    run: RunArgs,
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

// Every line allocates a few small strings and vectors on the analysis threads; mimalloc's
// thread-local free lists make that cheaper than glibc's malloc (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.log_format);
    let result = match cli.command {
        Command::Report(args) => report(&args),
        Command::Locate(args) => locate(&args),
        Command::Check(args) => check(&args),
        Command::Fix(args) => fix(&args),
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
    let runtime = runtime()?;
    cancel::install(&runtime, args.out.clone());
    let out_s3 = args
        .out
        .to_str()
        .filter(|o| o.starts_with("s3://"))
        .map(str::parse::<rekcheck::fetch::S3Location>)
        .transpose()
        .context("--out")?;
    let uses_aws = out_s3.is_some()
        || args.filter.all_projects
        || !args.datasets.is_empty()
        || args
            .paths
            .iter()
            .any(|p| p.starts_with("s3://") || p.starts_with("arn:"));
    let mut builder = args
        .run
        .pipeline(&args.aws, uses_aws, &runtime)
        .sources(args.paths.iter().cloned())
        .all_projects(args.filter.all_projects)
        .filter(args.filter.filter()?);
    for d in &args.datasets {
        builder = builder.datasets(d.clone());
    }
    let pipeline = builder.build()?;
    let outcome = runtime.block_on(async {
        match out_s3 {
            Some(prefix) => pipeline.write_s3(prefix).await,
            None => pipeline.write_csv(args.out.clone()).await,
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let outcome = outcome?;

    if !args.run.quiet {
        let text = render::summary(&outcome.summary, &outcome.notes, started.elapsed());
        eprint!("{text}");
    }
    for f in &outcome.failures {
        eprintln!("rekcheck: error: {}: {}", f.what, f.error);
    }
    let code = outcome.exit_code(args.run.fail_on());
    if args.json {
        let doc = render::json_summary(&outcome.summary, &outcome.failures, code);
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

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("rekcheck-io")
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")
}

fn check(args: &CheckArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let runtime = runtime()?;
    cancel::install(&runtime, args.out.clone());
    let uses_aws = args.verify_images
        || args.training.starts_with("s3://")
        || args
            .testing
            .as_deref()
            .is_some_and(|t| t.starts_with("s3://"));
    let builder = args
        .run
        .pipeline(&args.aws, uses_aws, &runtime)
        .source(args.training.clone());
    let spec = rekcheck::CheckSpec {
        testing: args.testing.clone(),
        auto_split: args.auto_split,
        verify_images: args.verify_images,
    };
    let pipeline = builder.build()?;
    let outcome = runtime.block_on(pipeline.check(spec, Some(args.out.clone())));
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let outcome = outcome?;
    if !args.run.quiet {
        let mut text = render::summary(&outcome.summary, &[], started.elapsed());
        text.push_str(&render::verdict(&outcome));
        eprint!("{text}");
    }
    Ok(outcome.exit_code(args.run.fail_on()))
}

fn fix(args: &FixArgs) -> anyhow::Result<u8> {
    let runtime = runtime()?;
    cancel::install(&runtime, args.out.clone());
    let mut builder = Pipeline::builder()
        .source(args.manifest.clone())
        .concurrency(args.aws.concurrency.max(1))
        .retries(args.aws.retries.max(1))
        .max_line_bytes(args.max_line_bytes)
        .stop_when(|| cancel::cancelled().is_some());
    if args.manifest.starts_with("s3://") {
        builder = with_aws(builder, &args.aws, &runtime);
    }
    let removed = args.removed.clone().unwrap_or_else(|| {
        let mut name = args.out.file_name().unwrap_or_default().to_os_string();
        name.push(".removed.csv");
        args.out.with_file_name(name)
    });
    let spec = rekcheck::FixSpec {
        out: args.out.clone(),
        removed: removed.clone(),
        drop_warnings: args.drop_warnings,
    };
    let pipeline = builder.build()?;
    let outcome = runtime.block_on(pipeline.fix(spec));
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let outcome = outcome?;
    if !args.quiet {
        eprint!("{}", render::fix_summary(&outcome, &args.out, &removed));
    }
    Ok(EXIT_OK)
}

fn locate(args: &LocateArgs) -> anyhow::Result<u8> {
    let filter = args.filter.filter()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")?;
    let sdk = runtime.block_on(aws::sdk_config(&args.aws));
    let locator = rekcheck::locate::Locator::new(aws::rekognition_client(&sdk, &args.aws));
    let (found, failures) = runtime.block_on(rekcheck::find_versions(
        &locator,
        &args.arns,
        args.filter.all_projects,
        &filter,
    ));
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
    let loc = |l: &Option<rekcheck::fetch::S3Location>| {
        l.as_ref().map(ToString::to_string).unwrap_or_default()
    };
    for v in &found {
        let record = [
            v.project.clone(),
            v.version.clone(),
            v.status.clone(),
            v.created.map(rekcheck::time::rfc3339).unwrap_or_default(),
            loc(&v.training_manifest),
            loc(&v.testing_manifest),
            loc(&v.summary),
            v.status_message.clone(),
        ];
        if let Err(e) = w.write_record(
            record
                .iter()
                .map(|c| rekcheck::analyze::safe_cell(c, false).into_owned()),
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
        eprintln!("rekcheck: error: {}: {}", f.what, f.error);
    }
    Ok(if failures.is_empty() {
        EXIT_OK
    } else {
        EXIT_FATAL
    })
}
