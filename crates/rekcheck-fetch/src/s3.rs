//! Reading S3 objects: listing, and streaming bodies that resume where they broke off.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use bytes::Bytes;
use std::io::{self, Read};
use tokio::sync::mpsc;
use tracing::{debug, info};

use crate::error::{FetchError, RetryPolicy};
use crate::location::S3Location;

/// One object found under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Where it is.
    pub location: S3Location,
    /// Its size in bytes.
    pub size: u64,
}

/// Reads objects from S3 with the caller's client.
///
/// The client should have the SDK's own retries turned off (`RetryConfig::disabled()`): this
/// source retries requests and resumes bodies itself, and logs each retry.
#[derive(Debug, Clone)]
pub struct S3Source {
    client: Client,
    runtime: tokio::runtime::Handle,
    policy: RetryPolicy,
    buffer_chunks: usize,
}

/// What the download task sends to the reader.
enum Msg {
    Chunk(Bytes),
    Done,
    Failed(FetchError),
}

enum Class {
    Retry(String),
    Fatal(FetchError),
}

impl S3Source {
    /// A source using `client`, whose download tasks run on `runtime`.
    pub fn new(client: Client, runtime: tokio::runtime::Handle) -> S3Source {
        S3Source {
            client,
            runtime,
            policy: RetryPolicy::default(),
            buffer_chunks: 64,
        }
    }

    /// Sets how requests and body reads are retried.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> S3Source {
        self.policy = policy;
        self
    }

    /// Sets how many body chunks may wait for the reader (the per-object memory bound).
    #[must_use]
    pub fn with_buffer_chunks(mut self, chunks: usize) -> S3Source {
        self.buffer_chunks = chunks.max(1);
        self
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Lists the objects under `prefix` (`ListObjectsV2`, every page).
    pub async fn list(&self, prefix: &S3Location) -> Result<Vec<ObjectInfo>, FetchError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut attempt = 0;
            let page = loop {
                attempt += 1;
                let r = self
                    .client
                    .list_objects_v2()
                    .bucket(&prefix.bucket)
                    .prefix(&prefix.key)
                    .set_continuation_token(token.clone())
                    .send()
                    .await;
                match r {
                    Ok(page) => break page,
                    Err(e) => match classify(&e, &prefix.to_string(), "s3:ListBucket") {
                        Class::Retry(cause) if attempt < self.policy.attempts => {
                            self.wait(attempt, &prefix.to_string(), &cause).await;
                        }
                        Class::Retry(cause) => {
                            return Err(FetchError::RetriesExhausted {
                                location: prefix.to_string(),
                                attempts: attempt,
                                last: cause,
                            });
                        }
                        Class::Fatal(e) => return Err(e),
                    },
                }
            };
            for o in page.contents() {
                if let Some(key) = o.key() {
                    out.push(ObjectInfo {
                        location: S3Location::new(&prefix.bucket, key),
                        size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    });
                }
            }
            match page.next_continuation_token() {
                Some(t) if !t.is_empty() && page.is_truncated() == Some(true) => {
                    token = Some(t.to_owned());
                }
                _ => break,
            }
        }
        Ok(out)
    }

    async fn wait(&self, attempt: u32, location: &str, cause: &str) {
        let backoff = self.policy.backoff(attempt);
        info!(
            location,
            attempt,
            backoff_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
            cause,
            "retrying"
        );
        tokio::time::sleep(backoff).await;
    }

    /// Starts streaming `location` and returns a blocking reader over its bytes.
    ///
    /// The download runs on the runtime and only moves bytes; it resumes after a reset or a
    /// short body with `Range` and `If-Match`, so the reader sees every byte exactly once or an
    /// error. Dropping the reader cancels the download.
    pub fn open(&self, location: &S3Location) -> ObjectReader {
        let (tx, rx) = mpsc::channel(self.buffer_chunks);
        let this = self.clone();
        let loc = location.clone();
        let task = self.runtime.spawn(async move {
            let msg = match this.stream(&loc, &tx).await {
                Ok(()) => Msg::Done,
                Err(e) => Msg::Failed(e),
            };
            let _ = tx.send(msg).await;
        });
        ObjectReader {
            rx,
            current: Bytes::new(),
            finished: false,
            task: Some(task),
            location: location.to_string(),
        }
    }

    /// Reads a whole (small) object into memory, e.g. a manifest summary.
    pub fn read_all(&self, location: &S3Location) -> Result<Vec<u8>, FetchError> {
        let mut out = Vec::new();
        self.open(location).read_to_end(&mut out).map_err(|e| {
            match e.downcast::<FetchError>() {
                Ok(f) => f,
                Err(e) => FetchError::Io(e),
            }
        })?;
        Ok(out)
    }

    async fn stream(&self, loc: &S3Location, tx: &mpsc::Sender<Msg>) -> Result<(), FetchError> {
        let name = loc.to_string();
        let mut offset: u64 = 0;
        let mut etag: Option<String> = None;
        let mut total: Option<u64> = None;
        let mut failures: u32 = 0;
        loop {
            let mut req = self
                .client
                .get_object()
                .bucket(&loc.bucket)
                .key(&loc.key)
                .set_version_id(loc.version_id.clone());
            if offset > 0 {
                req = req.range(format!("bytes={offset}-"));
                if let Some(e) = &etag {
                    req = req.if_match(e);
                }
            }
            let out = match req.send().await {
                Ok(out) => out,
                Err(e) => {
                    if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) {
                        return Err(FetchError::Changed {
                            location: name,
                            etag: etag.unwrap_or_default(),
                        });
                    }
                    match classify(&e, &name, "s3:GetObject") {
                        Class::Retry(cause) => {
                            failures += 1;
                            if failures >= self.policy.attempts {
                                return Err(FetchError::RetriesExhausted {
                                    location: name,
                                    attempts: failures,
                                    last: cause,
                                });
                            }
                            self.wait(failures, &name, &cause).await;
                            continue;
                        }
                        Class::Fatal(e) => return Err(e),
                    }
                }
            };
            if offset == 0 {
                etag = out.e_tag().map(str::to_owned);
                total = out.content_length().and_then(|l| u64::try_from(l).ok());
            } else {
                if let (Some(expected), Some(got)) = (&etag, out.e_tag())
                    && expected != got
                {
                    return Err(FetchError::Changed {
                        location: name,
                        etag: expected.clone(),
                    });
                }
                let start = out.content_range().and_then(range_start);
                if start != Some(offset) {
                    return Err(FetchError::S3 {
                        location: name,
                        code: "InvalidRange".into(),
                        message: format!(
                            "asked to resume at byte {offset}, the server answered {:?}",
                            out.content_range()
                        ),
                    });
                }
            }
            let mut body = out.body;
            let cause = loop {
                match body.next().await {
                    Some(Ok(bytes)) => {
                        if bytes.is_empty() {
                            continue;
                        }
                        offset += bytes.len() as u64;
                        failures = 0;
                        if tx.send(Msg::Chunk(bytes)).await.is_err() {
                            // The reader is gone: nobody wants the rest.
                            return Ok(());
                        }
                    }
                    Some(Err(e)) => break format!("body error after {offset} bytes: {e}"),
                    None => match total {
                        Some(t) if offset < t => {
                            break format!("body ended after {offset} of {t} bytes");
                        }
                        _ => {
                            debug!(location = %name, bytes = offset, "object read");
                            return Ok(());
                        }
                    },
                }
            };
            failures += 1;
            if failures >= self.policy.attempts {
                return Err(match total {
                    Some(expected) if cause.starts_with("body ended") => FetchError::ShortBody {
                        location: name,
                        received: offset,
                        expected,
                    },
                    _ => FetchError::RetriesExhausted {
                        location: name,
                        attempts: failures,
                        last: cause,
                    },
                });
            }
            self.wait(
                failures,
                &name,
                &format!("{cause}; resuming at byte {offset}"),
            )
            .await;
        }
    }
}

/// `bytes START-END/TOTAL` -> START.
fn range_start(content_range: &str) -> Option<u64> {
    content_range
        .strip_prefix("bytes ")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

fn classify<E>(
    e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    location: &str,
    action: &'static str,
) -> Class
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let location = location.to_owned();
    match e {
        SdkError::TimeoutError(_) => Class::Retry("timeout".into()),
        SdkError::DispatchFailure(d) => Class::Retry(format!("connection failed: {d:?}")),
        SdkError::ResponseError(r) => Class::Retry(format!("bad response: {r:?}")),
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let code = e.code().unwrap_or("").to_owned();
            let message = e.message().unwrap_or("").to_owned();
            let region = s
                .raw()
                .headers()
                .get("x-amz-bucket-region")
                .map(str::to_owned);
            match (status, code.as_str()) {
                (500 | 502 | 503 | 504, _)
                | (
                    _,
                    "SlowDown"
                    | "Throttling"
                    | "ThrottlingException"
                    | "RequestTimeout"
                    | "InternalError",
                ) => Class::Retry(format!("{status} {code} {message}").trim().to_owned()),
                (_, "NoSuchBucket") => Class::Fatal(FetchError::NoSuchBucket { location }),
                (404, _) | (_, "NoSuchKey") => Class::Fatal(FetchError::NotFound { location }),
                (403, _) | (_, "AccessDenied") => {
                    Class::Fatal(FetchError::AccessDenied { location, action })
                }
                (301 | 400, _) if region.is_some() => Class::Fatal(FetchError::WrongRegion {
                    location,
                    region: region.unwrap_or_default(),
                }),
                (_, "PermanentRedirect" | "AuthorizationHeaderMalformed") => {
                    Class::Fatal(FetchError::WrongRegion {
                        location,
                        region: region.unwrap_or_else(|| "another region".into()),
                    })
                }
                _ => Class::Fatal(FetchError::S3 {
                    location,
                    code: if code.is_empty() {
                        format!("HTTP {status}")
                    } else {
                        code
                    },
                    message,
                }),
            }
        }
        other => Class::Fatal(FetchError::S3 {
            location,
            code: "RequestFailed".into(),
            message: format!("{other:?}"),
        }),
    }
}

/// A blocking reader over an object being downloaded by an [`S3Source`].
///
/// Errors arrive as `io::Error`s that wrap a [`FetchError`] (`err.downcast::<FetchError>()`).
#[derive(Debug)]
pub struct ObjectReader {
    /// Chunks from the download task, bounded: the task waits when the reader falls behind.
    rx: mpsc::Receiver<Msg>,
    current: Bytes,
    finished: bool,
    task: Option<tokio::task::JoinHandle<()>>,
    location: String,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Chunk(b) => write!(f, "Chunk({})", b.len()),
            Msg::Done => f.write_str("Done"),
            Msg::Failed(e) => write!(f, "Failed({e})"),
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.current.is_empty() {
                let n = buf.len().min(self.current.len());
                buf[..n].copy_from_slice(&self.current.split_to(n));
                return Ok(n);
            }
            if self.finished {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Msg::Chunk(b)) => self.current = b,
                Some(Msg::Done) => self.finished = true,
                Some(Msg::Failed(e)) => {
                    self.finished = true;
                    return Err(io::Error::other(e));
                }
                None => {
                    self.finished = true;
                    return Err(io::Error::other(FetchError::S3 {
                        location: self.location.clone(),
                        code: "DownloadAborted".into(),
                        message: "the download task ended without finishing".into(),
                    }));
                }
            }
        }
    }
}

impl Drop for ObjectReader {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
