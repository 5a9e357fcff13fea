//! The analyzer's counts match what the generator wrote, whatever the thread count.

use rekcheck_analyze::{
    AnalyzeOptions, Analyzer, BlockAnalysis, DEFAULT_MAX_LINE_BYTES, ImageStatus, LineOutcome,
    analyze_line, analyze_slice, block_lines,
};
use rekcheck_testkit::generate::{GenOptions, Profile, generate, generate_lines};

fn run(threads: usize, manifest: &[u8], block_bytes: usize) -> BlockAnalysis {
    let options = AnalyzeOptions {
        block_bytes,
        ..AnalyzeOptions::default()
    };
    let analyzer = Analyzer::new(threads).unwrap().with_options(options);
    let mut all = BlockAnalysis::default();
    analyzer
        .analyze_reader(manifest, |a| {
            all.rows.extend(a.rows);
            all.issues.extend(a.issues);
            all.stats += a.stats;
        })
        .unwrap();
    all
}

#[test]
fn counts_match_the_generator() {
    for profile in [Profile::Clean, Profile::Failed] {
        counts_match(profile);
    }
}

fn counts_match(profile: Profile) {
    let mut m = Vec::new();
    let g = generate(&mut m, 3_000_000, &profile.options(1)).unwrap();
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

/// Every way of reading the same bytes gives the same rows and issues: the reader through the
/// threads, the pull iterator, `analyze_slice`, and `block_lines` + `analyze_line` by hand,
/// with no, one or two byte order marks at the start (exactly one is not part of line 1).
#[test]
fn every_way_of_reading_agrees_bom_included() {
    let mut body = Vec::new();
    generate_lines(&mut body, 300, &GenOptions::default()).unwrap();
    for boms in 0..3 {
        let mut manifest = b"\xEF\xBB\xBF".repeat(boms);
        manifest.extend_from_slice(&body);
        let options = AnalyzeOptions {
            block_bytes: 2048,
            ..AnalyzeOptions::default()
        };
        let analyzer = Analyzer::new(2).unwrap().with_options(options);
        let mut streamed = BlockAnalysis::default();
        analyzer
            .analyze_reader(&manifest[..], |a| {
                streamed.rows.extend(a.rows);
                streamed.issues.extend(a.issues);
                streamed.stats += a.stats;
            })
            .unwrap();
        let slice = analyze_slice(&manifest, &options);
        assert_eq!(slice, streamed, "analyze_slice, {boms} BOMs");

        let mut images = analyzer.images(&manifest[..]);
        let mut pulled = BlockAnalysis::default();
        for image in &mut images {
            let image = image.unwrap();
            assert!(image.issues.iter().all(|i| i.line == Some(image.row.line)));
            pulled.rows.push(image.row);
            pulled.issues.extend(image.issues);
        }
        pulled.stats = images.stats();
        assert_eq!(pulled, streamed, "images(), {boms} BOMs");

        let mut by_hand = BlockAnalysis::default();
        for (n, line) in block_lines(1, &manifest) {
            if let LineOutcome::Image { row, issues } =
                analyze_line(n, line, DEFAULT_MAX_LINE_BYTES)
            {
                by_hand.rows.push(row);
                by_hand.issues.extend(issues);
            }
        }
        assert_eq!(by_hand.rows, streamed.rows, "analyze_line, {boms} BOMs");
        assert_eq!(by_hand.issues, streamed.issues, "analyze_line, {boms} BOMs");
        let first = streamed.rows[0].status;
        if boms < 2 {
            assert_ne!(first, ImageStatus::Unparsable, "{boms} BOMs");
        } else {
            assert_eq!(first, ImageStatus::Unparsable, "a second BOM is data");
        }
    }
}

/// The pull iterator returns the images read before a reader error, then the error.
#[test]
fn images_before_a_read_error_come_first() {
    struct Failing<'a>(&'a [u8]);
    impl std::io::Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("connection reset"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let manifest = b"{\"source-ref\":\"s3://b/1.jpg\"}\n{\"source-ref\":\"s3://b/2.jpg\"}\n";
    // Blocks of one line, so that both lines are framed before the reader fails.
    let analyzer = Analyzer::new(1).unwrap().with_options(AnalyzeOptions {
        block_bytes: 16,
        ..AnalyzeOptions::default()
    });
    let got: Vec<_> = analyzer.images(Failing(manifest)).collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].as_ref().unwrap().row.source_ref, "s3://b/2.jpg");
    assert_eq!(got[2].as_ref().unwrap_err().to_string(), "connection reset");
}
