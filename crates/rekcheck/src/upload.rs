//! `--out s3://`: per-version reports, the run's report, and `index.json` last.
//!
//! # Where each version's report goes
//!
//! Project and version names come from data (Rekognition answers, a
//! `describe-project-versions.json`), so they never become local paths and reach S3 keys only
//! through an injective encoding:
//!
//! * Locally, the report is staged in a fresh private folder (`tempfile`, random name, created
//!   exclusively); version number `n` of the run (in the order of `index.json`'s `versions`)
//!   is split into `versions/<n>/`, a name made of digits only.
//! * In S3, a version's files go under `<prefix>/<P>/<V>/`, where `P` and `V` are the project and
//!   version names encoded one byte of their UTF-8 at a time: `A`-`Z`, `a`-`z`, `0`-`9`, `-`
//!   and `_` stay; `.` stays except as the first byte of a name; every other byte (`/`, `%`,
//!   `~`, space, control and non-ASCII bytes, a leading `.`) becomes `%XX` (two upper-case hex
//!   digits). The empty name is written `~`. So `..` becomes `%2E.`, `a/b` becomes `a%2Fb`, and
//!   no segment is empty, `.` or `..`; percent-decoding a segment (other than `~`) gives the
//!   name back, so two versions never share a folder.
//! * When `P/V` would be longer than [`MAX_VERSION_FOLDER_BYTES`], the folder is
//!   `~sha256/<64 hex digits>/` instead: the SHA-256 of the project name's length (8 bytes, big
//!   endian), the project name and the version name. No encoded name starts with `~`, so these
//!   folders cannot meet an encoded one.
//!
//! The per-version CSV files keep their cells exactly as the run's report has them; the split
//! finds each row's version by the raw names the report writer was given (see
//! [`split_by_version`]). `versions.csv` and `index.json` link to the same folders.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use rekcheck_analyze::ReportSummary;
use rekcheck_fetch::{FetchError, RequestId, RetryPolicy, S3Location, SendFailure, root_cause};

use crate::error::{Failure, PipelineError};
use crate::layout::{Layout, S3Output, Sse};
use crate::split::{
    files, note_ambiguous, note_no_copy, note_unmatched, split_by_version, version_folder,
    versions_of,
};

/// S3's longest key, in bytes.
const MAX_KEY_BYTES: usize = 1024;

/// A private local folder for the report before it is uploaded (random name, created
/// exclusively, readable by the user only); removed when dropped unless kept.
pub(crate) struct Staging(tempfile::TempDir);

impl Staging {
    pub(crate) fn new() -> Result<Staging, PipelineError> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("rekcheck-upload-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let dir = builder
            .tempdir()
            .map_err(|e| {
                PipelineError::Fetch(FetchError::Io(std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot create a folder to stage the report in {}: {e}; set TMPDIR to a writable folder",
                        std::env::temp_dir().display()
                    ),
                )))
            })?;
        Ok(Staging(dir))
    }

    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }

    /// Keeps the folder on disk and returns where it is.
    pub(crate) fn keep(self) -> PathBuf {
        self.0.keep()
    }
}

/// `prefix` joined with `rest` as a key.
fn join(prefix: &S3Location, rest: &str) -> S3Location {
    let base = prefix.key.trim_end_matches('/');
    let key = if base.is_empty() {
        rest.to_owned()
    } else {
        format!("{base}/{rest}")
    };
    S3Location::new(&prefix.bucket, key)
}

/// Where a version's report is uploaded: `s3://bucket/<prefix>/<folder>/`, or in the table
/// layout the version's partition of the `issues` table.
pub(crate) fn version_report(
    prefix: &S3Location,
    layout: Layout,
    project: &str,
    version: &str,
) -> String {
    let folder = match layout {
        Layout::Folders => version_folder(project, version),
        Layout::Tables => format!("issues/{}", crate::layout::partition(project, version)),
    };
    join(prefix, &format!("{folder}/")).to_string()
}

/// What a failed `PutObject` of `to` means, in one line that names the cause and what to do
/// (never the SDK's `Debug` text, which is logged at info level, `-v`), and whether sending it
/// again may help: throttling, server errors, timeouts and network failures; never a missing
/// bucket, a denied access or a configuration error (credentials, region, endpoint).
fn put_error<E>(
    e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    to: &S3Location,
    endpoint: &str,
) -> (String, bool)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    tracing::info!(location = %to, error = %aws_sdk_s3::error::DisplayErrorContext(e), "PutObject failed");
    match e {
        SdkError::TimeoutError(_) => ("no answer in time".to_owned(), true),
        SdkError::DispatchFailure(d) => {
            let failure = match d.as_connector_error() {
                Some(c) => SendFailure::of(c, endpoint),
                None => SendFailure::Other {
                    cause: root_cause(e),
                },
            };
            let retry = failure.retryable();
            (failure.to_string(), retry)
        }
        SdkError::ResponseError(_) => (
            format!("the answer could not be read: {}", root_cause(e)),
            true,
        ),
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let code = e.code().unwrap_or("");
            let request_id = RequestId::of(e.meta());
            let region = rekcheck_fetch::bucket_region(s.raw());
            match (status, code) {
                (500 | 502 | 503 | 504, _)
                | (
                    _,
                    "SlowDown"
                    | "Throttling"
                    | "ThrottlingException"
                    | "RequestTimeout"
                    | "InternalError",
                ) => (
                    format!("{status} {code} {}{request_id}", e.message().unwrap_or("")),
                    true,
                ),
                (_, "NoSuchBucket") => (
                    format!(
                        "the bucket {} does not exist (NoSuchBucket): check the bucket name of the output location and the account{request_id}",
                        to.bucket
                    ),
                    false,
                ),
                (403, _) | (_, "AccessDenied") => (
                    format!(
                        "access denied writing {to}: the caller needs s3:PutObject on it (and kms:GenerateDataKey if the bucket uses SSE-KMS){request_id}"
                    ),
                    false,
                ),
                (301 | 400, _) if region.is_some() => (
                    format!(
                        "the bucket {} is in region {}: use a client configured for region {}{request_id}",
                        to.bucket,
                        region.as_deref().unwrap_or_default(),
                        region.as_deref().unwrap_or_default()
                    ),
                    false,
                ),
                (_, "PermanentRedirect" | "AuthorizationHeaderMalformed") => (
                    format!(
                        "the bucket {} is in another region: use a client configured for its region{request_id}",
                        to.bucket
                    ),
                    false,
                ),
                _ => (
                    format!(
                        "S3 answered {}: {}{request_id}",
                        if code.is_empty() {
                            format!("HTTP {status}")
                        } else {
                            code.to_owned()
                        },
                        e.message().unwrap_or("")
                    ),
                    false,
                ),
            }
        }
        other => (
            format!("the request could not be sent: {}", root_cause(other)),
            false,
        ),
    }
}

/// Why an object could not be uploaded.
#[derive(Debug)]
pub(crate) struct PutFailed {
    /// The object.
    pub(crate) location: String,
    /// What happened, with the attempts made.
    pub(crate) cause: String,
}

/// How long one `PutObject` attempt of `bytes` may take: the request timeout plus the time the
/// body takes at the slowest rate a read accepts
/// ([`rekcheck_fetch::MIN_BODY_BYTES_PER_SECOND`]), so that an endpoint that never answers
/// cannot hang the upload while a large report on a slow link still gets through.
fn put_deadline(timeout: std::time::Duration, bytes: u64) -> std::time::Duration {
    timeout.saturating_add(std::time::Duration::from_secs(
        bytes / rekcheck_fetch::MIN_BODY_BYTES_PER_SECOND,
    ))
}

/// One `PutObject` of the file `from`, sent again with backoff while it fails in a retryable way
/// (or takes longer than [`put_deadline`]), at most `policy.attempts` times in all.
pub(crate) async fn put(
    client: &aws_sdk_s3::Client,
    to: &S3Location,
    from: &Path,
    content_type: &str,
    policy: &RetryPolicy,
    timeout: std::time::Duration,
    sse: Option<&Sse>,
) -> Result<(), PutFailed> {
    let failed = |cause: String| PutFailed {
        location: to.to_string(),
        cause,
    };
    // Names the endpoint in errors (and encodes `.`/`..` key segments, as the client's own).
    let guard = rekcheck_fetch::DotSegmentEncoder::default();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let body = ByteStream::from_path(from)
            .await
            .map_err(|e| failed(format!("cannot read {}: {e}", from.display())))?;
        let deadline = put_deadline(timeout, body.size_hint().0);
        let mut request = client
            .put_object()
            .bucket(&to.bucket)
            .key(&to.key)
            .content_type(content_type)
            .body(body);
        request = match sse {
            None => request,
            Some(Sse::Aes256) => request.server_side_encryption(ServerSideEncryption::Aes256),
            Some(Sse::Kms(key)) => request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .set_ssekms_key_id(key.clone()),
        };
        let sent = tokio::time::timeout(
            deadline,
            request.customize().interceptor(guard.clone()).send(),
        )
        .await;
        let cause = match sent {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => {
                let endpoint = guard
                    .endpoint()
                    .unwrap_or_else(|| "the S3 endpoint".to_owned());
                let (cause, retry) = put_error(&e, to, &endpoint);
                if !retry {
                    return Err(failed(cause));
                }
                cause
            }
            Err(_) => format!(
                "no answer within {} s (the timeout plus 1 s per KiB of the object)",
                deadline.as_secs()
            ),
        };
        if attempt >= policy.attempts {
            return Err(failed(format!(
                "failed {attempt} times (the retries setting); last error: {cause}"
            )));
        }
        let backoff = policy.backoff(attempt);
        tracing::info!(
            location = %to,
            attempt,
            backoff_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
            cause,
            "retrying upload"
        );
        tokio::time::sleep(backoff).await;
    }
}

/// How many `PutObject` requests an upload keeps in flight at once (each streams its staged
/// file from disk, so memory stays bounded by the SDK's buffers, not by the report's size).
pub(crate) const MAX_PUTS_IN_FLIGHT: usize = 8;

/// Uploads every `(to, from, content type)` of `planned`, at most [`MAX_PUTS_IN_FLIGHT`] at a
/// time, each with [`put`]'s retries. Returns the objects written in `planned`'s order. The
/// first object that still fails ends the upload: the requests in flight are dropped and none
/// is started after it.
pub(crate) async fn put_all(
    client: &aws_sdk_s3::Client,
    planned: &[(S3Location, PathBuf, &str)],
    policy: &RetryPolicy,
    timeout: std::time::Duration,
    sse: Option<&Sse>,
) -> Result<Vec<PathBuf>, PutFailed> {
    use futures::{StreamExt, TryStreamExt};
    futures::stream::iter(planned.iter().map(|(to, from, content_type)| async move {
        put(client, to, from, content_type, policy, timeout, sse).await?;
        Ok::<_, PutFailed>(PathBuf::from(to.to_string()))
    }))
    .buffered(MAX_PUTS_IN_FLIGHT)
    .try_collect()
    .await
}

/// What an upload needs of a finished run: its summary (the versions, each uploaded to its own
/// folder) and its failures, which the upload adds to and lists in `index.json`.
pub(crate) struct Finished<'a> {
    pub(crate) summary: &'a ReportSummary,
    pub(crate) failures: &'a mut Vec<Failure>,
}

/// Why the upload stopped.
#[derive(Debug)]
pub(crate) enum UploadError {
    /// The report could not be split per version locally.
    Split(PipelineError),
    /// An object could not be uploaded.
    Put(PutFailed),
}

/// Uploads the report in `dir` under `prefix` in `output`'s layout; returns the objects
/// written, `index.json` last. Versions that cannot get a per-version copy are added to the
/// outcome's failures (and to `index.json`'s); the other versions are uploaded all the same.
/// The first object that cannot be uploaded (after `policy`'s attempts) stops the upload
/// before `index.json`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn upload(
    client: &aws_sdk_s3::Client,
    prefix: &S3Location,
    dir: &Path,
    finished: Finished<'_>,
    csv_raw: bool,
    output: &S3Output,
    policy: &RetryPolicy,
    timeout: std::time::Duration,
) -> Result<Vec<PathBuf>, UploadError> {
    let layout = output.layout;
    let versions = versions_of(finished.summary, layout == Layout::Tables);
    let (dir_owned, versions_owned) = (dir.to_owned(), versions.clone());
    let split =
        tokio::task::spawn_blocking(move || split_by_version(&dir_owned, &versions_owned, csv_raw))
            .await
            .map_err(|e| UploadError::Split(PipelineError::Task(e.to_string())))?
            .map_err(UploadError::Split)?;
    note_unmatched(&split, finished.failures);
    let csv = "text/csv; charset=utf-8";
    let mut uploads: Vec<(S3Location, PathBuf)> = Vec::new();
    let mut index_versions = Vec::new();
    for (i, (project, version)) in versions.iter().enumerate() {
        let keys: Vec<(S3Location, &str)> = files()
            .map(|name| {
                (
                    join(
                        prefix,
                        &crate::layout::version_key(layout, name, project, version),
                    ),
                    name,
                )
            })
            .collect();
        let report = version_report(prefix, layout, project, version);
        let too_long = keys.iter().find(|(k, _)| k.key.len() > MAX_KEY_BYTES);
        if split.ambiguous.contains(&i) {
            note_ambiguous(finished.failures, project, version);
        } else if let Some((key, _)) = too_long {
            note_no_copy(
                finished.failures,
                project,
                version,
                &format!(
                    "its key {key} would be longer than S3's {MAX_KEY_BYTES} bytes; use a shorter --out prefix; its rows are in the run's report under runs/"
                ),
            );
        } else {
            for (to, name) in keys {
                uploads.push((to, dir.join("versions").join(i.to_string()).join(name)));
            }
            let mut entry = serde_json::json!({
                "project": project,
                "version": version,
                "report": report,
            });
            if layout == Layout::Tables {
                entry["partition"] = crate::layout::partition(project, version).into();
            }
            index_versions.push(entry);
            continue;
        }
        index_versions.push(serde_json::json!({
            "project": project,
            "version": version,
            "report": serde_json::Value::Null,
        }));
    }
    let run = crate::layout::run_id(std::time::SystemTime::now());
    let run_folder = crate::layout::run_folder(layout, &run);
    let mut run_files = Vec::new();
    for name in files() {
        let to = join(prefix, &format!("{run_folder}/{name}"));
        run_files.push(to.to_string());
        uploads.push((to, dir.join(name)));
    }
    // The run's HTML page, when one was written, beside the run's CSV files.
    let html_path = dir.join(rekcheck_analyze::HTML_FILE);
    let html = html_path.is_file().then(|| {
        let to = join(
            prefix,
            &format!("{run_folder}/{}", rekcheck_analyze::HTML_FILE),
        );
        run_files.push(to.to_string());
        to
    });
    let mut index =
        crate::layout::index(layout, &run, finished.failures, &index_versions, &run_files);
    index["html"] = html.as_ref().map(ToString::to_string).into();
    // Written before anything is uploaded, so that a kept copy says where each file goes.
    let index_path = dir.join("index.json");
    let mut f = fs_err::File::create(&index_path)
        .map_err(|e| UploadError::Split(PipelineError::Fetch(e.into())))?;
    f.write_all(&serde_json::to_vec_pretty(&index).unwrap_or_default())
        .map_err(|e| UploadError::Split(PipelineError::Fetch(e.into())))?;
    drop(f);

    let sse = output.sse.as_ref();
    let mut planned: Vec<(S3Location, PathBuf, &str)> = uploads
        .into_iter()
        .map(|(to, from)| (to, from, csv))
        .collect();
    if let Some(to) = html {
        planned.push((to, html_path, "text/html; charset=utf-8"));
    }
    let mut written = put_all(client, &planned, policy, timeout, sse)
        .await
        .map_err(UploadError::Put)?;
    // index.json alone and last: once it is there, everything it lists is.
    let to = join(prefix, &format!("{run_folder}/index.json"));
    put(
        client,
        &to,
        &index_path,
        "application/json",
        policy,
        timeout,
        sse,
    )
    .await
    .map_err(UploadError::Put)?;
    written.push(PathBuf::from(to.to_string()));
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::key_segment;

    fn decode(segment: &str) -> Vec<u8> {
        let b = segment.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    }

    #[cfg(unix)]
    #[test]
    fn the_staging_folder_is_private_and_removed() {
        use std::os::unix::fs::PermissionsExt as _;
        let s = Staging::new().unwrap();
        let path = s.path().to_owned();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        drop(s);
        assert!(!path.exists());
    }

    #[test]
    fn segments_are_percent_encoded_and_never_dot_segments_or_empty() {
        let cases = [
            ("widgets", "widgets"),
            ("widgets.2026-11-20T10.00.00", "widgets.2026-11-20T10.00.00"),
            ("-widgets", "-widgets"),
            ("'-widgets", "%27-widgets"),
            (".", "%2E"),
            ("..", "%2E."),
            (".x", "%2Ex"),
            ("x.", "x."),
            ("a/b", "a%2Fb"),
            ("%2E%2E", "%252E%252E"),
            ("a\0b", "a%00b"),
            ("a b~", "a%20b%7E"),
            ("é", "%C3%A9"),
            ("\u{1b}]0;x\u{7}", "%1B%5D0%3Bx%07"),
            ("", "~"),
        ];
        for (name, want) in cases {
            let got = key_segment(name);
            assert_eq!(got, want, "{name:?}");
            if !name.is_empty() {
                assert_eq!(decode(&got), name.as_bytes(), "{name:?}");
            }
        }
    }

    #[test]
    fn folders_of_distinct_versions_are_distinct() {
        let names = ["", ".", "..", "x", "x/", "%", "~", "a.", "~sha256"];
        let mut seen = std::collections::HashSet::new();
        for p in names {
            for v in names {
                assert!(seen.insert(version_folder(p, v)), "{p:?} {v:?}");
            }
        }
        // (".", "x") and ("x", ".") no longer share a folder.
        assert_ne!(version_folder(".", "x"), version_folder("x", "."));
    }

    #[test]
    fn long_folders_are_hashed_and_stay_distinct() {
        let long = "/".repeat(300);
        let a = version_folder(&long, "v");
        let b = version_folder("v", &long);
        assert!(a.starts_with("~sha256/") && a.len() == 8 + 64, "{a}");
        assert_ne!(a, b);
        // The project's length is part of the hash: moving a byte across the boundary changes it.
        let p = "x".repeat(600);
        assert_ne!(
            version_folder(&p, "xy"),
            version_folder(&format!("{p}x"), "y")
        );
        // 255 bytes of plain letters stay readable.
        let name = "n".repeat(255);
        assert_eq!(version_folder(&name, &name), format!("{name}/{name}"));
    }
}
