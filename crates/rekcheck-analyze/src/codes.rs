//! Every documented Rekognition Custom Labels validation code, with what it means and how to fix
//! it, plus rekcheck's own `REKCHECK_` codes.
//!
//! Sources: the Custom Labels developer guide pages on debugging training (terminal manifest file
//! errors, terminal manifest content errors, non-terminal JSON line errors and warnings) and on
//! dataset terminal errors. The documentation lists 36 `ERROR_` codes and 3 `WARNING_` codes.

use crate::model::Severity;

/// A line that is not a JSON object (invalid UTF-8 or JSON, another JSON type, nested too deep or
/// too long).
pub const REKCHECK_UNPARSABLE_LINE: &str = "REKCHECK_UNPARSABLE_LINE";
/// A manifest that could not be read, or not completely (the message says why).
pub const REKCHECK_READ_FAILED: &str = "REKCHECK_READ_FAILED";
/// A failed training whose status message matches no documented code.
pub const REKCHECK_TRAINING_FAILED: &str = "REKCHECK_TRAINING_FAILED";
/// An `errors`/`warnings` container that is not an array, or an item that is not an object with a
/// string `code`.
pub const REKCHECK_MALFORMED_ISSUE: &str = "REKCHECK_MALFORMED_ISSUE";

/// A `source-ref` used by an earlier line of the same manifest (`rekcheck check`).
pub const REKCHECK_DUPLICATE_SOURCE_REF: &str = "REKCHECK_DUPLICATE_SOURCE_REF";
/// A JSON line over Rekognition's 100,000-character limit (`rekcheck check`).
pub const REKCHECK_LINE_TOO_LONG: &str = "REKCHECK_LINE_TOO_LONG";
/// An `image_size` that disagrees with the image itself (`rekcheck check --verify-images`).
pub const REKCHECK_IMAGE_SIZE_MISMATCH: &str = "REKCHECK_IMAGE_SIZE_MISMATCH";
/// A line of the other use case in a manifest that mixes image-level and bounding-box lines
/// (`rekcheck check`).
pub const REKCHECK_OTHER_USE_CASE: &str = "REKCHECK_OTHER_USE_CASE";
/// A `source-ref` bucket name that breaks today's S3 naming rules (a warning: legacy buckets
/// exist; `rekcheck check`).
pub const REKCHECK_BUCKET_NAME: &str = "REKCHECK_BUCKET_NAME";
/// A testing image that is also in the training manifest (`rekcheck check --testing`).
pub const REKCHECK_IMAGE_IN_TRAINING_AND_TESTING: &str = "REKCHECK_IMAGE_IN_TRAINING_AND_TESTING";
/// Label overlap that passes as the validation-rules page defines it but fails as the
/// aggregate-errors page words it (`rekcheck check --testing`).
pub const REKCHECK_LABEL_OVERLAP_READING: &str = "REKCHECK_LABEL_OVERLAP_READING";
/// A bounding-box dataset with exactly one label: enough on the limits page, too few on the
/// validation-rules and aggregate-errors pages (`rekcheck check`).
pub const REKCHECK_LABEL_MINIMUM_READING: &str = "REKCHECK_LABEL_MINIMUM_READING";
/// An image with more than 50 distinct labels (`rekcheck check`).
pub const REKCHECK_TOO_MANY_LABELS_PER_IMAGE: &str = "REKCHECK_TOO_MANY_LABELS_PER_IMAGE";
/// A label attribute of type `groundtruth/image-classification-multilabel`, read as image-level
/// (`rekcheck check`).
pub const REKCHECK_MULTILABEL_TYPE: &str = "REKCHECK_MULTILABEL_TYPE";
/// A line with more issues than are listed per line (`--max-issues-per-line`): one warning that
/// says how many more there are.
pub const REKCHECK_TOO_MANY_ISSUES: &str = "REKCHECK_TOO_MANY_ISSUES";
/// A manifest with more lines than are analyzed (`--max-lines`): one manifest-level error that
/// says how many lines were not analyzed.
pub const REKCHECK_MAX_LINES: &str = "REKCHECK_MAX_LINES";

/// When a code stops Rekognition, and where it is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum CodeKind {
    /// Terminal manifest file error: no validation files are written; only `StatusMessage` says it.
    TerminalFile,
    /// Terminal manifest content error: in the manifest summary and in `StatusMessage`.
    TerminalContent,
    /// Dataset terminal error (`CreateDataset`, `UpdateDatasetEntries`, `DistributeDatasetEntries`).
    Dataset,
    /// Non-terminal JSON line error, in a validation manifest.
    Line,
    /// Warning in a validation manifest: the line is valid but ignored.
    Warning,
    /// A code of rekcheck's own.
    Rekcheck,
}

/// One documented code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CodeInfo {
    /// The code, e.g. `ERROR_INVALID_BOUNDING_BOX`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// When it stops Rekognition and where it is reported.
    pub kind: CodeKind,
    /// The message Rekognition writes (`{}` stands for a filled-in value); empty if undocumented.
    pub message: &'static str,
    /// One sentence on what it means.
    pub meaning: &'static str,
    /// One sentence on how to fix it.
    pub fix: &'static str,
}

/// Looks a code up; `None` for unknown codes.
pub fn code_info(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code == code)
}

/// The severity of `code` and its documented message with `fill` in place of `{}`, followed by
/// `detail` (what exactly is wrong); errors for unknown codes.
pub(crate) fn documented(code: &str, fill: &str, detail: &str) -> (Severity, String) {
    let info = code_info(code);
    let mut message = info.map_or("", |i| i.message).replace("{}", fill);
    if !detail.is_empty() {
        if !message.is_empty() {
            message.push(' ');
        }
        message.push_str(detail);
    }
    (info.map_or(Severity::Error, |i| i.severity), message)
}

/// The code whose documented message `status_message` starts with (the reverse lookup used on a
/// training's `StatusMessage`).
pub fn code_for_message(status_message: &str) -> Option<&'static CodeInfo> {
    let msg = status_message.trim();
    CODES
        .iter()
        .find(|c| !c.message.is_empty() && matches_template(c.message, msg))
}

/// Whether `msg` is `template` with each `{}` filled in; a missing final period is accepted.
fn matches_template(template: &str, msg: &str) -> bool {
    let template = template.trim_end_matches('.');
    let mut rest = msg;
    for (i, part) in template.split("{}").enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

use CodeKind::{Dataset, Line, Rekcheck, TerminalContent, TerminalFile, Warning};
use Severity::{Error, Warning as Warn};

macro_rules! code {
    ($code:literal, $sev:ident, $kind:ident, $msg:literal, $meaning:literal, $fix:literal) => {
        CodeInfo {
            code: $code,
            severity: $sev,
            kind: $kind,
            message: $msg,
            meaning: $meaning,
            fix: $fix,
        }
    };
}

/// The table: 36 documented errors, 3 documented warnings, then rekcheck's own codes.
pub static CODES: &[CodeInfo] = &[
    // Terminal manifest file errors.
    code!(
        "ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT",
        Error,
        TerminalFile,
        "The manifest file extension or contents are invalid.",
        "Rekognition could not read the manifest: the S3 object is missing, has no extension, or is not JSON Lines.",
        "Check the manifest's bucket and key, give it a .manifest extension, and make every line one JSON object."
    ),
    code!(
        "ERROR_EMPTY_MANIFEST",
        Error,
        TerminalFile,
        "The manifest file is empty.",
        "The training or testing manifest has no content.",
        "Upload a manifest with at least one labeled image per line."
    ),
    code!(
        "ERROR_MANIFEST_SIZE_TOO_LARGE",
        Error,
        TerminalFile,
        "The manifest file size exceeds the maximum supported size.",
        "The manifest is larger than the 1 GB limit.",
        "Split the dataset or remove lines so that the manifest is under 1 GB."
    ),
    code!(
        "ERROR_CANNOT_WRITE_OUTPUT_S3_BUCKET",
        Error,
        TerminalFile,
        "Unable to write to output S3 bucket.",
        "Rekognition could not write the training output to the OutputConfig bucket.",
        "Check OutputConfig's bucket and prefix and grant Rekognition s3:PutObject on them."
    ),
    code!(
        "ERROR_INVALID_PERMISSIONS_MANIFEST_S3_BUCKET",
        Error,
        TerminalFile,
        "The S3 bucket permissions are incorrect.",
        "Rekognition cannot read the bucket that holds the manifests.",
        "Give Rekognition s3:GetObject (and s3:GetObjectVersion) on the manifest bucket, and kms:Decrypt if it is SSE-KMS encrypted."
    ),
    // Terminal manifest content errors.
    code!(
        "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST",
        Error,
        TerminalContent,
        "The manifest file contains too many invalid rows.",
        "More than 20 % of the lines (blank and unparsable lines included) are invalid. Lines whose errors are only on bounding boxes are still used (tm-debugging-scope-json-line) and rekcheck check does not count them; lines with warnings only are ignored, not invalid.",
        "Fix the line errors listed in issues.csv, or drop the bad lines (rekcheck fix), then retrain."
    ),
    code!(
        "ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS",
        Error,
        TerminalContent,
        "The manifest file contains images from multiple S3 buckets.",
        "The source-ref values of one manifest point to more than one bucket.",
        "Copy all images of the manifest into one bucket and rewrite the source-ref values."
    ),
    code!(
        "ERROR_INVALID_PERMISSIONS_IMAGES_S3_BUCKET",
        Error,
        TerminalContent,
        "The permissions for the images S3 bucket are invalid.",
        "Rekognition cannot read the bucket that holds the images.",
        "Grant Rekognition s3:GetObject on the image bucket (and kms:Decrypt for SSE-KMS images)."
    ),
    code!(
        "ERROR_INVALID_IMAGES_S3_BUCKET_OWNER",
        Error,
        TerminalContent,
        "Invalid owner id for images S3 bucket.",
        "The image bucket belongs to another account than the manifest bucket.",
        "Copy the images into a bucket owned by the same account as the manifest bucket."
    ),
    code!(
        "ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_AUTOSPLIT",
        Error,
        TerminalContent,
        "The manifest file contains insufficient labeled images per label to perform auto-split.",
        "The automatic 80/20 split cannot give every label images in both training and testing. The minimum is not documented; rekcheck check predicts this error for a label with fewer than 5 valid images, the fewest for which 20 % is one whole testing image while training keeps at least one.",
        "Add images for the labels with few images (see labels.csv), or supply a testing manifest."
    ),
    code!(
        "ERROR_MANIFEST_TOO_FEW_LABELS",
        Error,
        TerminalContent,
        "The manifest file has too few labels.",
        "The dataset has fewer distinct labels than the use case needs. The documentation contradicts itself (limits page: classification 2, detection 1; aggregate page: the reverse; rules page: 2); rekcheck check uses the limits page, which is the quota reference, so it predicts this error under 2 labels for image-level and under 1 for bounding boxes.",
        "Add images of more labels: classification needs at least two labels."
    ),
    code!(
        "ERROR_MANIFEST_TOO_MANY_LABELS",
        Error,
        TerminalContent,
        "The manifest file has too many labels.",
        "The dataset has more than 250 distinct labels.",
        "Merge or remove labels until at most 250 remain."
    ),
    code!(
        "ERROR_INSUFFICIENT_LABEL_OVERLAP",
        Error,
        TerminalContent,
        "Less than {}% label overlap between the training and testing manifest files.",
        "Fewer than 50 % of the labels are shared by training and testing. The documentation defines the overlap two ways: common labels / training labels (md-create-manifest-file-validation-rules) and a share of the testing labels (tm-debugging-aggregate-errors); rekcheck check follows the validation-rules page and names the other reading in the message, or warns with REKCHECK_LABEL_OVERLAP_READING when only that one fails.",
        "Add testing images of the training labels (or drop training labels the testing set lacks) until half the training labels are testing labels too."
    ),
    code!(
        "ERROR_MANIFEST_TOO_FEW_USABLE_LABELS",
        Error,
        TerminalContent,
        "The manifest file has too few usable labels.",
        "After Rekognition chose one use case, lines of the other format were dropped and too few labels remain.",
        "Use only classification lines or only bounding-box lines in one dataset."
    ),
    code!(
        "ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP",
        Error,
        TerminalContent,
        "Less than {}% usable label overlap between the training and testing manifest files.",
        "Counting only the labels of the use case each dataset trains (image-level or bounding boxes), fewer than 50 % are shared; the overlap is read as for ERROR_INSUFFICIENT_LABEL_OVERLAP (common / training labels, md-create-manifest-file-validation-rules).",
        "Make training and testing use the same format and the same labels."
    ),
    code!(
        "ERROR_FAILED_IMAGES_S3_COPY",
        Error,
        TerminalContent,
        "Failed to copy images from S3 bucket.",
        "Rekognition could not copy the images for training.",
        "Check that the images exist, are readable by Rekognition, and that the KMS key allows it."
    ),
    code!(
        "ERROR_TOO_MANY_RECORDS_IN_ERROR",
        Error,
        TerminalContent,
        "The manifest file has too many terminal errors.",
        "Too many lines have errors that exclude them.",
        "Fix the line errors listed in issues.csv, starting with the most frequent code."
    ),
    // Dataset terminal errors not listed above.
    code!(
        "ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM",
        Error,
        Dataset,
        "The manifest file has too many rows.",
        "The manifest has more lines than allowed (250,000 by default). rekcheck check counts blank lines too: \"Blank/invalid lines are also counted as dataset objects\" (md-create-manifest-file-validation-rules); when only the non-blank lines (tm-debugging-aggregate-errors: \"number of images\") are within the limit, the message says so.",
        "Split the dataset or remove lines; request a limit increase for large classification datasets."
    ),
    code!(
        "ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE",
        Error,
        Dataset,
        "The manifest file doesn't have enough labeled images to distribute the dataset.",
        "The dataset cannot move 20 % of its images per label to an empty test dataset.",
        "Label more images per label before distributing, or create the test dataset yourself."
    ),
    // Non-terminal JSON line errors.
    code!(
        "ERROR_MISSING_SOURCE_REF",
        Error,
        Line,
        "The source-ref key is missing.",
        "The line has no source-ref key (or it is misspelt); other checks on the line do not run.",
        "Add \"source-ref\": \"s3://bucket/key\" to the line."
    ),
    code!(
        "ERROR_INVALID_SOURCE_REF_FORMAT",
        Error,
        Line,
        "The format of the source-ref value is invalid.",
        "The source-ref is not an s3://bucket/key URI (for example an https:// URL or a relative path).",
        "Write the image location as s3://bucket/key."
    ),
    code!(
        "ERROR_NO_LABEL_ATTRIBUTES",
        Error,
        Line,
        "No label attributes found.",
        "The line has no label attribute, or the attribute has no matching -metadata key.",
        "Give every label attribute X a sibling X-metadata, named exactly alike."
    ),
    code!(
        "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT",
        Error,
        Line,
        "The format of the label attribute {} is invalid.",
        "The label attribute does not have the expected schema (image_size, annotations).",
        "Give a bounding-box attribute image_size [{width,height,depth}] and annotations [{class_id,left,top,width,height}]."
    ),
    code!(
        "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT",
        Error,
        Line,
        "The format of the label attribute metadata is invalid.",
        "The -metadata object does not have the expected schema.",
        "Give the metadata its required fields: type, class-name or class-map, human-annotated, creation-date (and objects for boxes)."
    ),
    code!(
        "ERROR_NO_VALID_LABEL_ATTRIBUTES",
        Error,
        Line,
        "No valid label attributes found.",
        "None of the line's label attributes is usable; other errors on the line say why.",
        "Fix the attribute and metadata errors on the same line."
    ),
    code!(
        "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE",
        Error,
        Line,
        "One or more bounding boxes has a missing confidence value.",
        "A box has no confidence in metadata objects[], or objects and annotations differ in length.",
        "Give objects[] one {\"confidence\": n} per annotation, in the same order."
    ),
    code!(
        "ERROR_MISSING_CLASS_MAP_ID",
        Error,
        Line,
        "One of more class ids is missing from the class map.",
        "An annotation's class_id has no entry in the metadata class-map.",
        "Add every class_id used in annotations to class-map, as a string key."
    ),
    code!(
        "ERROR_INVALID_JSON_LINE",
        Error,
        Line,
        "The JSON Line has an invalid format.",
        "The input line was not valid JSON; Rekognition replaced it with this error.",
        "Find the same line number in the input manifest and make it one valid JSON object."
    ),
    code!(
        "ERROR_INVALID_IMAGE",
        Error,
        Line,
        "The image is invalid. Check S3 path and/or image properties.",
        "The image is missing, not PNG or JPEG, over 15 MB, over 20:1, or outside 64-4096 px. rekcheck check predicts it for an image_size over 20:1 too (this page lists the aspect ratio; the ERROR_INVALID_IMAGE_DIMENSION page names only the sides).",
        "Check the image exists at source-ref and convert or resize it to PNG/JPEG within the limits."
    ),
    code!(
        "ERROR_INVALID_IMAGE_DIMENSION",
        Error,
        Line,
        "The image dimension(s) do not conform to allowed dimensions.",
        "The image is smaller than 64 px or larger than 4096 px on a side.",
        "Resize the image to 64-4096 px per side and update image_size and the boxes."
    ),
    code!(
        "ERROR_INVALID_BOUNDING_BOX",
        Error,
        Line,
        "The bounding box has off frame values.",
        "The box extends outside the image or has negative values.",
        "Clip the box to the image (0 <= left, top and left+width <= image width, top+height <= height)."
    ),
    code!(
        "ERROR_BOUNDING_BOX_TOO_SMALL",
        Error,
        Line,
        "The height and width of the bounding box is too small.",
        "The box is 1x1 px or smaller once the image is scaled so its longest side is 1280 px.",
        "Remove the box or redraw it larger; only the box is dropped, the image is still used."
    ),
    code!(
        "ERROR_TOO_MANY_BOUNDING_BOXES",
        Error,
        Line,
        "There are more bounding boxes than the allowed maximum.",
        "The image has more than 50 bounding boxes.",
        "Keep at most 50 boxes per image, or split the image into tiles."
    ),
    code!(
        "ERROR_NO_VALID_ANNOTATIONS",
        Error,
        Line,
        "No valid annotations found.",
        "None of the image's boxes is valid.",
        "Fix the annotation-level errors on the same line."
    ),
    code!(
        "ERROR_UNSUPPORTED_USE_CASE_TYPE",
        Error,
        Line,
        "The use case type of the {} label attribute metadata is unsupported. Check the type field.",
        "The metadata type is neither groundtruth/image-classification nor groundtruth/object-detection. Only that attribute is dropped: a line with another, valid label attribute is still used (no page says the whole line fails; the documentation's example adds ERROR_NO_VALID_LABEL_ATTRIBUTES on the line when no attribute is valid).",
        "Set the metadata type to groundtruth/image-classification or groundtruth/object-detection, or remove the attribute (a verification or segmentation job's output) if Custom Labels should not use it."
    ),
    code!(
        "ERROR_INVALID_LABEL_NAME_LENGTH",
        Error,
        Line,
        "",
        "A label name is longer than 256 characters.",
        "Shorten the class-name or class-map entry to at most 256 characters."
    ),
    // Warnings.
    code!(
        "WARNING_UNANNOTATED_RECORD",
        Warn,
        Warning,
        "Record is unannotated.",
        "The image was added but never labeled; it is ignored.",
        "Label the image, or remove the line if it should not be in the dataset."
    ),
    code!(
        "WARNING_NO_ANNOTATIONS",
        Warn,
        Warning,
        "No annotations were found.",
        "The bounding-box line says human-annotated but has no boxes; it is ignored.",
        "Draw the boxes, or remove the line if the image shows none of the labels."
    ),
    code!(
        "WARNING_NO_ATTRIBUTE_ANNOTATIONS",
        Warn,
        Warning,
        "No attribute annotations were found.",
        "The label attribute's annotations list is missing or empty.",
        "Add annotations to the attribute, or remove the attribute."
    ),
    // rekcheck's own codes.
    code!(
        "REKCHECK_UNPARSABLE_LINE",
        Error,
        Rekcheck,
        "",
        "rekcheck could not read the line as a JSON object (bad UTF-8 or JSON, another JSON type, too deep or too long).",
        "Rewrite the line as one JSON object; the message gives the column where reading stopped."
    ),
    code!(
        "REKCHECK_TRAINING_FAILED",
        Error,
        Rekcheck,
        "",
        "The training failed with a status message that matches no documented error; the message is Rekognition's StatusMessage.",
        "Read the message; for \"Amazon Rekognition experienced a service issue\" retry the training."
    ),
    code!(
        "REKCHECK_MALFORMED_ISSUE",
        Error,
        Rekcheck,
        "",
        "An errors/warnings entry is not a list of {code, message} objects; its raw JSON is in the message.",
        "Read the raw JSON in the message: the file was probably edited by hand or by another tool."
    ),
    code!(
        "REKCHECK_DUPLICATE_SOURCE_REF",
        Error,
        Rekcheck,
        "",
        "The image's source-ref is already used by an earlier line of the manifest; Rekognition keeps an image once per dataset and silently drops the other lines, so their labels are lost.",
        "Merge the labels of all lines with this source-ref into one line and delete the others (rekcheck fix keeps the first line)."
    ),
    code!(
        "REKCHECK_LINE_TOO_LONG",
        Error,
        Rekcheck,
        "",
        "The JSON line is longer than Rekognition's limit of 100,000 characters; Rekognition silently drops such lines.",
        "Shorten the line: remove fields Custom Labels does not use, or split the image's boxes over fewer, smaller attributes."
    ),
    code!(
        "REKCHECK_IMAGE_SIZE_MISMATCH",
        Warn,
        Rekcheck,
        "",
        "The image_size in the label attribute is not the size of the image in S3, so the boxes are checked (and trained) against the wrong frame.",
        "Write the image's real width and height in image_size, or re-export the labeling job for the current images."
    ),
    code!(
        "REKCHECK_OTHER_USE_CASE",
        Warn,
        Rekcheck,
        "",
        "The manifest mixes image-level and bounding-box lines; Rekognition picks the use case with more lines and does not use lines of the other kind.",
        "Put image-level and bounding-box labels in separate projects, or relabel these lines in the chosen format."
    ),
    code!(
        "REKCHECK_BUCKET_NAME",
        Warn,
        Rekcheck,
        "",
        "The source-ref's bucket name breaks today's S3 naming rules (3-63 lower-case letters, digits, dots, hyphens). The documentation only requires s3://BUCKET/KEY (md-create-manifest-file-classification) and legacy buckets with upper case or _ exist, so this is a note, not ERROR_INVALID_SOURCE_REF_FORMAT; the message says whether the name can be a legacy bucket at all.",
        "Check that the bucket exists under exactly this name; if the name cannot be a bucket (a $VARIABLE, #), write the real bucket."
    ),
    code!(
        "REKCHECK_IMAGE_IN_TRAINING_AND_TESTING",
        Warn,
        Rekcheck,
        "",
        "The testing image is also in the training manifest. \"There should not be an overlap between test and training datasets\" (md-create-manifest-file-validation-rules), which names no error, so rekcheck warns; the line is still counted as used.",
        "Remove the image from one of the two manifests, so that the model is tested on images it was not trained on."
    ),
    code!(
        "REKCHECK_LABEL_OVERLAP_READING",
        Warn,
        Rekcheck,
        "",
        "The label overlap passes as md-create-manifest-file-validation-rules defines it (common labels / training labels, what rekcheck check follows) but fails as tm-debugging-aggregate-errors words it (a share of the testing labels); under that reading Rekognition would report the overlap error named in the message.",
        "Add training images for the testing labels that training lacks (listed in the message), so that both readings pass."
    ),
    code!(
        "REKCHECK_LABEL_MINIMUM_READING",
        Warn,
        Rekcheck,
        "",
        "The bounding-box dataset has one label: enough on the limits page (object detection needs 1, what rekcheck check follows), too few on md-create-manifest-file-validation-rules and tm-debugging-aggregate-errors (2); under their reading Rekognition reports ERROR_MANIFEST_TOO_FEW_LABELS.",
        "Add boxes of a second label, so that every page's minimum is met."
    ),
    code!(
        "REKCHECK_TOO_MANY_LABELS_PER_IMAGE",
        Error,
        Rekcheck,
        "",
        "The image has more than 50 distinct labels, Rekognition's limit per image (limits page); no code is documented for it, so rekcheck predicts the line is not used.",
        "Keep at most 50 labels on the image: drop the least useful label attributes or class-map entries."
    ),
    code!(
        "REKCHECK_MULTILABEL_TYPE",
        Warn,
        Rekcheck,
        "",
        "The metadata type is groundtruth/image-classification-multilabel, as AWS's conversion script writes it (md-gt-cl-transform); no page lists it as supported (ERROR_UNSUPPORTED_USE_CASE_TYPE names two types), so rekcheck reads the attribute as an image-level label and warns instead of failing.",
        "Set the type to groundtruth/image-classification to be sure Rekognition uses the label."
    ),
    code!(
        "REKCHECK_TOO_MANY_ISSUES",
        Warn,
        Rekcheck,
        "",
        "The line has more issues than rekcheck lists per line; the first ones are listed, the others are counted in this row's message and in the line's errors and warnings columns.",
        "Fix the issues listed and run rekcheck again, or raise --max-issues-per-line to list more."
    ),
    code!(
        "REKCHECK_MAX_LINES",
        Error,
        Rekcheck,
        "",
        "The manifest has more lines than rekcheck analyzes (--max-lines, by default four times Rekognition's limit of 250,000 lines); the lines after the limit were counted but not analyzed, so the report covers only the first ones.",
        "Split the manifest (Rekognition accepts at most 250,000 lines anyway), or raise --max-lines to analyze more."
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_holds_every_documented_code_once() {
        let errors = CODES
            .iter()
            .filter(|c| c.code.starts_with("ERROR_"))
            .count();
        let warnings = CODES
            .iter()
            .filter(|c| c.code.starts_with("WARNING_"))
            .count();
        assert_eq!(errors, 36);
        assert_eq!(warnings, 3);
        for (i, c) in CODES.iter().enumerate() {
            assert!(!c.meaning.is_empty() && !c.fix.is_empty(), "{}", c.code);
            assert!(
                CODES[i + 1..].iter().all(|d| d.code != c.code),
                "duplicate {}",
                c.code
            );
            if c.code.starts_with("WARNING_") {
                assert_eq!(c.severity, Warn, "{}", c.code);
            } else if c.code.starts_with("ERROR_") {
                assert_eq!(c.severity, Error, "{}", c.code);
            }
        }
    }

    #[test]
    fn status_messages_map_back_to_codes() {
        let c = code_for_message("The manifest file contains too many invalid rows.").unwrap();
        assert_eq!(c.code, "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST");
        let c = code_for_message(
            "Less than 50% label overlap between the training and testing manifest files.",
        )
        .unwrap();
        assert_eq!(c.code, "ERROR_INSUFFICIENT_LABEL_OVERLAP");
        let c = code_for_message(
            "Less than 50% usable label overlap between the training and testing manifest files.",
        )
        .unwrap();
        assert_eq!(c.code, "ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP");
        assert!(code_for_message("The model is ready to run.").is_none());
    }
}
