//! Test kit for rekcheck (not published).
//!
//! * [`generate`]: deterministic synthetic validation manifests of any size.
//! * [`lambda`]: an emulation of the AWS Lambda Runtime API (next invocation, response, error).
//! * [`moto`]: starts moto's S3 server on a free loopback port and stops it by its PID.
//! * [`proxy`]: a TCP proxy between the SDK and moto that resets, stalls and cuts bodies short,
//!   answers S3 errors (503, 403, another region...), and counts the requests.
//! * [`rekognition`]: a Rekognition emulator on the real awsJson1.1 wire protocol.
#![deny(missing_docs)]
// A test kit panics on purpose when the environment is broken.
#![allow(clippy::missing_panics_doc)]

pub mod generate;
pub mod lambda;
pub mod moto;
pub mod proxy;
pub mod rekognition;
