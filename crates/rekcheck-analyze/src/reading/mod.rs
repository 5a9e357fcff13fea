//! Reading: any byte stream -> ordered blocks of whole lines, and the engine that analyzes blocks
//! on a thread pool and hands the results back in line order. Knows nothing of manifests.

pub(crate) mod engine;
pub(crate) mod framing;
