//! The errors of this crate.

use std::io;
use std::path::PathBuf;

/// The errors of this crate.
///
/// Problems *in* a manifest are never errors: they are [`Issue`](crate::Issue)s. An `Error` means the report
/// could not be read or written; each message names the manifest, file or folder and what to do.
///
/// Causes are never said twice: a variant with a cause (an I/O error) returns it from
/// [`source`](std::error::Error::source) and leaves it out of its own message, so a printer that
/// walks the chain (`anyhow`'s `{:#}`, or joining the messages with `: `) says each once.
///
/// # Example
///
/// ```
/// use rekcheck_analyze::{Error, ReportOptions, ReportWriter};
///
/// let dir = tempfile::tempdir()?;
/// let first = ReportWriter::create(dir.path(), ReportOptions::default())?;
/// // A second writer into the same folder is refused while the first holds its lock.
/// match ReportWriter::create(dir.path(), ReportOptions::default()) {
///     Err(Error::Locked { dir: locked, .. }) => assert_eq!(locked, dir.path()),
///     other => panic!("expected Locked, got {other:?}"),
/// }
/// drop(first);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A manifest could not be read.
    #[error("cannot read {manifest}")]
    Read {
        /// The manifest, as given.
        manifest: String,
        /// The cause.
        source: io::Error,
    },
    /// A report file could not be written.
    #[error("cannot write {}{}", .path.display(), write_hint(.source))]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Another run is writing into the same output folder (it holds its `.rekcheck.lock`).
    #[error("another rekcheck run{} is writing to {}; wait for it to end or choose another output folder", pid_note(*.pid), .dir.display())]
    Locked {
        /// The output folder.
        dir: PathBuf,
        /// The process id of the run holding the lock, if its lock file says.
        pid: Option<u32>,
    },
    /// A finished file could not be given its final name (see `output::commit`); the
    /// files this run had already replaced were put back, except those in `replaced`.
    #[error("cannot give {} its final name ({})", .path.display(), replaced_note(.replaced))]
    Commit {
        /// The file that could not be renamed.
        path: PathBuf,
        /// The files replaced by this run's that could not be put back.
        replaced: Vec<PathBuf>,
        /// The cause.
        source: io::Error,
    },
    /// The analysis threads could not be started.
    #[error("cannot start {threads} analysis threads")]
    Threads {
        /// How many were asked for.
        threads: usize,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The one hint that fits the kind of an I/O error's root cause, as ` (<hint>)`, or nothing.
fn write_hint(e: &io::Error) -> &'static str {
    let mut root: &(dyn std::error::Error + 'static) = e;
    let mut kind = e.kind();
    for _ in 0..32 {
        let next = match root.downcast_ref::<io::Error>() {
            Some(io) => {
                kind = io.kind();
                io.get_ref()
                    .map(|inner| inner as &(dyn std::error::Error + 'static))
            }
            None => root.source(),
        };
        match next {
            Some(n) => root = n,
            None => break,
        }
    }
    match kind {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            " (check that you may write there, or choose another output)"
        }
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge => {
            " (free some disk space, or choose another output)"
        }
        io::ErrorKind::NotFound => " (check that its folder exists and can be written to)",
        io::ErrorKind::NotADirectory => " (a part of the path is a file, not a folder)",
        io::ErrorKind::IsADirectory => " (a folder has this name)",
        io::ErrorKind::AlreadyExists => " (something else has this name)",
        _ => "",
    }
}

fn pid_note(pid: Option<u32>) -> String {
    pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
}

fn replaced_note(replaced: &[PathBuf]) -> String {
    if replaced.is_empty() {
        return "every file is as it was before this run".to_owned();
    }
    let names: Vec<String> = replaced.iter().map(|p| p.display().to_string()).collect();
    format!(
        "these files were replaced by this run's and could not be put back, so they do not match the others: {}",
        names.join(", ")
    )
}
