//! `--out s3://`: per-version reports, the run's report, and `index.json` last.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use rekcheck_analyze::{REPORT_FILES, VERSIONS_FILE};
use rekcheck_fetch::{FetchError, S3Location};

use crate::error::PipelineError;
use crate::pipeline::RunOutcome;

/// A private local folder for the report before it is uploaded; removed when dropped.
pub(crate) struct Staging(PathBuf);

impl Staging {
    pub(crate) fn new() -> Result<Staging, PipelineError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("rekcheck-{}-{nanos}", std::process::id()));
        fs_err::create_dir_all(&dir).map_err(|e| PipelineError::Fetch(e.into()))?;
        Ok(Staging(dir))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn files() -> impl Iterator<Item = &'static str> {
    REPORT_FILES.into_iter().chain([VERSIONS_FILE])
}

/// Splits each CSV of `dir` by its `project,version` columns into `dir/versions/<p>/<v>/`.
fn split_by_version(dir: &Path) -> Result<Vec<(String, String)>, PipelineError> {
    let io = |e: std::io::Error| PipelineError::Fetch(FetchError::Io(e));
    let csv_err = |e: csv::Error| PipelineError::Fetch(FetchError::Io(e.into()));
    let mut versions: BTreeSet<(String, String)> = BTreeSet::new();
    for name in files() {
        let mut reader = csv::Reader::from_path(dir.join(name)).map_err(csv_err)?;
        let header = reader.byte_headers().map_err(csv_err)?.clone();
        let mut writers: BTreeMap<(String, String), csv::Writer<std::fs::File>> = BTreeMap::new();
        for record in reader.byte_records() {
            let record = record.map_err(csv_err)?;
            let project = String::from_utf8_lossy(record.get(0).unwrap_or_default()).into_owned();
            let version = String::from_utf8_lossy(record.get(1).unwrap_or_default()).into_owned();
            if project.is_empty() && version.is_empty() {
                continue;
            }
            let key = (project, version);
            if !writers.contains_key(&key) {
                let vdir = dir.join("versions").join(&key.0).join(&key.1);
                fs_err::create_dir_all(&vdir).map_err(io)?;
                let mut w = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_path(vdir.join(name))
                    .map_err(csv_err)?;
                w.write_byte_record(&header).map_err(csv_err)?;
                writers.insert(key.clone(), w);
            }
            if let Some(w) = writers.get_mut(&key) {
                w.write_byte_record(&record).map_err(csv_err)?;
            }
        }
        for (key, mut w) in writers {
            w.flush().map_err(io)?;
            versions.insert(key);
        }
    }
    // Every version gets all six files, with just the header where it has no rows.
    for (project, version) in &versions {
        let vdir = dir.join("versions").join(project).join(version);
        for name in files() {
            let path = vdir.join(name);
            if !path.exists() {
                let mut reader = csv::Reader::from_path(dir.join(name)).map_err(csv_err)?;
                let header = reader.byte_headers().map_err(csv_err)?.clone();
                let mut w = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_path(&path)
                    .map_err(csv_err)?;
                w.write_byte_record(&header).map_err(csv_err)?;
                w.flush().map_err(io)?;
            }
        }
    }
    Ok(versions.into_iter().collect())
}

async fn put(
    client: &aws_sdk_s3::Client,
    to: &S3Location,
    from: &Path,
) -> Result<(), PipelineError> {
    let body = ByteStream::from_path(from)
        .await
        .map_err(|e| PipelineError::Fetch(FetchError::Io(std::io::Error::other(e))))?;
    client
        .put_object()
        .bucket(&to.bucket)
        .key(&to.key)
        .content_type("text/csv; charset=utf-8")
        .body(body)
        .send()
        .await
        .map_err(|e| {
            PipelineError::Fetch(FetchError::S3 {
                location: to.to_string(),
                code: aws_sdk_s3::error::ProvideErrorMetadata::code(&e)
                    .unwrap_or("PutObject failed")
                    .to_owned(),
                message: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            })
        })?;
    Ok(())
}

/// Uploads the report in `dir` under `prefix`; returns the objects written, `index.json` last.
pub(crate) async fn upload(
    client: &aws_sdk_s3::Client,
    prefix: &S3Location,
    dir: &Path,
    outcome: &RunOutcome,
) -> Result<Vec<PathBuf>, PipelineError> {
    let dir_owned = dir.to_owned();
    let versions = tokio::task::spawn_blocking(move || split_by_version(&dir_owned))
        .await
        .map_err(|e| PipelineError::Task(e.to_string()))??;
    let base = prefix.key.trim_end_matches('/');
    let join = |rest: &str| {
        let key = if base.is_empty() {
            rest.to_owned()
        } else {
            format!("{base}/{rest}")
        };
        S3Location::new(&prefix.bucket, key)
    };
    let mut written = Vec::new();
    let mut index_versions = Vec::new();
    for (project, version) in &versions {
        for name in files() {
            let to = join(&format!("{project}/{version}/{name}"));
            put(
                client,
                &to,
                &dir.join("versions").join(project).join(version).join(name),
            )
            .await?;
            written.push(PathBuf::from(to.to_string()));
        }
        index_versions.push(serde_json::json!({
            "project": project,
            "version": version,
            "report": join(&format!("{project}/{version}/")).to_string(),
        }));
    }
    let run = crate::time::rfc3339(std::time::SystemTime::now());
    let mut run_files = Vec::new();
    for name in files() {
        let to = join(&format!("runs/{run}/{name}"));
        put(client, &to, &dir.join(name)).await?;
        run_files.push(to.to_string());
        written.push(PathBuf::from(to.to_string()));
    }
    let index = serde_json::json!({
        "run": run,
        "complete": true,
        "failures": outcome.failures.iter().map(|f| serde_json::json!({"what": f.what, "error": f.error.to_string()})).collect::<Vec<_>>(),
        "versions": index_versions,
        "files": run_files,
    });
    let index_path = dir.join("index.json");
    fs_err::write(
        &index_path,
        serde_json::to_vec_pretty(&index).unwrap_or_default(),
    )
    .map_err(|e| PipelineError::Fetch(e.into()))?;
    let to = join(&format!("runs/{run}/index.json"));
    put(client, &to, &index_path).await?;
    written.push(PathBuf::from(to.to_string()));
    Ok(written)
}
