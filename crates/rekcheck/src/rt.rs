//! The Tokio runtime the S3 and Rekognition calls block on: a handle with the `s3` feature,
//! nothing (a type without values) without it.

/// A handle of the runtime the run's network calls block on.
#[cfg(feature = "s3")]
pub(crate) type Handle = tokio::runtime::Handle;

/// Without the `s3` feature nothing runs on a runtime: there is no handle.
#[cfg(not(feature = "s3"))]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Handle {}
