//! `rekcheck-testkit bench`: rekcheck side by side with what users run instead (jq, a Python
//! json script, DuckDB; curl and `aws s3 cp` from S3), on the same synthetic manifests, in the
//! same run. Writes the table to `BENCHMARKS.md`.
//!
//! ```text
//! cargo run --release -p rekcheck-testkit -- bench [--runs 3] [--mb 200] [--big-mb 1000] [--no-s3]
//!     [--profile clean|failed|both]
//! ```
//! Two scenarios (generator profiles): `clean` (5 % of lines with an issue, long detection lines)
//! and `failed` (a failed training's manifest: short lines, a quarter with issues at every level).
//! Each is measured against floors in the same run: `cat`, a memchr line split, and `serde_json`
//! validating every line on all cores (`rekcheck-floor`); rekcheck is reported as a multiple of
//! the validation floor. Contenders that are not installed are skipped and said so. Every
//! contender must find the same number of issues as rekcheck, or the bench fails.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rekcheck_testkit::generate::{Profile, generate};

struct Args {
    runs: usize,
    mb: u64,
    big_mb: u64,
    s3: bool,
    profiles: Vec<Profile>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        runs: 3,
        mb: 200,
        big_mb: 1000,
        s3: true,
        profiles: vec![Profile::Clean, Profile::Failed],
    };
    let mut it = std::env::args().skip(1);
    match it.next().as_deref() {
        Some("bench") => {}
        _ => {
            return Err(
                "usage: rekcheck-testkit bench [--runs N] [--mb N] [--big-mb N] [--no-s3] [--profile clean|failed|both]".into(),
            );
        }
    }
    while let Some(flag) = it.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match flag.as_str() {
            "--runs" => a.runs = usize::try_from(num("--runs")?).unwrap_or(3).max(1),
            "--mb" => a.mb = num("--mb")?,
            "--big-mb" => a.big_mb = num("--big-mb")?,
            "--no-s3" => a.s3 = false,
            "--profile" => {
                a.profiles = match it.next().as_deref() {
                    Some("both") => vec![Profile::Clean, Profile::Failed],
                    Some(name) => vec![
                        Profile::from_name(name)
                            .ok_or_else(|| format!("unknown profile {name}"))?,
                    ],
                    None => return Err("--profile needs clean, failed or both".into()),
                }
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The path of DuckDB's httpfs extension from the `PyPI` package `duckdb-extension-httpfs`.
fn httpfs_extension() -> Option<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import duckdb_extension_httpfs as m, glob, os; print(glob.glob(os.path.join(os.path.dirname(m.__file__), 'extensions', '*', 'httpfs.duckdb_extension'))[0])",
        ])
        .output()
        .ok()?;
    let path = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !path.is_empty()).then_some(path)
}

/// Whether the httpfs extension at `ext` (`…/extensions/v1.5.5/httpfs.duckdb_extension`) was
/// built for the DuckDB binary `duckdb` (`duckdb --version` says `v1.5.5 …`): DuckDB refuses
/// another version's extension, and then finds no issues at all.
fn extension_fits(ext: &str, duckdb: &str) -> bool {
    let Some(dir) = Path::new(ext)
        .parent()
        .and_then(Path::file_name)
        .and_then(|d| d.to_str())
    else {
        return false;
    };
    Command::new("sh")
        .args(["-c", &format!("{duckdb} --version")])
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()
                .map(|v| v == dir)
        })
        .unwrap_or(false)
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `sh -c script` `runs` times; the median wall time.
fn time(script: &str, runs: usize) -> Result<Duration, String> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let status = Command::new("sh")
            .args(["-c", script])
            .stdout(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        // rekcheck exits 1 when it finds errors; anything else is a failure.
        if !matches!(status.code(), Some(0 | 1)) {
            return Err(format!("`{script}` failed: {status}"));
        }
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// The median of `runs` times to the first byte of `url` (curl's `time_starttransfer`, signed
/// like the SDK's requests), in seconds: how long the server works before it sends anything.
fn first_byte(url: &str, runs: usize) -> Option<f64> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let out = Command::new("curl")
            .args([
                "-sf",
                "--aws-sigv4",
                "aws:amz:us-east-1:s3",
                "--user",
                "t:t",
            ])
            .args(["-o", "/dev/null", "-w", "%{time_starttransfer}", url])
            .env("NO_PROXY", "127.0.0.1")
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        times.push(
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<f64>()
                .ok()?,
        );
    }
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied()
}

/// Medians of `runs` timings of each script, the scripts taking turns (a, b, c, a, b, c...): the
/// machine's drift over the minutes of a bench then moves them together, and their ratios hold
/// (timed one after the other, a floor and the report measured minutes apart drifted by 20 %).
fn time_together(scripts: &[&str], runs: usize) -> Result<Vec<Duration>, String> {
    let mut times = vec![Vec::new(); scripts.len()];
    for _ in 0..runs {
        for (script, t) in scripts.iter().zip(&mut times) {
            t.push(time(script, 1)?);
        }
    }
    Ok(times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect())
}

/// CPU seconds (user + system) that process `pid` has used so far, from `/proc`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let per_second = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    Some(ticks / per_second)
}

/// The last line `/usr/bin/time -f FORMAT` prints for one run of `script`.
fn time_of_run(script: &str, format: &str) -> Option<String> {
    if !Path::new("/usr/bin/time").exists() {
        return None;
    }
    let out = Command::new("/usr/bin/time")
        .args(["-f", format, "sh", "-c", &format!("exec env {script}")])
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    Some(text.lines().last()?.trim().to_owned())
}

/// The 1-minute load average, from `/proc/loadavg`.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU seconds (user + system) of `script`: the median of `runs` runs (one run varied from 0.32
/// to 0.47 CPU-seconds on the clean scenario, and the S3 floor with it).
fn run_cpu_seconds(script: &str, runs: usize) -> Option<f64> {
    let mut all = Vec::new();
    for _ in 0..runs.max(1) {
        let line = time_of_run(script, "%U %S")?;
        let mut parts = line.split_whitespace().map(|x| x.parse::<f64>().ok());
        all.push(parts.next()?? + parts.next()??);
    }
    all.sort_by(f64::total_cmp);
    all.get(all.len() / 2).copied()
}

/// Peak RSS in MB of one run of `script`.
fn peak_rss_mb(script: &str) -> Option<f64> {
    let kb: f64 = time_of_run(script, "%M")?.parse().ok()?;
    Some(kb / 1024.0)
}

fn count_lines(path: &Path) -> u64 {
    std::fs::read(path).map_or(0, |b| b.split(|&c| c == b'\n').count() as u64 - 1)
}

struct Row {
    what: String,
    secs: f64,
    mb_s: f64,
    note: String,
}

#[allow(clippy::cast_precision_loss)]
fn row(what: &str, t: Duration, bytes: u64, note: String) -> Row {
    let secs = t.as_secs_f64();
    Row {
        what: what.to_owned(),
        secs,
        mb_s: bytes as f64 / 1e6 / secs,
        note,
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench: {e}");
        std::process::exit(2);
    }
}

/// What every scenario shares.
struct Kit {
    rk: String,
    floor: String,
    duckdb: String,
    bench_dir: PathBuf,
    work: PathBuf,
    out: PathBuf,
    runs: usize,
}

/// One scenario's results.
struct Scenario {
    profile: Profile,
    manifest: PathBuf,
    bytes: u64,
    lines: u64,
    expected: u64,
    local: Vec<Row>,
    floors: Vec<Row>,
    scaling: f64,
    rss_small: Option<f64>,
    rss_big: Option<f64>,
    /// CPU-seconds of one `report` of the local file.
    report_cpu: Option<f64>,
    skipped: Vec<&'static str>,
}

fn describe(p: Profile) -> &'static str {
    match p {
        Profile::Clean => {
            "object-detection lines of about 980 bytes, about 5 % of them with an issue, at every level"
        }
        Profile::Failed => {
            "a failed training's manifest: lines of about 615 bytes, classification (some with several label attributes) mixed with object detection, a quarter of them with one to three issues at line, attribute, metadata and annotation level, in `errors`, `cl-errors` and `warnings`"
        }
    }
}

#[allow(clippy::too_many_lines)]
fn scenario(kit: &Kit, args: &Args, profile: Profile) -> Result<Scenario, String> {
    let name = profile.name();
    let manifest = kit.work.join(format!("{name}-{}mb.json", args.mb));
    eprintln!("generating {} ...", manifest.display());
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(&manifest).map_err(|e| e.to_string())?);
    let g =
        generate(&mut f, args.mb * 1_000_000, &profile.options(1)).map_err(|e| e.to_string())?;
    drop(f);
    let bytes = g.bytes;
    let m = manifest.display().to_string();
    let out = kit.out.join(name);
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let o = out.display().to_string();
    let (rk, runs) = (&kit.rk, kit.runs);

    // The issue count every contender must reproduce.
    let report = format!("{rk} report {m} --out {o}/rekcheck -q --fail-on never");
    time(&report, 1)?;
    let expected = count_lines(&out.join("rekcheck/issues.csv")) - 1;
    eprintln!(
        "{name}: rekcheck finds {expected} issues in {} lines",
        g.lines
    );

    // The floors, in the same run.
    let mut floors = vec![
        row(
            "cat > /dev/null",
            time(&format!("cat {m} > /dev/null"), runs)?,
            bytes,
            String::new(),
        ),
        row(
            "memchr line split (1 thread)",
            time(&format!("{} lines {m}", kit.floor), runs)?,
            bytes,
            String::new(),
        ),
    ];
    // The validation floor, the report on both thread counts and check take turns, so that
    // the multiples of the floor and of the report hold while the machine drifts.
    let together = time_together(
        &[
            &format!("{} validate {m}", kit.floor),
            &report,
            &format!("{report} --threads 1"),
            &format!("{rk} check {m} --out {o}/check -q --fail-on never"),
        ],
        runs,
    )?;
    let (validate, t, t1, checked) = (together[0], together[1], together[2], together[3]);
    floors.push(row(
        "serde_json validation of every line (IgnoredAny), all cores",
        validate,
        bytes,
        String::new(),
    ));

    let mut local: Vec<Row> = Vec::new();
    local.push(row(
        "rekcheck report (5 CSVs + versions.csv), all cores",
        t,
        bytes,
        format!(
            "{expected} issues; {:.2}x the validation floor",
            t.as_secs_f64() / validate.as_secs_f64()
        ),
    ));
    local.push(row(
        "rekcheck report, --threads 1",
        t1,
        bytes,
        String::new(),
    ));
    let scaling = t1.as_secs_f64() / t.as_secs_f64();
    // `check` reads the same manifest as an input manifest and applies every validation rule.
    local.push(row(
        "rekcheck check (every validation rule), all cores",
        checked,
        bytes,
        format!("{:.2}x report", checked.as_secs_f64() / t.as_secs_f64()),
    ));

    let check =
        |name: &str, script: String, csv: &Path, local: &mut Vec<Row>| -> Result<(), String> {
            let t = time(&script, runs)?;
            let n = count_lines(csv);
            if n != expected {
                return Err(format!("{name} found {n} issues, rekcheck {expected}"));
            }
            local.push(row(name, t, bytes, format!("{n} issues")));
            Ok(())
        };
    let mut skipped = Vec::new();
    let bench_dir = &kit.bench_dir;
    if have("jq") {
        let csv = out.join("jq.csv");
        check(
            "jq (issues to CSV)",
            format!(
                "jq -r -f {}/issues.jq {m} > {}",
                bench_dir.display(),
                csv.display()
            ),
            &csv,
            &mut local,
        )?;
    } else {
        skipped.push("jq");
    }
    if have("python3") {
        let csv = out.join("py.csv");
        check(
            "Python json script",
            format!(
                "python3 {}/issues.py {m} {}",
                bench_dir.display(),
                csv.display()
            ),
            &csv,
            &mut local,
        )?;
    } else {
        skipped.push("python3");
    }
    if have(&kit.duckdb) {
        let csv = out.join("duck.csv");
        let file = match profile {
            Profile::Clean => "issues.sql",
            Profile::Failed => "issues-failed.sql",
        };
        let sql = std::fs::read_to_string(bench_dir.join(file))
            .map_err(|e| e.to_string())?
            .replace("{manifest}", &m)
            .replace("{out}", &csv.display().to_string());
        let sql_path = kit.work.join(format!("{name}-{file}"));
        std::fs::write(&sql_path, sql).map_err(|e| e.to_string())?;
        check(
            "DuckDB (declared columns, COPY TO csv)",
            format!("{} < {} 2>/dev/null", kit.duckdb, sql_path.display()),
            &csv,
            &mut local,
        )?;
    } else {
        skipped
            .push("duckdb (pip install duckdb-cli==1.5.5; REKCHECK_BENCH_DUCKDB names its binary)");
    }

    // Memory, flat in the size of the manifest.
    let rss_small = peak_rss_mb(&report);
    let report_cpu = run_cpu_seconds(&report, kit.runs);
    let mut rss_big = None;
    if args.big_mb > 0 {
        let big = kit.work.join(format!("{name}-{}mb.json", args.big_mb));
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(&big).map_err(|e| e.to_string())?);
        generate(&mut f, args.big_mb * 1_000_000, &profile.options(7))
            .map_err(|e| e.to_string())?;
        drop(f);
        rss_big = peak_rss_mb(&format!(
            "{rk} report {} --out {o}/big -q --fail-on never",
            big.display()
        ));
        let _ = std::fs::remove_file(&big);
    }
    Ok(Scenario {
        profile,
        manifest,
        bytes,
        lines: g.lines,
        expected,
        local,
        floors,
        scaling,
        rss_small,
        rss_big,
        report_cpu,
        skipped,
    })
}

#[allow(clippy::too_many_lines, clippy::cast_precision_loss)]
fn run() -> Result<(), String> {
    let args = parse_args()?;
    let root = root();
    let work = root.join("target/bench");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    eprintln!("building rekcheck and rekcheck-floor (release)...");
    let st = Command::new("cargo")
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "rekcheck-cli",
            "-p",
            "rekcheck-testkit",
        ])
        .current_dir(&root)
        .status()
        .map_err(|e| e.to_string())?;
    if !st.success() {
        return Err("cargo build failed".into());
    }
    // The binaries are where cargo put them: CARGO_TARGET_DIR when set.
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let bin = |name: &str| target.join("release").join(name).display().to_string();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let kit = Kit {
        rk: bin("rekcheck"),
        floor: bin("rekcheck-floor"),
        // The pip package's `duckdb` is a Python wrapper that adds Python's start-up: name the
        // binary itself here to time DuckDB alone.
        duckdb: std::env::var("REKCHECK_BENCH_DUCKDB").unwrap_or_else(|_| "duckdb".into()),
        bench_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench"),
        out: work.join("out"),
        work,
        runs: args.runs,
    };
    let load_before = load_average();
    let mut scenarios = Vec::new();
    for &p in &args.profiles {
        scenarios.push(scenario(&kit, &args, p)?);
    }
    let rk = &kit.rk;
    let o = kit.out.display().to_string();
    let mut skipped: Vec<&str> = Vec::new();
    for s in &scenarios {
        for k in &s.skipped {
            if !skipped.contains(k) {
                skipped.push(k);
            }
        }
    }

    // S3: moto on loopback.
    let mut s3_rows: Vec<Row> = Vec::new();
    let mut s3_note = String::new();
    let clean = scenarios.iter().find(|s| s.profile == Profile::Clean);
    if args.s3
        && let Some(clean) = clean
    {
        if let Some(moto) = rekcheck_testkit::moto::Moto::start() {
            let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            let body = std::fs::read(&clean.manifest).map_err(|e| e.to_string())?;
            rt.block_on(async {
                let c = rekcheck_testkit::moto::s3_client(&moto.endpoint()).await;
                rekcheck_testkit::moto::put_objects(
                    &c,
                    "bench",
                    &[("m/TrainingManifestWithValidation-p-v.json", body)],
                )
                .await;
            });
            drop(rt);
            let url = format!(
                "{}/bench/m/TrainingManifestWithValidation-p-v.json",
                moto.endpoint()
            );
            let env = "AWS_ACCESS_KEY_ID=t AWS_SECRET_ACCESS_KEY=t AWS_REGION=us-east-1 NO_PROXY=127.0.0.1 AWS_CONFIG_FILE=/dev/null";
            // Signed like the SDK's requests; -f fails on an HTTP error instead of timing it.
            let moto_before = cpu_seconds(moto.pid());
            let curl = time(
                &format!(
                    "NO_PROXY=127.0.0.1 curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user t:t -o /dev/null '{url}'"
                ),
                kit.runs,
            )?;
            #[allow(clippy::cast_precision_loss)]
            let moto_per_get = match (moto_before, cpu_seconds(moto.pid())) {
                (Some(a), Some(b)) => Some((b - a) / kit.runs as f64),
                _ => None,
            };
            s3_rows.push(row(
                "curl -o /dev/null (serving ceiling)",
                curl,
                clean.bytes,
                String::new(),
            ));
            let s3_report = format!(
                "{env} {rk} report s3://bench/m/TrainingManifestWithValidation-p-v.json --endpoint-url {} --out {o}/s3 -q --fail-on never",
                moto.endpoint()
            );
            let t = time(&s3_report, kit.runs)?;
            let s3_rss = peak_rss_mb(&s3_report);
            let rekcheck_s3 = t;
            // rekcheck's CPU-seconds analyzing the same bytes from the local file.
            let rekcheck_cpu = clean.report_cpu;
            if let (Some(m), Some(r)) = (moto_per_get, rekcheck_cpu) {
                #[allow(clippy::cast_precision_loss)]
                let floor = (m + r) / cores as f64;
                s3_note = format!(
                    "CPU floor: moto spends {m:.2} CPU-seconds serving the object once and rekcheck {r:.2} CPU-seconds analyzing the same file locally, on the same {cores} cores: a report from S3 cannot take less than ({m:.2} + {r:.2}) / {cores} = {floor:.2} s here, at most {:.0} % of curl's speed. rekcheck's report from S3 takes {:.2}x the CPU floor.",
                    curl.as_secs_f64() / floor * 100.0,
                    t.as_secs_f64() / floor
                );
                // moto reads the whole object before it sends its first byte: that part of its
                // CPU runs alone, not beside the analysis.
                if let Some(f) = first_byte(&url, kit.runs) {
                    #[allow(clippy::cast_precision_loss)]
                    let serial = f + ((m - f).max(0.0) + r) / cores as f64;
                    let _ = write!(
                        s3_note,
                        " moto's first byte comes {f:.2} s after the request (median of curl's time_starttransfer), and nothing can be analyzed before it: with that wait counted as it happens, in turn, the floor is {f:.2} + ({:.2} + {r:.2}) / {cores} = {serial:.2} s, and rekcheck takes {:.2}x that.",
                        (m - f).max(0.0),
                        t.as_secs_f64() / serial
                    );
                }
            }
            s3_rows.push(row(
                "rekcheck report s3://…",
                t,
                clean.bytes,
                format!(
                    "{:.0} % of curl; peak RSS {}",
                    curl.as_secs_f64() / t.as_secs_f64() * 100.0,
                    s3_rss.map_or_else(|| "not measured".to_owned(), |m| format!("{m:.0} MB"))
                ),
            ));
            if have("aws") {
                let t = time(
                    &format!(
                        "{env} aws --endpoint-url {} s3 cp s3://bench/m/TrainingManifestWithValidation-p-v.json {o}/cp.json --only-show-errors && python3 {}/issues.py {o}/cp.json {o}/cp.csv",
                        moto.endpoint(),
                        kit.bench_dir.display()
                    ),
                    kit.runs,
                )?;
                s3_rows.push(row(
                    "aws s3 cp + Python json script",
                    t,
                    clean.bytes,
                    String::new(),
                ));
            } else {
                skipped.push("aws CLI");
            }
            match httpfs_extension() {
                Some(ext) if have(&kit.duckdb) && !extension_fits(&ext, &kit.duckdb) => {
                    skipped.push(
                        "DuckDB httpfs (the pip extension's version is not the DuckDB binary's: pip install duckdb-cli==1.5.5 duckdb-extension-httpfs==1.5.5)",
                    );
                }
                Some(ext) if have(&kit.duckdb) => {
                    // DuckDB's own S3 reader: the extension loaded by path (offline), path-style
                    // URLs, no TLS.
                    let csv = kit.out.join("duck-s3.csv");
                    let sql = format!(
                        "LOAD '{ext}';\nCREATE SECRET (TYPE s3, KEY_ID 't', SECRET 't', REGION 'us-east-1', ENDPOINT '{}', URL_STYLE 'path', USE_SSL false);\n{}",
                        moto.addr(),
                        std::fs::read_to_string(kit.bench_dir.join("issues.sql"))
                            .map_err(|e| e.to_string())?
                            .replace(
                                "{manifest}",
                                "s3://bench/m/TrainingManifestWithValidation-p-v.json"
                            )
                            .replace("{out}", &csv.display().to_string())
                    );
                    let sql_path = kit.work.join("issues-s3.sql");
                    std::fs::write(&sql_path, sql).map_err(|e| e.to_string())?;
                    let t = time(
                        &format!(
                            "NO_PROXY=127.0.0.1 {} < {} 2>/dev/null",
                            kit.duckdb,
                            sql_path.display()
                        ),
                        kit.runs,
                    )?;
                    let n = count_lines(&csv);
                    if n != clean.expected {
                        return Err(format!(
                            "DuckDB httpfs found {n} issues, rekcheck {}",
                            clean.expected
                        ));
                    }
                    s3_rows.push(row(
                        "DuckDB + httpfs (read_json s3://…, COPY TO csv)",
                        t,
                        clean.bytes,
                        format!(
                            "{n} issues; rekcheck is {:.1}x faster",
                            t.as_secs_f64() / rekcheck_s3.as_secs_f64()
                        ),
                    ));
                }
                _ => skipped.push(
                    "DuckDB httpfs (pip install duckdb-cli==1.5.5 duckdb-extension-httpfs==1.5.5)",
                ),
            }
        } else {
            s3_note = "moto is not installed: S3 part skipped".into();
        }
    }

    let mut md = String::new();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let load_after = load_average();
    let _ = writeln!(md, "# Benchmarks\n");
    let profiles: Vec<&str> = args.profiles.iter().map(|p| p.name()).collect();
    let _ = writeln!(
        md,
        "Measured {date} on a machine with {cores} cores by `cargo run --release -p rekcheck-testkit -- bench --runs {} --mb {} --big-mb {} --profile {}`. Wall times are medians of {} runs; the validation floor, both reports and `check` take turns run by run, so that their ratios hold while the machine drifts. Every contender finds the same number of issues as rekcheck.\n",
        args.runs,
        args.mb,
        args.big_mb,
        if profiles.len() == 2 {
            "both"
        } else {
            profiles[0]
        },
        args.runs
    );
    if let (Some(a), Some(b)) = (load_before, load_after) {
        let _ = writeln!(
            md,
            "Load average (1 minute) {a:.2} at the start and {b:.2} at the end of the run{}.\n",
            if a.max(b) > cores as f64 + 0.5 {
                ", over the number of cores: other work shared them and wall times are noisy"
            } else {
                ""
            }
        );
    }
    for s in &scenarios {
        let _ = writeln!(
            md,
            "## Local file, scenario `{}`\n\nSynthetic manifest from the testkit generator (`--profile {}`): {}. {} bytes, {} lines, {} issues.\n",
            s.profile.name(),
            s.profile.name(),
            describe(s.profile),
            s.bytes,
            s.lines,
            s.expected
        );
        let _ = writeln!(
            md,
            "| contender | wall time | MB/s | rekcheck is faster by | notes |\n| --- | --- | --- | --- | --- |"
        );
        let base = s.local[0].secs;
        for r in &s.local {
            let _ = writeln!(
                md,
                "| {} | {:.2} s | {:.0} | {:.1}x | {} |",
                r.what,
                r.secs,
                r.mb_s,
                r.secs / base,
                r.note
            );
        }
        let _ = writeln!(
            md,
            "\nFloors, same file, same run (`rekcheck-floor` is a testkit binary):\n\n| floor | wall time | MB/s | rekcheck report takes |\n| --- | --- | --- | --- |"
        );
        for r in &s.floors {
            let _ = writeln!(
                md,
                "| {} | {:.2} s | {:.0} | {:.2}x |",
                r.what,
                r.secs,
                r.mb_s,
                base / r.secs
            );
        }
        let _ = writeln!(
            md,
            "\nParallel efficiency: {cores} threads run {:.2}x as fast as one.\n",
            s.scaling
        );
    }
    let _ = writeln!(md, "## Memory (peak RSS of `rekcheck report`)\n");
    let _ = writeln!(
        md,
        "| scenario | manifest | peak RSS |\n| --- | --- | --- |"
    );
    for s in &scenarios {
        if let Some(r) = s.rss_small {
            let _ = writeln!(md, "| {} | {} MB | {r:.0} MB |", s.profile.name(), args.mb);
        }
        if let Some(r) = s.rss_big {
            let _ = writeln!(
                md,
                "| {} | {} MB | {r:.0} MB |",
                s.profile.name(),
                args.big_mb
            );
        }
    }
    if !s3_rows.is_empty() || !s3_note.is_empty() {
        let _ = writeln!(
            md,
            "\n## From S3 (moto on 127.0.0.1, the `clean` scenario's object)\n"
        );
        let _ = writeln!(
            md,
            "| contender | wall time | MB/s | notes |\n| --- | --- | --- | --- |"
        );
        for r in &s3_rows {
            let _ = writeln!(
                md,
                "| {} | {:.2} s | {:.0} | {} |",
                r.what, r.secs, r.mb_s, r.note
            );
        }
        if !s3_note.is_empty() {
            let _ = writeln!(md, "\n{s3_note}");
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(md, "\nSkipped (not installed): {}.", skipped.join(", "));
    }
    std::fs::write(root.join("BENCHMARKS.md"), &md).map_err(|e| e.to_string())?;
    print!("{md}");
    Ok(())
}
