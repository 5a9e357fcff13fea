//! `deploy/iam-policy.json` allows every AWS operation the code calls, and nothing else (bar
//! the KMS actions of encrypted buckets): the operations are found by reading the sources for
//! `.<operation>()` calls, where the operations are the modules of the SDK crates'
//! `src/operation/` folders (located with `cargo metadata`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The operation names (snake case) of each SDK crate used: `aws-sdk-s3` and
/// `aws-sdk-rekognition`.
fn sdk_operations() -> BTreeMap<&'static str, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let o = std::process::Command::new(cargo)
        .current_dir(root())
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut ops = BTreeMap::new();
    for (krate, service) in [("aws-sdk-s3", "s3"), ("aws-sdk-rekognition", "rekognition")] {
        let package = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == krate)
            .unwrap_or_else(|| panic!("{krate} not in cargo metadata"));
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
        let dir = manifest.parent().unwrap().join("src/operation");
        let names: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert!(names.len() > 20, "{}: {names:?}", dir.display());
        ops.insert(service, names);
    }
    ops
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `.<name>()` in the sources of the crates that ship (not the test kit).
fn calls() -> BTreeSet<String> {
    let mut files = Vec::new();
    for c in ["cli", "rekcheck", "rekcheck-fetch", "rekcheck-locate"] {
        rust_files(&root().join("crates").join(c).join("src"), &mut files);
    }
    let mut calls = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, _) in text.match_indices("()") {
            let before = &text[..i];
            let start = before
                .rfind(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .map_or(0, |s| s + 1);
            if start > 0 && before.as_bytes()[start - 1] == b'.' && start < i {
                calls.insert(before[start..].to_owned());
            }
        }
    }
    calls
}

/// The IAM action an operation needs.
fn action(service: &str, op: &str) -> String {
    match (service, op) {
        ("s3", "list_objects_v2" | "list_objects" | "head_bucket") => "s3:ListBucket".to_owned(),
        ("s3", "head_object") => "s3:GetObject".to_owned(),
        _ => {
            let camel: String = op
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            format!("{service}:{camel}")
        }
    }
}

fn policy_actions() -> BTreeSet<String> {
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("deploy/iam-policy.json")).unwrap())
            .unwrap();
    let mut actions = BTreeSet::new();
    for s in doc["Statement"].as_array().unwrap() {
        assert_eq!(s["Effect"], "Allow");
        match &s["Action"] {
            serde_json::Value::String(a) => {
                actions.insert(a.clone());
            }
            serde_json::Value::Array(a) => {
                actions.extend(a.iter().map(|a| a.as_str().unwrap().to_owned()));
            }
            other => panic!("Action {other}"),
        }
    }
    actions
}

#[test]
fn the_policy_allows_every_operation_the_code_calls_and_no_other() {
    let ops = sdk_operations();
    let calls = calls();
    let mut needed = BTreeSet::new();
    for (service, names) in &ops {
        for op in names.intersection(&calls) {
            needed.insert(action(service, op));
        }
    }
    // The operations known to be called: the scan finds them.
    for a in [
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "rekognition:DescribeProjectVersions",
    ] {
        assert!(
            needed.contains(a),
            "{a} not found in the sources: {needed:?}"
        );
    }
    let allowed = policy_actions();
    let missing: Vec<&String> = needed.difference(&allowed).collect();
    assert!(
        missing.is_empty(),
        "deploy/iam-policy.json lacks {missing:?}"
    );
    // Least privilege: nothing beyond what the code calls, and KMS for encrypted buckets
    // (Decrypt to read SSE-KMS inputs, GenerateDataKey to write with --sse aws:kms).
    let kms: BTreeSet<String> = ["kms:Decrypt", "kms:GenerateDataKey"]
        .map(str::to_owned)
        .into();
    let extra: Vec<&String> = allowed
        .iter()
        .filter(|a| !needed.contains(*a) && !kms.contains(*a))
        .collect();
    assert!(
        extra.is_empty(),
        "deploy/iam-policy.json allows unused {extra:?}"
    );
    assert!(allowed.iter().all(|a| !a.contains('*')), "{allowed:?}");
}
