//! The layering rules of docs/architecture.md, checked on the source: no module imports
//! another that imports it back (between top-level modules, and between files other than a
//! module and its own children), and collectors know nothing of actors, HTTP or telemetry.
//! The check reads `crate::` and `super::` paths (use trees included) outside comments and
//! `#[cfg(test)]` modules; it needs no compiler plug-in, so it runs with the suite.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// `src/a/b.rs` → `a::b`, `src/a/mod.rs` → `a`.
fn module_of(path: &Path, src: &Path) -> String {
    let rel = path.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let parts = match parts.split_last() {
        Some((last, rest)) if last == "mod" || last == "lib" || last == "main" => rest.to_vec(),
        _ => parts,
    };
    parts.join("::")
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)]` module (tests may
/// reach anywhere).
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path written after `crate::` or `super::`, expanded over `{a, b::c}` use trees, as
/// segment lists relative to the crate root.
fn referenced_paths(module: &str, code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (anchor, base) in [("crate::", Vec::new()), ("super::", parent_of(module))] {
        let mut rest = code;
        while let Some(at) = rest.find(anchor) {
            let preceded_by_ident = rest[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            rest = &rest[at + anchor.len()..];
            if preceded_by_ident {
                continue;
            }
            let mut prefix = base.clone();
            expand(rest, &mut prefix, &mut out);
        }
    }
    out
}

fn parent_of(module: &str) -> Vec<String> {
    let mut parts: Vec<String> = module.split("::").map(String::from).collect();
    parts.pop();
    parts
}

/// Reads `a::b::{c, d::e}` at the start of `text` into full paths under `prefix`.
fn expand(text: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut rest = text;
    loop {
        let ident: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !ident.is_empty() {
            prefix.push(ident.clone());
            rest = &rest[ident.len()..];
        }
        if let Some(r) = rest.strip_prefix("::") {
            rest = r;
            if let Some(r) = rest.strip_prefix('{') {
                let body = &r[..closing_brace(r)];
                for item in split_top_level(body) {
                    let mut p = prefix.clone();
                    expand(item.trim(), &mut p, out);
                }
                return;
            }
            continue;
        }
        out.push(prefix.clone());
        return;
    }
}

fn closing_brace(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

fn split_top_level(body: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
}

/// Module → the modules its code names (the longest path prefix that is a module).
fn file_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let texts: BTreeMap<String, String> = files
        .iter()
        .map(|p| (module_of(p, &src), code(&std::fs::read_to_string(p).unwrap())))
        .collect();
    let mut graph = Graph::new();
    for (module, text) in &texts {
        let deps = graph.entry(module.clone()).or_default();
        for path in referenced_paths(module, text) {
            if let Some(target) = (1..=path.len())
                .rev()
                .map(|k| path[..k].join("::"))
                .find(|m| texts.contains_key(m))
            {
                if &target != module {
                    deps.insert(target);
                }
            }
        }
    }
    graph
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

fn is_ancestor(a: &str, b: &str) -> bool {
    b.starts_with(&format!("{a}::"))
}

/// The strongly connected components with more than one member (each one a cycle).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    fn reach(graph: &Graph, from: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(m) = stack.pop() {
            for d in graph.get(&m).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        seen
    }
    let reachable: BTreeMap<&String, BTreeSet<String>> = graph.keys().map(|m| (m, reach(graph, m))).collect();
    let mut found: Vec<Vec<String>> = Vec::new();
    for m in graph.keys() {
        let component: Vec<String> = graph
            .keys()
            .filter(|o| *o == m || (reachable[m].contains(*o) && reachable[*o].contains(m)))
            .cloned()
            .collect();
        if component.len() > 1 && !found.contains(&component) {
            found.push(component);
        }
    }
    found
}

#[test]
fn no_top_level_module_imports_one_that_imports_it_back() {
    let mut graph = Graph::new();
    for (module, deps) in file_graph() {
        let entry = graph.entry(top(&module).to_string()).or_default();
        entry.extend(deps.iter().map(|d| top(d).to_string()).filter(|d| d != top(&module)));
    }
    assert!(
        graph.contains_key("actors") && graph["actors"].contains("collectors"),
        "{graph:?}"
    );
    assert_eq!(cycles(&graph), Vec::<Vec<String>>::new());
}

#[test]
fn no_file_imports_one_that_imports_it_back() {
    let graph: Graph = file_graph()
        .into_iter()
        .map(|(m, deps)| {
            let deps = deps
                .into_iter()
                .filter(|d| !is_ancestor(d, &m) && !is_ancestor(&m, d))
                .collect();
            (m, deps)
        })
        .collect();
    assert!(
        graph["actors::state"].contains("actors::messages"),
        "{:?}",
        graph["actors::state"]
    );
    assert_eq!(cycles(&graph), Vec::<Vec<String>>::new());
}

#[test]
fn collectors_know_nothing_of_actors_http_or_telemetry() {
    let forbidden = ["actors", "http", "telemetry", "app"];
    let offending: Vec<String> = file_graph()
        .into_iter()
        .filter(|(m, _)| top(m) == "collectors")
        .flat_map(|(m, deps)| {
            deps.into_iter()
                .filter(|d| forbidden.contains(&top(d)))
                .map(move |d| format!("{m} -> {d}"))
        })
        .collect();
    assert_eq!(offending, Vec::<String>::new());
}

#[test]
fn the_checker_sees_a_cycle_when_there_is_one() {
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    graph.entry("d".into()).or_default().insert("a".into());
    assert_eq!(cycles(&graph), vec![vec!["a".to_string(), "b".into(), "c".into()]]);
    let mut paths = Vec::new();
    expand("x::{y, z::{w, v}};", &mut vec!["actors".into()], &mut paths);
    assert_eq!(
        paths,
        vec![
            vec!["actors", "x", "y"],
            vec!["actors", "x", "z", "w"],
            vec!["actors", "x", "z", "v"],
        ]
        .into_iter()
        .map(|p| p.into_iter().map(String::from).collect::<Vec<_>>())
        .collect::<Vec<_>>()
    );
}
