//! Output: rows and counts -> the CSV report ([`ReportWriter`](crate::ReportWriter)), written
//! through files that are never half-written, never written through a planted link, and never
//! mixed between two runs.
//!
//! The file machinery below is public for the rekcheck facade and CLI only: it is not part of
//! the stable API (hidden from the docs) and may change in any release.
//!
//! * `PartialFile`: a file written under an unpredictable temporary name in the folder of its
//!   destination, `.<name>.<pid>.<random>.partial`, created with `O_EXCL` (a planted file or
//!   symlink is never opened) and holding an advisory lock for as long as it is written, so that
//!   a later run can tell a live partial file from one a killed run left behind.
//! * `commit`: gives a set of partial files their final names, all or as many as the
//!   filesystem allows (see there).
//! * `OutputLock`: `.rekcheck.lock` in an output folder, held (advisory lock) while a run
//!   writes there; a second run into the same folder stops with
//!   [`Error::Locked`](crate::Error::Locked).
//! * `remove_stale_partials`: removes the partial files of runs that died (`SIGKILL`, power
//!   loss) before they could clean up.

pub(crate) mod csvrow;
pub(crate) mod files;
#[cfg(feature = "html")]
pub(crate) mod html;
pub(crate) mod report;
pub(crate) mod room;

// Not part of the stable API: used by the rekcheck facade and CLI.
#[doc(hidden)]
pub use files::{
    OutputLock, PartialFile, commit, parent_dir, remove_own_lock, remove_own_partials,
    remove_stale_partials,
};

/// The HTML report's file name, beside the CSV files.
pub const HTML_FILE: &str = "report.html";
