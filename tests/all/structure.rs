//! The layering of auth-core and the runtime, checked from their own imports
//! (`docs/architecture.md` says why each boundary is where it is).
//!
//! Every `crate::…` and `super::…` path in a source file (tests left out) is
//! resolved to the file of the deepest module it names. Then: no two files
//! import each other, directly or round a circle; and no file imports from a
//! layer above its own. A new arrow that breaks either fails here, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One crate's layers, top first: a file's layer is the first entry that is
/// a prefix of its module path (`http`, `authn::grants`, ...).
struct Layers {
    src: &'static str,
    top_first: &'static [&'static [&'static str]],
}

const AUTH_CORE: Layers = Layers {
    src: "auth-core/src",
    top_first: &[
        &["http", "housekeeping"],
        &["authn"],
        &["code"],
        &["app"],
        &["caches"],
        &["tenant"],
        &["log_writer", "bootstrap"],
        &["error"],
        &["store", "crypto"],
    ],
};

const RUNTIME: Layers = Layers {
    src: "runtime/src",
    top_first: &[
        &["sandbox"],
        &["runtime", "baseline"],
        &["js"],
        &["call"],
        &["registry"],
        &["host"],
        &["outcome", "admission"],
        &["engine", "config", "artifacts", "validate"],
    ],
};

/// A source file as a module: its path below `src`, its module path, and the
/// paths it names.
struct File {
    rel: PathBuf,
    module: Vec<String>,
    refs: Vec<(bool, Vec<String>)>,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_owned());
        }
    }
    parts
}

/// The code of a file without comments and without its test module.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `crate::a::b` and `super::c` paths (`true` for `crate`), as segments.
fn refs_of(code: &str) -> Vec<(bool, Vec<String>)> {
    let mut refs = Vec::new();
    for (root, is_crate) in [("crate::", true), ("super::", false)] {
        let mut rest = code;
        while let Some(i) = rest.find(root) {
            let before = rest[..i].chars().next_back();
            rest = &rest[i + root.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segs = path
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            refs.push((is_crate, segs));
        }
    }
    refs
}

fn load(layers: &Layers) -> (PathBuf, Vec<File>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(layers.src);
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    paths.sort();
    let files = paths
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap_or(p).to_path_buf();
            let text = std::fs::read_to_string(p).unwrap_or_default();
            File {
                module: module_of(&rel),
                refs: refs_of(&code_of(&text)),
                rel,
            }
        })
        .collect();
    (src, files)
}

/// The file of module `m`, if it is one of ours.
fn file_of(by_module: &BTreeMap<Vec<String>, usize>, m: &[String]) -> Option<usize> {
    by_module.get(m).copied()
}

/// File-to-file arrows.
fn arrows(files: &[File]) -> BTreeSet<(usize, usize)> {
    let by_module: BTreeMap<Vec<String>, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.module.clone(), i))
        .collect();
    let mut out = BTreeSet::new();
    for (i, f) in files.iter().enumerate() {
        // `super` of module a::b (`a/b.rs`) is a; of module a (`a/mod.rs`), the root.
        let parent = f.module[..f.module.len().saturating_sub(1)].to_vec();
        for (is_crate, segs) in &f.refs {
            let mut m = if *is_crate {
                Vec::new()
            } else {
                parent.clone()
            };
            let mut target = file_of(&by_module, &m);
            for s in segs {
                m.push(s.clone());
                match file_of(&by_module, &m) {
                    Some(t) => target = Some(t),
                    None => break,
                }
            }
            if let Some(t) = target
                && t != i
                // A module naming its own children (`mod x;` re-exports) is the
                // way down, not an arrow to check.
                && !files[t].module.starts_with(&f.module)
            {
                out.insert((i, t));
            }
        }
    }
    out
}

fn layer(layers: &Layers, module: &[String]) -> Option<usize> {
    let first = module.first()?;
    layers
        .top_first
        .iter()
        .position(|names| names.contains(&first.as_str()))
}

/// Every circle (strongly connected set of two or more files), by Tarjan.
fn circles(n: usize, edges: &BTreeSet<(usize, usize)>) -> Vec<Vec<usize>> {
    struct T<'a> {
        adj: Vec<Vec<usize>>,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: &'a mut Vec<Vec<usize>>,
    }
    fn visit(t: &mut T<'_>, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        for w in t.adj[v].clone() {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on[w] => t.low[v] = t.low[v].min(iw),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on[w] = false;
                scc.push(w);
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                t.out.push(scc);
            }
        }
    }
    let mut adj = vec![Vec::new(); n];
    for &(a, b) in edges {
        adj[a].push(b);
    }
    let mut out = Vec::new();
    let mut t = T {
        adj,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: &mut out,
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    out
}

fn check(layers: &Layers) {
    let (src, files) = load(layers);
    assert!(files.len() > 10, "no sources under {}", src.display());
    let edges = arrows(&files);
    let name = |i: usize| files[i].rel.display().to_string();
    let mut problems = Vec::new();
    for scc in circles(files.len(), &edges) {
        let mut names: Vec<String> = scc.iter().map(|&i| name(i)).collect();
        names.sort();
        problems.push(format!("import circle: {}", names.join(" <-> ")));
    }
    for &(a, b) in &edges {
        if let (Some(la), Some(lb)) = (
            layer(layers, &files[a].module),
            layer(layers, &files[b].module),
        ) && lb < la
        {
            problems.push(format!(
                "{} imports {} from a layer above it",
                name(a),
                name(b)
            ));
        }
    }
    for f in &files {
        if !f.module.is_empty() && layer(layers, &f.module).is_none() {
            problems.push(format!(
                "{} is in no layer: add its module to tests/all/structure.rs and docs/architecture.md",
                f.rel.display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} ({} files, {} arrows):\n{}",
        layers.src,
        files.len(),
        edges.len(),
        problems.join("\n")
    );
}

#[test]
fn auth_core_arrows_point_one_way() {
    check(&AUTH_CORE);
}

#[test]
fn runtime_arrows_point_one_way() {
    check(&RUNTIME);
}

/// HTTP stops at `http/`: below it, nothing knows axum, header maps or how a
/// client's address is found.
#[test]
fn only_http_knows_http() {
    let (_, files) = load(&AUTH_CORE);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(AUTH_CORE.src);
    for f in files
        .iter()
        .filter(|f| f.module.first().is_some_and(|m| m != "http"))
    {
        let code = code_of(&std::fs::read_to_string(src.join(&f.rel)).unwrap_or_default());
        for word in ["axum", "HeaderMap", "ClientIp"] {
            assert!(
                !code.contains(word),
                "{} names `{word}`: HTTP belongs in http/",
                f.rel.display()
            );
        }
    }
}

/// The checker itself: a circle and an upward arrow are found.
#[test]
fn the_checker_sees_circles_and_upward_arrows() {
    let files = vec![
        File {
            rel: "a.rs".into(),
            module: vec!["a".into()],
            refs: refs_of("use crate::b::X;"),
        },
        File {
            rel: "b.rs".into(),
            module: vec!["b".into()],
            refs: refs_of("fn f() { crate::a::g() }"),
        },
        File {
            rel: "c.rs".into(),
            module: vec!["c".into()],
            refs: refs_of(&code_of(
                "use crate::b::Y;\n// crate::a::z is only a comment",
            )),
        },
    ];
    let edges = arrows(&files);
    let mut found = circles(files.len(), &edges);
    found.iter_mut().for_each(|c| c.sort());
    assert_eq!(found, vec![vec![0, 1]]);
    assert!(!edges.contains(&(2, 0)), "comments are not code");
    assert!(edges.contains(&(2, 1)));
    let l = Layers {
        src: "",
        top_first: &[&["b"], &["c"]],
    };
    assert_eq!(layer(&l, &files[2].module), Some(1));
    assert_eq!(layer(&l, &files[1].module), Some(0));
}
