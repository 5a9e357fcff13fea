//! Find Amazon Rekognition Custom Labels validation results from the Rekognition API.
//!
//! * [`Locator`] wraps the caller's `aws_sdk_rekognition::Client`.
//! * [`Locator::project_versions`] (and [`Locator::project_versions_stream`]) calls
//!   `DescribeProjectVersions` with every page, `VersionNames` batched by 10, and returns a
//!   [`ProjectVersion`] per matching version, with the S3 locations of its training and testing
//!   validation manifests and manifest summary. Versions without files are returned too: their
//!   `status_message` says why training failed.
//! * [`Locator::projects`] enumerates the Custom Labels projects of the region
//!   (`DescribeProjects`), [`Locator::version_by_arn`] resolves a version ARN.
//! * [`Locator::datasets`] and [`Locator::dataset_entries_with_errors`] read a project's current
//!   datasets (`DescribeDataset`, `ListDatasetEntries` with `HasErrors=true`).
//! * [`LocateError`] names the action that failed and what to do.
//!
//! This crate does not analyze anything: it only says where the files are.
//!
//! # Example
//!
//! ```no_run
//! use rekcheck_locate::{Locator, VersionFilter};
//! # async fn run(client: aws_sdk_rekognition::Client) -> Result<(), rekcheck_locate::LocateError> {
//! let locator = Locator::new(client);
//! let arn = "arn:aws:rekognition:us-east-1:111122223333:project/my-project/1690474772815";
//! for v in locator.project_versions(arn, &VersionFilter::default()).await? {
//!     println!("{} {} {:?}", v.version, v.status, v.training_manifest);
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod arn;
mod error;
mod locator;

pub use arn::{Arn, parse_arn};
pub use error::{LocateError, NoRetryOnConfigErrors};
pub use locator::{
    DEFAULT_CALL_TIMEOUT, DatasetInfo, Locator, MAX_DATASET_ENTRY_BYTES, MAX_PAGES, ProjectVersion,
    VersionFilter,
};
