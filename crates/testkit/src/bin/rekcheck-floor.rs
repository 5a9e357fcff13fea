//! The floors `bench` measures rekcheck against, on the same file in the same run:
//! `rekcheck-floor lines FILE` splits the file into lines with memchr (and prints their number);
//! `rekcheck-floor validate FILE [THREADS]` also checks that every non-blank line is JSON with
//! `serde_json` (`IgnoredAny`: nothing is built), on all cores (or THREADS), and prints the
//! number of lines that are not. The file is read whole, as `cat` does.

use std::io::Read as _;

fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', data)
        .chain(std::iter::once(data.len()))
        .filter_map(move |end| {
            let line = data.get(start..end)?;
            start = end + 1;
            Some(line)
        })
}

fn invalid(data: &[u8]) -> u64 {
    lines(data)
        .filter(|l| {
            !l.iter().all(u8::is_ascii_whitespace)
                && serde_json::from_slice::<serde::de::IgnoredAny>(l).is_err()
        })
        .count() as u64
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: rekcheck-floor lines|validate FILE [THREADS]";
    let (mode, path) = (args.next().ok_or(usage)?, args.next().ok_or(usage)?);
    let threads = args
        .next()
        .and_then(|t| t.parse::<usize>().ok())
        .map_or_else(
            || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            |t| t.max(1),
        );
    let mut data = Vec::new();
    std::fs::File::open(&path)
        .and_then(|mut f| f.read_to_end(&mut data))
        .map_err(|e| format!("{path}: {e}"))?;
    match mode.as_str() {
        "lines" => println!("{}", lines(&data).count()),
        "validate" => {
            // One chunk of whole lines per thread.
            let mut chunks = Vec::new();
            let mut rest = &data[..];
            for t in (1..=threads).rev() {
                let want = rest.len() / t;
                let end = memchr::memchr(b'\n', rest.get(want..).unwrap_or_default())
                    .map_or(rest.len(), |i| want + i + 1);
                let (chunk, tail) = rest.split_at(end);
                chunks.push(chunk);
                rest = tail;
            }
            let bad: u64 = std::thread::scope(|s| {
                let handles: Vec<_> = chunks.iter().map(|c| s.spawn(move || invalid(c))).collect();
                handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
            });
            println!("{bad}");
        }
        _ => return Err(usage.into()),
    }
    Ok(())
}
