//! Progress, for a caller that wants to show it. The library itself never prints.

/// Receives progress events. Every method has an empty default.
pub trait Reporter: Send + Sync {
    /// The run is about to read `total_bytes` bytes of manifests (as far as sizes are known).
    fn started(&self, total_bytes: u64) {
        let _ = total_bytes;
    }
    /// A manifest starts being analyzed.
    fn object_started(&self, name: &str, size: Option<u64>) {
        let _ = (name, size);
    }
    /// `bytes` more bytes of the current manifest were analyzed.
    fn bytes(&self, name: &str, bytes: u64) {
        let _ = (name, bytes);
    }
    /// The current manifest is done.
    fn object_finished(&self, name: &str) {
        let _ = name;
    }
    /// `done` of `total` images were verified (`check --verify-images`).
    fn images(&self, done: u64, total: u64) {
        let _ = (done, total);
    }
    /// The run is done.
    fn finished(&self) {}
}

/// A reporter that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Reporter for NoProgress {}
