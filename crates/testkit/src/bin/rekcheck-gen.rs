//! Writes a deterministic synthetic validation manifest to stdout:
//! `rekcheck-gen <BYTES> [SEED] [ISSUES_PER_MILLE]`.

use std::io::Write as _;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let parse = |s: Option<String>, default: u64| s.and_then(|s| s.parse().ok()).unwrap_or(default);
    let bytes = parse(args.next(), 10 << 20);
    let defaults = rekcheck_testkit::generate::GenOptions::default();
    let opts = rekcheck_testkit::generate::GenOptions {
        seed: parse(args.next(), defaults.seed),
        issue_per_mille: parse(args.next(), defaults.issue_per_mille),
        ..defaults
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let stats = rekcheck_testkit::generate::generate(&mut out, bytes, &opts)?;
    out.flush()?;
    eprintln!("{stats:?}");
    Ok(())
}
