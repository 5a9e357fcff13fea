//! The errors of this crate.

use std::time::Duration;

use crate::aws_error::{RequestId, SendFailure};

/// The most bytes [`Fetcher::read_all`](crate::Fetcher::read_all) and `S3Source::read_all` return (after
/// decompression): 16 MiB, as much as is read to tell a summary from a manifest. They read
/// manifest summaries and `describe-project-versions.json` files, a few kilobytes to a few
/// megabytes (a version's description is about 3 KB); anything larger is refused with
/// [`FetchError::TooLarge`] instead of being held in memory (a 3 MB gzip can expand to
/// gigabytes).
pub const MAX_WHOLE_FILE_BYTES: u64 = 16 << 20;

/// Reads `r` to its end, or to `limit + 1` bytes, growing the buffer by doubling but never past
/// `limit + 1` bytes (`read_to_end` doubles to twice the limit, and holds three times it
/// during the last copy).
pub(crate) fn read_capped(mut r: impl std::io::Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    let mut out: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    while out.len() < cap {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n.min(cap - out.len()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if out.capacity() - out.len() < n {
            out.reserve_exact(out.capacity().max(n).min(cap - out.len()));
        }
        out.extend_from_slice(&chunk[..n]);
    }
    Ok(out)
}
/// The [`FetchError`] inside an `io::Error` from a reader of this crate, or the error itself.
///
/// Not part of the stable API; used by the rekcheck facade.
pub fn into_fetch_error(e: std::io::Error) -> FetchError {
    match e.downcast::<FetchError>() {
        Ok(f) => f,
        Err(e) => FetchError::Io(e),
    }
}

/// What went wrong reading an object or listing a prefix. Each message names the object and
/// what to do.
///
/// # Example
///
/// ```
/// use rekcheck_fetch::{FetchError, Fetcher, Source};
///
/// let missing = Source::Local("no/such/manifest.json".into());
/// match Fetcher::local().open(&missing) {
///     Err(FetchError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
///     Err(other) => panic!("unexpected error: {other}"),
///     Ok(_) => panic!("the file does not exist"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The object does not exist.
    #[error(
        "{location} does not exist (NoSuchKey): check the key, which is case-sensitive{request_id}"
    )]
    NotFound {
        /// The object.
        location: String,
        /// The request id of AWS's answer, if it gave one.
        request_id: RequestId,
    },
    /// The bucket does not exist.
    #[error(
        "the bucket of {location} does not exist (NoSuchBucket): check the bucket name and the account{request_id}"
    )]
    NoSuchBucket {
        /// The object or prefix.
        location: String,
        /// The request id of AWS's answer, if it gave one.
        request_id: RequestId,
    },
    /// Access was denied.
    #[error(
        "access denied to {location}: the caller needs {action} (and kms:Decrypt if the bucket uses SSE-KMS){request_id}"
    )]
    AccessDenied {
        /// The object or prefix.
        location: String,
        /// The permission needed: `s3:GetObject` or `s3:ListBucket`.
        action: &'static str,
        /// The request id of AWS's answer, if it gave one.
        request_id: RequestId,
    },
    /// The bucket is in another region than the client.
    #[error(
        "{location} is in region {region}, not the client's region: use a client configured for region {region}{request_id}"
    )]
    WrongRegion {
        /// The object or prefix.
        location: String,
        /// The bucket's region, from S3's answer.
        region: String,
        /// The request id of AWS's answer, if it gave one.
        request_id: RequestId,
    },
    /// The bucket is in another region than the client, and S3's answer did not say which.
    #[error(
        "{location} is in another region than the client's: use a client configured for its region{request_id}"
    )]
    OtherRegion {
        /// The object or prefix.
        location: String,
        /// The request id of AWS's answer, if it gave one.
        request_id: RequestId,
    },
    /// The object changed while it was being read.
    #[error(
        "{location} changed while it was being read (its ETag is no longer {etag}): run again to read the new version"
    )]
    Changed {
        /// The object.
        location: String,
        /// The `ETag` of the version that was being read.
        etag: String,
    },
    /// The body ended before Content-Length bytes arrived, and resuming did not help.
    #[error("{location} ended after {received} of {expected} bytes")]
    ShortBody {
        /// The object.
        location: String,
        /// Bytes received.
        received: u64,
        /// Content-Length.
        expected: u64,
    },
    /// Every attempt failed with a retryable error.
    #[error("reading {location} failed after {attempts} attempts; last error: {last}")]
    RetriesExhausted {
        /// The object or prefix.
        location: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last: String,
    },
    /// Any other S3 error.
    #[error("S3 error on {location}: {code}: {message}{request_id}")]
    S3 {
        /// The object or prefix.
        location: String,
        /// The S3 error code.
        code: String,
        /// The message.
        message: String,
        /// The request id of AWS's answer, if it gave one.
        request_id: RequestId,
    },
    /// The request was not sent, or got no answer, for a reason no retry fixes: no
    /// credentials, no region, an endpoint that is not one, a refused connection.
    #[error("{cause}")]
    NotSent {
        /// The object or prefix.
        location: String,
        /// Why.
        cause: SendFailure,
    },
    /// Reading it needs a Cargo feature this build leaves out (`s3` for an S3 object).
    #[error(
        "{location}: reading it needs the `{feature}` feature of rekcheck, which this build leaves out"
    )]
    FeatureDisabled {
        /// The object.
        location: String,
        /// The feature.
        feature: &'static str,
    },
    /// The bucket name (from the data, a listing or Rekognition's answer) is not a valid S3
    /// bucket name; nothing was requested.
    #[error(
        "{location}: the bucket name is not a valid S3 bucket name (3-255 characters of A-Z a-z 0-9 . - _, not only dots), so it was not requested; check where the location came from"
    )]
    InvalidBucket {
        /// The object or prefix.
        location: String,
    },
    /// A body broke off and the object cannot be resumed safely: the server sent neither an
    /// `ETag` nor a `Last-Modified` (and the location names no version), so the rest could come
    /// from another object.
    #[error(
        "{location} broke off after {received} bytes and was not resumed: the server sent no ETag or Last-Modified to prove the rest comes from the same object; run again, or use an endpoint that sends ETags"
    )]
    CannotResume {
        /// The object.
        location: String,
        /// Bytes received before the break.
        received: u64,
    },
    /// The server sent no `Content-Length` and the length of what arrived could not be confirmed
    /// with `HeadObject`.
    #[error(
        "{location}: the server sent no Content-Length and the {received} bytes received could not be confirmed as the whole object ({detail})"
    )]
    LengthUnconfirmed {
        /// The object.
        location: String,
        /// Bytes received.
        received: u64,
        /// What `HeadObject` said.
        detail: String,
    },
    /// Every attempt timed out: the endpoint accepted no connection, sent no answer, or sent
    /// the body too slowly.
    #[error(
        "{location}: {endpoint} did not answer in time ({attempts} attempts, last: {last}); check the endpoint and the network, or raise the timeout"
    )]
    TimedOut {
        /// The object or prefix.
        location: String,
        /// The endpoint (`scheme://host:port`), or the S3 endpoint of the client's region.
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// What timed out.
        last: String,
    },
    /// A listing did not end: a continuation token came back a second time, or the page or key
    /// cap was reached.
    #[error(
        "listing {location} did not end: {reason}; the server's pagination is broken (rekcheck stops at a repeated token, {max_pages} pages or {max_keys} keys)"
    )]
    EndlessListing {
        /// The prefix.
        location: String,
        /// What happened.
        reason: String,
        /// The page cap.
        max_pages: usize,
        /// The key cap.
        max_keys: usize,
    },
    /// A file read whole (a manifest summary, a describe file) is larger than the cap, after
    /// decompression.
    #[error(
        "{location} is larger than {limit} bytes (after decompression), the most rekcheck reads of a manifest summary or describe file; it cannot be one"
    )]
    TooLarge {
        /// The file or object.
        location: String,
        /// The cap in bytes.
        limit: u64,
    },
    /// A local file could not be read (its message is the I/O error's, and its source the I/O
    /// error's source).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// How hard to try: attempts, and exponential backoff with jitter between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (the first one included) per request or per resume.
    pub attempts: u32,
    /// The first backoff.
    pub base: Duration,
    /// The longest backoff.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(200),
            max: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The backoff before attempt `attempt` (1-based, counting the failed ones): exponential,
    /// capped, with full jitter from a cheap clock-seeded source.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        // Between half and all of the exponential delay.
        let frac = 0.5 + f64::from(nanos % 1000) / 2000.0;
        exp.mul_f64(frac)
    }
}
