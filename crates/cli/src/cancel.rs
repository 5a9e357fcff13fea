//! Ctrl-C and SIGTERM: stop cleanly, leave no partial report, exit 130 / 143.
//!
//! The signal task sets a flag that the pipeline checks on every read (`stop_when`), so the
//! analysis stops at the next block and the report writer removes its temporary files as it is
//! dropped. Downloads stop
//! as their readers are dropped. If the main thread is stuck (a read that never returns), a
//! watchdog removes the temporary files itself and exits after a grace period.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// 0 while running; the exit code (130 or 143) once a signal arrived.
static CANCELLED: AtomicU8 = AtomicU8::new(0);

/// The exit code to use, if a signal arrived.
pub(crate) fn cancelled() -> Option<u8> {
    match CANCELLED.load(Ordering::SeqCst) {
        0 => None,
        code => Some(code),
    }
}

/// Installs the handlers on `runtime`; `dirs` are the output folders, cleaned by the watchdog.
pub(crate) fn install(runtime: &tokio::runtime::Runtime, dirs: Vec<PathBuf>) {
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
            std::process::exit(i32::from(code));
        });
    });
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
