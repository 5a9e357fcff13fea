//! rekcheck: explain failed Amazon Rekognition Custom Labels trainings.
//!
//! When a Custom Labels training fails, Rekognition writes a manifest summary and two manifests
//! with validation results to the training's S3 output prefix. This crate finds those files
//! (from `DescribeProjectVersions`, an S3 prefix or local files), streams them, analyzes every
//! line in parallel and returns per-image issues and statistics, or writes them as CSV.
//!
//! # Overview
//!
//! * [`Pipeline`] (built with [`Pipeline::builder`]) is the whole flow: locate -> fetch ->
//!   analyze -> one ordered writer. [`Pipeline::run`] returns a [`RunOutcome`] without writing
//!   files; [`Pipeline::run_with`] also hands every block's rows and issues to a callback;
//!   [`Pipeline::write_csv`] writes the report (the CSV formats are documented on
//!   [`analyze::ReportWriter`]).
//! * [`Pipeline::check`] predicts Rekognition's validation of input manifests before training
//!   ([`CheckSpec`], [`CheckOutcome`]); [`Pipeline::fix`] writes a manifest ready to retrain
//!   ([`FixSpec`]).
//! * [`Reporter`] receives progress; the library never prints.
//! * The stages are re-exported: [`analyze`] (lines -> issues, CSV), [`fetch`] (S3 and local
//!   sources), `locate` (Rekognition -> file locations, feature `rekognition`).
//!
//! # Features
//!
//! * `s3` (default): S3 sources, reports written to S3, `check`'s image verification, and the
//!   async run methods ([`Pipeline::run`], ...), with tokio and the AWS SDK.
//! * `rekognition` (default, implies `s3`): project and version ARNs,
//!   [`PipelineBuilder::all_projects`], [`PipelineBuilder::datasets`], and the `locate`
//!   module.
//! * `html` (default): `report.html` beside the CSV files (`PipelineBuilder::html`,
//!   `HtmlOptions`) and the analyzer's page renderer, with maud, sha2 and image (thumbnails).
//!
//! With `s3` and `rekognition` off (`default-features = false`) the crate reads local files and folders through
//! the blocking run methods ([`Pipeline::run_blocking`], [`Pipeline::write_csv_blocking`],
//! [`Pipeline::check_blocking`], [`Pipeline::fix_blocking`]) and depends on neither tokio nor
//! any AWS crate. A source that needs a feature left out is refused by
//! [`PipelineBuilder::build`] with [`PipelineError::FeatureDisabled`], which names it.
//!
//! # Runtime
//!
//! The async run methods must be awaited inside a Tokio runtime (either flavor); outside one
//! they return [`PipelineError::Runtime`]. The `_blocking` methods need no runtime: a run that
//! reads S3 or Rekognition starts one of its own, and returns [`PipelineError::Runtime`] when
//! called inside another one (where blocking would stall it). Nothing panics.
//!
//! # Example
//!
//! ```no_run
//! use rekcheck::{Pipeline, analyze::Severity};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = aws_config::load_from_env().await;
//! let outcome = Pipeline::builder()
//!     .sdk_config(&config)
//!     .source("arn:aws:rekognition:us-east-1:111122223333:project/my-project/1690474772815".parse::<rekcheck::Source>()?)
//!     .concurrency(8)
//!     .build()?
//!     .run()
//!     .await?;
//! for v in &outcome.summary.versions {
//!     println!("{} {}: {} {}", v.project, v.version, v.status, v.terminal_code);
//! }
//! std::process::exit(i32::from(outcome.exit_code(Some(Severity::Error))));
//! # }
//! ```
#![deny(missing_docs)]
// Without `s3`, the S3 half of shared code (folders in S3, request timeouts) is compiled but
// unused; the build with it checks that code.
#![cfg_attr(
    not(feature = "s3"),
    allow(dead_code, unused_imports, unused_variables, unused_mut)
)]

mod check;
#[cfg(feature = "rekognition")]
mod datasets;
mod discover;
mod error;
#[cfg(feature = "html")]
mod html;
#[cfg(feature = "s3")]
mod images;
mod inputs;
#[cfg(feature = "s3")]
pub mod layout;
mod outcome;
mod pipeline;
mod reporter;
mod rt;
mod source;
#[cfg(feature = "s3")]
mod split;
pub mod time;
#[cfg(feature = "s3")]
mod upload;
#[cfg(feature = "rekognition")]
mod versions;

#[cfg(feature = "s3")]
pub use check::FixS3Spec;
pub use check::{CheckOutcome, FixOutcome, FixSpec};
pub use error::{Failure, PipelineError};
#[cfg(feature = "html")]
pub use html::{
    DEFAULT_PRESIGN_EXPIRY, EMBED_CONCURRENCY, HtmlImages, HtmlOptions, MAX_DECODE_SIDE,
    MAX_EMBED_BYTES, MAX_EMBED_TOTAL_BYTES, MAX_PRESIGN_EXPIRY, THUMBNAIL_SIDE,
};
pub use inputs::CheckSpec;
pub use outcome::RunOutcome;
pub use pipeline::{MAX_CONCURRENCY, MAX_THREADS, Pipeline, PipelineBuilder};
pub use reporter::{NoProgress, Reporter};
pub use source::{ParseSourceError, ProjectArn, Source, VersionArn};
#[cfg(feature = "rekognition")]
pub use versions::find_versions;

/// Lines -> issues, image rows, statistics; the CSV writers (`rekcheck-analyze`).
#[doc(inline)]
pub use rekcheck_analyze as analyze;
/// S3 and local sources (`rekcheck-fetch`).
#[doc(inline)]
pub use rekcheck_fetch as fetch;
/// Rekognition -> manifest locations (`rekcheck-locate`; feature `rekognition`).
#[cfg(feature = "rekognition")]
#[doc(inline)]
pub use rekcheck_locate as locate;
