//! Reading S3 objects: listing, and streaming bodies that resume where they broke off.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::{BoxError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use tokio::sync::mpsc;
use tracing::{debug, info};

use crate::aws_error::{RequestId, SendFailure, bucket_region, root_cause};
use crate::error::{FetchError, MAX_WHOLE_FILE_BYTES, RetryPolicy};
use crate::location::{S3Location, is_valid_bucket};

/// How long one request may take to answer (connection, request, response headers and, for a
/// listing, the whole page), and how long a body may send nothing, unless set with
/// [`S3Source::with_timeout`]: 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The slowest body accepted: over each stretch of the timeout spent waiting for the network, a
/// body must bring at least this many bytes per second (1 KiB/s), or the read is retried from
/// where it stopped (a server that drips a byte a second is not waited for).
pub const MIN_BODY_BYTES_PER_SECOND: u64 = 1024;

/// The most pages one listing reads (`ListObjectsV2` returns up to 1,000 keys a page).
pub const MAX_LIST_PAGES: usize = 10_000;

/// The most keys one listing returns.
pub const MAX_LIST_KEYS: usize = 1_000_000;

/// One object found under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
///
/// Whatever the client's own configuration, this source bounds every request it sends: each
/// request must answer within the timeout ([`DEFAULT_TIMEOUT`], [`S3Source::with_timeout`]),
/// a body may not stay silent that long nor bring less than [`MIN_BODY_BYTES_PER_SECOND`], a
/// listing stops with an error at a repeated continuation token, [`MAX_LIST_PAGES`] pages or
/// [`MAX_LIST_KEYS`] keys, and bucket names that are not valid are refused before any request.
/// Every request path is sent with its `.` and `..` segments percent-encoded, so that no proxy
/// or server that normalises paths reads another key.
#[derive(Debug, Clone)]
pub struct S3Source {
    client: Client,
    runtime: tokio::runtime::Handle,
    policy: RetryPolicy,
    buffer_chunks: usize,
    timeout: Duration,
    max_list_pages: usize,
    max_list_keys: usize,
}

/// What the download task sends to the reader.
enum Msg {
    /// Body bytes, copied out of the HTTP client's buffer into a buffer the reader hands back.
    Chunk(Vec<u8>),
    Done,
    Failed(FetchError),
}

enum Class {
    Retry(String),
    /// Retried too, but counted apart: progress made in between does not reset the count.
    Timeout(String),
    Fatal(FetchError),
}

enum BodyEnd {
    Clean,
    ReaderGone,
    Failed(Class),
}

/// An interceptor for S3 clients: just before a request is sent, it writes each `.` or `..`
/// segment of the request path as `%2E` or `%2E%2E`, so that no proxy or server that normalises
/// paths can turn `s3://bucket/a/../b` into another key or another bucket. S3 decodes the path
/// before it looks the key up (and before it checks the signature, which is computed on the
/// decoded path), so the key read is the key asked for.
///
/// [`S3Source`] adds it to every request.
///
/// Not part of the stable API; used by the rekcheck facade.
#[derive(Debug, Clone, Default)]
pub struct DotSegmentEncoder {
    /// The `scheme://host:port` of the last request, to name it in errors.
    endpoint: Arc<Mutex<Option<String>>>,
}

impl DotSegmentEncoder {
    /// The `scheme://host:port` of the last request it saw, to name it in errors.
    pub fn endpoint(&self) -> Option<String> {
        self.endpoint.lock().ok().and_then(|e| e.clone())
    }
}

impl Intercept for DotSegmentEncoder {
    fn name(&self) -> &'static str {
        "DotSegmentEncoder"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let uri = request.uri().to_owned();
        let (base, _) = split_uri(&uri);
        if let Ok(mut e) = self.endpoint.lock() {
            *e = Some(base.to_owned());
        }
        if let Cow::Owned(encoded) = encode_dot_segments(&uri) {
            request.set_uri(encoded)?;
        }
        Ok(())
    }
}

/// `scheme://authority` and the rest (path, query).
fn split_uri(uri: &str) -> (&str, &str) {
    let after_scheme = uri.find("://").map_or(0, |i| i + 3);
    match uri[after_scheme..].find(['/', '?']) {
        Some(i) => uri.split_at(after_scheme + i),
        None => (uri, ""),
    }
}

/// The URI with its `.` and `..` path segments percent-encoded.
pub(crate) fn encode_dot_segments(uri: &str) -> Cow<'_, str> {
    let (base, rest) = split_uri(uri);
    let path_end = rest.find(['?', '#']).unwrap_or(rest.len());
    let (path, query) = rest.split_at(path_end);
    if !path.split('/').any(|s| s == "." || s == "..") {
        return Cow::Borrowed(uri);
    }
    let encoded: Vec<&str> = path
        .split('/')
        .map(|s| match s {
            "." => "%2E",
            ".." => "%2E%2E",
            s => s,
        })
        .collect();
    Cow::Owned(format!("{base}{}{query}", encoded.join("/")))
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// A short, fixed-size stand-in for a continuation token (tokens can be long).
fn token_hash(t: &str) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

impl S3Source {
    /// A source using `client`, whose download tasks run on `runtime`.
    ///
    /// The client's own retries should be off: the source retries and resumes itself (see
    /// [`RetryPolicy`](crate::RetryPolicy)). Its readers block, so read them outside the
    /// runtime's worker threads (a plain thread or `spawn_blocking`).
    ///
    /// # Example
    ///
    /// ```no_run
    /// use rekcheck_fetch::{Fetcher, S3Source};
    ///
    /// let runtime = tokio::runtime::Runtime::new()?;
    /// let config = runtime.block_on(aws_config::load_from_env());
    /// let client = aws_sdk_s3::Client::new(&config);
    /// let fetcher = Fetcher::with_s3(S3Source::new(client, runtime.handle().clone()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(client: Client, runtime: tokio::runtime::Handle) -> S3Source {
        S3Source {
            client,
            runtime,
            policy: RetryPolicy::default(),
            buffer_chunks: 8,
            timeout: DEFAULT_TIMEOUT,
            max_list_pages: MAX_LIST_PAGES,
            max_list_keys: MAX_LIST_KEYS,
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

    /// Sets how long a request may take to answer and a body may send nothing (default
    /// [`DEFAULT_TIMEOUT`]); a request that times out is retried like a server error.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> S3Source {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Sets the most pages and keys one listing reads (defaults [`MAX_LIST_PAGES`] and
    /// [`MAX_LIST_KEYS`]).
    #[must_use]
    pub fn with_list_limits(mut self, max_pages: usize, max_keys: usize) -> S3Source {
        self.max_list_pages = max_pages.max(1);
        self.max_list_keys = max_keys;
        self
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The timeout of each request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn endpoint_name(&self, guard: &DotSegmentEncoder) -> String {
        guard.endpoint().unwrap_or_else(|| {
            format!(
                "the S3 endpoint of region {}",
                self.client
                    .config()
                    .region()
                    .map_or_else(|| "(none)".to_owned(), ToString::to_string)
            )
        })
    }

    fn exhausted(
        &self,
        class: Class,
        location: String,
        attempts: u32,
        guard: &DotSegmentEncoder,
    ) -> FetchError {
        match class {
            Class::Fatal(e) => e,
            Class::Timeout(last) => FetchError::TimedOut {
                location,
                endpoint: self.endpoint_name(guard),
                attempts,
                last,
            },
            Class::Retry(last) => FetchError::RetriesExhausted {
                location,
                attempts,
                last,
            },
        }
    }

    /// Lists the objects under `prefix` (`ListObjectsV2`, every page).
    ///
    /// A continuation token seen before, more than [`MAX_LIST_PAGES`] pages or more than
    /// [`MAX_LIST_KEYS`] keys end the listing with [`FetchError::EndlessListing`].
    pub async fn list(&self, prefix: &S3Location) -> Result<Vec<ObjectInfo>, FetchError> {
        let name = prefix.to_string();
        if !is_valid_bucket(&prefix.bucket) {
            return Err(FetchError::InvalidBucket { location: name });
        }
        let endless = |reason: String| FetchError::EndlessListing {
            location: prefix.to_string(),
            reason,
            max_pages: self.max_list_pages,
            max_keys: self.max_list_keys,
        };
        let guard = DotSegmentEncoder::default();
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut seen: HashSet<u64> = HashSet::new();
        let mut pages = 0usize;
        loop {
            if pages == self.max_list_pages {
                return Err(endless(format!(
                    "it had more than {} pages",
                    self.max_list_pages
                )));
            }
            pages += 1;
            let mut attempt = 0;
            let page = loop {
                attempt += 1;
                let request = self
                    .client
                    .list_objects_v2()
                    .bucket(&prefix.bucket)
                    .prefix(&prefix.key)
                    .set_continuation_token(token.clone())
                    .customize()
                    .interceptor(guard.clone())
                    .send();
                let class = match tokio::time::timeout(self.timeout, request).await {
                    Ok(Ok(page)) => break page,
                    Ok(Err(e)) => classify(&e, &name, "s3:ListBucket", &self.endpoint_name(&guard)),
                    Err(_) => Class::Timeout(format!(
                        "no answer to ListObjectsV2 within {}",
                        secs(self.timeout)
                    )),
                };
                match class {
                    Class::Retry(cause) | Class::Timeout(cause)
                        if attempt < self.policy.attempts =>
                    {
                        self.wait(attempt, &name, &cause).await;
                    }
                    class => return Err(self.exhausted(class, name, attempt, &guard)),
                }
            };
            for o in page.contents() {
                if let Some(key) = o.key() {
                    if out.len() == self.max_list_keys {
                        return Err(endless(format!(
                            "it had more than {} keys",
                            self.max_list_keys
                        )));
                    }
                    out.push(ObjectInfo {
                        location: S3Location::new(&prefix.bucket, key),
                        size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    });
                }
            }
            match page.next_continuation_token() {
                Some(t) if !t.is_empty() && page.is_truncated() == Some(true) => {
                    if !seen.insert(token_hash(t)) {
                        return Err(endless(format!(
                            "page {pages} gave a continuation token that an earlier page gave"
                        )));
                    }
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
    /// short body with `Range` and `If-Match` (or `If-Unmodified-Since` when the server sends
    /// no `ETag`), so the reader sees every byte exactly once or an error. Without `ETag`,
    /// `Last-Modified` or a version id it does not resume
    /// ([`FetchError::CannotResume`]); without `Content-Length`, a body that ends is only taken
    /// as whole once `HeadObject` confirms its length. Dropping the reader cancels the download.
    pub fn open(&self, location: &S3Location) -> ObjectReader {
        let (tx, rx) = mpsc::channel(self.buffer_chunks);
        let (spent_tx, mut spent_rx) = mpsc::channel(self.buffer_chunks + 2);
        let this = self.clone();
        let loc = location.clone();
        let task = self.runtime.spawn(async move {
            let msg = match this.stream(&loc, &tx, &mut spent_rx).await {
                Ok(()) => Msg::Done,
                Err(e) => Msg::Failed(e),
            };
            let _ = tx.send(msg).await;
        });
        ObjectReader {
            rx,
            spent: spent_tx,
            current: Vec::new(),
            position: 0,
            finished: false,
            task: Some(task),
            location: location.to_string(),
        }
    }

    /// Reads a whole (small) object into memory, e.g. a manifest summary: at most
    /// [`MAX_WHOLE_FILE_BYTES`], or [`FetchError::TooLarge`].
    pub fn read_all(&self, location: &S3Location) -> Result<Vec<u8>, FetchError> {
        let out = crate::error::read_capped(self.open(location), MAX_WHOLE_FILE_BYTES)
            .map_err(crate::error::into_fetch_error)?;
        if out.len() as u64 > MAX_WHOLE_FILE_BYTES {
            return Err(FetchError::TooLarge {
                location: location.to_string(),
                limit: MAX_WHOLE_FILE_BYTES,
            });
        }
        Ok(out)
    }

    #[allow(clippy::too_many_lines)]
    async fn stream(
        &self,
        loc: &S3Location,
        tx: &mpsc::Sender<Msg>,
        spent: &mut mpsc::Receiver<Vec<u8>>,
    ) -> Result<(), FetchError> {
        let name = loc.to_string();
        if !is_valid_bucket(&loc.bucket) {
            return Err(FetchError::InvalidBucket { location: name });
        }
        let guard = DotSegmentEncoder::default();
        let mut offset: u64 = 0;
        let mut etag: Option<String> = None;
        let mut last_modified: Option<DateTime> = None;
        let mut total: Option<u64> = None;
        // Failures since the last byte received, and timeouts in all.
        let mut failures: u32 = 0;
        let mut timeouts: u32 = 0;
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
                } else if let Some(t) = &last_modified {
                    req = req.if_unmodified_since(*t);
                } else if loc.version_id.is_none() {
                    return Err(FetchError::CannotResume {
                        location: name,
                        received: offset,
                    });
                }
            }
            let request = req.customize().interceptor(guard.clone()).send();
            let class = match tokio::time::timeout(self.timeout, request).await {
                Err(_) => Class::Timeout(format!(
                    "no answer to GetObject within {}",
                    secs(self.timeout)
                )),
                Ok(Err(e)) => {
                    if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) {
                        return Err(FetchError::Changed {
                            location: name,
                            etag: etag.unwrap_or_else(|| {
                                last_modified
                                    .map(|t| format!("Last-Modified {t}"))
                                    .unwrap_or_default()
                            }),
                        });
                    }
                    classify(&e, &name, "s3:GetObject", &self.endpoint_name(&guard))
                }
                Ok(Ok(out)) => {
                    if offset == 0 {
                        etag = out.e_tag().map(str::to_owned);
                        last_modified = out.last_modified().copied();
                        total = out.content_length().and_then(|l| u64::try_from(l).ok());
                    } else {
                        check_resumed(
                            &out,
                            &name,
                            offset,
                            etag.as_ref(),
                            last_modified.as_ref(),
                            total,
                        )?;
                    }
                    match self
                        .read_body(out.body, &mut offset, &mut failures, tx, spent)
                        .await
                    {
                        BodyEnd::ReaderGone => return Ok(()),
                        BodyEnd::Failed(class) => class,
                        BodyEnd::Clean => match total {
                            Some(t) if offset < t => {
                                Class::Retry(format!("body ended after {offset} of {t} bytes"))
                            }
                            Some(_) => {
                                debug!(location = %name, bytes = offset, "object read");
                                return Ok(());
                            }
                            None => match self.confirm_length(loc, &guard, etag.as_deref()).await {
                                Ok(len) if len == offset => {
                                    debug!(location = %name, bytes = offset, "object read, length confirmed");
                                    return Ok(());
                                }
                                Ok(len) if len > offset => {
                                    total = Some(len);
                                    Class::Retry(format!(
                                        "body ended after {offset} of {len} bytes (length from HeadObject)"
                                    ))
                                }
                                Ok(len) => {
                                    return Err(FetchError::LengthUnconfirmed {
                                        location: name,
                                        received: offset,
                                        detail: format!("HeadObject says {len} bytes"),
                                    });
                                }
                                Err(detail) => {
                                    return Err(FetchError::LengthUnconfirmed {
                                        location: name,
                                        received: offset,
                                        detail,
                                    });
                                }
                            },
                        },
                    }
                }
            };
            let (count, cause) = match &class {
                Class::Fatal(_) => return Err(self.exhausted(class, name, failures, &guard)),
                Class::Timeout(c) => {
                    timeouts += 1;
                    failures += 1;
                    (timeouts.max(failures), c.clone())
                }
                Class::Retry(c) => {
                    failures += 1;
                    (failures, c.clone())
                }
            };
            if count >= self.policy.attempts {
                return Err(match (&class, total) {
                    (Class::Retry(c), Some(expected)) if c.starts_with("body ended") => {
                        FetchError::ShortBody {
                            location: name,
                            received: offset,
                            expected,
                        }
                    }
                    _ => self.exhausted(class, name, count, &guard),
                });
            }
            let resume = if offset > 0 {
                format!("; resuming at byte {offset}")
            } else {
                String::new()
            };
            self.wait(count, &name, &format!("{cause}{resume}")).await;
        }
    }

    /// Moves a body's chunks to the reader, within the timeout and the slowest rate.
    ///
    /// Each chunk is copied into a buffer the reader has handed back (`spent`), and the HTTP
    /// client's buffer is freed here, on the runtime that allocated it: freed on the reader's
    /// thread instead, they were kept by the allocator (mimalloc) and a 200 MB object took
    /// 165 MB of peak memory, against 32 MB for the same file read locally.
    async fn read_body(
        &self,
        mut body: ByteStream,
        offset: &mut u64,
        failures: &mut u32,
        tx: &mpsc::Sender<Msg>,
        spent: &mut mpsc::Receiver<Vec<u8>>,
    ) -> BodyEnd {
        let mut waited = Duration::ZERO;
        let mut window_bytes: u64 = 0;
        loop {
            let started = Instant::now();
            let next = tokio::time::timeout(self.timeout, body.next()).await;
            waited += started.elapsed();
            match next {
                Err(_) => {
                    return BodyEnd::Failed(Class::Timeout(format!(
                        "the body sent nothing for {} after {offset} bytes",
                        secs(self.timeout)
                    )));
                }
                Ok(Some(Ok(bytes))) => {
                    if !bytes.is_empty() {
                        *offset += bytes.len() as u64;
                        window_bytes += bytes.len() as u64;
                        *failures = 0;
                        let mut chunk = spent.try_recv().unwrap_or_default();
                        chunk.clear();
                        chunk.extend_from_slice(&bytes);
                        drop(bytes);
                        if tx.send(Msg::Chunk(chunk)).await.is_err() {
                            // The reader is gone: nobody wants the rest.
                            return BodyEnd::ReaderGone;
                        }
                    }
                }
                Ok(Some(Err(e))) => {
                    let text = format!("body error after {offset} bytes: {e}");
                    return BodyEnd::Failed(if text.contains("throughput") {
                        Class::Timeout(text)
                    } else {
                        Class::Retry(text)
                    });
                }
                Ok(None) => return BodyEnd::Clean,
            }
            if waited >= self.timeout {
                let floor = MIN_BODY_BYTES_PER_SECOND.saturating_mul(waited.as_secs().max(1));
                if window_bytes < floor {
                    return BodyEnd::Failed(Class::Timeout(format!(
                        "the body is slower than {MIN_BODY_BYTES_PER_SECOND} bytes/s ({window_bytes} bytes in {}) after {offset} bytes",
                        secs(waited)
                    )));
                }
                waited = Duration::ZERO;
                window_bytes = 0;
            }
        }
    }

    /// The object's length by `HeadObject` (with `If-Match` when an `ETag` is known).
    async fn confirm_length(
        &self,
        loc: &S3Location,
        guard: &DotSegmentEncoder,
        etag: Option<&str>,
    ) -> Result<u64, String> {
        let mut req = self
            .client
            .head_object()
            .bucket(&loc.bucket)
            .key(&loc.key)
            .set_version_id(loc.version_id.clone());
        if let Some(e) = etag {
            req = req.if_match(e);
        }
        let request = req.customize().interceptor(guard.clone()).send();
        match tokio::time::timeout(self.timeout, request).await {
            Err(_) => Err(format!(
                "HeadObject had no answer within {}",
                secs(self.timeout)
            )),
            Ok(Err(e)) => {
                info!(location = %loc, error = %DisplayErrorContext(&e), "HeadObject failed");
                Err(format!("HeadObject failed: {}", root_cause(&e)))
            }
            Ok(Ok(h)) => h
                .content_length()
                .and_then(|l| u64::try_from(l).ok())
                .ok_or_else(|| "HeadObject sent no Content-Length either".to_owned()),
        }
    }
}

/// The answer to a resumed request must be the same object, from the byte asked for.
fn check_resumed(
    out: &aws_sdk_s3::operation::get_object::GetObjectOutput,
    name: &str,
    offset: u64,
    etag: Option<&String>,
    last_modified: Option<&DateTime>,
    total: Option<u64>,
) -> Result<(), FetchError> {
    let changed = |what: String| FetchError::Changed {
        location: name.to_owned(),
        etag: what,
    };
    if let (Some(expected), Some(got)) = (etag, out.e_tag())
        && expected != got
    {
        return Err(changed(expected.clone()));
    }
    if etag.is_none()
        && let Some(lm) = last_modified
        && out.last_modified() != Some(lm)
    {
        return Err(changed(format!("Last-Modified {lm}")));
    }
    let range = out.content_range();
    if range.and_then(range_start) != Some(offset) {
        return Err(FetchError::S3 {
            location: name.to_owned(),
            code: "InvalidRange".into(),
            message: format!(
                "asked to resume at byte {offset}, the server answered {}",
                range.map_or_else(
                    || "no Content-Range".to_owned(),
                    |r| format!("Content-Range {r}")
                )
            ),
            request_id: RequestId::default(),
        });
    }
    if let (Some(t), Some(Some(got))) = (total, range.map(range_total))
        && t != got
    {
        return Err(changed(format!(
            "{} (its length went from {t} to {got} bytes)",
            etag.map_or("?", String::as_str)
        )));
    }
    Ok(())
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

/// `bytes START-END/TOTAL` -> TOTAL (`None` for `*`).
fn range_total(content_range: &str) -> Option<u64> {
    content_range.rsplit('/').next()?.parse().ok()
}

/// What a failed request means: worth a retry, a timeout, or fatal. `endpoint` names where it
/// went; the SDK's `Debug` text never reaches the message (it is logged at info level, `-v`).
fn classify<E>(
    e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    location: &str,
    action: &'static str,
    endpoint: &str,
) -> Class
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let location = location.to_owned();
    match e {
        SdkError::TimeoutError(_) => Class::Timeout("timeout".into()),
        SdkError::DispatchFailure(d) => {
            info!(location = %location, error = %DisplayErrorContext(e), "request not sent");
            let failure = match d.as_connector_error() {
                Some(c) => SendFailure::of(c, endpoint),
                None => SendFailure::Other {
                    cause: root_cause(e),
                },
            };
            match failure {
                SendFailure::Timeout => Class::Timeout(format!("timeout connecting to {endpoint}")),
                f if f.retryable() => Class::Retry(f.to_string()),
                cause => Class::Fatal(FetchError::NotSent { location, cause }),
            }
        }
        SdkError::ResponseError(_) => {
            info!(location = %location, error = %DisplayErrorContext(e), "answer not read");
            Class::Retry(format!(
                "the answer of {endpoint} could not be read: {}",
                root_cause(e)
            ))
        }
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let code = e.code().unwrap_or("").to_owned();
            let message = e.message().unwrap_or("").to_owned();
            let request_id = RequestId::of(e.meta());
            let region = bucket_region(s.raw());
            match (status, code.as_str()) {
                (500 | 502 | 503 | 504, _)
                | (
                    _,
                    "SlowDown"
                    | "Throttling"
                    | "ThrottlingException"
                    | "RequestTimeout"
                    | "InternalError",
                ) => Class::Retry(
                    format!("{status} {code} {message}{request_id}")
                        .trim()
                        .to_owned(),
                ),
                (_, "NoSuchBucket") => Class::Fatal(FetchError::NoSuchBucket {
                    location,
                    request_id,
                }),
                (404, _) | (_, "NoSuchKey") => Class::Fatal(FetchError::NotFound {
                    location,
                    request_id,
                }),
                (403, _) | (_, "AccessDenied") => Class::Fatal(FetchError::AccessDenied {
                    location,
                    action,
                    request_id,
                }),
                (301 | 400, _) if region.is_some() => Class::Fatal(FetchError::WrongRegion {
                    location,
                    region: region.unwrap_or_default(),
                    request_id,
                }),
                (_, "PermanentRedirect" | "AuthorizationHeaderMalformed") => {
                    Class::Fatal(FetchError::OtherRegion {
                        location,
                        request_id,
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
                    request_id,
                }),
            }
        }
        other => {
            info!(location = %location, error = %DisplayErrorContext(other), "request not built");
            Class::Fatal(FetchError::NotSent {
                location,
                cause: SendFailure::Other {
                    cause: root_cause(other),
                },
            })
        }
    }
}

/// A blocking reader over an object being downloaded by an [`S3Source`].
///
/// Errors arrive as `io::Error`s that wrap a [`FetchError`] (`err.downcast::<FetchError>()`).
#[derive(Debug)]
pub struct ObjectReader {
    /// Chunks from the download task, bounded: the task waits when the reader falls behind.
    rx: mpsc::Receiver<Msg>,
    /// Buffers read to the end, handed back to the download task to be filled again (a full
    /// channel drops them).
    spent: mpsc::Sender<Vec<u8>>,
    current: Vec<u8>,
    /// Bytes of `current` already read.
    position: usize,
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
            let rest = &self.current[self.position..];
            if !rest.is_empty() {
                let n = buf.len().min(rest.len());
                buf[..n].copy_from_slice(&rest[..n]);
                self.position += n;
                return Ok(n);
            }
            if self.current.capacity() > 0 {
                let _ = self.spent.try_send(std::mem::take(&mut self.current));
                self.position = 0;
            }
            if self.finished {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Msg::Chunk(b)) => {
                    self.current = b;
                    self.position = 0;
                }
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
                        request_id: RequestId::default(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_percent_encoded_and_nothing_else_changes() {
        let e = |u| encode_dot_segments(u).into_owned();
        assert_eq!(
            e("http://127.0.0.1:9000/bucket/a/../b.json?x-id=GetObject"),
            "http://127.0.0.1:9000/bucket/a/%2E%2E/b.json?x-id=GetObject"
        );
        assert_eq!(
            e("https://b.s3.amazonaws.com/./../x/.."),
            "https://b.s3.amazonaws.com/%2E/%2E%2E/x/%2E%2E"
        );
        for same in [
            "http://h/bucket/a..b/.x/x./...json",
            "http://h/bucket/k?prefix=../",
            "http://h",
            "http://h/",
        ] {
            assert!(
                matches!(encode_dot_segments(same), Cow::Borrowed(_)),
                "{same}"
            );
        }
        assert_eq!(split_uri("http://h:1/b/k?q").0, "http://h:1");
        assert_eq!(range_total("bytes 5-9/10"), Some(10));
        assert_eq!(range_total("bytes 5-9/*"), None);
    }
}
