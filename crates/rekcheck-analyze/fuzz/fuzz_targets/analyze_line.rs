//! Any bytes, cut anywhere: the analyzer never panics, every line is accounted for, and the
//! result does not depend on where the input was cut.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rekcheck_analyze::{AnalyzeOptions, Block, BlockAnalysis, analyze_block};

fn run(chunks: &[&[u8]], options: &AnalyzeOptions) -> BlockAnalysis {
    let mut framer = options.framer();
    let mut blocks: Vec<Block> = Vec::new();
    for c in chunks {
        framer.push(c, &mut blocks);
    }
    framer.finish(&mut blocks);
    let mut all = BlockAnalysis::default();
    for b in &blocks {
        let a = analyze_block(b, options);
        all.rows.extend(a.rows);
        all.issues.extend(a.issues);
        all.stats += a.stats;
    }
    all
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let options = AnalyzeOptions { max_line_bytes: 4096, block_bytes: 64 };
    let cut = usize::from(data[0]) % data.len();
    let whole = run(&[data], &options);
    let split = run(&[&data[..cut], &data[cut..]], &options);
    assert_eq!(whole, split);
    let s = whole.stats;
    assert_eq!(s.lines, s.blank + s.unparsable + s.ok + s.warning + s.error);
    assert_eq!(whole.rows.len() as u64, s.lines - s.blank);
});
