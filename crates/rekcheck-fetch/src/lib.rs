//! Stream Amazon Rekognition Custom Labels manifests from S3 or local files.
//!
//! * [`S3Location`]: `s3://bucket/key`, keys taken raw as the AWS CLI does.
//! * [`S3Source`]: lists prefixes and streams objects with the caller's `aws_sdk_s3::Client`.
//!   A download task moves bytes only; it resumes a broken body with `Range` + `If-Match` (or
//!   `If-Unmodified-Since`) from the first byte not yet delivered and refuses to resume without
//!   such a validator, checks the byte count against `Content-Length` (or `HeadObject` when
//!   there is none), retries throttling, server errors and timeouts with backoff and jitter, and
//!   refuses an object that changed.
//! * Limits, whatever the caller's client: each request answers within [`DEFAULT_TIMEOUT`]
//!   (settable), a body brings at least [`MIN_BODY_BYTES_PER_SECOND`], a listing stops at a
//!   repeated token, [`MAX_LIST_PAGES`] pages or [`MAX_LIST_KEYS`] keys, a file read whole is at
//!   most [`MAX_WHOLE_FILE_BYTES`], invalid bucket names are never requested and `.`/`..` key
//!   segments are sent percent-encoded.
//! * [`Fetcher`] / [`Source`]: one way in for local files and S3 objects, as blocking readers
//!   (gunzipped on the fly) that the synchronous analyzer frames into blocks.
//! * [`FetchError`]: what went wrong, naming the object and what to do.
//!
//! # Example
//!
//! ```no_run
//! # #[cfg(feature = "s3")] {
//! use rekcheck_fetch::{Fetcher, S3Location, S3Source, Source};
//! # async fn client() -> aws_sdk_s3::Client { unimplemented!() }
//! let runtime = tokio::runtime::Runtime::new()?;
//! let client = runtime.block_on(client());
//! let fetcher = Fetcher::with_s3(S3Source::new(client, runtime.handle().clone()));
//! let loc: S3Location = "s3://my-bucket/output/TrainingManifestWithValidation-p-v.json".parse()?;
//! let mut reader = fetcher.open(&Source::S3(loc))?;
//! let mut text = String::new();
//! std::io::Read::read_to_string(&mut reader, &mut text)?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! * `s3` (default): [`S3Source`] and S3 sources in [`Fetcher`], with tokio and the AWS SDK.
//!   Without it the crate reads local files only, with neither; an S3 [`Source`] is then
//!   refused with [`FetchError::FeatureDisabled`].
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod aws_error;
mod error;
mod location;
#[cfg(feature = "s3")]
mod s3;
mod source;

#[cfg(feature = "s3")]
pub use aws_error::bucket_region;
pub use aws_error::{RequestId, SendFailure, root_cause};
pub use error::{FetchError, MAX_WHOLE_FILE_BYTES, RetryPolicy};
pub use location::{ParseLocationError, S3Location, is_valid_bucket};
#[cfg(feature = "s3")]
pub use s3::{
    DEFAULT_TIMEOUT, MAX_LIST_KEYS, MAX_LIST_PAGES, MIN_BODY_BYTES_PER_SECOND, ObjectInfo,
    ObjectReader, S3Source,
};
// Not part of the stable API: used by the rekcheck facade.
#[cfg(feature = "s3")]
#[doc(hidden)]
pub use s3::DotSegmentEncoder;
// Not part of the stable API: used by the rekcheck facade.
#[doc(hidden)]
pub use error::into_fetch_error;
pub use source::{EXTREME_GZIP_RATIO, Fetcher, Source};
