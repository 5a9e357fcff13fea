//! `rekcheck`: explain failed Amazon Rekognition Custom Labels trainings.
//!
//! The binary owns flags, wiring, output, progress and exit codes; the pipeline lives in the
//! `rekcheck` library.

// Doc comments on the argument structs are help texts: plain words, no Markdown.
#![allow(clippy::doc_markdown)]

mod aws;
mod cancel;
mod emit;
mod render;
mod schema;
mod terminal;

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

/// Every exit code, shown after the help of rekcheck and of each subcommand.
const EXIT_CODES: &str = "\
Exit codes (the same for every command):
  0    success: no issue at or above --fail-on (report, check); a fixed manifest
       that would pass (fix)
  1    issues at or above --fail-on (report, check); check: a predicted terminal
       error (FAIL); fix: the fixed manifest would still fail validation (it is
       written anyway)
  2    error: invalid usage, or an input, output or AWS request failed; report:
       also manifests without validation results (unless --fail-on never); what
       could be read is still reported
  130  stopped by Ctrl-C (SIGINT): nothing half-written is left, and an output
       folder the run created is removed
  143  stopped by SIGTERM: the same as 130";

#[derive(Debug, Parser)]
#[command(
    name = "rekcheck",
    version,
    propagate_version = true,
    about = "Explain failed Amazon Rekognition Custom Labels trainings: per-image errors and statistics as CSV",
    after_help = EXIT_CODES
)]
struct Cli {
    /// More logging on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Stderr as text, or as JSON (for log collectors): then every line on stderr, log lines,
    /// notes, errors and the run summary, is one JSON object.
    #[arg(
        long,
        value_enum,
        default_value = "text",
        global = true,
        env = "REKCHECK_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Report the errors and warnings of Rekognition's validation results as CSV.
    #[command(after_help = EXIT_CODES)]
    Report(ReportArgs),
    /// Print where the validation files of project versions are (CSV on stdout).
    #[command(after_help = EXIT_CODES)]
    Locate(LocateArgs),
    /// Predict Rekognition's validation of input manifests before training: the same CSV files
    /// as report, with the issues Rekognition would find, and a verdict.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Write a manifest ready to retrain: without the lines and boxes in error, and without
    /// errors/warnings keys; the removed lines are listed in removed.csv. Then check's
    /// dataset-level rules predict its verdict: exit 1 when it would still fail.
    #[command(after_help = EXIT_CODES)]
    Fix(FixArgs),
    /// Print the schema of the table layout (report --layout tables) for a query engine: with
    /// --athena, CREATE EXTERNAL TABLE statements with partition projection.
    #[command(after_help = EXIT_CODES)]
    Schema(SchemaArgs),
    /// Print a shell completion script on stdout, e.g.
    /// `rekcheck completions bash > ~/.local/share/bash-completion/completions/rekcheck`.
    #[command(after_help = EXIT_CODES)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff) on stdout, e.g. `rekcheck man > ~/.local/share/man/man1/rekcheck.1`
    /// and `rekcheck man report > ~/.local/share/man/man1/rekcheck-report.1`.
    #[command(after_help = EXIT_CODES)]
    Man {
        /// The subcommand whose page to print (report, locate, check, fix, schema, completions,
        /// man);
        /// without it, rekcheck's own page.
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
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
    /// Folder for the CSV files, or s3://bucket/prefix/ to upload them (under
    /// <prefix>/runs/<UTC time>/, index.json last, as report does).
    #[arg(
        long,
        short,
        default_value = "rekcheck-check",
        value_name = "DIR|S3",
        env = "REKCHECK_OUT"
    )]
    out: PathBuf,
    #[command(flatten)]
    sse: SseArgs,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    html: HtmlArgs,
    /// Print a machine-readable summary (verdict, terminal errors, manifests, counts per code,
    /// files) as JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    aws: AwsArgs,
}

/// The HTML page report and check write beside the CSV files.
#[derive(Debug, clap::Args)]
struct HtmlArgs {
    /// Do not write report.html.
    #[arg(long)]
    no_html: bool,
    /// Show at most this many failing images in report.html (every image stays in images.csv).
    #[arg(long, default_value_t = rekcheck::analyze::DEFAULT_HTML_MAX_IMAGES, value_name = "N")]
    html_max_images: usize,
    /// Pixels under the boxes drawn in report.html: none (the page makes no request and holds
    /// no URL that grants access), presign (S3 presigned GET URLs, valid for
    /// --presign-expiry) or embed (each shown image downloaded once, JPEG/PNG up to 16 MiB and
    /// 4096 x 4096 px, and embedded as a JPEG thumbnail of at most 320 px; 8 MiB in all).
    #[arg(long, value_enum, default_value = "none", value_name = "MODE")]
    html_images: HtmlImagesArg,
    /// How long the presigned URLs of --html-images presign stay valid: a number of seconds,
    /// or with a unit s, m, h or d (at most 7d, S3's limit).
    #[arg(long, default_value = "12h", value_name = "DURATION", value_parser = parse_expiry)]
    presign_expiry: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum HtmlImagesArg {
    /// No pixels: the frames and boxes only.
    None,
    /// S3 presigned GET URLs.
    Presign,
    /// Thumbnails of the images embedded in the page.
    Embed,
}

impl HtmlArgs {
    fn options(&self) -> Option<rekcheck::HtmlOptions> {
        (!self.no_html).then_some(rekcheck::HtmlOptions {
            max_images: self.html_max_images,
            images: match self.html_images {
                HtmlImagesArg::None => rekcheck::HtmlImages::None,
                HtmlImagesArg::Presign => rekcheck::HtmlImages::Presign(self.presign_expiry),
                HtmlImagesArg::Embed => rekcheck::HtmlImages::Embed,
            },
        })
    }

    /// Whether the page needs S3 (for the images' pixels).
    fn uses_aws(&self) -> bool {
        !self.no_html && self.html_images != HtmlImagesArg::None
    }
}

/// `12h`, `30m`, `90s`, `2d` or a number of seconds; at least 1 s, at most 7 days.
fn parse_expiry(s: &str) -> Result<std::time::Duration, String> {
    let (n, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 12h, 30m or 3600"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit in `{s}`: use s, m, h or d")),
    };
    let secs = n.saturating_mul(mult);
    if secs == 0 || secs > rekcheck::MAX_PRESIGN_EXPIRY.as_secs() {
        return Err(format!(
            "`{s}` is out of range: presigned URLs last from 1 second to 7 days"
        ));
    }
    Ok(std::time::Duration::from_secs(secs))
}

/// What report and check share: exit code, threads, line limit, CSV cells, output on stderr.
// Flags are bools by nature.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Exit with 1 when an issue of this severity or worse is found (for check, a predicted
    /// terminal error always exits 1).
    #[arg(long, value_enum, default_value = "error", env = "REKCHECK_FAIL_ON")]
    fail_on: FailOn,
    /// Analysis threads, at least 1 (default: one per core; at most 256, a larger value is
    /// lowered to it with a note).
    #[arg(long, value_name = "N", value_parser = at_least_one, env = "REKCHECK_THREADS")]
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
    /// (raw or defused; raise it to keep longer cells whole).
    #[arg(long, default_value_t = rekcheck::analyze::DEFAULT_MAX_CELL_BYTES, value_name = "BYTES")]
    max_cell_bytes: usize,
    /// Write cells as found, without the leading ' that stops spreadsheets running formulas
    /// (still cut to --max-cell-bytes); the same as --cells raw.
    #[arg(long, conflicts_with = "cells")]
    csv_raw: bool,
    /// CSV cells raw (as found, for query engines and programs) or defused (a leading ' before
    /// = + - @ and control characters, so that a spreadsheet runs no formula; cut to
    /// --max-cell-bytes). Default: raw for --out s3://, defused for a local folder.
    #[arg(long, value_enum, value_name = "MODE", env = "REKCHECK_CELLS")]
    cells: Option<Cells>,
    /// Hide progress bars.
    #[arg(long)]
    no_progress: bool,
    /// Print nothing but errors on stderr (no progress, no summary).
    #[arg(short, long)]
    quiet: bool,
}

/// How CSV cells are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Cells {
    /// As found (cut to --max-cell-bytes).
    Raw,
    /// With the spreadsheet ' prefix (cut to --max-cell-bytes).
    Defused,
}

/// `--layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LayoutArg {
    /// One prefix per table with Hive partitions project_key=/version_key=, the runs under
    /// runs/run=<id>/ (README, Table layout).
    Tables,
    /// The six files side by side: in the folder, or per version under <prefix>/<project>/<version>/
    /// and per run under <prefix>/runs/<id>/.
    Folders,
}

/// `--sse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SseArg {
    /// SSE-S3.
    #[value(name = "AES256")]
    Aes256,
    /// SSE-KMS (with --sse-kms-key-id, or the account's aws/s3 key).
    #[value(name = "aws:kms")]
    Kms,
}

/// Server-side encryption of what is uploaded: `--sse`, `--sse-kms-key-id` (report, check and
/// fix).
#[derive(Debug, clap::Args)]
struct SseArgs {
    /// Server-side encryption of every object uploaded to --out s3:// (default: the bucket's).
    #[arg(long, value_enum, value_name = "MODE", env = "REKCHECK_SSE")]
    sse: Option<SseArg>,
    /// The KMS key (id, ARN or alias) of --sse aws:kms.
    #[arg(long, value_name = "KEY", env = "REKCHECK_SSE_KMS_KEY_ID")]
    sse_kms_key_id: Option<String>,
}

impl SseArgs {
    /// The encryption asked for; an error when the flags come without an s3:// output or a
    /// key id without aws:kms.
    fn sse(&self, s3: bool) -> anyhow::Result<Option<rekcheck::layout::Sse>> {
        if !s3 && (self.sse.is_some() || self.sse_kms_key_id.is_some()) {
            anyhow::bail!("--sse and --sse-kms-key-id apply to --out s3:// only");
        }
        Ok(match (self.sse, &self.sse_kms_key_id) {
            (None, None) => None,
            (Some(SseArg::Aes256), None) => Some(rekcheck::layout::Sse::Aes256),
            (Some(SseArg::Kms), key) => Some(rekcheck::layout::Sse::Kms(key.clone())),
            (_, Some(_)) => anyhow::bail!("--sse-kms-key-id needs --sse aws:kms"),
        })
    }
}

/// Where and how `report` writes: `--layout`, `--sse`, `--sse-kms-key-id`.
#[derive(Debug, clap::Args)]
struct OutputArgs {
    /// The layout of the report (default: tables for --out s3://, for query engines and
    /// scheduled jobs; folders for a local folder, for a person opening the files).
    #[arg(long, value_enum, env = "REKCHECK_LAYOUT")]
    layout: Option<LayoutArg>,
    #[command(flatten)]
    sse: SseArgs,
}

impl OutputArgs {
    fn layout(&self, s3: bool) -> rekcheck::layout::Layout {
        match self.layout {
            Some(LayoutArg::Tables) => rekcheck::layout::Layout::Tables,
            Some(LayoutArg::Folders) => rekcheck::layout::Layout::Folders,
            None => {
                if s3 {
                    rekcheck::layout::Layout::Tables
                } else {
                    rekcheck::layout::Layout::Folders
                }
            }
        }
    }

    /// The upload settings; an error when encryption flags come without an s3:// output or a
    /// key id without aws:kms.
    fn s3_output(&self, s3: bool) -> anyhow::Result<rekcheck::layout::S3Output> {
        let sse = self.sse.sse(s3)?;
        Ok(rekcheck::layout::S3Output::new(self.layout(s3)).with_sse(sse))
    }
}

#[derive(Debug, clap::Args)]
struct SchemaArgs {
    /// Print Athena CREATE EXTERNAL TABLE statements (the only format so far).
    #[arg(long, required = true)]
    athena: bool,
    /// The --out prefix of the reports.
    #[arg(
        long,
        value_name = "S3",
        default_value = "s3://my-bucket/rekcheck/",
        env = "REKCHECK_OUT"
    )]
    prefix: String,
    /// Prepended to each table name (issues, images, summary, codes, labels, versions).
    #[arg(long, value_name = "TEXT", default_value = "rekcheck_")]
    table_prefix: String,
}

impl RunArgs {
    /// Whether cells are written raw: --csv-raw or --cells raw, else raw for an S3 output.
    fn raw_cells(&self, s3: bool) -> bool {
        match self.cells {
            Some(Cells::Raw) => true,
            Some(Cells::Defused) => false,
            None => self.csv_raw || s3,
        }
    }

    fn fail_on(&self) -> Option<Severity> {
        match self.fail_on {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Never => None,
        }
    }

    /// A pipeline with these settings and the AWS ones; with an SDK configuration when
    /// `uses_aws` (checked first: see [`aws::sdk_config`]).
    fn pipeline(
        &self,
        aws_args: &AwsArgs,
        s3_out: bool,
        uses_aws: bool,
        runtime: &tokio::runtime::Runtime,
    ) -> anyhow::Result<rekcheck::PipelineBuilder> {
        // Progress bars are not JSON: none with --log-format json.
        let show_progress =
            !self.quiet && !self.no_progress && !emit::json() && std::io::stderr().is_terminal();
        let builder = Pipeline::builder()
            .concurrency(capped_concurrency(aws_args, self.quiet))
            .retries(aws_args.retries.max(1))
            .threads(capped(
                "--threads",
                self.threads.unwrap_or(0),
                rekcheck::MAX_THREADS,
                self.quiet,
            ))
            .max_line_bytes(self.max_line_bytes)
            .max_lines(self.max_lines)
            .max_issues_per_line(self.max_issues_per_line)
            .max_cell_bytes(self.max_cell_bytes)
            .csv_raw(self.raw_cells(s3_out))
            .reporter(Arc::new(render::Progress::new(show_progress)))
            .stop_when(|| cancel::cancelled().is_some());
        if uses_aws {
            with_aws(builder, aws_args, runtime)
        } else {
            Ok(builder)
        }
    }
}

/// `n`, or `max` with a note on stderr (unless `quiet`) when `n` is larger.
fn capped(flag: &str, n: usize, max: usize, quiet: bool) -> usize {
    if n <= max {
        return n;
    }
    if !quiet {
        emit::note(&format!(
            "{flag} {n} is more than the {max} allowed; using {max}"
        ));
    }
    max
}

/// `--concurrency`, at least 1 and at most [`rekcheck::MAX_CONCURRENCY`].
fn capped_concurrency(aws_args: &AwsArgs, quiet: bool) -> usize {
    capped(
        "--concurrency",
        aws_args.concurrency.max(1),
        rekcheck::MAX_CONCURRENCY,
        quiet,
    )
}

/// `builder` with the SDK configuration of the AWS flags (profile, region, endpoint), or the
/// configuration error that would make every request fail.
fn with_aws(
    builder: rekcheck::PipelineBuilder,
    aws_args: &AwsArgs,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<rekcheck::PipelineBuilder> {
    let sdk = runtime.block_on(aws::sdk_config(aws_args))?;
    Ok(builder
        .sdk_config(&sdk)
        .s3_path_style(aws::custom_s3_endpoint(aws_args)))
}

// Flags are bools by nature.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, clap::Args)]
struct FixArgs {
    /// A manifest with validation results, or an input manifest (its errors are predicted as
    /// check does): a local file or s3://bucket/key.
    #[arg(value_name = "MANIFEST")]
    manifest: String,
    /// Where to write the clean manifest: a local file, or s3://bucket/key to upload it (ready
    /// for CreateDataset) with removed.csv beside it.
    #[arg(long, short, value_name = "FILE|S3")]
    out: PathBuf,
    #[command(flatten)]
    sse: SseArgs,
    /// Also drop lines that only have warnings (ignored by Rekognition anyway).
    #[arg(long)]
    drop_warnings: bool,
    /// Where to write removed.csv (default: beside --out, named <out>.removed.csv); an s3://
    /// object when --out is one.
    #[arg(long, value_name = "FILE|S3")]
    removed: Option<PathBuf>,
    /// Lines longer than this many bytes are not read and are dropped.
    #[arg(long, default_value_t = rekcheck::analyze::DEFAULT_MAX_LINE_BYTES, value_name = "BYTES")]
    max_line_bytes: usize,
    /// Write the cells of removed.csv as found, without the leading ' that stops spreadsheets
    /// running formulas.
    #[arg(long)]
    csv_raw: bool,
    /// Print nothing but errors on stderr.
    #[arg(short, long)]
    quiet: bool,
    /// Print a machine-readable summary (what was kept, dropped and written) as JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, clap::Args)]
struct VersionArgs {
    /// Only these version names (repeatable; as the AWS CLI's --version-names). Like --status
    /// and --since, it filters the versions of project ARNs and --all-projects only.
    #[arg(
        long = "version-name",
        value_name = "NAME",
        env = "REKCHECK_VERSION_NAME",
        value_delimiter = ','
    )]
    versions: Vec<String>,
    /// Only versions with this status, e.g. TRAINING_FAILED (repeatable).
    #[arg(
        long = "status",
        value_name = "STATUS",
        env = "REKCHECK_STATUS",
        value_delimiter = ','
    )]
    statuses: Vec<String>,
    /// Only versions created since: a duration (7d, 24h, 30m) or a date (2026-11-01).
    #[arg(long, value_name = "WHEN", env = "REKCHECK_SINCE")]
    since: Option<String>,
    /// Every Custom Labels project of the region (DescribeProjects).
    #[arg(long, env = "REKCHECK_ALL_PROJECTS")]
    all_projects: bool,
}

impl VersionArgs {
    /// A note when version filters are given but nothing they filter (`has_projects`: a
    /// project ARN or --all-projects): they are ignored, and not silently.
    fn note_without_projects(&self, has_projects: bool, quiet: bool) {
        let mut given = Vec::new();
        if !self.versions.is_empty() {
            given.push("--version-name");
        }
        if !self.statuses.is_empty() {
            given.push("--status");
        }
        if self.since.is_some() {
            given.push("--since");
        }
        if has_projects || given.is_empty() || quiet {
            return;
        }
        emit::note(&format!(
            "{} ignored: {} the versions of project ARNs and --all-projects only, and the manifests, folders and s3:// inputs given are reported whole",
            given.join(", "),
            if given.len() == 1 {
                "it filters"
            } else {
                "they filter"
            }
        ));
    }

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
    /// Print the versions found as one JSON document (the --json schema) on stdout instead of
    /// CSV.
    #[arg(long)]
    json: bool,
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
enum DatasetArg {
    /// The training manifest.
    Training,
    /// The testing manifest.
    Testing,
}

impl DatasetArg {
    fn dataset(self) -> rekcheck::analyze::Dataset {
        match self {
            DatasetArg::Training => rekcheck::analyze::Dataset::Training,
            DatasetArg::Testing => rekcheck::analyze::Dataset::Testing,
        }
    }
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
    /// like a folder); project ARNs (their versions, see --version-name/--status/--since) or version
    /// ARNs.
    #[arg(value_name = "PATH|S3|ARN", required_unless_present_any = ["all_projects", "datasets", "training", "testing"])]
    paths: Vec<String>,
    /// The dataset of the manifests named directly (files and s3:// objects, not folders or
    /// prefixes) whose names do not tell it; a manifest summary beside them is used as in a
    /// folder.
    #[arg(long, value_enum, value_name = "DATASET")]
    dataset: Option<DatasetArg>,
    /// A training manifest with validation results, whatever its name (repeatable).
    #[arg(long, value_name = "FILE")]
    training: Vec<String>,
    /// A testing manifest with validation results, whatever its name (repeatable).
    #[arg(long, value_name = "FILE")]
    testing: Vec<String>,
    #[command(flatten)]
    filter: VersionArgs,
    /// Report the current datasets of this project (ListDatasetEntries with HasErrors, and
    /// DescribeDataset): errors before any training (repeatable).
    #[arg(long, value_name = "PROJECT_ARN")]
    datasets: Vec<String>,
    /// Folder for the CSV files, or s3://bucket/prefix/ to upload them (see --layout; the run
    /// under <prefix>/runs/, index.json last).
    #[arg(
        long,
        short,
        default_value = "rekcheck-report",
        value_name = "DIR|S3",
        env = "REKCHECK_OUT"
    )]
    out: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    html: HtmlArgs,
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
    /// Custom endpoint for every AWS service rekcheck calls, S3 and Rekognition alike (as the
    /// AWS CLI's; also AWS_ENDPOINT_URL, or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_REKOGNITION
    /// for one service); S3 requests use path-style addressing with it.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// S3 objects downloaded (and, with --verify-images, image headers read) at the same time,
    /// at least 1 (at most 256, a larger value is lowered to it with a note).
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = at_least_one, env = "REKCHECK_CONCURRENCY")]
    concurrency: usize,
    /// Attempts per request before giving up, at least 1: S3 reads (an interrupted download
    /// resumes), S3 uploads (--out s3://) and Rekognition calls (with adaptive backoff).
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = at_least_one_u32, env = "REKCHECK_RETRIES")]
    retries: u32,
    /// Seconds a network request may take to connect and to answer, and a download may stay
    /// silent, before it is retried (S3 and Rekognition); a download must also bring at least
    /// 1 KiB/s.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600), env = "REKCHECK_TIMEOUT")]
    timeout: u64,
}

/// A count of at least 1: `0` is refused rather than silently read as something else.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// [`at_least_one`] for a `u32`.
fn at_least_one_u32(s: &str) -> Result<u32, String> {
    let n = at_least_one(s)?;
    u32::try_from(n).map_err(|e| e.to_string())
}

// Every line allocates a few small strings and vectors on the analysis threads; mimalloc's
// thread-local free lists make that cheaper than glibc's malloc (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match command()
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    emit::set_json(cli.log_format == LogFormat::Json);
    init_logging(cli.verbose, cli.log_format);
    let result = match cli.command {
        Command::Report(args) => report(&args),
        Command::Locate(args) => locate(&args),
        Command::Check(args) => check(&args),
        Command::Fix(args) => fix(&args),
        Command::Schema(args) => schema(&args),
        Command::Completions { shell } => completions(shell),
        Command::Man { command } => man(command.as_deref()),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(code) = cancel::cancelled() {
                emit::note("stopped by a signal; no report was written");
                code
            } else {
                emit::error(None, &emit::error_text(e.chain()));
                EXIT_FATAL
            }
        }
    };
    if code != EXIT_OK && code != 1 {
        cancel::remove_created_dirs();
    }
    ExitCode::from(code)
}

/// The command line parser: `rekcheck <subcommand> --version` prints `rekcheck <version>`, as
/// `rekcheck --version` does (clap would name the subcommand).
fn command() -> clap::Command {
    use clap::CommandFactory as _;
    Cli::command().mut_subcommands(|s| s.display_name("rekcheck"))
}

/// A command line clap refuses (exit 2), or `--help`/`--version` (exit 0, on stdout). With
/// `--log-format json` anywhere on the command line, the refusal is one JSON line.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                EXIT_FATAL
            } else {
                EXIT_OK
            },
        );
    }
    let args: Vec<String> = std::env::args().collect();
    let json = args
        .windows(2)
        .any(|w| w[0] == "--log-format" && w[1] == "json")
        || args.iter().any(|a| a == "--log-format=json");
    if json {
        emit::set_json(true);
        let text = e.render().to_string();
        let text = text.trim_end();
        emit::error(None, text.strip_prefix("error: ").unwrap_or(text));
    } else {
        let _ = e.print();
    }
    ExitCode::from(EXIT_FATAL)
}

/// `rekcheck completions <shell>`.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    use clap::CommandFactory as _;
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "rekcheck", &mut out);
    write_stdout(&out)?;
    Ok(EXIT_OK)
}

/// `rekcheck man [COMMAND]`: the man page of rekcheck (`rekcheck.1`) or of one subcommand
/// (`rekcheck-<command>.1`).
fn man(command: Option<&str>) -> anyhow::Result<u8> {
    use clap::CommandFactory as _;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let page = match command {
        None => cmd,
        Some(name) => {
            let Some(sub) = cmd.find_subcommand(name) else {
                let names: Vec<&str> = cmd.get_subcommands().map(clap::Command::get_name).collect();
                anyhow::bail!(
                    "no subcommand {name:?}: rekcheck man takes one of {}",
                    names.join(", ")
                );
            };
            sub.clone()
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out)?;
    write_stdout(&out)?;
    Ok(EXIT_OK)
}

/// Writes `bytes` on stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Prints the `--json` document on stdout; a closed pipe is not an error.
fn print_json(doc: &serde_json::Value) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec_pretty(doc)?;
    text.push(b'\n');
    write_stdout(&text)
}

/// The crates of the AWS SDK and its HTTP stack: their log lines (multi-line `WARN aws_config`
/// notes when the instance metadata service is reachable, retries, connection errors) are shown
/// with -vv only; rekcheck reports what they mean in its own one-line messages.
const SDK_LOG_TARGETS: [&str; 18] = [
    "aws_config",
    "aws_credential_types",
    "aws_runtime",
    "aws_sdk_rekognition",
    "aws_sdk_s3",
    "aws_sdk_sso",
    "aws_sdk_ssooidc",
    "aws_sdk_sts",
    "aws_sigv4",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_types",
    "h2",
    "hyper",
    "hyper_util",
    "rustls",
];

/// The log filter of `-v` counts: warnings (0), info (1), debug (2 and more); the AWS SDK's own
/// lines ([`SDK_LOG_TARGETS`]) only from 2 on. `RUST_LOG` replaces it.
fn log_filter(verbose: u8) -> String {
    let mut filter = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    }
    .to_owned();
    if verbose < 2 {
        for target in SDK_LOG_TARGETS {
            filter.push(',');
            filter.push_str(target);
            filter.push_str("=off");
        }
    }
    filter
}

fn init_logging(verbose: u8, format: LogFormat) {
    let default = log_filter(verbose);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // File names and S3 locations in the fields come from data: escaped (see `terminal`).
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_writer(terminal::JsonLogWriter)
            .try_init(),
        LogFormat::Text => builder
            .with_writer(std::io::stderr)
            .fmt_fields(terminal::log_fields())
            .with_ansi(std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal())
            .try_init(),
    };
}

fn report(args: &ReportArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let out_s3 = s3_out(&args.out)?;
    let filter = args.filter.filter()?;
    args.filter.note_without_projects(
        args.filter.all_projects || args.paths.iter().any(|p| p.starts_with("arn:")),
        args.run.quiet,
    );
    let runtime = runtime()?;
    cancel::install(&runtime, local_dirs([&args.out]));
    let uses_aws = out_s3.is_some()
        || args.html.uses_aws()
        || args.filter.all_projects
        || !args.datasets.is_empty()
        || args
            .paths
            .iter()
            .chain(&args.training)
            .chain(&args.testing)
            .any(|p| p.starts_with("s3://") || p.starts_with("arn:"));
    let mut builder = args
        .run
        .pipeline(&args.aws, out_s3.is_some(), uses_aws, &runtime)?
        .all_projects(args.filter.all_projects)
        .filter(filter)
        .html(args.html.options());
    for p in &args.paths {
        builder = match args.dataset {
            Some(d) if !p.starts_with("arn:") => builder.source_arg(p.clone(), Some(d.dataset())),
            _ => builder.source_arg(p.clone(), None),
        };
    }
    for (files, d) in [
        (&args.training, DatasetArg::Training),
        (&args.testing, DatasetArg::Testing),
    ] {
        for f in files {
            builder = builder.source_arg(f.clone(), Some(d.dataset()));
        }
    }
    for d in &args.datasets {
        builder = builder.datasets(d.clone());
    }
    let pipeline = builder.build()?;
    let is_s3 = out_s3.is_some();
    let output = args.output.s3_output(is_s3)?;
    let outcome = runtime.block_on(async {
        match out_s3 {
            Some(prefix) => pipeline.write_s3_with(prefix, &output).await,
            None => pipeline.write_csv(args.out.clone()).await,
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let mut outcome = outcome?;
    if !is_s3 && output.layout == rekcheck::layout::Layout::Tables {
        rekcheck::layout::arrange_tables(&args.out, &mut outcome, args.run.raw_cells(false))?;
    }

    let code = outcome.exit_code(args.run.fail_on());
    let doc = render::json_summary(&outcome.summary, &outcome.failures, code);
    if !args.run.quiet {
        let problems = render::Problems {
            failed: outcome.failures.len(),
            not_validated: &outcome.not_validated,
        };
        let text = render::summary(
            &outcome.summary,
            &outcome.notes,
            &problems,
            started.elapsed(),
        );
        emit::summary(&text, &doc);
    }
    for f in &outcome.failures {
        emit::error(Some(&f.what), &emit::error_text(emit::chain(&f.error)));
    }
    if args.json {
        print_json(&doc)?;
    }
    Ok(code)
}

/// `rekcheck schema --athena`.
fn schema(args: &SchemaArgs) -> anyhow::Result<u8> {
    let prefix: rekcheck::fetch::S3Location = args.prefix.parse().context("--prefix")?;
    if args.prefix.chars().any(char::is_control)
        || args
            .table_prefix
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || c == '_'))
    {
        anyhow::bail!(
            "--prefix may hold no control character, and --table-prefix only letters, digits and _"
        );
    }
    debug_assert!(args.athena);
    write_stdout(schema::athena(&prefix.to_string(), &args.table_prefix).as_bytes())?;
    Ok(EXIT_OK)
}

/// `--out` as an S3 prefix when it is `s3://...`.
fn s3_out(out: &std::path::Path) -> anyhow::Result<Option<rekcheck::fetch::S3Location>> {
    out.to_str()
        .filter(|o| o.starts_with("s3://"))
        .map(str::parse::<rekcheck::fetch::S3Location>)
        .transpose()
        .context("--out")
}

/// The local folders among `dirs` (an `s3://` output is no folder).
fn local_dirs<const N: usize>(dirs: [&std::path::Path; N]) -> Vec<PathBuf> {
    dirs.into_iter()
        .filter(|d| !d.to_str().is_some_and(|d| d.starts_with("s3://")))
        .map(std::path::Path::to_path_buf)
        .collect()
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
    let out_s3 = s3_out(&args.out)?;
    let sse = args.sse.sse(out_s3.is_some())?;
    let runtime = runtime()?;
    cancel::install(&runtime, local_dirs([&args.out]));
    let uses_aws = out_s3.is_some()
        || args.html.uses_aws()
        || args.verify_images
        || args.training.starts_with("s3://")
        || args
            .testing
            .as_deref()
            .is_some_and(|t| t.starts_with("s3://"));
    let builder = args
        .run
        .pipeline(&args.aws, out_s3.is_some(), uses_aws, &runtime)?
        .source_arg(args.training.clone(), None)
        .html(args.html.options());
    let spec = rekcheck::CheckSpec {
        testing: args.testing.clone(),
        auto_split: args.auto_split,
        verify_images: args.verify_images,
    };
    let cross_dataset = spec.testing.is_some() || spec.auto_split;
    let pipeline = builder.build()?;
    let outcome = runtime.block_on(async {
        match out_s3 {
            Some(prefix) => pipeline.check_s3_with(spec, prefix, sse).await,
            None => pipeline.check(spec, Some(args.out.clone())).await,
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let outcome = outcome?;
    let code = outcome.exit_code(args.run.fail_on());
    let doc = render::json_check(&outcome, cross_dataset, code);
    if !args.run.quiet {
        let notes = if cross_dataset {
            Vec::new()
        } else {
            vec![render::NO_CROSS_DATASET_RULES.to_owned()]
        };
        let mut text = render::summary(
            &outcome.summary,
            &notes,
            &render::Problems::default(),
            started.elapsed(),
        );
        text.push_str(&render::verdict(&outcome));
        text.push_str(&render::exit_reason(&outcome, args.run.fail_on(), code));
        emit::summary(&text, &doc);
    }
    if args.json {
        print_json(&doc)?;
    }
    Ok(code)
}

fn fix(args: &FixArgs) -> anyhow::Result<u8> {
    let removed = args.removed.clone().unwrap_or_else(|| {
        let mut name = args.out.file_name().unwrap_or_default().to_os_string();
        name.push(".removed.csv");
        args.out.with_file_name(name)
    });
    let s3 = fix_s3_outputs(&args.out, &removed)?;
    let sse = args.sse.sse(s3.is_some())?;
    let runtime = runtime()?;
    let mut builder = Pipeline::builder()
        .source_arg(args.manifest.clone(), None)
        .concurrency(capped_concurrency(&args.aws, args.quiet))
        .retries(args.aws.retries.max(1))
        .max_line_bytes(args.max_line_bytes)
        .csv_raw(args.csv_raw)
        .stop_when(|| cancel::cancelled().is_some());
    if args.manifest.starts_with("s3://") || s3.is_some() {
        builder = with_aws(builder, &args.aws, &runtime)?;
    }
    let pipeline = builder.build()?;
    let outcome = if let Some((out, removed_s3)) = s3 {
        cancel::install(&runtime, Vec::new());
        let spec = rekcheck::FixS3Spec {
            out,
            removed: removed_s3,
            drop_warnings: args.drop_warnings,
            sse,
        };
        runtime.block_on(pipeline.fix_s3(spec))
    } else {
        cancel::install(
            &runtime,
            [&args.out, &removed]
                .map(|p| rekcheck::analyze::output::parent_dir(p).to_owned())
                .to_vec(),
        );
        let spec = rekcheck::FixSpec {
            out: args.out.clone(),
            removed: removed.clone(),
            drop_warnings: args.drop_warnings,
        };
        runtime.block_on(pipeline.fix(spec))
    };
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let outcome = outcome?;
    // A fixed manifest that would still fail validation is no manifest to retrain on.
    let code = u8::from(!outcome.passes());
    let doc = render::json_fix(&outcome, &args.out, &removed, code);
    if !args.quiet {
        let mut text = render::fix_summary(&outcome, &args.out, &removed);
        text.push_str(&render::fix_verdict(&outcome));
        emit::summary(&text, &doc);
    }
    if args.json {
        print_json(&doc)?;
    }
    Ok(code)
}

/// Where `fix` uploads, when `--out` is `s3://bucket/key`: both outputs in S3 (`--removed`
/// too, by default `<out>.removed.csv` beside it), each naming an object, not a prefix.
fn fix_s3_outputs(
    out: &std::path::Path,
    removed: &std::path::Path,
) -> anyhow::Result<Option<(rekcheck::fetch::S3Location, rekcheck::fetch::S3Location)>> {
    let is_s3 = |p: &std::path::Path| p.to_str().is_some_and(|p| p.starts_with("s3://"));
    match (is_s3(out), is_s3(removed)) {
        (false, false) => return Ok(None),
        (true, true) => {}
        _ => anyhow::bail!(
            "--out and --removed must both be local files or both s3:// objects (--out {}, --removed {})",
            out.display(),
            removed.display()
        ),
    }
    let object = |flag: &str, p: &std::path::Path| -> anyhow::Result<rekcheck::fetch::S3Location> {
        let text = p.to_str().unwrap_or_default();
        let loc: rekcheck::fetch::S3Location =
            text.parse().with_context(|| format!("{flag} {text}"))?;
        if loc.key.is_empty() || loc.key.ends_with('/') {
            anyhow::bail!(
                "{flag} {text} names a prefix: give the object to write, e.g. s3://{}/{}fixed.manifest",
                loc.bucket,
                loc.key
            );
        }
        Ok(loc)
    };
    Ok(Some((object("--out", out)?, object("--removed", removed)?)))
}

fn locate(args: &LocateArgs) -> anyhow::Result<u8> {
    let filter = args.filter.filter()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")?;
    let sdk = runtime.block_on(aws::sdk_config(&args.aws))?;
    let locator = rekcheck::locate::Locator::new(aws::rekognition_client(&sdk, &args.aws));
    let (found, failures) = runtime.block_on(rekcheck::find_versions(
        &locator,
        &args.arns,
        args.filter.all_projects,
        &filter,
    ));
    let code = if failures.is_empty() {
        EXIT_OK
    } else {
        EXIT_FATAL
    };
    if args.json {
        print_json(&render::json_locate(&found, &failures, code))?;
    } else {
        write_locate_csv(&found)?;
    }
    for f in &failures {
        emit::error(Some(&f.what), &emit::error_text(emit::chain(&f.error)));
    }
    Ok(code)
}

/// The versions `locate` found, as CSV on stdout; a closed pipe ends it quietly.
fn write_locate_csv(found: &[rekcheck::locate::ProjectVersion]) -> anyhow::Result<()> {
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
    for v in found {
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
                return Ok(());
            }
            return Err(e.into());
        }
    }
    if let Err(e) = w.flush()
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    Ok(())
}
