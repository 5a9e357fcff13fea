//! Cutting a manifest into chunks at any point gives the same rows and issues.

use proptest::prelude::*;
use rekcheck_analyze::{AnalyzeOptions, Block, BlockAnalysis, Framer, analyze_block};
use rekcheck_testkit::generate::{GenOptions, generate_lines};

fn analyze_chunks(chunks: &[&[u8]], block_bytes: usize, max_line: usize) -> BlockAnalysis {
    let options = AnalyzeOptions {
        max_line_bytes: max_line,
        block_bytes,
        ..AnalyzeOptions::default()
    };
    let mut framer = Framer::new(block_bytes, max_line);
    let mut blocks: Vec<Block> = Vec::new();
    for c in chunks {
        framer.push(c, &mut blocks);
    }
    framer.finish(&mut blocks);
    let mut all = BlockAnalysis::default();
    for (i, b) in blocks.iter().enumerate() {
        assert_eq!(b.seq, i as u64);
        let a = analyze_block(b, &options);
        all.rows.extend(a.rows);
        all.issues.extend(a.issues);
        all.stats += a.stats;
    }
    all
}

/// A manifest with every framing edge case: BOM, CRLF, blank lines, whitespace lines, an
/// unparsable line, a line over the limit, and a last line without a newline.
fn tricky() -> Vec<u8> {
    let mut m = b"\xEF\xBB\xBF".to_vec();
    m.extend_from_slice(
        br#"{"source-ref":"s3://b/1.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"x"}]}"#,
    );
    m.extend_from_slice(b"\r\n\n  \t\r\n");
    m.extend_from_slice(br#"{"source-ref":"s3://b/2.jpg","#);
    m.push(b'\n');
    m.extend_from_slice(format!(r#"{{"source-ref":"s3://b/{}.jpg"}}"#, "l".repeat(200)).as_bytes());
    m.push(b'\n');
    m.extend_from_slice("{\"source-ref\":\"s3://b/caf\u{e9}.jpg\",\"warnings\":[{\"code\":\"WARNING_NO_ANNOTATIONS\",\"message\":\"w\"}]}".as_bytes());
    m.push(b'\n');
    m.extend_from_slice(br#"{"source-ref":"s3://b/last.jpg"}"#);
    m
}

#[test]
fn every_split_point_gives_the_same_rows() {
    let m = tricky();
    let whole = analyze_chunks(&[&m], 1 << 20, 110);
    assert_eq!(whole.stats.lines, 7);
    assert_eq!(whole.stats.blank, 2);
    assert_eq!(whole.stats.unparsable, 2, "the cut line and the long line");
    assert_eq!(whole.rows.last().unwrap().line, 7);
    for a in 0..=m.len() {
        for block in [1, 7, 1 << 20] {
            let got = analyze_chunks(&[&m[..a], &m[a..]], block, 110);
            assert_eq!(got, whole, "split at {a}, block size {block}");
        }
    }
    // Two cuts, with every byte of the BOM region and around the long line.
    for a in 0..12 {
        for b in a..m.len() {
            let got = analyze_chunks(&[&m[..a], &m[a..b], &m[b..]], 16, 110);
            assert_eq!(got, whole, "split at {a} and {b}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_chunkings_of_generated_manifests_agree(
        seed in 0u64..1000,
        cuts in proptest::collection::vec(1usize..5000, 1..40),
        block in 1usize..20_000,
    ) {
        let mut m = Vec::new();
        generate_lines(&mut m, 60, &GenOptions { seed, issue_per_mille: 300, ..GenOptions::default() }).unwrap();
        let whole = analyze_chunks(&[&m], 1 << 20, 1 << 20);
        let mut chunks: Vec<&[u8]> = Vec::new();
        let mut rest: &[u8] = &m;
        for c in cuts {
            let c = c.min(rest.len());
            let (a, b) = rest.split_at(c);
            chunks.push(a);
            rest = b;
        }
        chunks.push(rest);
        let got = analyze_chunks(&chunks, block, 1 << 20);
        prop_assert_eq!(got, whole);
    }
}
