//! Rules: what Rekognition would write. An input manifest's line -> the issues Rekognition's
//! validation would record ([`validate`]); a manifest -> the dataset-level rules and the verdict
//! (`check`, [`check`]); a manifest -> the manifest to retrain with (`fix`, [`fix`]).
//!
//! Rules sit above the results (they produce the same rows and counts) and above the report
//! writer (check hands it blocks through [`ReportWriter::add_manifest_with`](crate::ReportWriter::add_manifest_with)).

pub(crate) mod check;
pub(crate) mod fastline;
pub(crate) mod fix;
pub(crate) mod validate;
