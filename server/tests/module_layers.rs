//! The shape of the code, checked: no two modules of the server or app crate use each other,
//! directly or through others (an import circle makes a change in one ripple through all), and
//! the server's layers point one way: `domain` knows no storage or use case, `db` knows no use
//! case, the use cases know no adapter (`http`, `cli`, `jobs`), and `http` names no storage
//! (it calls the use cases). Each source file is parsed with `syn`; a module's uses are the
//! `crate::`/`super::` paths it names outside macros (paths inside `view!` are not seen). A
//! module and the modules inside it may use each other (`super::ServerBackend`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A module's path inside its crate, e.g. `["use_cases", "passkeys"]`; the crate root is `[]`.
type ModulePath = Vec<String>;

/// Every `.rs` file under `dir`, with its module path.
fn modules_of(dir: &Path) -> BTreeMap<ModulePath, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(dir).unwrap_or(&path).with_extension("");
                let mut module: ModulePath = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    module.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    module.pop();
                }
                found.insert(module, path);
            }
        }
    }
    found
}

/// The `crate::`/`super::` paths a file names, as segment lists (`super` kept for resolving).
#[derive(Default)]
struct NamedPaths {
    paths: Vec<Vec<String>>,
    /// Whether the file reads a field or calls a method named `store` (the use cases' storage).
    reaches_store: bool,
}

impl NamedPaths {
    fn push(&mut self, segments: Vec<String>) {
        if matches!(
            segments.first().map(String::as_str),
            Some("crate" | "super")
        ) {
            self.paths.push(segments);
        }
    }

    fn flatten_use(&mut self, prefix: &[String], tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => {
                let mut next = prefix.to_vec();
                next.push(path.ident.to_string());
                self.flatten_use(&next, &path.tree);
            }
            syn::UseTree::Name(name) => {
                let mut next = prefix.to_vec();
                if name.ident != "self" {
                    next.push(name.ident.to_string());
                }
                self.push(next);
            }
            syn::UseTree::Rename(rename) => {
                let mut next = prefix.to_vec();
                next.push(rename.ident.to_string());
                self.push(next);
            }
            syn::UseTree::Glob(_) => self.push(prefix.to_vec()),
            syn::UseTree::Group(group) => {
                for item in &group.items {
                    self.flatten_use(prefix, item);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for NamedPaths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.flatten_use(&[], &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        self.reaches_store |= call.method == "store";
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_field(&mut self, field: &'ast syn::ExprField) {
        if let syn::Member::Named(name) = &field.member {
            self.reaches_store |= name == "store";
        }
        syn::visit::visit_expr_field(self, field);
    }
}

/// The module a path names: the longest known module it starts with.
fn resolve(
    from: &ModulePath,
    path: &[String],
    known: &BTreeMap<ModulePath, PathBuf>,
) -> Option<ModulePath> {
    let mut absolute: ModulePath = Vec::new();
    let mut rest = path;
    if rest.first().map(String::as_str) == Some("crate") {
        rest = &rest[1..];
    } else {
        // `super` of module `a::b` (`a/b.rs` or `a/b/mod.rs`) is `a`.
        absolute = from.clone();
        while rest.first().map(String::as_str) == Some("super") {
            absolute.pop();
            rest = &rest[1..];
        }
    }
    absolute.extend(rest.iter().cloned());
    (0..=absolute.len())
        .rev()
        .map(|n| absolute[..n].to_vec())
        .find(|candidate| known.contains_key(candidate))
}

struct CrateGraph {
    edges: BTreeMap<ModulePath, BTreeMap<ModulePath, String>>,
    reaches_store: BTreeSet<ModulePath>,
}

/// Which module uses which (one example path for each use), ancestors and descendants left
/// out.
fn graph_of(dir: &Path) -> CrateGraph {
    let known = modules_of(dir);
    let mut graph = CrateGraph {
        edges: BTreeMap::new(),
        reaches_store: BTreeSet::new(),
    };
    for (module, file) in &known {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let parsed = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
        let mut named = NamedPaths::default();
        named.visit_file(&parsed);
        if named.reaches_store {
            graph.reaches_store.insert(module.clone());
        }
        let uses = graph.edges.entry(module.clone()).or_default();
        for path in named.paths {
            let Some(target) = resolve(module, &path, &known) else {
                continue;
            };
            let related = target.starts_with(module) || module.starts_with(&target);
            if !related {
                uses.entry(target).or_insert_with(|| path.join("::"));
            }
        }
    }
    graph
}

/// The groups of two or more modules that reach each other (Tarjan's strongly connected
/// components).
fn circles(graph: &CrateGraph) -> Vec<Vec<ModulePath>> {
    struct Search<'g> {
        graph: &'g CrateGraph,
        index: BTreeMap<&'g ModulePath, usize>,
        low: BTreeMap<&'g ModulePath, usize>,
        stack: Vec<&'g ModulePath>,
        on_stack: BTreeSet<&'g ModulePath>,
        found: Vec<Vec<ModulePath>>,
    }
    impl<'g> Search<'g> {
        fn visit(&mut self, module: &'g ModulePath) {
            let at = self.index.len();
            self.index.insert(module, at);
            self.low.insert(module, at);
            self.stack.push(module);
            self.on_stack.insert(module);
            for target in self
                .graph
                .edges
                .get(module)
                .into_iter()
                .flatten()
                .map(|e| e.0)
            {
                if !self.index.contains_key(target) {
                    self.visit(target);
                    let low = self.low[module].min(self.low[target]);
                    self.low.insert(module, low);
                } else if self.on_stack.contains(target) {
                    let low = self.low[module].min(self.index[target]);
                    self.low.insert(module, low);
                }
            }
            if self.low[module] == self.index[module] {
                let mut group = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    group.push(member.clone());
                    if member == module {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut search = Search {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for module in graph.edges.keys() {
        if !search.index.contains_key(module) {
            search.visit(module);
        }
    }
    search.found
}

fn describe(graph: &CrateGraph, group: &[ModulePath]) -> String {
    let mut lines = vec![format!(
        "circle: {}",
        group
            .iter()
            .map(|m| m.join("::"))
            .collect::<Vec<_>>()
            .join(", ")
    )];
    for from in group {
        for (to, example) in graph.edges.get(from).into_iter().flatten() {
            if group.contains(to) {
                lines.push(format!(
                    "  {} -> {} ({example})",
                    from.join("::"),
                    to.join("::")
                ));
            }
        }
    }
    lines.join("\n")
}

fn source_dir(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src")
}

fn assert_no_circles(krate: &str) -> CrateGraph {
    let graph = graph_of(&source_dir(krate));
    assert!(
        graph.edges.len() > 10,
        "{krate}: too few modules found ({}): is the source directory right?",
        graph.edges.len()
    );
    let found = circles(&graph);
    let described: Vec<String> = found.iter().map(|g| describe(&graph, g)).collect();
    assert!(
        found.is_empty(),
        "{krate}: {} import circle(s):\n{}",
        found.len(),
        described.join("\n")
    );
    graph
}

#[test]
fn the_server_has_no_import_circles_and_its_layers_point_one_way() {
    let graph = assert_no_circles("server");
    // (layer, what it must not use)
    let rules: [(&str, &[&str]); 4] = [
        ("domain", &["db", "use_cases", "http", "cli", "jobs"]),
        ("db", &["use_cases", "http", "cli", "jobs"]),
        ("use_cases", &["http", "cli", "jobs"]),
        ("http", &["db"]),
    ];
    let mut broken = Vec::new();
    for (from, uses) in &graph.edges {
        for (layer, forbidden) in rules {
            if from.first().map(String::as_str) != Some(layer) {
                continue;
            }
            for (to, example) in uses {
                if forbidden.contains(&to.first().map(String::as_str).unwrap_or("")) {
                    broken.push(format!("{} uses {example}", from.join("::")));
                }
            }
        }
    }
    for module in &graph.reaches_store {
        if module.first().map(String::as_str) == Some("http") {
            broken.push(format!(
                "{} reaches the use cases' storage (`.store`)",
                module.join("::")
            ));
        }
    }
    assert!(broken.is_empty(), "layers broken:\n{}", broken.join("\n"));
}

#[test]
fn the_app_has_no_import_circles() {
    assert_no_circles("app");
}

#[test]
fn a_circle_is_found_when_there_is_one() {
    // The check itself: two modules that use each other are reported, with the paths.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
    };
    write("lib.rs", "mod a;\nmod b;\nmod c;\n");
    write("a.rs", "use crate::b::B;\npub struct A;\n");
    write("b.rs", "pub struct B(super::a::A);\n");
    write("c.rs", "pub fn c() -> crate::a::A { crate::a::A }\n");
    let graph = graph_of(dir.path());
    let found = circles(&graph);
    assert_eq!(
        found,
        vec![vec![vec!["a".to_owned()], vec!["b".to_owned()]]]
    );
    let text = describe(&graph, &found[0]);
    assert!(text.contains("a -> b (crate::b::B)"), "{text}");
    assert!(text.contains("b -> a (super::a::A)"), "{text}");
}
