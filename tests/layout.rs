//! The house has no file circles: within each crate under `crates/`, no two source files (nor
//! any longer ring of them) import each other through `crate::` or `super::` paths.
//!
//! How it is checked: every `.rs` file under `crates/<crate>/src` is a module (`a.rs` and
//! `a/mod.rs` are `a`, `a/b.rs` is `a::b`; `lib.rs` and `main.rs` are the root). A reference is
//! any `crate::…` or `super::…` path outside comments and outside the file's
//! `#[cfg(test)]` module, grouped `use crate::{a, b::c}` included; it points at the longest
//! module its path names. References to the root are not counted (the root only re-exports),
//! nor those of the root. A strongly connected set of more than one module is a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Circles allowed, per crate: none. An entry may only be added with the issue that will remove
/// it; the test fails when a listed circle is gone too, so the list only shrinks.
const KNOWN: &[(&str, &[&str])] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file relative to `src`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if !(matches!(stem, "mod") || (parts.is_empty() && matches!(stem, "lib" | "main"))) {
        parts.push(stem.to_owned());
    }
    parts
}

/// The code of a file without comments and without its `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// The paths (as segments) after `crate::` / `super::` in `code`; `super` is resolved
/// against `module`.
fn references(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (key, base) in [
        ("crate::", Vec::new()),
        ("super::", module[..module.len().saturating_sub(1)].to_vec()),
    ] {
        let mut rest = code;
        while let Some(i) = rest.find(key) {
            let before = rest[..i].chars().next_back();
            rest = &rest[i + key.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            paths(rest, &base, &mut out);
        }
    }
    out
}

/// Reads `a::b::{c, d::e}` at the start of `s` into full paths under `prefix`.
fn paths(s: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let s = s.trim_start();
    if let Some(group) = s.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    paths(&group[start..i], prefix, out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    paths(&group[start..i], prefix, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let (name, rest) = ident(s);
    if name.is_empty() {
        out.push(prefix.to_vec());
        return;
    }
    let mut path = prefix.to_vec();
    if name == "super" {
        path.pop();
    } else {
        path.push(name.to_owned());
    }
    match rest.strip_prefix("::") {
        Some(rest) => paths(rest, &path, out),
        None => out.push(path),
    }
}

/// The modules of each crate's source folder that are part of a circle, circle by circle.
fn circles(src: &Path) -> Vec<Vec<String>> {
    let mut files = Vec::new();
    rs_files(src, &mut files);
    let mut modules: BTreeMap<Vec<String>, String> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(src).unwrap();
        modules.insert(module_of(rel), std::fs::read_to_string(f).unwrap());
    }
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, text) in &modules {
        let from = edges.entry(module.clone()).or_default();
        if module.is_empty() {
            continue;
        }
        for path in references(&code(text), module) {
            let to = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains_key(p))
                .unwrap_or_default();
            if !to.is_empty() && &to != module {
                from.insert(to);
            }
        }
    }
    // Strongly connected components (Kosaraju, iterative enough for a few dozen files).
    let nodes: Vec<Vec<String>> = edges.keys().cloned().collect();
    let reach = |from: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(n) = stack.pop() {
            for m in edges.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<_, _> = nodes.iter().map(|n| (n.clone(), reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in &nodes {
        if done.contains(n) || !reachable[n].contains(n) {
            continue;
        }
        let ring: Vec<String> = nodes
            .iter()
            .filter(|m| reachable[n].contains(*m) && reachable[*m].contains(n))
            .inspect(|m| {
                done.insert((*m).clone());
            })
            .map(|m| m.join("::"))
            .collect();
        out.push(ring);
    }
    out
}

#[test]
fn no_file_circles_in_any_crate() {
    let crates = root().join("crates");
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&crates)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src").is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "the crates are under crates/: {dirs:?}");
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        for ring in circles(&dir.join("src")) {
            found.push((name.clone(), ring));
        }
    }
    let known: Vec<(String, Vec<String>)> = KNOWN
        .iter()
        .map(|(c, r)| ((*c).to_owned(), r.iter().map(|s| (*s).to_owned()).collect()))
        .collect();
    assert_eq!(
        found, known,
        "modules that import each other (crate, modules of the circle); move what they share below both"
    );
}

#[test]
fn the_check_sees_circles() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("b")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\nuse crate::a::X;\n").unwrap();
    std::fs::write(
        src.join("a.rs"),
        "use crate::{b::c::{Y, Z}, lib_only};\n// crate::d::W\n",
    )
    .unwrap();
    std::fs::write(src.join("b/mod.rs"), "mod c;\n").unwrap();
    std::fs::write(src.join("b/c.rs"), "fn f() { super::super::d::g(); }\n").unwrap();
    std::fs::write(src.join("d.rs"), "pub(crate) fn g() { crate::a::h() }\n").unwrap();
    std::fs::write(
        src.join("e.rs"),
        "fn f() {}\n#[cfg(test)]\nmod tests { use crate::a::X; }\n",
    )
    .unwrap();
    assert_eq!(circles(src), [vec!["a", "b::c", "d"]]);
    // Broken: d no longer calls back into a.
    std::fs::write(src.join("d.rs"), "pub(crate) fn g() {}\n").unwrap();
    assert!(circles(src).is_empty());
}
