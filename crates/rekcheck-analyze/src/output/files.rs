//! The files behind the report: partial files, their commit, the output folder's lock (see
//! [`crate::output`]).

use std::ffi::OsStr;
use std::fs::{File, TryLockError};
use std::io::{self, Read as _, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The lock file of an output folder.
pub(crate) const LOCK_FILE: &str = ".rekcheck.lock";

/// The suffix of every temporary output file.
pub(crate) const PARTIAL_SUFFIX: &str = ".partial";

/// How many random characters a partial file's name carries.
const RANDOM_CHARS: usize = 8;

/// How often [`OutputLock::acquire`] starts over when the lock file it locked was removed or
/// replaced at that moment by the run that held it.
const LOCK_ATTEMPTS: usize = 16;

/// The folder a file is in (`.` for a bare file name).
///
/// Not part of the stable API; used by the rekcheck facade and CLI.
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn write_err(path: &Path, source: io::Error) -> Error {
    Error::Write {
        path: path.to_owned(),
        source,
    }
}

// ---------------------------------------------------------------------------------------------
// The folder lock.

/// The advisory lock of an output folder (`.rekcheck.lock`), held until dropped; the lock file
/// is removed when it is released.
///
/// The lock file holds the process id of the run that holds it, for the message of the run
/// that finds it taken. Removing a lock file while other runs may open it is safe because a run
/// that locked a file checks that the name still leads to that file, and starts over if not.
///
/// Not part of the stable API; used by the rekcheck facade.
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    path: PathBuf,
}

impl OutputLock {
    /// Takes the lock of `dir` (which must exist), or fails with [`Error::Locked`] when another
    /// run holds it. Never waits.
    pub fn acquire(dir: &Path) -> Result<OutputLock, Error> {
        let path = dir.join(LOCK_FILE);
        for _ in 0..LOCK_ATTEMPTS {
            let file = open_lock_file(&path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::Locked {
                        dir: dir.to_owned(),
                        pid: read_pid(&file),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(write_err(&path, e)),
            }
            // The run that held the lock may have removed the file between our open and our
            // lock: then we hold the lock of a file nobody else will ever open. Start over.
            if !still_named(&file, &path)? {
                continue;
            }
            let mut lock = OutputLock { file, path };
            lock.write_pid()?;
            return Ok(lock);
        }
        Err(write_err(
            &path,
            io::Error::other("the lock file keeps being replaced; is another run starting?"),
        ))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_pid(&mut self) -> Result<(), Error> {
        let pid = std::process::id().to_string();
        self.file
            .set_len(0)
            .and_then(|()| (&self.file).write_all(pid.as_bytes()))
            .map_err(|e| write_err(&self.path, e))
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked: whoever opened it meanwhile sees it is gone and starts
        // over (see `acquire`). The lock goes with the file handle.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Opens (or creates) a lock file without following a symlink planted in its place.
fn open_lock_file(path: &Path) -> Result<File, Error> {
    let mut create = std::fs::OpenOptions::new();
    create.read(true).write(true).create_new(true);
    match create.open(path) {
        Ok(f) => return Ok(f),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(write_err(path, e)),
    }
    // It exists: it must be a plain file (not a link, a FIFO or a device).
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => {}
        Ok(_) => return Err(not_a_lock_file(path)),
        // Removed meanwhile: create it.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return create.open(path).map_err(|e| write_err(path, e));
        }
        Err(e) => return Err(write_err(path, e)),
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| write_err(path, e))
}

fn not_a_lock_file(path: &Path) -> Error {
    write_err(
        path,
        io::Error::other(
            "not a lock file rekcheck made (a link, a folder or a special file); remove it",
        ),
    )
}

/// Whether `path` still names the very file `file` is (and nothing else names it), so that
/// writing into `file` cannot touch a file outside the folder.
fn still_named(file: &File, path: &Path) -> Result<bool, Error> {
    let named = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(write_err(path, e)),
    };
    if !named.file_type().is_file() {
        return Err(not_a_lock_file(path));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let open = file.metadata().map_err(|e| write_err(path, e))?;
        if (open.dev(), open.ino()) != (named.dev(), named.ino()) {
            return Ok(false);
        }
        if open.nlink() > 1 {
            // A hard link to a file elsewhere: never truncate it.
            return Err(not_a_lock_file(path));
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(true)
}

/// The process id in a lock file, if it holds one (at most 20 bytes are read).
fn read_pid(file: &File) -> Option<u32> {
    let mut buf = Vec::with_capacity(20);
    file.take(20).read_to_end(&mut buf).ok()?;
    std::str::from_utf8(&buf).ok()?.trim().parse().ok()
}

/// Removes `dir`'s lock file if this process holds it (for a signal handler about to exit
/// without running destructors).
///
/// Not part of the stable API; used by the rekcheck facade and CLI.
pub fn remove_own_lock(dir: &Path) {
    let path = dir.join(LOCK_FILE);
    let ours = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file())
        && File::open(&path)
            .ok()
            .and_then(|f| read_pid(&f))
            .is_some_and(|pid| pid == std::process::id());
    if ours {
        let _ = std::fs::remove_file(&path);
    }
}

// ---------------------------------------------------------------------------------------------
// Partial files.

/// A file written under a temporary name beside its destination and renamed by [`commit`];
/// removed if dropped before.
///
/// Not part of the stable API; used by the rekcheck facade.
#[derive(Debug)]
pub struct PartialFile {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl PartialFile {
    /// Creates `.<name>.<pid>.<random>.partial` in the folder of `dest`, with `O_EXCL`, and
    /// locks it.
    pub fn create(dest: &Path) -> Result<PartialFile, Error> {
        let name = dest.file_name().unwrap_or_else(|| OsStr::new("output"));
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(name);
        prefix.push(format!(".{}.", std::process::id()));
        let mut builder = tempfile::Builder::new();
        builder
            .prefix(&prefix)
            .suffix(PARTIAL_SUFFIX)
            .rand_bytes(RANDOM_CHARS);
        #[cfg(unix)]
        {
            // As `File::create` would: what the umask allows, not tempfile's 0600.
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let dir = parent_dir(dest);
        let tmp = builder
            .tempfile_in(dir)
            .map_err(|e| write_err(&dir.join(&prefix), e))?;
        // Held until the file is renamed or removed: a later run's cleanup leaves it alone.
        // A filesystem without locks only loses that protection.
        let _ = tmp.as_file().try_lock();
        Ok(PartialFile {
            tmp,
            dest: dest.to_owned(),
        })
    }

    /// The open file.
    pub fn file(&self) -> &File {
        self.tmp.as_file()
    }

    /// The temporary name.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// The final name.
    pub fn dest(&self) -> &Path {
        &self.dest
    }
}

impl Write for PartialFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.tmp.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

/// Gives every partial file its final name, as close to all-or-nothing as a filesystem allows:
///
/// 1. a destination that is a folder (the one rename that fails predictably) fails the commit
///    before anything is replaced;
/// 2. every file is synced to disk (all at once, one thread each) before the first rename, so
///    that no file can be replaced by one that is not on disk yet;
/// 3. the files are renamed in order, each previous version kept meanwhile under a second
///    name (a hard link named as a partial file of this process); if a rename fails anyway,
///    the files already replaced are put back as they were (or removed when they are new),
///    the remaining temporary files are removed and [`Error::Commit`] names any file that
///    could not be put back;
/// 4. the previous versions are removed and the folders synced so that the renames last.
///
/// A run killed during step 3 leaves the previous versions' second names, which the next run's
/// `remove_stale_partials` removes. On any error no temporary file is left behind. Returns
/// the final names.
///
/// Not part of the stable API; used by the rekcheck facade.
pub fn commit(files: Vec<PartialFile>) -> Result<Vec<PathBuf>, Error> {
    for f in &files {
        if std::fs::symlink_metadata(&f.dest).is_ok_and(|m| m.is_dir()) {
            return Err(write_err(
                &f.dest,
                io::Error::other("a folder has this name; nothing was replaced"),
            ));
        }
    }
    let synced: Vec<io::Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .map(|f| s.spawn(|| f.file().sync_all()))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("the sync thread failed")))
            })
            .collect()
    });
    for (f, r) in files.iter().zip(synced) {
        r.map_err(|e| write_err(f.path(), e))?;
    }
    replace_all(files)
}

/// Step 3 and 4 of [`commit`].
fn replace_all(files: Vec<PartialFile>) -> Result<Vec<PathBuf>, Error> {
    let previous: Vec<Option<PathBuf>> = files.iter().map(|f| keep_previous(&f.dest)).collect();
    let mut replaced: Vec<PathBuf> = Vec::with_capacity(files.len());
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut rest = files.into_iter();
    for f in rest.by_ref() {
        let PartialFile { tmp, dest } = f;
        if let Err(e) = tmp.persist(&dest) {
            // Put back what this run replaced; `e` and the remaining files are dropped here:
            // their temporary names go.
            let mut not_restored = Vec::new();
            for (i, done) in replaced.iter().enumerate() {
                let back = match &previous[i] {
                    Some(old) => std::fs::rename(old, done),
                    None => std::fs::remove_file(done),
                };
                if back.is_err() {
                    not_restored.push(done.clone());
                }
            }
            for old in previous.iter().skip(replaced.len()).flatten() {
                let _ = std::fs::remove_file(old);
            }
            return Err(Error::Commit {
                path: dest,
                replaced: not_restored,
                source: e.error,
            });
        }
        let dir = parent_dir(&dest).to_owned();
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
        replaced.push(dest);
    }
    for old in previous.iter().flatten() {
        let _ = std::fs::remove_file(old);
    }
    for dir in &dirs {
        sync_dir(dir);
    }
    Ok(replaced)
}

/// A second name for the file at `dest` (a hard link beside it, named as a partial file of
/// this process), or `None` when there is no file there or the filesystem cannot link.
fn keep_previous(dest: &Path) -> Option<PathBuf> {
    if !std::fs::symlink_metadata(dest).is_ok_and(|m| m.file_type().is_file()) {
        return None;
    }
    let name = dest.file_name()?;
    let dir = parent_dir(dest);
    for _ in 0..8 {
        let mut link = std::ffi::OsString::from(".");
        link.push(name);
        link.push(format!(
            ".{}.{}{PARTIAL_SUFFIX}",
            std::process::id(),
            random_chars(RANDOM_CHARS)
        ));
        let link = dir.join(link);
        match std::fs::hard_link(dest, &link) {
            Ok(()) => return Some(link),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(_) => return None,
        }
    }
    None
}

/// `n` random ASCII letters and digits (from the standard library's randomly keyed hasher).
fn random_chars(n: usize) -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let mut bits = h.finish();
    (0..n)
        .map(|i| {
            if i % 10 == 9 {
                h.write_u64(bits);
                bits = h.finish();
            }
            let c = CHARS[usize::try_from(bits % 62).unwrap_or(0)];
            bits /= 62;
            char::from(c)
        })
        .collect()
}

/// Makes a folder's entries durable (renames); best effort, not every platform can.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The process id in the name of a partial file of `dest_name` (old `.<name>.<pid>.partial` or
/// current `.<name>.<pid>.<random>.partial`), if `file_name` is one.
fn partial_pid(file_name: &OsStr, dest_name: &OsStr) -> Option<u32> {
    let rest = file_name
        .as_encoded_bytes()
        .strip_prefix(b".")?
        .strip_prefix(dest_name.as_encoded_bytes())?
        .strip_prefix(b".")?
        .strip_suffix(PARTIAL_SUFFIX.as_bytes())?;
    let (pid, random) = match rest.iter().position(|&b| b == b'.') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    if random.is_some_and(|r| r.is_empty() || !r.iter().all(u8::is_ascii_alphanumeric)) {
        return None;
    }
    if pid.is_empty() || !pid.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(pid).ok()?.parse().ok()
}

/// Whether the process `pid` is known to be running (when `/proc` tells).
fn running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    proc.join("self").exists() && proc.join(pid.to_string()).exists()
}

/// Removes the partial files of `dest_names` in `dir` that a run left behind when it died: the
/// ones that no process holds locked and whose process is gone (when `/proc` tells). Links and
/// other non-files are left alone. Returns how many were removed; errors are ignored (a file
/// that cannot be removed is only clutter). At most a million folder entries are looked at.
///
/// Run it while holding the folder's [`OutputLock`].
///
/// Not part of the stable API; used by the rekcheck facade.
pub fn remove_stale_partials(dir: &Path, dest_names: &[&OsStr]) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.take(1_000_000).flatten() {
        let name = e.file_name();
        let Some(pid) = dest_names.iter().find_map(|d| partial_pid(&name, d)) else {
            continue;
        };
        if running(pid) {
            continue;
        }
        let path = e.path();
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file()) {
            continue;
        }
        // A live writer (in another pid namespace, on another host) holds its lock.
        let unlocked = File::open(&path).is_ok_and(|f| f.try_lock_shared().is_ok());
        if unlocked && std::fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Removes this process's partial files from `dir` (for a signal handler about to exit without
/// running destructors).
///
/// Not part of the stable API; used by the rekcheck facade and CLI.
pub fn remove_own_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let pid = format!(".{}", std::process::id());
    for e in entries.take(1_000_000).flatten() {
        let name = e.file_name();
        let Some(rest) = name
            .as_encoded_bytes()
            .strip_prefix(b".")
            .and_then(|n| n.strip_suffix(PARTIAL_SUFFIX.as_bytes()))
        else {
            continue;
        };
        let Some(dot) = rest.iter().rposition(|&b| b == b'.') else {
            continue;
        };
        let (head, random) = (&rest[..dot], &rest[dot + 1..]);
        if random.len() == RANDOM_CHARS
            && random.iter().all(u8::is_ascii_alphanumeric)
            && head.ends_with(pid.as_bytes())
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_names_are_recognised() {
        let d = OsStr::new("issues.csv");
        assert_eq!(
            partial_pid(OsStr::new(".issues.csv.42.partial"), d),
            Some(42)
        );
        assert_eq!(
            partial_pid(OsStr::new(".issues.csv.42.aB3xYz9Q.partial"), d),
            Some(42)
        );
        for other in [
            "issues.csv.42.partial",
            ".issues.csv.partial",
            ".issues.csv.x42.partial",
            ".issues.csv.42..partial",
            ".issues.csv.42.a-b.partial",
            ".images.csv.42.partial",
            ".issues.csv.42",
        ] {
            assert_eq!(partial_pid(OsStr::new(other), d), None, "{other}");
        }
    }

    #[test]
    fn a_rename_that_fails_part_way_puts_back_what_was_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a.csv"),
            dir.path().join("b.csv"),
            dir.path().join("c.csv"),
        );
        std::fs::write(&a, "old a").unwrap();
        std::fs::write(&c, "old c").unwrap();
        let mut files = Vec::new();
        for (dest, text) in [(&a, "new a"), (&b, "new b"), (&c, "new c")] {
            let mut f = PartialFile::create(dest).unwrap();
            f.write_all(text.as_bytes()).unwrap();
            files.push(f);
        }
        // After the checks of `commit`, a folder that is not empty appears where c.csv goes
        // (another process): its rename fails once a.csv and b.csv are in place.
        std::fs::remove_file(&c).unwrap();
        std::fs::create_dir(&c).unwrap();
        std::fs::write(c.join("x"), "x").unwrap();
        let err = replace_all(files).unwrap_err();
        assert!(
            matches!(&err, Error::Commit { path, replaced, .. } if *path == c && replaced.is_empty()),
            "{err:?}"
        );
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old a");
        assert!(!b.exists());
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["a.csv", "c.csv"]);

        // Without a failure the previous versions' second names go too.
        std::fs::remove_dir_all(&c).unwrap();
        let mut files = Vec::new();
        for (dest, text) in [(&a, "new a"), (&b, "new b")] {
            let mut f = PartialFile::create(dest).unwrap();
            f.write_all(text.as_bytes()).unwrap();
            files.push(f);
        }
        assert_eq!(commit(files).unwrap(), [a.clone(), b.clone()]);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["a.csv", "b.csv"]);
    }

    #[test]
    fn a_second_name_of_a_previous_version_is_a_partial_file_of_this_run() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("issues.csv");
        assert_eq!(keep_previous(&dest), None);
        std::fs::write(&dest, "old").unwrap();
        let link = keep_previous(&dest).unwrap();
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "old");
        assert_eq!(
            partial_pid(link.file_name().unwrap(), OsStr::new("issues.csv")),
            Some(std::process::id())
        );
        assert_ne!(keep_previous(&dest).unwrap(), link);
    }

    #[test]
    fn a_partial_file_is_created_exclusively_and_removed_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.csv");
        let mut a = PartialFile::create(&dest).unwrap();
        let b = PartialFile::create(&dest).unwrap();
        assert_ne!(a.path(), b.path());
        let name = a.path().file_name().unwrap().to_owned();
        assert_eq!(
            partial_pid(&name, OsStr::new("out.csv")),
            Some(std::process::id())
        );
        let b_path = b.path().to_owned();
        drop(b);
        assert!(!b_path.exists());
        a.write_all(b"x").unwrap();
        assert_eq!(commit(vec![a]).unwrap(), vec![dest.clone()]);
        assert_eq!(std::fs::read(&dest).unwrap(), b"x");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn the_lock_is_exclusive_and_its_file_goes_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let held = OutputLock::acquire(dir.path()).unwrap();
        match OutputLock::acquire(dir.path()) {
            Err(Error::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("{other:?}"),
        }
        drop(held);
        assert!(!dir.path().join(LOCK_FILE).exists());
        let again = OutputLock::acquire(dir.path()).unwrap();
        drop(again);
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_lock_link_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep me").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join(LOCK_FILE)).unwrap();
        assert!(OutputLock::acquire(dir.path()).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    }

    #[test]
    fn a_commit_onto_a_folder_replaces_nothing_and_leaves_no_partial() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a.csv");
        std::fs::write(&first, "old").unwrap();
        let second = dir.path().join("b.csv");
        std::fs::create_dir(&second).unwrap();
        let mut a = PartialFile::create(&first).unwrap();
        a.write_all(b"new").unwrap();
        let b = PartialFile::create(&second).unwrap();
        assert!(commit(vec![a, b]).is_err());
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "old");
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(left, ["a.csv", "b.csv"]);
    }

    #[test]
    fn stale_partials_of_dead_processes_are_removed_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // Linux pids stay below 2^22: this one never runs.
        let dead = 4_194_400;
        let stale = [
            format!(".issues.csv.{dead}.partial"),
            format!(".issues.csv.{dead}.Ab12Cd34.partial"),
        ];
        for s in &stale {
            std::fs::write(dir.path().join(s), "half").unwrap();
        }
        let mine = PartialFile::create(&dir.path().join("issues.csv")).unwrap();
        let unrelated = dir.path().join(format!(".other.csv.{dead}.partial"));
        std::fs::write(&unrelated, "not ours").unwrap();
        let n = remove_stale_partials(dir.path(), &[OsStr::new("issues.csv")]);
        assert_eq!(n, 2);
        for s in &stale {
            assert!(!dir.path().join(s).exists(), "{s}");
        }
        assert!(mine.path().exists());
        assert!(unrelated.exists());
    }

    #[test]
    fn own_partials_are_recognised_for_the_signal_handler() {
        let dir = tempfile::tempdir().unwrap();
        let mine = PartialFile::create(&dir.path().join("x.csv")).unwrap();
        let other = dir.path().join(".x.csv.4194400.Ab12Cd34.partial");
        std::fs::write(&other, "").unwrap();
        remove_own_partials(dir.path());
        assert!(!mine.path().exists());
        assert!(other.exists());
    }
}
