//! Where a report's files go: the table layout a query engine reads, or one folder per version;
//! run folder names; server-side encryption of uploads.
//!
//! # The table layout (schema version [`SCHEMA_VERSION`])
//!
//! ```text
//! <prefix>/issues/project_key=<P>/version_key=<V>/issues.csv     (latest report of each version)
//! <prefix>/images/project_key=<P>/version_key=<V>/images.csv
//! <prefix>/summary/...  codes/...  labels/...  versions/...      (same)
//! <prefix>/runs/run=<run id>/{issues,images,summary,codes,labels,versions}.csv, index.json
//! ```
//!
//! One prefix per table, Hive partitions `project_key` and `version_key` (not `project` and
//! `version`: every table already has those columns, and Athena refuses a partition column that
//! repeats a table column). `P` and `V` are the names percent-encoded one byte at a time as the
//! per-version keys of the folders layout are (see the `upload` module): DuckDB, Spark and Hive
//! decode `%XX` in partition values, so `project_key` gives the name back; the empty name is `~`.
//! When `<P>/<V>` would be longer than 512 bytes, the partition is
//! `project_key=~sha256/version_key=<64 hex digits>`. Rows with neither a project nor a version
//! (local manifests without names) are in the partition `project_key=~/version_key=~`.
//!
//! A run's folder is named by [`run_id`]: a sortable UTC time without colons, with microseconds,
//! and a random suffix, so that two runs in the same microsecond never share a folder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rekcheck_analyze::{REPORT_FILES, VERSIONS_FILE};

/// The version of the table layout and of the column lists below; `index.json` carries it as
/// `schema_version`. It changes when a column is added, removed, renamed or retyped, or when a
/// key changes.
pub const SCHEMA_VERSION: u32 = 1;

/// How the report's files are laid out under `--out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Layout {
    /// One prefix per table with Hive partitions (see the module documentation).
    #[default]
    Tables,
    /// The report's six files side by side: locally in the folder, in S3 once per version
    /// under `<prefix>/<P>/<V>/` and once per run under `<prefix>/runs/<run id>/`.
    Folders,
}

/// Server-side encryption asked for on every `PutObject` of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sse {
    /// `AES256`: keys managed by S3 (SSE-S3).
    Aes256,
    /// `aws:kms`, with this key (an id, ARN or alias), or the account's default S3 key when
    /// `None` (SSE-KMS). The caller then needs `kms:GenerateDataKey` on the key.
    Kms(Option<String>),
}

/// How [`Pipeline::write_s3_with`](crate::Pipeline::write_s3_with) uploads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct S3Output {
    /// The layout of the objects.
    pub layout: Layout,
    /// Server-side encryption of every object; `None` leaves it to the bucket's default.
    pub sse: Option<Sse>,
}

impl S3Output {
    /// The table layout, no encryption asked for.
    pub fn new(layout: Layout) -> S3Output {
        S3Output { layout, sse: None }
    }

    /// With this server-side encryption.
    #[must_use]
    pub fn with_sse(mut self, sse: Option<Sse>) -> S3Output {
        self.sse = sse;
        self
    }
}

/// The tables of the layout, each with its file: `issues`, `images`, `summary`, `codes`,
/// `labels` and `versions`.
pub fn tables() -> impl Iterator<Item = (&'static str, &'static str)> {
    REPORT_FILES
        .into_iter()
        .chain([VERSIONS_FILE])
        .map(|f| (f.strip_suffix(".csv").unwrap_or(f), f))
}

/// A run's folder name: `YYYYMMDDTHHMMSS.ffffffZ-xxxxxxxx` (UTC, microseconds, 8 random hex
/// digits). Sorting the names sorts the runs by time; no `:` (which some tools refuse in paths).
pub fn run_id(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let text = crate::time::rfc3339(now);
    let mut id: String = text
        .trim_end_matches('Z')
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let _ = write!(
        id,
        ".{:06}Z-{:08x}",
        since.subsec_micros(),
        fastrand::u32(..)
    );
    id
}

/// The partition of a version, `project_key=<P>/version_key=<V>`.
pub fn partition(project: &str, version: &str) -> String {
    let (p, v) = crate::split::folder_parts(project, version);
    format!("project_key={p}/version_key={v}")
}

/// The key of a version's `file` under the prefix, in `layout`.
pub(crate) fn version_key(layout: Layout, file: &str, project: &str, version: &str) -> String {
    match layout {
        Layout::Folders => format!("{}/{file}", crate::split::version_folder(project, version)),
        Layout::Tables => {
            let table = file.strip_suffix(".csv").unwrap_or(file);
            format!("{table}/{}/{file}", partition(project, version))
        }
    }
}

/// The folder of run `run` under the prefix, without a trailing `/`.
pub(crate) fn run_folder(layout: Layout, run: &str) -> String {
    match layout {
        Layout::Folders => format!("runs/{run}"),
        Layout::Tables => format!("runs/run={run}"),
    }
}

/// The `index.json` of a run.
pub(crate) fn index(
    layout: Layout,
    run: &str,
    failures: &[crate::Failure],
    versions: &[serde_json::Value],
    files: &[String],
) -> serde_json::Value {
    serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "layout": match layout { Layout::Tables => "tables", Layout::Folders => "folders" },
        "run": run,
        "complete": true,
        "failures": failures.iter().map(|f| serde_json::json!({"what": f.what, "error": f.error.to_string()})).collect::<Vec<_>>(),
        "versions": versions,
        "files": files,
    })
}

/// Rearranges a report written by [`Pipeline::write_csv`](crate::Pipeline::write_csv) in `dir`
/// into the table layout: each version's rows go to
/// `dir/<table>/project_key=<P>/version_key=<V>/<table>.csv` (replacing the version's previous
/// files), and the six files to `dir/runs/run=<run id>/` with an `index.json`. `csv_raw` must be
/// what the report was written with (rows are matched to versions by their cells). Versions
/// that cannot get their own files (see [`Pipeline::write_s3`](crate::Pipeline::write_s3)) and
/// rows that match no version are added to `outcome.failures`; `outcome.summary.files` becomes
/// the files written.
///
/// # Errors
///
/// [`PipelineError::Fetch`](crate::PipelineError::Fetch) when a file cannot be read, written
/// or moved.
pub fn arrange_tables(
    dir: &Path,
    outcome: &mut crate::outcome::RunOutcome,
    csv_raw: bool,
) -> Result<(), crate::PipelineError> {
    use crate::PipelineError;
    use rekcheck_fetch::FetchError;
    let io = |e: std::io::Error| PipelineError::Fetch(FetchError::Io(e));
    let work = tempfile::Builder::new()
        .prefix(".rekcheck-tables-")
        .tempdir_in(dir)
        .map_err(io)?;
    for (_, file) in tables() {
        fs_err::rename(dir.join(file), work.path().join(file)).map_err(io)?;
    }
    let versions = crate::split::versions_of(&outcome.summary, true);
    let split = crate::split::split_by_version(work.path(), &versions, csv_raw)?;
    crate::split::note_unmatched(&split, &mut outcome.failures);
    let mut files = Vec::new();
    let mut index_versions = Vec::new();
    for (i, (project, version)) in versions.iter().enumerate() {
        if split.ambiguous.contains(&i) {
            crate::split::note_ambiguous(&mut outcome.failures, project, version);
            index_versions.push(serde_json::json!({
                "project": project, "version": version, "partition": serde_json::Value::Null,
            }));
            continue;
        }
        for (_, file) in tables() {
            let to = dir.join(version_key(Layout::Tables, file, project, version));
            if let Some(parent) = to.parent() {
                fs_err::create_dir_all(parent).map_err(io)?;
            }
            let from = work.path().join("versions").join(i.to_string()).join(file);
            fs_err::rename(from, &to).map_err(io)?;
            files.push(to);
        }
        index_versions.push(serde_json::json!({
            "project": project, "version": version, "partition": partition(project, version),
        }));
    }
    let run = run_id(SystemTime::now());
    let run_dir = dir.join(run_folder(Layout::Tables, &run));
    fs_err::create_dir_all(&run_dir).map_err(io)?;
    let mut run_files = Vec::new();
    for (_, file) in tables() {
        let to = run_dir.join(file);
        fs_err::rename(work.path().join(file), &to).map_err(io)?;
        run_files.push(to.display().to_string());
        files.push(to);
    }
    let doc = index(
        Layout::Tables,
        &run,
        &outcome.failures,
        &index_versions,
        &run_files,
    );
    let index_path: PathBuf = run_dir.join("index.json");
    fs_err::write(
        &index_path,
        serde_json::to_vec_pretty(&doc).unwrap_or_default(),
    )
    .map_err(io)?;
    files.push(index_path);
    outcome.summary.files = files;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_time_have_no_colons_and_differ_in_the_same_microsecond() {
        let t = UNIX_EPOCH + std::time::Duration::new(1_795_000_000, 123_456_789);
        let a = run_id(t);
        let b = run_id(t);
        assert_eq!(&a[..23], "20261118T110640.123456Z", "{a}");
        assert_eq!(a.len(), 23 + 1 + 8);
        assert!(!a.contains(':') && !a.contains('/'));
        assert_ne!(a, b);
        let later = run_id(t + std::time::Duration::from_micros(1));
        assert!(later > a && later > b, "{later} {a}");
        let next_second = run_id(t + std::time::Duration::from_secs(1));
        assert!(next_second > later);
    }

    #[test]
    fn partitions_encode_names_and_keys_follow_the_layout() {
        assert_eq!(partition("a/b", ""), "project_key=a%2Fb/version_key=~");
        assert_eq!(partition("=x", "v 1"), "project_key=%3Dx/version_key=v%201");
        assert_eq!(
            version_key(Layout::Tables, "issues.csv", "p", "v"),
            "issues/project_key=p/version_key=v/issues.csv"
        );
        assert_eq!(
            version_key(Layout::Folders, "issues.csv", "p", "v"),
            "p/v/issues.csv"
        );
        let long = "x".repeat(600);
        assert!(partition(&long, "v").starts_with("project_key=~sha256/version_key="));
        assert_eq!(
            tables().map(|t| t.0).collect::<Vec<_>>(),
            ["issues", "images", "summary", "codes", "labels", "versions"]
        );
    }
}
