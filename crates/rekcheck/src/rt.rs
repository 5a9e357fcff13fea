//! The Tokio runtime the S3 and Rekognition calls block on: a handle with the `s3` feature,
//! nothing (a type without values) without it.

/// A handle of the runtime the run's network calls block on.
#[cfg(feature = "s3")]
pub(crate) type Handle = tokio::runtime::Handle;

/// Without the `s3` feature nothing runs on a runtime: there is no handle.
#[cfg(not(feature = "s3"))]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Handle {}

/// The S3 client a run may hold: the SDK's with the `s3` feature, a type without values
/// without it.
#[cfg(feature = "s3")]
#[cfg_attr(not(feature = "html"), allow(dead_code))]
pub(crate) type S3Client = aws_sdk_s3::Client;

/// Without the `s3` feature there is no S3 client.
#[cfg(not(feature = "s3"))]
#[derive(Debug, Clone, Copy)]
pub(crate) enum S3Client {}
