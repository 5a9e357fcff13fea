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
//!   sources), [`locate`] (Rekognition -> file locations).
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
//!     .source("arn:aws:rekognition:us-east-1:111122223333:project/my-project/1690474772815")
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

mod check;
mod datasets;
mod discover;
mod error;
mod images;
pub mod layout;
mod pipeline;
mod reporter;
pub mod time;
mod upload;
mod versions;

pub use check::{CheckOutcome, CheckSpec, FixOutcome, FixS3Spec, FixSpec};
pub use error::{Failure, PipelineError};
pub use pipeline::{MAX_CONCURRENCY, MAX_THREADS, Pipeline, PipelineBuilder, RunOutcome};
pub use reporter::{NoProgress, Reporter};
pub use versions::find_versions;

/// Lines -> issues, image rows, statistics; the CSV writers (`rekcheck-analyze`).
#[doc(inline)]
pub use rekcheck_analyze as analyze;
/// S3 and local sources (`rekcheck-fetch`).
#[doc(inline)]
pub use rekcheck_fetch as fetch;
/// Rekognition -> manifest locations (`rekcheck-locate`).
#[doc(inline)]
pub use rekcheck_locate as locate;
