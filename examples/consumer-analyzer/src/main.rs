//! Reads a manifest with validation results and prints each image in error as a JSON line,
//! then the counts: the analyzer used on its own, without the rekcheck facade.

use std::process::ExitCode;

use rekcheck_analyze::{Analyzer, ImageStatus};

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: consumer-analyzer MANIFEST");
        return ExitCode::from(2);
    };
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot open {}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let analyzer = match Analyzer::new(0) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut images = analyzer.images(std::io::BufReader::new(file));
    for image in &mut images {
        let image = match image {
            Ok(i) => i,
            Err(e) => {
                eprintln!("cannot read {}: {e}", path.to_string_lossy());
                return ExitCode::from(2);
            }
        };
        if image.row.status == ImageStatus::Error {
            let line = serde_json::json!({ "row": image.row, "issues": image.issues });
            println!("{line}");
        }
    }
    let stats = images.stats();
    println!(
        "lines={} ok={} warning={} error={} unparsable={} blank={}",
        stats.lines, stats.ok, stats.warning, stats.error, stats.unparsable, stats.blank
    );
    ExitCode::SUCCESS
}
