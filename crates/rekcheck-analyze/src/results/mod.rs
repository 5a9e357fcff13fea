//! Results: what Rekognition wrote. One line of a manifest with validation results -> its image
//! row and issues ([`line`]); a block or a whole reader of them -> rows, issues and counts
//! ([`analysis`]); a manifest summary -> its statistics and terminal errors ([`summary`]).

pub(crate) mod analysis;
pub(crate) mod fast;
pub(crate) mod geometry;
pub(crate) mod line;
pub(crate) mod summary;
