//! Paths and S3 locations: which files to read, what they are, and which training they belong to.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rekcheck_analyze::{Dataset, ManifestSummary};
use rekcheck_fetch::{FetchError, Fetcher, S3Location, Source};
use serde_json::Value;

use crate::error::{Failure, PipelineError};
use crate::source::Named;

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
    /// Files named directly that could not be opened, with why (their failure is already
    /// among the run's failures): each still gets its `summary.csv` row.
    pub(crate) unread: Vec<(Input, String)>,
    /// For a version found through Rekognition: its failed status as `(code, message)`.
    pub(crate) status_issue: Option<(String, String)>,
    /// For a version found through Rekognition: what `DescribeProjectVersions` said.
    pub(crate) version_arn: Option<String>,
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

/// The prefixes of Rekognition's S3 names: `<prefix><project>-<version>.json`.
const S3_NAME_PREFIXES: [&str; 3] = [
    "ManifestSummary-",
    "TrainingManifestWithValidation-",
    "TestingManifestWithValidation-",
];

/// The `<project>-<version>` of one of Rekognition's S3 names (`ManifestSummary-<p>-<v>.json`,
/// `TrainingManifestWithValidation-<p>-<v>.json`, `TestingManifestWithValidation-<p>-<v>.json`):
/// the part the three files of one training share. `None` for any other name (the console's
/// names among them).
// Rekognition writes these names exactly, `.json` included.
#[allow(clippy::case_sensitive_file_extension_comparisons)]
pub(crate) fn training_key(name: &str) -> Option<&str> {
    let rest = S3_NAME_PREFIXES.iter().find_map(|p| name.strip_prefix(p))?;
    let key = rest.strip_suffix(".json")?;
    (!key.is_empty()).then_some(key)
}

/// Project and version from a `<project>-<version>` key when nothing better is known. Both
/// names may contain `-`, so the key is split where the version begins with the project's name
/// and a `.` (the console's default version name is `<project>.<UTC time>`), else at its only
/// `-`; when neither tells, the project is left empty and the version is the whole key.
pub(crate) fn names_from_key(key: &str) -> (String, String) {
    let dashes: Vec<usize> = key.match_indices('-').map(|(i, _)| i).collect();
    for &i in &dashes {
        let (project, version) = (&key[..i], &key[i + 1..]);
        if !project.is_empty()
            && version
                .strip_prefix(project)
                .is_some_and(|rest| rest.starts_with('.'))
        {
            return (project.to_owned(), version.to_owned());
        }
    }
    if let [i] = dashes[..]
        && i > 0
        && i + 1 < key.len()
    {
        return (key[..i].to_owned(), key[i + 1..].to_owned());
    }
    (String::new(), key.to_owned())
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

/// A path as text for the report: as it is, except that bytes that are not UTF-8 are written
/// `\xNN`, so that two names differing only in such bytes stay apart (`Path::display` would
/// write both as U+FFFD).
fn display(path: &Path) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// The folder a file groups by (with the `describe-project-versions.json` there): compared
/// as the path or S3 prefix itself, never as its display text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Folder {
    Local(PathBuf),
    /// `s3://bucket/prefix/`.
    S3(String),
}

impl Folder {
    fn display(&self) -> String {
        match self {
            Folder::Local(p) => display(p),
            Folder::S3(s) => s.clone(),
        }
    }
}

/// A found file, with the folder it groups by.
struct Found {
    folder: Folder,
    input: Input,
    /// Why it could not be opened, for a file named directly that could not be.
    unread: Option<String>,
}

impl Found {
    fn new(folder: Folder, input: Input) -> Found {
        Found {
            folder,
            input,
            unread: None,
        }
    }

    /// A file named directly that could not be opened: a manifest, as far as anyone knows.
    fn unread(
        folder: Folder,
        source: Source,
        display: String,
        dataset: Option<Dataset>,
        why: String,
    ) -> Found {
        let dataset = dataset.unwrap_or_else(|| Dataset::from_file_name(&source.file_name()));
        Found {
            folder,
            input: Input {
                source,
                display,
                kind: Kind::Manifest,
                dataset,
                size: None,
            },
            unread: Some(why),
        }
    }
}

/// The identity of an input, to read each file or object once: the canonical path (compared
/// as bytes) or the S3 location.
type Seen = HashSet<Source>;

/// Finds the inputs named by `paths` (local paths, `s3://bucket/key`, `s3://bucket/prefix/`),
/// grouped by training. Paths that cannot be read are reported in `failures`; the others are
/// still used. S3 manifests named directly, which are opened to be told from summaries, may
/// leave their open readers in `parked`.
pub(crate) fn discover(
    paths: &[Named],
    fetcher: &Fetcher,
    runtime: Option<&crate::rt::Handle>,
    failures: &mut Vec<Failure>,
    notes: &mut Vec<String>,
    parked: &mut Parked,
) -> Vec<Group> {
    let mut found: Vec<Found> = Vec::new();
    let mut describe: HashMap<Folder, Source> = HashMap::new();
    let mut seen = Seen::new();
    for Named {
        arg,
        source,
        dataset,
    } in paths
    {
        let Ok(crate::source::Source::Path(path)) = source else {
            #[cfg(feature = "s3")]
            if let Some(runtime) = runtime {
                discover_s3(
                    arg,
                    *dataset,
                    fetcher,
                    runtime,
                    &mut found,
                    &mut describe,
                    &mut seen,
                    failures,
                    parked,
                );
                continue;
            }
            #[cfg(not(feature = "s3"))]
            let _ = runtime;
            failures.push(Failure {
                what: arg.clone(),
                error: PipelineError::no_s3(),
            });
            continue;
        };
        let path = path.clone();
        let meta = match fs_err::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                let error = PipelineError::Input(format!(
                    "cannot read it ({e}); check the path, or name an s3:// object or prefix"
                ));
                found.push(Found::unread(
                    Folder::Local(path.parent().map(Path::to_owned).unwrap_or_default()),
                    Source::Local(path.clone()),
                    arg.clone(),
                    *dataset,
                    error.to_string(),
                ));
                failures.push(Failure {
                    what: arg.clone(),
                    error,
                });
                continue;
            }
        };
        if meta.is_dir() {
            if dataset.is_some() {
                notes.push(format!(
                    "{arg} is a folder: --dataset applies to files named directly; in a folder the dataset comes from the file names"
                ));
            }
            walk(&path, &mut found, &mut describe, &mut seen, failures);
        } else {
            let key = fs_err::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if !seen.insert(Source::Local(key)) {
                continue;
            }
            let folder = Folder::Local(path.parent().map(Path::to_owned).unwrap_or_default());
            let local_describe = path.with_file_name(DESCRIBE_FILE);
            if local_describe.is_file() {
                describe.insert(folder.clone(), Source::Local(local_describe));
            }
            let source = Source::Local(path.clone());
            match sniffed_input(
                source,
                arg.clone(),
                Some(meta.len()),
                *dataset,
                fetcher,
                parked,
            ) {
                Ok(input) => {
                    let kind = input.kind;
                    found.push(Found::new(folder.clone(), input));
                    if kind == Kind::Manifest {
                        summary_beside(&path, folder, &mut found, &mut seen);
                    }
                }
                Err(error) => {
                    found.push(Found::unread(
                        folder,
                        Source::Local(path.clone()),
                        arg.clone(),
                        *dataset,
                        error.to_string(),
                    ));
                    failures.push(Failure {
                        what: arg.clone(),
                        error,
                    });
                }
            }
        }
    }
    group(found, &describe, fetcher, failures, notes)
}

/// The manifest summary beside a manifest named directly, used as in a folder: for
/// `…ManifestWithValidation-<p>-<v>.json` the `ManifestSummary-<p>-<v>.json` there, for any
/// other name the console's `manifest_summary.json` there (local files only).
fn summary_beside(manifest: &Path, folder: Folder, found: &mut Vec<Found>, seen: &mut Seen) {
    let name = manifest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let summary_name = match training_key(&name) {
        Some(key) => format!("ManifestSummary-{key}.json"),
        None => "manifest_summary.json".to_owned(),
    };
    let path = manifest.with_file_name(&summary_name);
    let Ok(meta) = fs_err::metadata(&path) else {
        return;
    };
    if !meta.is_file() {
        return;
    }
    let key = fs_err::canonicalize(&path).unwrap_or_else(|_| path.clone());
    if !seen.insert(Source::Local(key)) {
        return;
    }
    found.push(Found::new(
        folder,
        Input {
            display: display(&path),
            source: Source::Local(path),
            kind: Kind::Summary,
            dataset: Dataset::Unknown,
            size: Some(meta.len()),
        },
    ));
}

/// An input named directly: a summary when it is one JSON object with `statistics`, else a
/// manifest, whatever its name; of `dataset` when the user says so.
///
/// An S3 manifest's reader is parked in `parked` once sniffed, so that the report reads the
/// object from this one request instead of asking S3 for it a second time.
fn sniffed_input(
    source: Source,
    display: String,
    size: Option<u64>,
    dataset: Option<Dataset>,
    fetcher: &Fetcher,
    parked: &mut Parked,
) -> Result<Input, PipelineError> {
    let mut error = None;
    // Only an S3 manifest's reader is parked: a local file is opened again at no cost.
    let park = matches!(source, Source::S3(_));
    let mut reader = FirstError {
        inner: Recorded::new(fetcher.open(&source)?, park),
        read: 0,
        error: &mut error,
    };
    let kind = if ManifestSummary::sniff(&mut reader).is_some() {
        Kind::Summary
    } else {
        Kind::Manifest
    };
    let recorded = reader.inner;
    // An object that cannot be read at all (S3 opens lazily: a missing key fails on the first
    // read) is reported here, as a missing local file is.
    match error {
        Some((e, 0)) => return Err(rekcheck_fetch::into_fetch_error(e).into()),
        Some(_) => {}
        None => {
            if kind == Kind::Manifest && park {
                parked.park(&source, recorded);
            }
        }
    }
    let dataset = match kind {
        Kind::Summary => Dataset::Unknown,
        Kind::Manifest => dataset.unwrap_or_else(|| Dataset::from_file_name(&source.file_name())),
    };
    Ok(Input {
        source,
        display,
        kind,
        dataset,
        size,
    })
}

/// The most bytes a sniff may have read for its reader to be parked: a manifest's first line
/// and the buffer around it (a longer first line is read again with a new request).
const MAX_RECORDED_BYTES: usize = 1 << 20;

/// A reader that keeps the bytes read through it (up to [`MAX_RECORDED_BYTES`]), so that it can
/// be handed on from its first byte.
struct Recorded {
    inner: Box<dyn std::io::Read + Send>,
    /// What was read, or `None` when not recording or once that was more than
    /// [`MAX_RECORDED_BYTES`].
    kept: Option<Vec<u8>>,
}

impl Recorded {
    fn new(inner: Box<dyn std::io::Read + Send>, record: bool) -> Recorded {
        Recorded {
            inner,
            kept: record.then(Vec::new),
        }
    }
}

impl std::io::Read for Recorded {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(kept) = &mut self.kept {
            if kept.len() + n > MAX_RECORDED_BYTES {
                self.kept = None;
            } else {
                kept.extend_from_slice(&buf[..n]);
            }
        }
        Ok(n)
    }
}

/// Readers of S3 manifests opened to tell them from summaries, kept to be read from their start
/// by the report: at most `limit` at a time, each bounded by its reader's buffer (a download
/// waits while its buffer is full). Those past the limit, or whose sniff read too much, are
/// dropped (which cancels their download) and opened again when their turn comes.
pub(crate) struct Parked {
    readers: Vec<(Source, Box<dyn std::io::Read + Send>)>,
    limit: usize,
}

impl Parked {
    /// Room for `limit` readers (the report's open-ahead window).
    pub(crate) fn new(limit: usize) -> Parked {
        Parked {
            readers: Vec::new(),
            limit,
        }
    }

    fn park(&mut self, source: &Source, recorded: Recorded) {
        if self.readers.len() >= self.limit {
            return;
        }
        if let Some(kept) = recorded.kept {
            let reader = std::io::Read::chain(std::io::Cursor::new(kept), recorded.inner);
            self.readers.push((source.clone(), Box::new(reader)));
        }
    }

    /// The parked reader of `source`, from its first byte, if there is one.
    pub(crate) fn take(&mut self, source: &Source) -> Option<Box<dyn std::io::Read + Send>> {
        let at = self.readers.iter().position(|(s, _)| s == source)?;
        Some(self.readers.swap_remove(at).1)
    }
}

/// A reader that keeps its first error, with the bytes read before it.
struct FirstError<'a, R> {
    inner: R,
    read: u64,
    error: &'a mut Option<(std::io::Error, u64)>,
}

impl<R: std::io::Read> std::io::Read for FirstError<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.read += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let again = std::io::Error::new(e.kind(), e.to_string());
                if self.error.is_none() {
                    *self.error = Some((e, self.read));
                }
                Err(again)
            }
        }
    }
}

/// Whether `location` (no object) is a prefix: one `ListObjectsV2` of at most one key under
/// `<key>/`, not retried (it only adds a hint to an error).
#[cfg(feature = "s3")]
fn is_prefix(
    s3: &rekcheck_fetch::S3Source,
    runtime: &tokio::runtime::Handle,
    location: &S3Location,
) -> bool {
    let listed = runtime.block_on(
        s3.client()
            .list_objects_v2()
            .bucket(&location.bucket)
            .prefix(format!("{}/", location.key))
            .max_keys(1)
            .send(),
    );
    listed.is_ok_and(|page| !page.contents().is_empty())
}

#[cfg(feature = "s3")]
#[allow(clippy::too_many_arguments)]
fn discover_s3(
    arg: &str,
    dataset: Option<Dataset>,
    fetcher: &Fetcher,
    runtime: &tokio::runtime::Handle,
    found: &mut Vec<Found>,
    describe: &mut HashMap<Folder, Source>,
    seen: &mut Seen,
    failures: &mut Vec<Failure>,
    parked: &mut Parked,
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
    let folder_of = |l: &S3Location| Folder::S3(format!("s3://{}/{}", l.bucket, l.parent_prefix()));
    if !location.is_prefix() {
        if !seen.insert(Source::S3(location.clone())) {
            return;
        }
        let folder = folder_of(&location);
        let source = Source::S3(location.clone());
        match sniffed_input(source, location.to_string(), None, dataset, fetcher, parked) {
            Ok(input) => found.push(Found::new(folder, input)),
            Err(error) => {
                let error = match error {
                    PipelineError::Fetch(FetchError::NotFound { .. })
                        if is_prefix(s3, runtime, &location) =>
                    {
                        PipelineError::Input(format!(
                            "{location} is not an object but a prefix: add a trailing / to list it ({location}/)"
                        ))
                    }
                    e => e,
                };
                found.push(Found::unread(
                    folder,
                    Source::S3(location.clone()),
                    location.to_string(),
                    dataset,
                    error.to_string(),
                ));
                failures.push(Failure {
                    what: location.to_string(),
                    error,
                });
            }
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
        if !seen.insert(Source::S3(object.location.clone())) {
            continue;
        }
        found.push(Found::new(
            folder,
            Input {
                display: object.location.to_string(),
                dataset: Dataset::from_file_name(&name),
                source: Source::S3(object.location),
                kind,
                size: Some(object.size),
            },
        ));
    }
}

fn walk(
    dir: &Path,
    found: &mut Vec<Found>,
    describe: &mut HashMap<Folder, Source>,
    seen: &mut Seen,
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
    let folder = Folder::Local(dir.to_owned());
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
        if !seen.insert(Source::Local(key)) {
            continue;
        }
        let size = fs_err::metadata(&path).ok().map(|m| m.len());
        found.push(Found::new(
            folder.clone(),
            Input {
                display: display(&path),
                source: Source::Local(path),
                kind,
                dataset: Dataset::from_file_name(&name),
                size,
            },
        ));
    }
}

/// The project and version of a file: from the `describe-project-versions.json` of its folder
/// (the version that lists it by name, the version whose `<project>-<version>` is in its name,
/// or the only version described), else from its name (see [`names_from_key`]), else unknown.
fn names_of(name: &str, versions: Option<&Versions>) -> (String, String) {
    if let Some(v) = versions
        && let Some(names) = v.by_file.get(name)
    {
        return names.clone();
    }
    match training_key(name) {
        Some(key) => versions
            .and_then(|v| {
                v.meta
                    .keys()
                    .find(|(p, ver)| {
                        key.strip_prefix(p.as_str())
                            .and_then(|r| r.strip_prefix('-'))
                            == Some(ver.as_str())
                    })
                    .cloned()
            })
            .unwrap_or_else(|| names_from_key(key)),
        None => versions.and_then(|v| v.single.clone()).unwrap_or_default(),
    }
}

fn group(
    found: Vec<Found>,
    describe: &HashMap<Folder, Source>,
    fetcher: &Fetcher,
    failures: &mut Vec<Failure>,
    notes: &mut Vec<String>,
) -> Vec<Group> {
    let mut versions_cache: HashMap<Folder, Option<Versions>> = HashMap::new();
    let mut order: Vec<(Folder, String, String)> = Vec::new();
    let mut groups: BTreeMap<(Folder, String, String), Group> = BTreeMap::new();
    for Found {
        folder,
        input,
        unread,
    } in found
    {
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
        let (project, version) = names_of(&name, versions.as_ref());
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
        if let Some(why) = unread {
            g.unread.push((input, why));
            continue;
        }
        match input.kind {
            Kind::Summary if g.summary.is_none() => g.summary = Some(input),
            Kind::Summary => g.extra_summaries.push(input),
            Kind::Manifest => g.manifests.push(input),
        }
    }
    // Trainings whose names are unknown in several folders: the folder tells them apart, so
    // that their rows and aggregates never merge.
    let unnamed = order
        .iter()
        .filter(|(_, p, v)| p.is_empty() && v.is_empty())
        .count();
    let mut out = Vec::with_capacity(order.len());
    for key in order {
        let Some(mut g) = groups.remove(&key) else {
            continue;
        };
        if unnamed > 1 && g.project.is_empty() && g.version.is_empty() {
            g.version = key.0.display();
            notes.push(format!(
                "{}: no project or version names (no describe-project-versions.json, console file names); its rows carry the folder as the version",
                g.version
            ));
        }
        let rank = |d: Dataset| match d {
            Dataset::Training => 0,
            Dataset::Testing => 1,
            Dataset::Unknown => 2,
        };
        g.manifests.sort_by_key(|m| rank(m.dataset));
        out.push(g);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(key: &str) -> Source {
        Source::S3(format!("s3://parked-bucket/{key}").parse().unwrap())
    }

    /// A reader of `text` of which `sniffed` bytes were read through the recorder.
    fn sniffed(text: &[u8], sniffed: usize) -> Recorded {
        let mut r = Recorded::new(Box::new(std::io::Cursor::new(text.to_vec())), true);
        let mut head = vec![0; sniffed];
        std::io::Read::read_exact(&mut r, &mut head).unwrap();
        r
    }

    /// Everything the parked reader of `key` reads, from its first byte.
    fn take_all(parked: &mut Parked, key: &str) -> Vec<u8> {
        let mut all = Vec::new();
        parked
            .take(&s3(key))
            .unwrap()
            .read_to_end(&mut all)
            .unwrap();
        all
    }

    #[test]
    fn a_parked_reader_is_read_from_its_first_byte_within_the_limits() {
        let mut parked = Parked::new(2);
        parked.park(&s3("a"), sniffed(b"abcdef", 2));
        parked.park(&s3("b"), sniffed(b"ghijkl", 6));
        // Past the limit: not kept.
        parked.park(&s3("c"), sniffed(b"mnopqr", 1));
        assert_eq!(take_all(&mut parked, "a"), b"abcdef");
        assert!(parked.take(&s3("a")).is_none(), "taken once");
        assert!(parked.take(&s3("c")).is_none());
        assert_eq!(take_all(&mut parked, "b"), b"ghijkl");
        // A sniff that read more than it may keep: opened again instead.
        let long = vec![b'x'; MAX_RECORDED_BYTES + 2];
        parked.park(&s3("d"), sniffed(&long, MAX_RECORDED_BYTES + 1));
        assert!(parked.take(&s3("d")).is_none());
        parked.park(&s3("e"), sniffed(&long, MAX_RECORDED_BYTES));
        assert_eq!(take_all(&mut parked, "e"), long);
    }

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

    #[test]
    fn rekognition_names_give_the_training_and_its_names() {
        let key = training_key("ManifestSummary-pet-finder-pet-finder.2026-11-01T09.00.00.json");
        assert_eq!(key, Some("pet-finder-pet-finder.2026-11-01T09.00.00"));
        assert_eq!(
            training_key("TestingManifestWithValidation-a-b-c.json"),
            Some("a-b-c")
        );
        assert_eq!(training_key("manifest_summary.json"), None);
        assert_eq!(training_key("ManifestSummary-.json"), None);
        // The console's default version name begins with the project's.
        assert_eq!(
            names_from_key("pet-finder-pet-finder.2026-11-01T09.00.00"),
            ("pet-finder".into(), "pet-finder.2026-11-01T09.00.00".into())
        );
        assert_eq!(
            names_from_key("my-project-1"),
            (String::new(), "my-project-1".into())
        );
        assert_eq!(
            names_from_key("widgets-v3"),
            ("widgets".into(), "v3".into())
        );
    }

    #[test]
    fn two_versions_in_one_folder_are_two_groups() {
        let dir = tempfile::tempdir().unwrap();
        for v in ["1", "2"] {
            for kind in ["ManifestSummary", "TrainingManifestWithValidation"] {
                let body = if kind == "ManifestSummary" {
                    r#"{"statistics":{}}"#
                } else {
                    "{}\n"
                };
                std::fs::write(dir.path().join(format!("{kind}-p-{v}.json")), body).unwrap();
            }
        }
        let (groups, failures) = discover_local(dir.path());
        assert!(failures.is_empty());
        let got: Vec<(&str, &str, String, usize)> = groups
            .iter()
            .map(|g| {
                (
                    g.project.as_str(),
                    g.version.as_str(),
                    g.summary.as_ref().unwrap().source.file_name(),
                    g.manifests.len(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("p", "1", "ManifestSummary-p-1.json".to_owned(), 1),
                ("p", "2", "ManifestSummary-p-2.json".to_owned(), 1)
            ]
        );
    }

    /// `name` with one byte that is not UTF-8 in place of `#`.
    #[cfg(unix)]
    fn with_byte(name: &str, b: u8) -> PathBuf {
        use std::os::unix::ffi::OsStrExt as _;
        let (head, tail) = name.split_once('#').unwrap();
        let mut bytes = head.as_bytes().to_vec();
        bytes.push(b);
        bytes.extend_from_slice(tail.as_bytes());
        PathBuf::from(std::ffi::OsStr::from_bytes(&bytes))
    }

    fn discover_local(dir: &Path) -> (Vec<Group>, Vec<Failure>) {
        let mut failures = Vec::new();
        let groups = discover(
            &[Named::parsed(dir.to_str().unwrap().to_owned(), None)],
            &Fetcher::local(),
            None,
            &mut failures,
            &mut Vec::new(),
            &mut Parked::new(1),
        );
        (groups, failures)
    }

    #[cfg(unix)]
    #[test]
    fn names_differing_only_in_invalid_utf8_are_different_inputs() {
        let dir = tempfile::tempdir().unwrap();
        for b in [0xfe, 0xff] {
            let name = with_byte("TrainingManifestWithValidation-p-#.json", b);
            std::fs::write(dir.path().join(name), "{}\n").unwrap();
        }
        let (groups, failures) = discover_local(dir.path());
        assert!(failures.is_empty());
        let names: Vec<&str> = groups
            .iter()
            .flat_map(|g| &g.manifests)
            .map(|m| m.display.as_str())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0].ends_with("-p-\\xFE.json"), "{names:?}");
        assert!(names[1].ends_with("-p-\\xFF.json"), "{names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn folders_differing_only_in_invalid_utf8_keep_their_own_describe_file() {
        let dir = tempfile::tempdir().unwrap();
        for (b, project) in [(0xfe, "first"), (0xff, "second")] {
            let folder = dir.path().join(with_byte("out-#", b));
            std::fs::create_dir(&folder).unwrap();
            std::fs::write(
                folder.join(DESCRIBE_FILE),
                format!(
                    r#"{{"ProjectVersionDescriptions":[{{"ProjectVersionArn":"arn:aws:rekognition:us-east-1:1:project/{project}/version/1/1"}}]}}"#
                ),
            )
            .unwrap();
            std::fs::write(
                folder.join("training_manifest_with_validation.json"),
                "{}\n",
            )
            .unwrap();
        }
        let (groups, failures) = discover_local(dir.path());
        assert!(failures.is_empty());
        let projects: Vec<(&str, usize)> = groups
            .iter()
            .map(|g| (g.project.as_str(), g.manifests.len()))
            .collect();
        assert_eq!(projects, [("first", 1), ("second", 1)]);
    }
}
