//! Writes a deterministic synthetic validation manifest to stdout:
//! `rekcheck-gen <BYTES> [SEED] [ISSUES_PER_MILLE] [PROFILE]`, where `PROFILE` is `clean`
//! (the default) or `failed` (see `Profile`; its `ISSUES_PER_MILLE` defaults to 250).

use std::io::Write as _;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let parse = |s: Option<String>, default: u64| s.and_then(|s| s.parse().ok()).unwrap_or(default);
    let bytes = parse(args.next(), 10 << 20);
    let (seed, per_mille) = (args.next(), args.next());
    let profile = match args.next() {
        None => rekcheck_testkit::generate::Profile::Clean,
        Some(name) => rekcheck_testkit::generate::Profile::from_name(&name).ok_or_else(|| {
            std::io::Error::other(format!("unknown profile {name}: clean or failed"))
        })?,
    };
    let defaults = profile.options(1);
    let opts = rekcheck_testkit::generate::GenOptions {
        seed: parse(seed, defaults.seed),
        issue_per_mille: parse(per_mille, defaults.issue_per_mille),
        ..defaults
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let stats = rekcheck_testkit::generate::generate(&mut out, bytes, &opts)?;
    out.flush()?;
    eprintln!("{stats:?}");
    Ok(())
}
