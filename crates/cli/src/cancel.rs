//! Ctrl-C and SIGTERM: stop cleanly, leave no partial report, exit 130 / 143.
//!
//! The signal task sets a flag that the pipeline checks on every read (`stop_when`), so the
//! analysis stops at the next block and the report writer removes its temporary files as it is
//! dropped. Downloads stop
//! as their readers are dropped. If the main thread is stuck (a read that never returns), a
//! watchdog removes the temporary files itself and exits after a grace period.
//!
//! An output folder that did not exist before the run is removed again when the run ends
//! without a report (a signal or an error), if it is still empty: rekcheck never leaves behind
//! an empty folder it created, and never removes a folder it did not create.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// 0 while running; the exit code (130 or 143) once a signal arrived.
static CANCELLED: AtomicU8 = AtomicU8::new(0);

/// The output folders that did not exist when the run started (and their missing parents).
static CREATED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The exit code to use, if a signal arrived.
pub(crate) fn cancelled() -> Option<u8> {
    match CANCELLED.load(Ordering::SeqCst) {
        0 => None,
        code => Some(code),
    }
}

/// Installs the handlers on `runtime`; `dirs` are the output folders, cleaned by the watchdog.
/// Must be called before anything is written: the folders missing now are the ones rekcheck
/// creates.
pub(crate) fn install(runtime: &tokio::runtime::Runtime, dirs: Vec<PathBuf>) {
    remember_missing(&dirs);
    runtime.spawn(async move {
        let code = wait_for_signal().await;
        CANCELLED.store(code, Ordering::SeqCst);
        tracing::warn!(exit_code = code, "stopping: signal received");
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(5));
            for dir in &dirs {
                rekcheck::analyze::output::remove_own_partials(dir);
                rekcheck::analyze::output::remove_own_lock(dir);
            }
            remove_created_dirs();
            std::process::exit(i32::from(code));
        });
    });
}

/// Remembers which of `dirs`, and of their parents, do not exist yet (innermost first).
fn remember_missing(dirs: &[PathBuf]) {
    let mut missing = Vec::new();
    for dir in dirs {
        let mut d = dir.as_path();
        // At most 64 levels: a longer chain of missing folders is not worth tracking.
        for _ in 0..64 {
            if d.as_os_str().is_empty() || d.symlink_metadata().is_ok() {
                break;
            }
            if !missing.contains(&d.to_path_buf()) {
                missing.push(d.to_path_buf());
            }
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
    }
    if let Ok(mut created) = CREATED.lock() {
        created.extend(missing);
    }
}

/// Removes the output folders this run created, innermost first, when they are empty (a
/// folder with anything in it stays: `remove_dir` only removes empty folders).
pub(crate) fn remove_created_dirs() {
    let mut dirs = match CREATED.lock() {
        Ok(mut created) => std::mem::take(&mut *created),
        Err(_) => return,
    };
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for dir in dirs {
        let _ = std::fs::remove_dir(&dir);
    }
}

async fn wait_for_signal() -> u8 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return 130;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => 130,
            _ = term.recv() => 143,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        130
    }
}
