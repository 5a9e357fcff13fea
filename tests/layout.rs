//! The house has no file circles: within each crate under `crates/`, no two source files (nor
//! any longer ring of them) import each other through `crate::` or `super::` paths.
//!
//! How it is checked: every `.rs` file under `crates/<crate>/src` is a module (`a.rs` and
//! `a/mod.rs` are `a`, `a/b.rs` is `a::b`; `lib.rs` and `main.rs` are the root). A reference is
//! any `crate::…` or `super::…` path outside comments and outside the file's
//! `#[cfg(test)]` module, grouped `use crate::{a, b::c}` included; it points at the longest
//! module its path names. A name a module brings in with `use` (the root's `pub use x::Y`, a
//! `mod.rs`'s `pub use c::Z`, renamed with `as` or not) stands for what it names: `crate::Y`
//! points at `x`, as `crate::x::Y` would. Other references to the root are not counted, nor
//! those of the root. A strongly connected set of more than one module is a circle.

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

/// The names `use` statements bring into `module`, each with the full path it names (from the
/// crate root). Paths that start outside the crate (another crate, `std`) are left out: they
/// lead to no file of this crate.
fn use_names(
    code: &str,
    module: &[String],
    is_module: impl Fn(&[String]) -> bool,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "use ".len()..];
        if before.is_some_and(|c| !(c.is_whitespace() || matches!(c, ';' | '}' | '{' | ')'))) {
            continue;
        }
        let Some(end) = rest.find(';') else { break };
        let mut tree = Vec::new();
        use_tree(&rest[..end], &[], &mut tree);
        for (path, name) in tree {
            let Some(first) = path.first() else { continue };
            let mut full: Vec<String> = match first.as_str() {
                "crate" => Vec::new(),
                "self" => module.to_vec(),
                "super" => module[..module.len().saturating_sub(1)].to_vec(),
                _ => {
                    let mut child = module.to_vec();
                    child.push(first.clone());
                    if !is_module(&child) {
                        continue;
                    }
                    module.to_vec()
                }
            };
            let mut segments = path.iter().skip(usize::from(matches!(
                first.as_str(),
                "crate" | "self" | "super"
            )));
            for seg in segments.by_ref() {
                match seg.as_str() {
                    "super" => {
                        full.pop();
                    }
                    "self" => {}
                    _ => full.push(seg.clone()),
                }
            }
            out.insert(name, full);
        }
        rest = &rest[end..];
    }
    out
}

/// Reads the use tree `a::b::{c, d::e as f, self}` into (path, name it is known by) pairs.
fn use_tree(s: &str, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
    let s = s.trim();
    if let Some(group) = s.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    use_tree(&group[start..i], prefix, out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    use_tree(&group[start..i], prefix, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let s = s.strip_prefix("::").unwrap_or(s);
    let (name, rest) = ident(s);
    if name.is_empty() {
        return;
    }
    if name == "self" && !prefix.is_empty() {
        let known = prefix.last().cloned().unwrap_or_default();
        let alias = rest.trim().strip_prefix("as ").map(|a| ident(a.trim()).0);
        out.push((prefix.to_vec(), alias.unwrap_or(&known).to_owned()));
        return;
    }
    let mut path = prefix.to_vec();
    path.push(name.to_owned());
    if let Some(rest) = rest.trim_start().strip_prefix("::") {
        use_tree(rest, &path, out);
    } else {
        let alias = rest.trim().strip_prefix("as ").map(|a| ident(a.trim()).0);
        let known = alias.unwrap_or(name);
        if known != "_" {
            out.push((path, known.to_owned()));
        }
    }
}

/// The module a path (from the crate root) points at: the longest module it names, where a
/// name a module imports stands for the path it imports (followed a few steps, as re-exports
/// may chain).
fn resolve(
    mut path: Vec<String>,
    modules: &BTreeMap<Vec<String>, String>,
    imports: &BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>,
) -> Vec<String> {
    for _ in 0..8 {
        let module = (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| modules.contains_key(p))
            .unwrap_or_default();
        let Some(next) = path.get(module.len()) else {
            return module;
        };
        match imports.get(&module).and_then(|names| names.get(next)) {
            Some(target) if !target.starts_with(&path[..=module.len()]) => {
                let mut resolved = target.clone();
                resolved.extend_from_slice(&path[module.len() + 1..]);
                path = resolved;
            }
            _ => return module,
        }
    }
    Vec::new()
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
    let imports: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>> = modules
        .iter()
        .map(|(module, text)| {
            let names = use_names(&code(text), module, |p| modules.contains_key(p));
            (module.clone(), names)
        })
        .collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, text) in &modules {
        let from = edges.entry(module.clone()).or_default();
        if module.is_empty() {
            continue;
        }
        for path in references(&code(text), module) {
            let to = resolve(path, &modules, &imports);
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

#[test]
fn the_check_sees_circles_through_re_exports() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("m")).unwrap();
    std::fs::write(
        src.join("lib.rs"),
        "mod f;\nmod g;\nmod h;\nmod m;\n#[cfg(feature = \"x\")]\n\
         pub use f::{Eff as F, self as eff};\npub(crate) use h::H;\npub use m::N as Top;\n\
         pub use std::fmt;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("f.rs"),
        "pub struct Eff;\nfn x() { crate::g::run(); }\n",
    )
    .unwrap();
    std::fs::write(src.join("h.rs"), "pub struct H;\n").unwrap();
    std::fs::write(src.join("m/mod.rs"), "mod n;\npub use n::N;\n").unwrap();
    std::fs::write(
        src.join("m/n.rs"),
        "pub struct N;\nfn k() { crate::g::run(); }\n",
    )
    .unwrap();
    let g = |body: &str| std::fs::write(src.join("g.rs"), body).unwrap();
    // The root's re-export, renamed: `crate::F` is f's.
    g("pub fn run(_: &crate::F) {}\n");
    assert_eq!(circles(src), [vec!["f", "g"]]);
    // A module re-exported under another name: `crate::eff::Eff` is f's too.
    g("pub fn run() { let _ = crate::eff::Eff; }\n");
    assert_eq!(circles(src), [vec!["f", "g"]]);
    // A re-export of a module that does not call back, and one of another crate: no circle.
    g("use crate::{H, fmt::Debug};\npub fn run() {}\n");
    assert!(circles(src).is_empty());
    // A mod.rs's re-export: `crate::m::N` is m::n's.
    g("pub fn run(_: crate::m::N) {}\n");
    assert_eq!(circles(src), [vec!["g", "m::n"]]);
    // Re-exports that chain: the root's `Top` is m's `N`, which is m::n's.
    g("pub fn run(_: crate::Top) {}\n");
    assert_eq!(circles(src), [vec!["g", "m::n"]]);
}
