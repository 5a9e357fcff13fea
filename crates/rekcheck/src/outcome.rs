//! What a run returns: [`RunOutcome`], shared by the pipeline (which builds it) and the S3
//! layout (which rearranges the report it describes).

use rekcheck_analyze::{ReportSummary, Severity};

use crate::error::Failure;

/// What a run found.
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct RunOutcome {
    /// Versions, manifests, codes, labels, terminal errors and the files written.
    pub summary: ReportSummary,
    /// Inputs that could not be read; the rest was still reported.
    pub failures: Vec<Failure>,
    /// Things worth telling the user (a listing fallback, a summary without its manifest...).
    pub notes: Vec<String>,
    /// Manifests without validation results (`verdict` `not validated` in `summary.csv`): no
    /// line carries an `errors`/`warnings`/`cl-errors`/`cl-warnings` key, no manifest summary
    /// goes with them, and they are empty or not named as Rekognition names validation
    /// manifests. They look like input manifests, for `rekcheck check`.
    pub not_validated: Vec<String>,
}

impl RunOutcome {
    /// The exit-code contract: 2 when an input could not be read, or (unless `fail_on` is
    /// `None`) when a manifest has no validation results at all; 1 when an issue at or above
    /// `fail_on` was found (`None`: never); 0 otherwise.
    pub fn exit_code(&self, fail_on: Option<Severity>) -> u8 {
        if !self.failures.is_empty() || (fail_on.is_some() && !self.not_validated.is_empty()) {
            2
        } else {
            u8::from(fail_on.is_some_and(|s| self.summary.has_issues_at(s)))
        }
    }
}
