//! The errors of the pipeline.

/// What went wrong in a run, or with one of its inputs.
///
/// Returned by [`PipelineBuilder::build`](crate::PipelineBuilder::build) and by the run methods
/// ([`Pipeline::run`](crate::Pipeline::run), [`Pipeline::write_csv`](crate::Pipeline::write_csv),
/// ...) when the run as a whole failed; an input that alone could not be read is a [`Failure`]
/// in the outcome instead. Every message names the file, object or ARN concerned and what to do;
/// the variants wrapping a stage's error keep it as the source.
///
/// # Example
///
/// ```
/// use rekcheck::{Pipeline, PipelineError};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let empty = tempfile::tempdir()?;
/// let pipeline = Pipeline::builder().source(empty.path()).build()?;
/// match tokio::runtime::Runtime::new()?.block_on(pipeline.run()) {
///     Err(PipelineError::NothingFound(why)) => println!("nothing to report: {why}"),
///     Err(PipelineError::Stopped) => println!("stopped"),
///     Err(e) => return Err(e.into()),
///     Ok(outcome) => println!("{} manifests", outcome.summary.manifests.len()),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// Reading from S3 or a local file failed.
    #[error(transparent)]
    Fetch(#[from] rekcheck_fetch::FetchError),
    /// A Rekognition call failed.
    #[cfg(feature = "rekognition")]
    #[error(transparent)]
    Locate(#[from] rekcheck_locate::LocateError),
    /// Writing the report failed.
    #[error(transparent)]
    Report(#[from] rekcheck_analyze::Error),
    /// An input is not what it should be (a bad ARN, a bad `describe-project-versions.json`,
    /// a bad manifest summary, ...).
    #[error("{0}")]
    Input(String),
    /// Nothing to report: no manifest, version or dataset was found.
    #[error("{0}")]
    NothingFound(String),
    /// The run was stopped (see [`crate::PipelineBuilder::stop_when`]).
    #[error("stopped before the end; no report was written")]
    Stopped,
    /// The report was written but could not be uploaded to S3 completely (after the retries):
    /// it is kept in a local folder, and no `index.json` marks the run complete in S3.
    #[error(
        "{cause}; the run's index.json was not uploaded, so the run is not complete in S3; the whole report is kept in {}: its index.json says where each file goes (version n of its `versions` is in versions/n/); upload it from there or run again, then delete the folder",
        kept.display()
    )]
    Upload {
        /// What failed: the object and the last error, or the local split.
        cause: String,
        /// The local folder that holds the report.
        kept: std::path::PathBuf,
    },
    /// `fix` wrote the clean manifest and `removed.csv` but could not upload them to S3 (after
    /// the retries): both are kept in a local folder (`fixed.manifest`, `removed.csv`).
    #[error(
        "{cause}; the fixed manifest and removed.csv are kept in {}: upload them from there (fixed.manifest to --out, removed.csv to --removed) or run again, then delete the folder",
        kept.display()
    )]
    FixUpload {
        /// What failed: the object and the last error.
        cause: String,
        /// The local folder that holds `fixed.manifest` and `removed.csv`.
        kept: std::path::PathBuf,
    },
    /// A source or setting needs a Cargo feature of this crate that the build leaves out
    /// (`s3` for S3 sources and reports, `rekognition` for ARNs, all projects and datasets).
    #[error("{what} needs the `{feature}` feature of rekcheck, which this build leaves out")]
    FeatureDisabled {
        /// What needs it.
        what: &'static str,
        /// The feature.
        feature: &'static str,
    },
    /// An async run method was polled outside a Tokio runtime, or a blocking one was called
    /// inside one (where it would block a worker thread); see the crate's `Runtime` section.
    #[error("{0}")]
    Runtime(&'static str),
    /// The blocking part of the run could not be started or panicked.
    #[error("the analysis task failed: {0}")]
    Task(String),
}

impl PipelineError {
    /// Whether this is a request to S3 or Rekognition that failed (no credentials, a refused
    /// connection, a denied access, a timeout...), rather than an input that is not there.
    pub fn is_request_failure(&self) -> bool {
        use rekcheck_fetch::FetchError;
        match self {
            PipelineError::Fetch(
                FetchError::NotFound { .. }
                | FetchError::Io(_)
                | FetchError::FeatureDisabled { .. },
            ) => false,
            #[cfg(feature = "rekognition")]
            PipelineError::Locate(rekcheck_locate::LocateError::NotFound { .. }) => false,
            #[cfg(feature = "rekognition")]
            PipelineError::Locate(_) => true,
            PipelineError::Fetch(_) => true,
            _ => false,
        }
    }

    /// An S3 source in a build without the `s3` feature, or (with it) outside a runtime.
    pub(crate) fn no_s3() -> PipelineError {
        if cfg!(feature = "s3") {
            PipelineError::Runtime(
                "an S3 source is read on a Tokio runtime: await the async run methods inside one",
            )
        } else {
            PipelineError::FeatureDisabled {
                what: "an S3 source",
                feature: "s3",
            }
        }
    }
}

/// An input that could not be used, and why. A run goes on without it.
///
/// Found in [`RunOutcome::failures`](crate::RunOutcome::failures); any failure makes
/// [`RunOutcome::exit_code`](crate::RunOutcome::exit_code) 2.
///
/// # Example
///
/// ```no_run
/// # async fn run(pipeline: rekcheck::Pipeline) -> Result<(), rekcheck::PipelineError> {
/// let outcome = pipeline.run().await?;
/// for f in &outcome.failures {
///     eprintln!("skipped {}: {}", f.what, f.error);
/// }
/// # Ok(()) }
/// ```
///
/// With the `serde` feature it serializes as `{"what": ..., "error": ...}`, the error as its
/// message.
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Failure {
    /// The path, S3 location, ARN or option concerned.
    pub what: String,
    /// Why.
    #[cfg_attr(feature = "serde", serde(serialize_with = "error_text"))]
    pub error: PipelineError,
}

/// An error as its message.
#[cfg(feature = "serde")]
fn error_text<S: serde::Serializer>(error: &PipelineError, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(error)
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    #[test]
    fn a_failure_serializes_with_its_error_as_text() {
        let f = Failure {
            what: "s3://b/k".into(),
            error: PipelineError::Input("not a manifest".into()),
        };
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            serde_json::json!({"what": "s3://b/k", "error": "not a manifest"})
        );
    }
}
