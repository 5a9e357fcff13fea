//! The table layout (`--layout tables`) read by DuckDB with Hive partitioning: the same rows and
//! counts as the run's own `summary.csv` and other files, from a local folder and from moto
//! (mirrored to a folder: DuckDB's httpfs extension is downloaded on first use, which CI
//! machines without network cannot do).
//!
//! DuckDB runs in Python (`import duckdb`, `REKCHECK_DUCKDB_PYTHON` or `python3`); the tests
//! skip when it is missing unless `REKCHECK_REQUIRE_DUCKDB` is set (CI sets it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use rekcheck_testkit::moto::{Moto, isolated_aws_env, s3_client};

const TABLES: [&str; 6] = ["issues", "images", "summary", "codes", "labels", "versions"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> String {
    std::env::var("REKCHECK_DUCKDB_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Whether DuckDB can be imported; panics when it cannot and `REKCHECK_REQUIRE_DUCKDB` is set.
fn duckdb_available() -> bool {
    let ok = Command::new(python())
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("REKCHECK_REQUIRE_DUCKDB").is_none(),
            "REKCHECK_REQUIRE_DUCKDB is set but {} cannot import duckdb (pip install duckdb)",
            python()
        );
        eprintln!("duckdb missing: skipped");
    }
    ok
}

/// What DuckDB reads of the table layout under `dir`: rows per table, and per partition (the
/// decoded `project_key`, `version_key`) the summary's row count and sums; and the rows whose
/// project or version column differs from its decoded partition value.
const SCRIPT: &str = r#"
import duckdb, json, sys
root = sys.argv[1]
out = {"rows": {}, "summary": {}, "mismatched": 0}
def table(t):
    return f"read_csv('{root}/{t}/*/*/{t}.csv', hive_partitioning=true, header=true, all_varchar=true, hive_types_autocast=false)"
for t in ["issues", "images", "summary", "codes", "labels", "versions"]:
    out["rows"][t] = duckdb.sql(f"select count(*) from {table(t)}").fetchall()[0][0]
    out["mismatched"] += duckdb.sql(
        f"select count(*) from {table(t)} where coalesce(project, '') <> (case when project_key = '~' then '' else project_key end)"
        f" or coalesce(version, '') <> (case when version_key = '~' then '' else version_key end)").fetchall()[0][0]
for p, v, n, lines, err, ok in duckdb.sql(
        f"select project_key, version_key, count(*), sum(lines::bigint), sum(error::bigint), sum(ok::bigint) from {table('summary')} group by all").fetchall():
    out["summary"][f"{p}/{v}"] = [n, lines, err, ok]
print(json.dumps(out))
"#;

fn duckdb_read(dir: &Path) -> serde_json::Value {
    let o = Command::new(python())
        .args(["-c", SCRIPT])
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The same figures from the run's own files in `run_dir` (the csv crate, no partitions).
fn expected(run_dir: &Path) -> serde_json::Value {
    let mut rows = serde_json::Map::new();
    for t in TABLES {
        let n = csv::Reader::from_path(run_dir.join(format!("{t}.csv")))
            .unwrap()
            .records()
            .count();
        rows.insert(t.to_owned(), n.into());
    }
    let mut summary: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    let mut r = csv::Reader::from_path(run_dir.join("summary.csv")).unwrap();
    let header = r.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (lines, error, ok) = (col("lines"), col("error"), col("ok"));
    for rec in r.records() {
        let rec = rec.unwrap();
        let name = |s: &str| {
            if s.is_empty() {
                "~".to_owned()
            } else {
                s.to_owned()
            }
        };
        let key = format!("{}/{}", name(&rec[0]), name(&rec[1]));
        let e = summary.entry(key).or_default();
        e[0] += 1;
        e[1] += rec[lines].parse::<u64>().unwrap();
        e[2] += rec[error].parse::<u64>().unwrap();
        e[3] += rec[ok].parse::<u64>().unwrap();
    }
    serde_json::json!({"rows": rows, "summary": summary, "mismatched": 0})
}

/// The one run folder under `dir/runs/`.
fn run_dir(dir: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let name = runs[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.starts_with("run=") && !name.contains(':'), "{name}");
    runs[0].clone()
}

/// The sample manifests, and the failed-classification scenario under a hostile project and
/// version name (`/`, `%`, `=`, space, non-ASCII, a leading `=` a spreadsheet would run).
fn inputs(dir: &Path) {
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
            }
        }
    };
    for s in ["failed-object-detection", "two-versions", "clean-training"] {
        copy(&root().join("sample-manifests").join(s), &dir.join(s));
    }
    let hostile = dir.join("hostile");
    copy(
        &root().join("sample-manifests/failed-classification"),
        &hostile,
    );
    let describe = hostile.join("describe-project-versions.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&describe).unwrap()).unwrap();
    doc["ProjectVersionDescriptions"][0]["ProjectVersionArn"] =
        "arn:aws:rekognition:us-east-1:111122223333:project/=a%2Fb c/version/v=1 é/1762092311512"
            .into();
    std::fs::write(&describe, serde_json::to_vec(&doc).unwrap()).unwrap();
}

#[test]
fn duckdb_reads_the_local_table_layout_with_the_counts_of_summary_csv() {
    if !duckdb_available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    inputs(&work.path().join("in"));
    let out = work.path().join("out");
    // A second run replaces each version's partition files and adds a run folder.
    for _ in 0..2 {
        let o = Command::new(env!("CARGO_BIN_EXE_rekcheck"))
            .args(["report", "--layout", "tables", "--cells", "raw", "--out"])
            .arg(&out)
            .arg(work.path().join("in"))
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let runs: Vec<PathBuf> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let got = duckdb_read(&out);
    let want = expected(&runs[0]);
    assert_eq!(got, want);
    assert!(
        got["summary"]
            .as_object()
            .unwrap()
            .contains_key("=a%2Fb c/v=1 é"),
        "{got}"
    );
    // No flat file is left beside the tables.
    assert!(!out.join("issues.csv").exists());
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(runs[1].join("index.json")).unwrap()).unwrap();
    assert_eq!(index["schema_version"], 1);
    assert_eq!(index["layout"], "tables");
}

#[test]
fn a_local_folder_defuses_cells_by_default_and_the_tables_still_split_per_version() {
    let work = tempfile::tempdir().unwrap();
    inputs(&work.path().join("in"));
    let out = work.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_rekcheck"))
        .args(["report", "--layout", "tables", "--out"])
        .arg(&out)
        .arg(work.path().join("in"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let part = out.join("versions/project_key=%3Da%252Fb%20c/version_key=v%3D1%20%C3%A9");
    let versions = std::fs::read_to_string(part.join("versions.csv")).unwrap();
    assert!(versions.contains("\r\n'=a%2Fb c,v=1 é,"), "{versions}");
    let run = run_dir(&out);
    let want = expected(&run);
    // Every row of the run is in exactly one partition.
    for t in TABLES {
        let mut n = 0;
        for p in walk(&out.join(t)) {
            n += csv::Reader::from_path(p).unwrap().records().count();
        }
        assert_eq!(serde_json::json!(n), want["rows"][t], "{t}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}

/// Downloads every object of `bucket` under `prefix` into `to`, by key.
fn mirror(rt: &tokio::runtime::Runtime, client: &aws_sdk_s3::Client, bucket: &str, to: &Path) {
    rt.block_on(async {
        let mut pages = client
            .list_objects_v2()
            .bucket(bucket)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for o in page.unwrap().contents() {
                let key = o.key().unwrap();
                assert!(!key.split('/').any(|s| s == ".." || s.is_empty()), "{key}");
                let body = client
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .unwrap()
                    .body
                    .collect()
                    .await
                    .unwrap()
                    .into_bytes();
                let path = to.join(key);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, body).unwrap();
            }
        }
    });
}

#[test]
fn duckdb_reads_the_table_layout_written_to_s3_with_raw_cells_by_default() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(async {
        let c = s3_client(&moto.endpoint()).await;
        c.create_bucket().bucket("tables").send().await.unwrap();
        c
    });
    let work = tempfile::tempdir().unwrap();
    inputs(&work.path().join("in"));
    // The defaults for s3://: tables, raw cells; encrypted with a KMS key.
    let o = isolated_aws_env(
        Command::new(env!("CARGO_BIN_EXE_rekcheck"))
            .arg("report")
            .arg(work.path().join("in"))
            .args(["--out", "s3://tables/rk/"])
            .args(["--sse", "aws:kms", "--sse-kms-key-id", "alias/reports"])
            .args(["--endpoint-url", &moto.endpoint()]),
    )
    .output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mirror_dir = work.path().join("mirror");
    mirror(&rt, &client, "tables", &mirror_dir);
    let out = mirror_dir.join("rk");
    let run = run_dir(&out);
    let versions = std::fs::read_to_string(
        out.join("versions/project_key=%3Da%252Fb%20c/version_key=v%3D1%20%C3%A9/versions.csv"),
    )
    .unwrap();
    assert!(versions.contains("\r\n=a%2Fb c,v=1 é,"), "{versions}");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["layout"], "tables");
    assert_eq!(index["schema_version"], 1);

    // Every object carries the encryption asked for.
    rt.block_on(async {
        for key in [
            "rk/issues/project_key=widgets/version_key=widgets.2026-11-20T10.00.00/issues.csv"
                .to_owned(),
            format!(
                "rk/runs/{}/index.json",
                run.file_name().unwrap().to_str().unwrap()
            ),
        ] {
            let head = client
                .head_object()
                .bucket("tables")
                .key(&key)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{key}: {e:?}"));
            assert_eq!(
                head.server_side_encryption(),
                Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms),
                "{key}"
            );
            assert_eq!(head.ssekms_key_id(), Some("alias/reports"), "{key}");
        }
    });

    if !duckdb_available() {
        return;
    }
    assert_eq!(duckdb_read(&out), expected(&run));
}
