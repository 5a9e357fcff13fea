//! Analyzer throughput (MB/s) per thread count, on a synthetic object-detection manifest with
//! about 5 % issue lines. Run with `cargo bench -p rekcheck-analyze`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rekcheck_analyze::{Analyzer, Dataset, ManifestContext, ReportOptions, ReportWriter, Stats};
use rekcheck_testkit::generate::{GenOptions, generate};

fn bench(c: &mut Criterion) {
    let mut manifest = Vec::new();
    generate(&mut manifest, 32 << 20, &GenOptions::default()).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut threads = vec![1];
    if cores > 1 {
        threads.push(cores);
    }

    let mut g = c.benchmark_group("analyze");
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
