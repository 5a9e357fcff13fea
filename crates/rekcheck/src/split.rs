//! The report split per version in a local folder, before it is uploaded or rearranged as
//! tables, and the names versions get in keys (see [`crate::upload`]'s documentation for the
//! encoding). Pure local work: no S3 call.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use rekcheck_analyze::{REPORT_FILES, ReportSummary, VERSIONS_FILE, safe_cell};
use rekcheck_fetch::FetchError;
use sha2::Digest as _;

use crate::error::{Failure, PipelineError};

/// The longest `<P>/<V>` folder (encoded project, `/`, encoded version) used as it is; longer
/// ones are replaced by their SHA-256 (see the module documentation). 512 bytes leave room in
/// S3's 1024-byte keys for an `--out` prefix of up to 498 bytes.
pub(crate) const MAX_VERSION_FOLDER_BYTES: usize = 512;

/// One project or version name as one S3 key segment (see the module documentation).
pub(crate) fn key_segment(name: &str) -> String {
    if name.is_empty() {
        return "~".to_owned();
    }
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The folder of a version's report under the `--out` prefix, without a trailing `/`.
pub(crate) fn version_folder(project: &str, version: &str) -> String {
    let (p, v) = folder_parts(project, version);
    format!("{p}/{v}")
}

/// The two segments of [`version_folder`]: the encoded names, or `~sha256` and the hash.
pub(crate) fn folder_parts(project: &str, version: &str) -> (String, String) {
    let (p, v) = (key_segment(project), key_segment(version));
    if p.len() + 1 + v.len() <= MAX_VERSION_FOLDER_BYTES {
        return (p, v);
    }
    let mut h = sha2::Sha256::new();
    h.update((project.len() as u64).to_be_bytes());
    h.update(project.as_bytes());
    h.update(version.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in &h.finalize() {
        let _ = write!(hex, "{b:02x}");
    }
    ("~sha256".to_owned(), hex)
}

pub(crate) fn files() -> impl Iterator<Item = &'static str> {
    REPORT_FILES.into_iter().chain([VERSIONS_FILE])
}

/// Every (project, version) of the run with rows of its own, as the report writer was given
/// them, in order; rows with neither name belong to no version unless `unnamed` (then they are
/// the version `("", "")`).
pub(crate) fn versions_of(summary: &ReportSummary, unnamed: bool) -> Vec<(String, String)> {
    let mut all: BTreeSet<(&str, &str)> = BTreeSet::new();
    all.extend(
        summary
            .manifests
            .iter()
            .map(|m| (m.context.project.as_str(), m.context.version.as_str())),
    );
    all.extend(
        summary
            .terminal
            .iter()
            .map(|(c, _)| (c.project.as_str(), c.version.as_str())),
    );
    all.extend(
        summary
            .versions
            .iter()
            .map(|v| (v.project.as_str(), v.version.as_str())),
    );
    all.extend(
        summary
            .codes
            .iter()
            .map(|c| (c.project.as_str(), c.version.as_str())),
    );
    all.extend(
        summary
            .labels
            .iter()
            .map(|l| (l.project.as_str(), l.version.as_str())),
    );
    all.into_iter()
        .filter(|(p, v)| unnamed || !p.is_empty() || !v.is_empty())
        .map(|(p, v)| (p.to_owned(), v.to_owned()))
        .collect()
}

/// What splitting found besides the files.
#[derive(Debug, Default)]
pub(crate) struct Split {
    /// Versions whose names the CSV cells cannot tell apart from another version's (a name
    /// starting with `'` and another that gets that `'` as the spreadsheet defusing prefix):
    /// they get no per-version copy rather than a mixed one.
    pub(crate) ambiguous: BTreeSet<usize>,
    /// Rows whose project and version cells match no version of the run, per file.
    pub(crate) unmatched: BTreeMap<&'static str, u64>,
}

/// Splits each CSV of `dir` into `dir/versions/<n>/`, `n` the index of the row's version in
/// `versions`. A row's version is found from its first two cells, which the report writer
/// renders from the raw names with [`safe_cell`]: the names are never parsed back out of the
/// cells, only matched against what each raw name renders to.
pub(crate) fn split_by_version(
    dir: &Path,
    versions: &[(String, String)],
    csv_raw: bool,
) -> Result<Split, PipelineError> {
    let io = |e: std::io::Error| PipelineError::Fetch(FetchError::Io(e));
    let csv_err = |e: csv::Error| PipelineError::Fetch(FetchError::Io(e.into()));
    let mut rendered: HashMap<(Vec<u8>, Vec<u8>), Vec<usize>> = HashMap::new();
    for (i, (p, v)) in versions.iter().enumerate() {
        let key = (
            safe_cell(p, csv_raw).as_bytes().to_vec(),
            safe_cell(v, csv_raw).as_bytes().to_vec(),
        );
        rendered.entry(key).or_default().push(i);
    }
    let mut split = Split::default();
    for same in rendered.values().filter(|v| v.len() > 1) {
        split.ambiguous.extend(same);
    }
    let new_file = |path: &Path| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                io(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", path.display()),
                ))
            })
    };
    let vdir = |i: usize| dir.join("versions").join(i.to_string());
    for i in 0..versions.len() {
        if !split.ambiguous.contains(&i) {
            fs_err::create_dir_all(vdir(i)).map_err(io)?;
        }
    }
    for name in files() {
        let mut reader = csv::Reader::from_path(dir.join(name)).map_err(csv_err)?;
        let header = reader.byte_headers().map_err(csv_err)?.clone();
        let csv_out = |f: std::fs::File| {
            csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(std::io::BufWriter::new(f))
        };
        // Every version gets all six files, with just the header where it has no rows.
        for i in (0..versions.len()).filter(|i| !split.ambiguous.contains(i)) {
            let mut w = csv_out(new_file(&vdir(i).join(name))?);
            w.write_byte_record(&header).map_err(csv_err)?;
            w.flush().map_err(io)?;
        }
        // Rows of a version mostly come together: one file open at a time, appended to.
        let mut current: Option<(usize, csv::Writer<std::io::BufWriter<std::fs::File>>)> = None;
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).map_err(csv_err)? {
            let project = record.get(0).unwrap_or_default();
            let version = record.get(1).unwrap_or_default();
            let i = match rendered.get(&(project.to_vec(), version.to_vec())) {
                Some(same) if same.len() == 1 => same[0],
                Some(_) => continue,
                // Rows of no version, when the unnamed version is not split out.
                None if project.is_empty() && version.is_empty() => continue,
                None => {
                    *split.unmatched.entry(name).or_default() += 1;
                    continue;
                }
            };
            if current.as_ref().is_none_or(|(c, _)| *c != i) {
                if let Some((_, mut w)) = current.take() {
                    w.flush().map_err(io)?;
                }
                let path = vdir(i).join(name);
                let f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .map_err(|e| {
                        io(std::io::Error::new(
                            e.kind(),
                            format!("{}: {e}", path.display()),
                        ))
                    })?;
                current = Some((i, csv_out(f)));
            }
            if let Some((_, w)) = current.as_mut() {
                w.write_byte_record(&record).map_err(csv_err)?;
            }
        }
        if let Some((_, mut w)) = current.take() {
            w.flush().map_err(io)?;
        }
    }
    Ok(split)
}

/// Adds a failure per file with rows of no version of the run.
pub(crate) fn note_unmatched(split: &Split, failures: &mut Vec<Failure>) {
    for (name, rows) in &split.unmatched {
        failures.push(Failure {
            what: format!("per-version copies of {name}"),
            error: PipelineError::Input(format!(
                "{rows} rows name a project and version that match no version of the run; they are only in the run's report under runs/"
            )),
        });
    }
}

/// Adds the failure of a version whose names the CSV cells cannot tell apart from another's.
pub(crate) fn note_ambiguous(failures: &mut Vec<Failure>, project: &str, version: &str) {
    note_no_copy(
        failures,
        project,
        version,
        "its names and another version's are the same in the CSV cells once the spreadsheet `'` prefix is added; its rows are only in the run's report under runs/ (with raw cells, --cells raw, each version gets its own copy)",
    );
}

pub(crate) fn note_no_copy(
    failures: &mut Vec<Failure>,
    project: &str,
    version: &str,
    problem: &str,
) {
    failures.push(Failure {
        what: format!(
            "project {} version {}",
            project.escape_debug(),
            version.escape_debug()
        ),
        error: PipelineError::Input(format!("no per-version report: {problem}")),
    });
}
