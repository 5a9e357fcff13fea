//! The manifest summary (`ManifestSummary-<project>-<version>.json`, `manifest_summary.json`).

use std::io::Read;

use serde::Deserialize;

/// A parsed manifest summary. Unknown keys are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ManifestSummary {
    /// Errors that span training and testing (e.g. `ERROR_INSUFFICIENT_LABEL_OVERLAP`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<SummaryError>,
    /// The per-dataset statistics.
    pub statistics: Statistics,
}

/// `statistics` of a manifest summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Statistics {
    /// The training side.
    #[serde(default)]
    pub training: Option<DatasetStatistics>,
    /// The testing side.
    #[serde(default)]
    pub testing: Option<DatasetStatistics>,
}

/// `statistics.training` or `statistics.testing`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct DatasetStatistics {
    /// `IMAGE_LEVEL_LABELS`, `OBJECT_LOCALIZATION` or `NOT_DETERMINED`.
    #[serde(default)]
    pub use_case: Option<String>,
    /// Lines in the manifest.
    #[serde(default)]
    pub total_json_lines: Option<u64>,
    /// Lines usable for training.
    #[serde(default)]
    pub valid_json_lines: Option<u64>,
    /// Lines not used because they are invalid.
    #[serde(default)]
    pub invalid_json_lines: Option<u64>,
    /// Lines with warnings only.
    #[serde(default)]
    pub ignored_json_lines: Option<u64>,
    /// `error_json_line_indices` (as in the schema and in real files).
    #[serde(default, deserialize_with = "null_as_default")]
    error_json_line_indices: Option<Vec<u64>>,
    /// `error_line_indices` (as the documentation's prose spells it).
    #[serde(default, deserialize_with = "null_as_default")]
    error_line_indices: Option<Vec<u64>>,
    /// Terminal content errors of this dataset.
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<SummaryError>,
}

impl DatasetStatistics {
    /// The indices of the lines with errors, from `error_json_line_indices` or, when that is
    /// absent, `error_line_indices`. Their base (0 or 1) is not documented.
    pub fn error_indices(&self) -> &[u64] {
        self.error_json_line_indices
            .as_deref()
            .or(self.error_line_indices.as_deref())
            .unwrap_or(&[])
    }
}

/// One `{code, message}` of a manifest summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct SummaryError {
    /// The `ERROR_…` code.
    #[serde(default)]
    pub code: String,
    /// The message.
    #[serde(default)]
    pub message: String,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl ManifestSummary {
    /// Parses a manifest summary (a leading UTF-8 byte order mark is skipped).
    ///
    /// # Errors
    ///
    /// The JSON error when `bytes` is not a manifest summary (not JSON, or no `statistics`
    /// object).
    ///
    /// # Example
    ///
    /// ```
    /// use rekcheck_analyze::ManifestSummary;
    ///
    /// let summary = ManifestSummary::from_slice(br#"{"statistics":{"training":{"total_json_lines":10,"invalid_json_lines":2,"error_json_line_indices":[3,7]}},"errors":[]}"#)?;
    /// let training = summary.statistics.training.unwrap();
    /// assert_eq!(training.invalid_json_lines, Some(2));
    /// assert_eq!(training.error_indices(), [3, 7]);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn from_slice(bytes: &[u8]) -> Result<ManifestSummary, serde_json::Error> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        serde_json::from_slice(bytes)
    }

    /// Reads `reader` as a manifest summary if it is one JSON object with a top-level
    /// `statistics` object; `None` otherwise (a JSON Lines manifest, or anything else). Only the
    /// beginning of a manifest is read: parsing stops at its second line, and never reads more
    /// than [`crate::DEFAULT_MAX_LINE_BYTES`] (16 MiB) in all, so a file that is one huge line is
    /// not held in memory: past the cap it is not a summary.
    pub fn sniff<R: Read>(reader: R) -> Option<ManifestSummary> {
        ManifestSummary::sniff_limited(reader, crate::DEFAULT_MAX_LINE_BYTES as u64)
    }

    /// Like [`ManifestSummary::sniff`], reading at most `max_bytes`.
    pub fn sniff_limited<R: Read>(reader: R, max_bytes: u64) -> Option<ManifestSummary> {
        let mut reader = std::io::BufReader::new(reader.take(max_bytes));
        let mut head = Vec::new();
        reader.by_ref().take(3).read_to_end(&mut head).ok()?;
        let head: &[u8] = if head == b"\xEF\xBB\xBF" { &[] } else { &head };
        let mut de = serde_json::Deserializer::from_reader(head.chain(reader));
        let summary = ManifestSummary::deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_example_with_either_index_key() {
        let doc = br#"{"errors":[],"statistics":{"training":{"use_case":"NOT_DETERMINED","total_json_lines":301,"valid_json_lines":146,"invalid_json_lines":155,"ignored_json_lines":0,"errors":[{"code":"ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST","message":"The manifest file contains too many invalid rows."}],"error_json_line_indices":[15,16,17]},"testing":{"use_case":"NOT_DETERMINED","total_json_lines":15,"error_line_indices":[13,15],"errors":[]}}}"#;
        let s = ManifestSummary::from_slice(doc).unwrap();
        let tr = s.statistics.training.as_ref().unwrap();
        assert_eq!(tr.total_json_lines, Some(301));
        assert_eq!(tr.error_indices(), &[15, 16, 17]);
        assert_eq!(tr.errors[0].code, "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST");
        assert_eq!(
            s.statistics.testing.as_ref().unwrap().error_indices(),
            &[13, 15]
        );
    }

    #[test]
    fn prefers_error_json_line_indices() {
        let doc = br#"{"statistics":{"training":{"error_json_line_indices":[1],"error_line_indices":[2]}}}"#;
        let s = ManifestSummary::from_slice(doc).unwrap();
        assert_eq!(s.statistics.training.unwrap().error_indices(), &[1]);
    }

    /// A reader of `{"source-ref":"aaaa…` that counts the bytes taken from it.
    struct Endless<'a> {
        given: &'a std::cell::Cell<u64>,
        total: u64,
    }

    impl Read for Endless<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let start: &[u8] = b"{\"statistics\":{\"training\":{\"errors\":[{\"message\":\"";
            let at = self.given.get();
            if at >= self.total {
                return Ok(0);
            }
            let n = buf
                .len()
                .min(usize::try_from(self.total - at).unwrap_or(usize::MAX));
            for (i, b) in buf[..n].iter_mut().enumerate() {
                let pos = usize::try_from(at).unwrap_or(usize::MAX).saturating_add(i);
                *b = start.get(pos).copied().unwrap_or(b'a');
            }
            self.given.set(at + n as u64);
            Ok(n)
        }
    }

    #[test]
    fn sniff_reads_no_more_than_the_line_cap() {
        let given = std::cell::Cell::new(0);
        let total = 4 * crate::DEFAULT_MAX_LINE_BYTES as u64;
        assert!(
            ManifestSummary::sniff(Endless {
                given: &given,
                total
            })
            .is_none()
        );
        assert!(
            given.get() <= crate::DEFAULT_MAX_LINE_BYTES as u64,
            "read {} bytes",
            given.get()
        );
        let given = std::cell::Cell::new(0);
        assert!(
            ManifestSummary::sniff_limited(
                Endless {
                    given: &given,
                    total
                },
                1000
            )
            .is_none()
        );
        assert!(given.get() <= 1000);
    }

    #[test]
    fn sniff_tells_summaries_from_manifests() {
        let pretty = b"\xEF\xBB\xBF{\n  \"errors\": null,\n  \"statistics\": {}\n}\n";
        assert!(ManifestSummary::sniff(&pretty[..]).is_some());
        let manifest = b"{\"source-ref\":\"s3://b/a.jpg\"}\n{\"source-ref\":\"s3://b/b.jpg\"}\n";
        assert!(ManifestSummary::sniff(&manifest[..]).is_none());
        // A one-line manifest has no statistics key.
        assert!(ManifestSummary::sniff(&b"{\"source-ref\":\"s3://b/a.jpg\"}"[..]).is_none());
        assert!(ManifestSummary::sniff(&b"not json"[..]).is_none());
    }
}
