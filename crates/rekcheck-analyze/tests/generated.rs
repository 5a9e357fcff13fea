//! The analyzer's counts match what the generator wrote, whatever the thread count.

use rekcheck_analyze::{AnalyzeOptions, BlockAnalysis, analyze_reader};
use rekcheck_testkit::generate::{GenOptions, generate};

fn run(threads: usize, manifest: &[u8], block_bytes: usize) -> BlockAnalysis {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let options = AnalyzeOptions {
        block_bytes,
        ..AnalyzeOptions::default()
    };
    let mut all = BlockAnalysis::default();
    analyze_reader(&pool, manifest, &options, |a| {
        all.rows.extend(a.rows);
        all.issues.extend(a.issues);
        all.stats += a.stats;
    })
    .unwrap();
    all
}

#[test]
fn counts_match_the_generator() {
    let mut m = Vec::new();
    let g = generate(&mut m, 3_000_000, &GenOptions::default()).unwrap();
    let a = run(2, &m, 64 * 1024);
    assert_eq!(a.stats.lines, g.lines);
    assert_eq!(a.stats.blank, g.blank);
    assert_eq!(a.stats.error, g.error_lines);
    assert_eq!(a.stats.warning, g.warning_lines);
    assert_eq!(a.stats.error_issues, g.error_issues);
    assert_eq!(a.stats.warning_issues, g.warning_issues);
    assert_eq!(a.stats.boxes, g.boxes);
    assert_eq!(a.stats.unparsable, 0);
    assert_eq!(
        a.stats.lines,
        a.stats.blank + a.stats.unparsable + a.stats.ok + a.stats.warning + a.stats.error
    );
    // Rows come out in line order.
    assert!(a.rows.windows(2).all(|w| w[0].line < w[1].line));
}

#[test]
fn thread_count_does_not_change_the_result() {
    let mut m = Vec::new();
    generate(
        &mut m,
        1_000_000,
        &GenOptions {
            seed: 9,
            ..GenOptions::default()
        },
    )
    .unwrap();
    let one = run(1, &m, 10_000);
    let four = run(4, &m, 10_000);
    assert_eq!(one, four);
}
