//! The errors of this crate.

use std::time::Duration;

/// What went wrong reading an object or listing a prefix. Each message names the object and
/// what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The object does not exist.
    #[error("{location} does not exist (NoSuchKey): check the key, which is case-sensitive")]
    NotFound {
        /// The object.
        location: String,
    },
    /// The bucket does not exist.
    #[error(
        "the bucket of {location} does not exist (NoSuchBucket): check the bucket name and the account"
    )]
    NoSuchBucket {
        /// The object or prefix.
        location: String,
    },
    /// Access was denied.
    #[error(
        "access denied to {location}: the caller needs {action} (and kms:Decrypt if the bucket uses SSE-KMS)"
    )]
    AccessDenied {
        /// The object or prefix.
        location: String,
        /// The permission needed: `s3:GetObject` or `s3:ListBucket`.
        action: &'static str,
    },
    /// The bucket is in another region than the client.
    #[error(
        "{location} is in region {region}, not the client's region: run again with --region {region}"
    )]
    WrongRegion {
        /// The object or prefix.
        location: String,
        /// The bucket's region, from S3's answer.
        region: String,
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
    #[error("S3 error on {location}: {code}: {message}")]
    S3 {
        /// The object or prefix.
        location: String,
        /// The S3 error code.
        code: String,
        /// The message.
        message: String,
    },
    /// A local file could not be read.
    #[error("{0}")]
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
