//! Any bytes, cut anywhere: the analyzer never panics, every line is accounted for, and the
//! result depends neither on where the input was cut nor on the block size (a block shares its
//! parsed class-maps between its lines; one line per block shares nothing).
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
    let options = AnalyzeOptions { max_line_bytes: 4096, block_bytes: 64, ..AnalyzeOptions::default() };
    let cut = usize::from(data[0]) % data.len();
    let whole = run(&[data], &options);
    let split = run(&[&data[..cut], &data[cut..]], &options);
    assert_eq!(whole, split);
    let one_line_per_block = AnalyzeOptions { max_line_bytes: 4096, block_bytes: 1, ..AnalyzeOptions::default() };
    let big_blocks = AnalyzeOptions { max_line_bytes: 4096, block_bytes: 1 << 16, ..AnalyzeOptions::default() };
    // Fed a byte at a time, a 1-byte block ends at every newline.
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    assert_eq!(run(&bytes, &one_line_per_block), run(&[data], &big_blocks));
    let s = whole.stats;
    assert_eq!(s.lines, s.blank + s.unparsable + s.ok + s.warning + s.error);
    assert_eq!(whole.rows.len() as u64, s.lines - s.blank);
});
