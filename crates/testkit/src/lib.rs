//! Test kit for rekcheck (not published).
//!
//! * [`generate`]: deterministic synthetic validation manifests of any size, for tests and
//!   benchmarks.
#![deny(missing_docs)]

pub mod generate;
