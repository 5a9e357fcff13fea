//! The values the analyzer produces: issues, image rows and their vocabulary.

use std::fmt;
use std::sync::Arc;

/// How serious an issue is. Rekognition has two severities, `errors` and `warnings`; the set is
/// closed, so the enum is exhaustive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The image (or the manifest) is not used as it is.
    Error,
    /// The image is valid but ignored, or something deserves a look.
    Warning,
}

impl Severity {
    /// The name written in the reports: `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in a manifest an issue was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Level {
    /// The whole manifest (terminal errors from the manifest summary or the training status).
    Manifest,
    /// A JSON line (an image): the line object's own `errors`/`warnings`.
    Line,
    /// A label attribute object, such as `"bounding-box": {..., "errors": [...]}`.
    Attribute,
    /// A `<attribute>-metadata` object.
    Metadata,
    /// One element of a label attribute's `annotations` array (a bounding box).
    Annotation,
}

impl Level {
    /// The name written in the reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Manifest => "manifest",
            Level::Line => "line",
            Level::Attribute => "attribute",
            Level::Metadata => "metadata",
            Level::Annotation => "annotation",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which dataset a manifest belongs to, from its file name. A Custom Labels project has a
/// training and a testing dataset; the set is closed, so the enum is exhaustive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Dataset {
    /// `TrainingManifestWithValidation-…` or `training_manifest_with_validation.json`.
    Training,
    /// `TestingManifestWithValidation-…` or `testing_manifest_with_validation.json`.
    Testing,
    /// Anything else.
    #[default]
    Unknown,
}

impl Dataset {
    /// The name written in the reports; empty for [`Dataset::Unknown`].
    pub fn as_str(self) -> &'static str {
        match self {
            Dataset::Training => "training",
            Dataset::Testing => "testing",
            Dataset::Unknown => "",
        }
    }

    /// The dataset a file name points to: `Training…`/`training_…` is training,
    /// `Testing…`/`testing_…` is testing, anything else is unknown.
    pub fn from_file_name(name: &str) -> Dataset {
        if name.starts_with("Training") || name.starts_with("training_") {
            Dataset::Training
        } else if name.starts_with("Testing") || name.starts_with("testing_") {
            Dataset::Testing
        } else {
            Dataset::Unknown
        }
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One error or warning, with its position. Problems in the input are values, never `Err`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Issue {
    /// 1-based physical line; `None` for manifest-level issues.
    pub line: Option<u64>,
    /// The line's `source-ref`, empty when it has none. Shared by all the issues of a line, so
    /// that a long `source-ref` is held once, not once per issue.
    pub source_ref: Arc<str>,
    /// Where the issue sits.
    pub level: Level,
    /// The label attribute name, for attribute, metadata and annotation levels (shared like
    /// `source_ref`).
    pub attribute: Arc<str>,
    /// 0-based index into the attribute's `annotations`, for annotation level.
    pub annotation: Option<u32>,
    /// The label concerned, when one can be told (shared like `source_ref`).
    pub label: Arc<str>,
    /// Error or warning.
    pub severity: Severity,
    /// The code as written (`ERROR_…`, `WARNING_…`, or `REKCHECK_…`); unknown codes are kept.
    pub code: String,
    /// The message as written, or rekcheck's own explanation.
    pub message: String,
}

impl Issue {
    /// A manifest-level issue (a terminal error, a training's status, a read failure): no line,
    /// no image, no attribute.
    pub fn manifest(
        severity: Severity,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Issue {
        Issue {
            line: None,
            source_ref: Arc::from(""),
            level: Level::Manifest,
            attribute: Arc::from(""),
            annotation: None,
            label: Arc::from(""),
            severity,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The status of one non-blank line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ImageStatus {
    /// No issue at all.
    Ok,
    /// Warnings but no error.
    Warning,
    /// At least one error at any level.
    Error,
    /// The line could not be read as a JSON object.
    Unparsable,
}

impl ImageStatus {
    /// The name written in the reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageStatus::Ok => "ok",
            ImageStatus::Warning => "warning",
            ImageStatus::Error => "error",
            ImageStatus::Unparsable => "unparsable",
        }
    }
}

impl fmt::Display for ImageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row per non-blank line of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ImageRow {
    /// 1-based physical line.
    pub line: u64,
    /// The line's `source-ref`, empty when it has none.
    pub source_ref: String,
    /// The image's status.
    pub status: ImageStatus,
    /// Number of error issues on the line, all levels together.
    pub errors: u32,
    /// Number of warning issues on the line, all levels together.
    pub warnings: u32,
    /// Distinct labels, in order of first appearance.
    pub labels: Vec<String>,
    /// Bounding boxes per label, parallel to `labels` (0 for image-level labels).
    pub label_boxes: Vec<u32>,
    /// Number of bounding boxes (annotation objects) on the line.
    pub boxes: u32,
    /// Whether Rekognition trains on the image (the `used` column of `images.csv`), decided by
    /// [`is_used`] from the line's issues.
    pub used: bool,
}

/// Errors that, wherever they sit on a line, stop Rekognition's other checks of the line, so the
/// line is not used: the checks the developer guide says run first
/// (tm-debugging-fixing-validation-errors, "JSON line error precedence": "If any of these errors
/// occur, validation of JSON Line errors is stopped"). `MISSING_SOURCE_REF` is spelt so there.
const STOPPING_ERRORS: &[&str] = &[
    "MISSING_SOURCE_REF",
    "ERROR_MISSING_SOURCE_REF",
    "ERROR_INVALID_SOURCE_REF_FORMAT",
    "ERROR_NO_LABEL_ATTRIBUTES",
    "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT",
    "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT",
    "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE",
    "ERROR_MISSING_CLASS_MAP_ID",
    "ERROR_INVALID_JSON_LINE",
];

/// Errors on a label attribute's metadata that drop only that attribute: a line with another,
/// valid label attribute is still used. The documentation's own example
/// (tm-debugging-json-line-errors, `ERROR_UNSUPPORTED_USE_CASE_TYPE`) shows the error on the
/// metadata and, because no other attribute is valid, `ERROR_NO_VALID_LABEL_ATTRIBUTES` on the
/// line; no page says that an unsupported attribute beside a valid one drops the line.
const ATTRIBUTE_ONLY_ERRORS: &[&str] = &["ERROR_UNSUPPORTED_USE_CASE_TYPE"];

/// Whether Rekognition trains on a line with this `status` and these `issues` (the line's own,
/// at every level). One rule for `report`, `check` and the dataset rules:
///
/// * an unparsable line is not used;
/// * an error at line level, or one of the errors that stop the line's checks (wherever it
///   sits), drops the line;
/// * an error at attribute or metadata level drops the line, except an unsupported attribute
///   type: that drops only its attribute, so the line is used when `another_valid_attribute`
///   (asked only then) says another label attribute of the line has no attribute- or
///   metadata-level error;
/// * errors at annotation level drop only their boxes: "the model is still trained using
///   the other valid bounding boxes" (tm-debugging-scope-json-line);
/// * a Rekognition warning (`WARNING_`) on the line means the line is ignored
///   (`ignored_json_lines`, tm-debugging-summary); rekcheck's own `REKCHECK_` warnings are notes
///   and change nothing.
pub fn is_used(
    status: ImageStatus,
    issues: &[Issue],
    another_valid_attribute: impl FnOnce() -> bool,
) -> bool {
    match status {
        ImageStatus::Unparsable => false,
        ImageStatus::Ok => true,
        ImageStatus::Warning | ImageStatus::Error => {
            !issues.iter().any(drops_line)
                && (!issues.iter().any(drops_attribute) || another_valid_attribute())
        }
    }
}

/// Whether a label attribute named in `attributes` has no error at attribute or metadata level
/// among `issues` (the `another_valid_attribute` of [`is_used`] for a line whose attributes are
/// known by name).
pub(crate) fn has_clean_attribute<'a>(
    mut attributes: impl Iterator<Item = &'a str>,
    issues: impl IntoIterator<Item = &'a Issue>,
) -> bool {
    // The attributes in error, collected once: linear in the line's attributes and issues.
    let in_error: rustc_hash::FxHashSet<&str> = issues
        .into_iter()
        .filter(|i| {
            i.severity == Severity::Error && matches!(i.level, Level::Attribute | Level::Metadata)
        })
        .map(|i| &*i.attribute)
        .collect();
    attributes.any(|name| !in_error.contains(name))
}

/// Whether an issue drops only its label attribute (see [`is_used`]).
pub(crate) fn drops_attribute(i: &Issue) -> bool {
    drops_attribute_at(i.severity, i.level, &i.code)
}

/// [`drops_attribute`] of an issue given by its parts.
pub(crate) fn drops_attribute_at(severity: Severity, level: Level, code: &str) -> bool {
    severity == Severity::Error
        && matches!(level, Level::Attribute | Level::Metadata)
        && ATTRIBUTE_ONLY_ERRORS.contains(&code)
}

/// Whether one issue of a line makes Rekognition drop the line (see [`is_used`]).
fn drops_line(i: &Issue) -> bool {
    drops_line_at(i.severity, i.level, &i.code)
}

/// [`drops_line`] of an issue given by its parts.
pub(crate) fn drops_line_at(severity: Severity, level: Level, code: &str) -> bool {
    match severity {
        Severity::Error => match level {
            Level::Manifest | Level::Line => true,
            Level::Attribute | Level::Metadata => !ATTRIBUTE_ONLY_ERRORS.contains(&code),
            Level::Annotation => STOPPING_ERRORS.contains(&code),
        },
        Severity::Warning => level == Level::Line && code.starts_with("WARNING_"),
    }
}

/// The enums serialize as the words the CSV files use (`error`, `annotation`, `training`, ...).
#[cfg(feature = "serde")]
macro_rules! serialize_as_str {
    ($($t:ty),*) => {
        $(impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        })*
    };
}
#[cfg(feature = "serde")]
serialize_as_str!(Severity, Level, Dataset, ImageStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_comes_from_the_file_name() {
        assert_eq!(
            Dataset::from_file_name("TrainingManifestWithValidation-p-v.json"),
            Dataset::Training
        );
        assert_eq!(
            Dataset::from_file_name("training_manifest_with_validation.json"),
            Dataset::Training
        );
        assert_eq!(
            Dataset::from_file_name("TestingManifestWithValidation-p-v.json"),
            Dataset::Testing
        );
        assert_eq!(
            Dataset::from_file_name("testing_manifest_with_validation.json"),
            Dataset::Testing
        );
        assert_eq!(
            Dataset::from_file_name("trainingset.json"),
            Dataset::Unknown
        );
        assert_eq!(Dataset::from_file_name("output.manifest"), Dataset::Unknown);
        assert_eq!(Dataset::Unknown.as_str(), "");
    }
}

#[cfg(all(test, feature = "serde"))]
mod serde_tests {
    use super::*;

    #[test]
    fn rows_and_issues_serialize_with_the_csv_words() {
        let mut issue = Issue::manifest(Severity::Warning, "W", "m");
        issue.level = Level::Annotation;
        issue.annotation = Some(2);
        let json = serde_json::to_value(&issue).unwrap();
        assert_eq!(json["severity"], "warning");
        assert_eq!(json["level"], "annotation");
        assert_eq!(json["annotation"], 2);
        assert_eq!(json["line"], serde_json::Value::Null);
        assert_eq!(serde_json::to_value(Dataset::Unknown).unwrap(), "");
        assert_eq!(
            serde_json::to_value(ImageStatus::Unparsable).unwrap(),
            "unparsable"
        );
    }
}
