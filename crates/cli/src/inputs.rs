//! Local inputs: which files to read, what they are, and which training they belong to.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rekcheck_analyze::{Dataset, ManifestSummary};
use serde_json::Value;

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
    pub(crate) path: PathBuf,
    pub(crate) display: String,
    pub(crate) kind: Kind,
    pub(crate) dataset: Dataset,
}

/// The files of one training: its summary (if any) and its manifests.
#[derive(Debug, Clone, Default)]
pub(crate) struct Group {
    pub(crate) project: String,
    pub(crate) version: String,
    pub(crate) summary: Option<Input>,
    pub(crate) extra_summaries: Vec<Input>,
    pub(crate) manifests: Vec<Input>,
}

/// A path that could not be used, and why.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) what: String,
    pub(crate) error: anyhow::Error,
}

// Rekognition writes these names exactly, `.json` included.
#[allow(clippy::case_sensitive_file_extension_comparisons)]
fn folder_kind(name: &str) -> Option<Kind> {
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

fn read_versions(folder: &Path) -> anyhow::Result<Option<Versions>> {
    let path = folder.join(DESCRIBE_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = fs_err::read(&path)?;
    let doc: Value = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not valid JSON: save the output of `aws rekognition describe-project-versions` there, or remove it",
            path.display()
        )
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
    Ok(Some(versions))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Finds the inputs named by `paths`, grouped by training. Paths that cannot be read are
/// reported in `failures`; the others are still used.
pub(crate) fn discover(paths: &[PathBuf], failures: &mut Vec<Failure>) -> Vec<Group> {
    let mut found: Vec<(PathBuf, Input)> = Vec::new(); // (folder, input)
    let mut seen = HashSet::new();
    for path in paths {
        let meta = match fs_err::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                failures.push(Failure {
                    what: display(path),
                    error: anyhow::Error::new(e).context("check the path, or name an s3:// object"),
                });
                continue;
            }
        };
        if meta.is_dir() {
            walk(path, &mut found, &mut seen, failures);
        } else {
            let key = fs_err::canonicalize(path).unwrap_or_else(|_| path.clone());
            if !seen.insert(key) {
                continue;
            }
            let kind = match fs_err::File::open(path) {
                Ok(f) => {
                    if ManifestSummary::sniff(f).is_some() {
                        Kind::Summary
                    } else {
                        Kind::Manifest
                    }
                }
                Err(e) => {
                    failures.push(Failure {
                        what: display(path),
                        error: e.into(),
                    });
                    continue;
                }
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
            found.push((
                folder,
                Input {
                    path: path.clone(),
                    display: display(path),
                    kind,
                    dataset: Dataset::from_file_name(&name),
                },
            ));
        }
    }
    group(found, failures)
}

fn walk(
    dir: &Path,
    found: &mut Vec<(PathBuf, Input)>,
    seen: &mut HashSet<PathBuf>,
    failures: &mut Vec<Failure>,
) {
    let entries = match fs_err::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            failures.push(Failure {
                what: display(dir),
                error: e.into(),
            });
            return;
        }
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, found, seen, failures);
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(kind) = folder_kind(&name) else {
            continue;
        };
        let key = fs_err::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if !seen.insert(key) {
            continue;
        }
        found.push((
            dir.to_path_buf(),
            Input {
                display: display(&path),
                path,
                kind,
                dataset: Dataset::from_file_name(&name),
            },
        ));
    }
}

fn group(found: Vec<(PathBuf, Input)>, failures: &mut Vec<Failure>) -> Vec<Group> {
    let mut versions_cache: HashMap<PathBuf, Option<Versions>> = HashMap::new();
    let mut order: Vec<(PathBuf, String, String)> = Vec::new();
    let mut groups: BTreeMap<(PathBuf, String, String), Group> = BTreeMap::new();
    for (folder, input) in found {
        let versions = versions_cache.entry(folder.clone()).or_insert_with(|| {
            read_versions(&folder).unwrap_or_else(|error| {
                failures.push(Failure {
                    what: display(&folder.join(DESCRIBE_FILE)),
                    error,
                });
                None
            })
        });
        let name = input
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (project, version) = versions
            .as_ref()
            .and_then(|v| v.by_file.get(&name).cloned().or_else(|| v.single.clone()))
            .unwrap_or_default();
        let key = (folder, project.clone(), version.clone());
        let g = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Group {
                project,
                version,
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
