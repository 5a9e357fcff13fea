//! Analyzer throughput (MB/s) per thread count, on the two scenarios of the testkit generator:
//! `clean` (object detection, about 5 % issue lines) and `failed` (a failed training's manifest:
//! short lines, a quarter with issues at every level). Run with `cargo bench -p rekcheck-analyze`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rekcheck_analyze::{Analyzer, Dataset, ManifestContext, ReportOptions, ReportWriter, Stats};
use rekcheck_testkit::generate::{Profile, generate};

fn bench(c: &mut Criterion) {
    for profile in [Profile::Clean, Profile::Failed] {
        bench_profile(c, profile);
    }
}

fn bench_profile(c: &mut Criterion, profile: Profile) {
    let mut manifest = Vec::new();
    generate(&mut manifest, 32 << 20, &profile.options(1)).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut threads = vec![1];
    if cores > 1 {
        threads.push(cores);
    }

    let mut g = c.benchmark_group(format!("analyze-{}", profile.name()));
    g.throughput(Throughput::Bytes(manifest.len() as u64));
    g.sample_size(10);
    for &t in &threads {
        let analyzer = Analyzer::new(t).unwrap();
        g.bench_with_input(BenchmarkId::new("lines", t), &t, |b, _| {
            b.iter(|| {
                let mut stats = Stats::default();
                analyzer
                    .analyze_reader(&manifest[..], |a| {
                        stats += a.stats;
                    })
                    .unwrap();
                stats
            });
        });
    }
    for &t in &threads {
        g.bench_with_input(BenchmarkId::new("report", t), &t, |b, _| {
            let dir = tempfile::tempdir().unwrap();
            b.iter(|| {
                let options = ReportOptions {
                    threads: t,
                    ..ReportOptions::default()
                };
                let mut w = ReportWriter::create(dir.path(), options).unwrap();
                let ctx = ManifestContext {
                    dataset: Dataset::Training,
                    manifest: "bench.json".into(),
                    ..ManifestContext::default()
                };
                w.add_manifest(&ctx, &manifest[..], None, &mut |_| {})
                    .unwrap();
                w.finish().unwrap()
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
