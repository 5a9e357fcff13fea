//! Paths and S3 locations: which files to read, what they are, and which training they belong to.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rekcheck_analyze::{Dataset, ManifestSummary};
use rekcheck_fetch::{Fetcher, S3Location, Source};
use serde_json::Value;

use crate::error::{Failure, PipelineError};

/// The names rekcheck recognises in a folder.
pub(crate) const EXPECTED_NAMES: &str = "ManifestSummary-<project>-<version>.json, \
TrainingManifestWithValidation-<project>-<version>.json, \
TestingManifestWithValidation-<project>-<version>.json, manifest_summary.json, \
training_manifest_with_validation.json or testing_manifest_with_validation.json";

const DESCRIBE_FILE: &str = "describe-project-versions.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Summary,
    Manifest,
}

/// One manifest or summary, and the training it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub(crate) source: Source,
    pub(crate) display: String,
    pub(crate) kind: Kind,
    pub(crate) dataset: Dataset,
    /// Size in bytes, when known (for progress).
    pub(crate) size: Option<u64>,
}

/// The files of one training: its summary (if any) and its manifests.
#[derive(Debug, Clone, Default)]
pub(crate) struct Group {
    pub(crate) project: String,
    pub(crate) version: String,
    pub(crate) summary: Option<Input>,
    pub(crate) extra_summaries: Vec<Input>,
    pub(crate) manifests: Vec<Input>,
    /// For a version found through Rekognition: its failed status as `(code, message)`.
    pub(crate) status_issue: Option<(String, String)>,
    /// For a version found through Rekognition: what `DescribeProjectVersions` said.
    pub(crate) version_info: Option<rekcheck_locate::ProjectVersion>,
    /// Status and times of the version, when known (from Rekognition or a
    /// `describe-project-versions.json`).
    pub(crate) meta: Option<VersionMeta>,
}

/// What `DescribeProjectVersions` says of a version, as text for `versions.csv`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VersionMeta {
    pub(crate) status: String,
    pub(crate) status_message: String,
    pub(crate) created: String,
    pub(crate) training_ended: String,
}

// Rekognition writes these names exactly, `.json` included.
#[allow(clippy::case_sensitive_file_extension_comparisons)]
pub(crate) fn folder_kind(name: &str) -> Option<Kind> {
    if name == "manifest_summary.json"
        || (name.starts_with("ManifestSummary-") && name.ends_with(".json"))
    {
        Some(Kind::Summary)
    } else if name == "training_manifest_with_validation.json"
        || name == "testing_manifest_with_validation.json"
        || ((name.starts_with("TrainingManifestWithValidation-")
            || name.starts_with("TestingManifestWithValidation-"))
            && name.ends_with(".json"))
    {
        Some(Kind::Manifest)
    } else {
        None
    }
}

/// Project and version names of the versions in a `describe-project-versions.json`.
#[derive(Debug, Default)]
struct Versions {
    /// File name of a validation manifest or summary -> (project, version).
    by_file: HashMap<String, (String, String)>,
    /// The one version described, when there is exactly one.
    single: Option<(String, String)>,
    /// Status and times per (project, version).
    meta: HashMap<(String, String), VersionMeta>,
}

/// `(project, version)` from `arn:aws:rekognition:R:A:project/<project>/version/<version>/<ts>`.
pub(crate) fn names_from_version_arn(arn: &str) -> Option<(String, String)> {
    let rest = arn.split_once(":project/")?.1;
    let mut parts = rest.split('/');
    let project = parts.next()?;
    if parts.next()? != "version" {
        return None;
    }
    let version = parts.next()?;
    Some((project.to_owned(), version.to_owned()))
}

fn parse_versions(bytes: &[u8], what: &str) -> Result<Versions, PipelineError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        PipelineError::Input(format!(
            "{what} is not valid JSON ({e}): save the output of `aws rekognition describe-project-versions` there, or remove it"
        ))
    })?;
    let mut versions = Versions::default();
    let list = doc
        .get("ProjectVersionDescriptions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut all = Vec::new();
    for v in &list {
        let Some(names) = v
            .get("ProjectVersionArn")
            .and_then(Value::as_str)
            .and_then(names_from_version_arn)
        else {
            continue;
        };
        all.push(names.clone());
        // The AWS CLI prints timestamps as text; the API sends epoch seconds.
        let time = |key: &str| match v.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.as_f64().map_or_else(String::new, |secs| {
                crate::time::rfc3339(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(secs.max(0.0)),
                )
            }),
            _ => String::new(),
        };
        let text = |key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
        versions.meta.insert(
            names.clone(),
            VersionMeta {
                status: text("Status"),
                status_message: text("StatusMessage"),
                created: time("CreationTimestamp"),
                training_ended: time("TrainingEndTimestamp"),
            },
        );
        let mut objects: Vec<&Value> = Vec::new();
        objects.extend(v.pointer("/ManifestSummary/S3Object"));
        for side in ["TrainingDataResult", "TestingDataResult"] {
            if let Some(assets) = v
                .pointer(&format!("/{side}/Validation/Assets"))
                .and_then(Value::as_array)
            {
                objects.extend(
                    assets
                        .iter()
                        .filter_map(|a| a.pointer("/GroundTruthManifest/S3Object")),
                );
            }
        }
        for o in objects {
            if let Some(name) = o.get("Name").and_then(Value::as_str) {
                let base = name.rsplit('/').next().unwrap_or(name);
                versions.by_file.insert(base.to_owned(), names.clone());
            }
        }
    }
    if all.len() == 1 {
        versions.single = all.pop();
    }
    Ok(versions)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// A found file, with the folder (local path or `s3://bucket/prefix/`) it groups by.
struct Found {
    folder: String,
    input: Input,
}

/// Finds the inputs named by `paths` (local paths, `s3://bucket/key`, `s3://bucket/prefix/`),
/// grouped by training. Paths that cannot be read are reported in `failures`; the others are
/// still used.
pub(crate) fn discover(
    paths: &[String],
    fetcher: &Fetcher,
    runtime: &tokio::runtime::Handle,
    failures: &mut Vec<Failure>,
) -> Vec<Group> {
    let mut found: Vec<Found> = Vec::new();
    let mut describe: HashMap<String, Source> = HashMap::new();
    let mut seen = HashSet::new();
    for arg in paths {
        if arg.starts_with("s3://") {
            discover_s3(
                arg,
                fetcher,
                runtime,
                &mut found,
                &mut describe,
                &mut seen,
                failures,
            );
            continue;
        }
        let path = PathBuf::from(arg);
        let meta = match fs_err::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                failures.push(Failure {
                    what: arg.clone(),
                    error: PipelineError::Input(format!(
                        "cannot read it ({e}); check the path, or name an s3:// object or prefix"
                    )),
                });
                continue;
            }
        };
        if meta.is_dir() {
            walk(&path, &mut found, &mut describe, &mut seen, failures);
        } else {
            let key = fs_err::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if !seen.insert(key.display().to_string()) {
                continue;
            }
            let folder = path.parent().map(display).unwrap_or_default();
            let local_describe = path.with_file_name(DESCRIBE_FILE);
            if local_describe.is_file() {
                describe.insert(folder.clone(), Source::Local(local_describe));
            }
            let source = Source::Local(path.clone());
            if let Some(input) =
                sniffed_input(source, arg.clone(), Some(meta.len()), fetcher, failures)
            {
                found.push(Found { folder, input });
            }
        }
    }
    group(found, &describe, fetcher, failures)
}

/// An input named directly: a summary when it is one JSON object with `statistics`, else a
/// manifest, whatever its name.
fn sniffed_input(
    source: Source,
    display: String,
    size: Option<u64>,
    fetcher: &Fetcher,
    failures: &mut Vec<Failure>,
) -> Option<Input> {
    let kind = match fetcher.open(&source) {
        Ok(reader) => {
            if ManifestSummary::sniff(reader).is_some() {
                Kind::Summary
            } else {
                Kind::Manifest
            }
        }
        Err(e) => {
            failures.push(Failure {
                what: display,
                error: PipelineError::from(e),
            });
            return None;
        }
    };
    let dataset = Dataset::from_file_name(&source.file_name());
    Some(Input {
        source,
        display,
        kind,
        dataset,
        size,
    })
}

#[allow(clippy::too_many_arguments)]
fn discover_s3(
    arg: &str,
    fetcher: &Fetcher,
    runtime: &tokio::runtime::Handle,
    found: &mut Vec<Found>,
    describe: &mut HashMap<String, Source>,
    seen: &mut HashSet<String>,
    failures: &mut Vec<Failure>,
) {
    let location = match arg.parse::<S3Location>() {
        Ok(l) => l,
        Err(e) => {
            failures.push(Failure {
                what: arg.to_owned(),
                error: PipelineError::Input(e.to_string()),
            });
            return;
        }
    };
    let Some(s3) = fetcher.s3() else {
        return;
    };
    let folder_of = |l: &S3Location| format!("s3://{}/{}", l.bucket, l.parent_prefix());
    if !location.is_prefix() {
        if !seen.insert(location.to_string()) {
            return;
        }
        let folder = folder_of(&location);
        let source = Source::S3(location.clone());
        if let Some(input) = sniffed_input(source, location.to_string(), None, fetcher, failures) {
            found.push(Found { folder, input });
        }
        return;
    }
    let listed = match runtime.block_on(s3.list(&location)) {
        Ok(l) => l,
        Err(e) => {
            failures.push(Failure {
                what: arg.to_owned(),
                error: PipelineError::from(e),
            });
            return;
        }
    };
    for object in listed {
        let name = object.location.file_name().to_owned();
        let folder = folder_of(&object.location);
        if name == DESCRIBE_FILE {
            describe.insert(folder, Source::S3(object.location));
            continue;
        }
        let Some(kind) = folder_kind(&name) else {
            continue;
        };
        if !seen.insert(object.location.to_string()) {
            continue;
        }
        found.push(Found {
            folder,
            input: Input {
                display: object.location.to_string(),
                dataset: Dataset::from_file_name(&name),
                source: Source::S3(object.location),
                kind,
                size: Some(object.size),
            },
        });
    }
}

fn walk(
    dir: &Path,
    found: &mut Vec<Found>,
    describe: &mut HashMap<String, Source>,
    seen: &mut HashSet<String>,
    failures: &mut Vec<Failure>,
) {
    let entries = match fs_err::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            failures.push(Failure {
                what: display(dir),
                error: PipelineError::Fetch(e.into()),
            });
            return;
        }
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    let folder = display(dir);
    for path in entries {
        if path.is_dir() {
            walk(&path, found, describe, seen, failures);
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == DESCRIBE_FILE {
            describe.insert(folder.clone(), Source::Local(path));
            continue;
        }
        let Some(kind) = folder_kind(&name) else {
            continue;
        };
        let key = fs_err::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if !seen.insert(key.display().to_string()) {
            continue;
        }
        let size = fs_err::metadata(&path).ok().map(|m| m.len());
        found.push(Found {
            folder: folder.clone(),
            input: Input {
                display: display(&path),
                source: Source::Local(path),
                kind,
                dataset: Dataset::from_file_name(&name),
                size,
            },
        });
    }
}

fn group(
    found: Vec<Found>,
    describe: &HashMap<String, Source>,
    fetcher: &Fetcher,
    failures: &mut Vec<Failure>,
) -> Vec<Group> {
    let mut versions_cache: HashMap<String, Option<Versions>> = HashMap::new();
    let mut order: Vec<(String, String, String)> = Vec::new();
    let mut groups: BTreeMap<(String, String, String), Group> = BTreeMap::new();
    for Found { folder, input } in found {
        let versions = versions_cache.entry(folder.clone()).or_insert_with(|| {
            let source = describe.get(&folder)?;
            let parsed = fetcher
                .read_all(source)
                .map_err(PipelineError::from)
                .and_then(|bytes| parse_versions(&bytes, &source.to_string()));
            match parsed {
                Ok(v) => Some(v),
                Err(error) => {
                    failures.push(Failure {
                        what: source.to_string(),
                        error,
                    });
                    None
                }
            }
        });
        let name = input.source.file_name();
        let (project, version) = versions
            .as_ref()
            .and_then(|v| v.by_file.get(&name).cloned().or_else(|| v.single.clone()))
            .unwrap_or_default();
        let meta = versions
            .as_ref()
            .and_then(|v| v.meta.get(&(project.clone(), version.clone())).cloned());
        let key = (folder, project.clone(), version.clone());
        let g = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Group {
                project,
                version,
                meta,
                ..Group::default()
            }
        });
        match input.kind {
            Kind::Summary if g.summary.is_none() => g.summary = Some(input),
            Kind::Summary => g.extra_summaries.push(input),
            Kind::Manifest => g.manifests.push(input),
        }
    }
    order
        .into_iter()
        .filter_map(|k| groups.remove(&k))
        .map(|mut g| {
            let rank = |d: Dataset| match d {
                Dataset::Training => 0,
                Dataset::Testing => 1,
                Dataset::Unknown => 2,
            };
            g.manifests.sort_by_key(|m| rank(m.dataset));
            g
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_arns_give_project_and_version() {
        assert_eq!(
            names_from_version_arn(
                "arn:aws:rekognition:us-east-1:111122223333:project/my-project/version/1/1690556751958"
            ),
            Some(("my-project".into(), "1".into()))
        );
        assert_eq!(
            names_from_version_arn("arn:aws:rekognition:us-east-1:1:project/p/1690474772815"),
            None
        );
    }

    #[test]
    fn folder_names_are_recognised() {
        assert_eq!(folder_kind("ManifestSummary-p-v.json"), Some(Kind::Summary));
        assert_eq!(folder_kind("manifest_summary.json"), Some(Kind::Summary));
        assert_eq!(
            folder_kind("TrainingManifestWithValidation-p-1.json"),
            Some(Kind::Manifest)
        );
        assert_eq!(
            folder_kind("testing_manifest_with_validation.json"),
            Some(Kind::Manifest)
        );
        assert_eq!(folder_kind("TrainingGroundTruth-p-1.json"), None);
        assert_eq!(folder_kind("describe-project-versions.json"), None);
    }
}
