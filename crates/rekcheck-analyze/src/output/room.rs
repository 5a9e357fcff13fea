//! What a collector of the report's failing images can still take ([`Room`]), for workers
//! ahead of it to skip reading again the lines it would not take. Below both the report writer
//! and the HTML page's collector.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::model::Severity;

/// What an HTML page's image collector ([`crate::output::html::HtmlCollector`]) can still take, as of some block: the codes that have all their
/// examples (a count only grows, so a code saturated then is saturated later too), and whether
/// the page is full. A worker ahead of the collector reads a failing line again, into typed rows
/// and issues, only when [`Room::wants`] says the collector might take it.
#[derive(Debug, Default)]
pub(crate) struct Room {
    pub(crate) full: bool,
    pub(crate) per_code: usize,
    /// The saturated codes of errors and of warnings.
    pub(crate) saturated: [FxHashSet<String>; 2],
}

/// The failing lines of one block a worker has seen, to apply [`Room`] within the block.
#[derive(Debug, Default)]
pub(crate) struct BlockRoom {
    /// Failing lines seen in the block with each code, errors then warnings.
    seen: [FxHashMap<String, usize>; 2],
}

impl Room {
    /// Whether the collector might take a failing line with these (severity, code) pairs
    /// (deduplicated), the block's earlier failing lines being `block`; counts the line in
    /// `block`. The collector takes a line when one of its codes has fewer than `per_code`
    /// images and the page is not full. Each earlier failing line of the block with code `c`
    /// was taken (and counted for `c`), or not taken because the page was full (then this one
    /// is not taken either) or because all its codes, `c` among them, were saturated: after
    /// `per_code` such lines `c` is saturated whatever the collector held before the block.
    pub(crate) fn wants(&self, block: &mut BlockRoom, codes: &[(Severity, &str)]) -> bool {
        let mut wanted = false;
        for &(severity, code) in codes {
            let s = usize::from(severity == Severity::Warning);
            let seen = match block.seen[s].get_mut(code) {
                Some(n) => n,
                None => block.seen[s].entry(code.to_owned()).or_default(),
            };
            if !self.full && *seen < self.per_code && !self.saturated[s].contains(code) {
                wanted = true;
            }
            *seen += 1;
        }
        wanted
    }
}
