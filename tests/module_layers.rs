//! The library's modules form layers that import one way only (ARCHITECTURE.md,
//! "Layering"): format → io → dir → config → shared → recovery / writer /
//! replay → wal → archive → open. This reads `src/` and fails on any `crate::`
//! path that reaches a later layer, and on any cycle.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module and its layer: a module may name modules of its own
/// layer or an earlier one, never a later one.
const LAYERS: &[(&str, u32)] = &[
    ("error", 0),
    ("ids", 0),
    ("format", 0),
    ("cursor", 0),
    ("metrics", 0),
    ("sync", 0),
    ("ticket", 0),
    ("fence", 0),
    ("io", 1),
    ("dir", 2),
    ("append_buffer", 2),
    ("feed", 2),
    ("config", 3),
    ("config_file", 3),
    ("import_go", 3),
    ("shared", 4),
    ("recovery", 5),
    ("writer", 6),
    ("replay", 6),
    ("wal", 7),
    ("backend", 8),
    ("read_only", 10),
    ("go", 8),
    ("archive", 9),
    ("open", 10),
    ("repair", 11),
    ("fuzzing", 11),
    ("internals", 11),
    ("loom_api", 11),
];

/// The source of a file without comments and without its unit-test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::name` in `code`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

fn collect(dir: &Path, src: &Path, graph: &mut BTreeMap<String, BTreeSet<String>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, src, graph);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path
            .strip_prefix(src)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let top = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let deps = crate_paths(&code_of(&text));
        graph.entry(top).or_default().extend(deps);
    }
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut g = BTreeMap::new();
    collect(&src, &src, &mut g);
    let modules: BTreeSet<String> = g.keys().cloned().collect();
    for (m, deps) in g.iter_mut() {
        deps.retain(|d| d != m && modules.contains(d));
    }
    g
}

#[test]
fn every_module_has_a_layer() {
    let layers: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    for m in graph().keys() {
        assert!(
            layers.contains_key(m.as_str()),
            "module {m} has no layer in LAYERS"
        );
    }
}

#[test]
fn no_module_imports_a_later_layer() {
    let layers: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (m, deps) in graph() {
        let Some(&mine) = layers.get(m.as_str()) else {
            continue;
        };
        for d in deps {
            if layers.get(d.as_str()).is_some_and(|&theirs| theirs > mine) {
                wrong.push(format!(
                    "{m} (layer {mine}) imports {d} (layer {})",
                    layers[d.as_str()]
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_module_graph_has_no_cycle() {
    let g = graph();
    // Depth-first search with colours: reaching a grey node is a cycle.
    fn visit<'a>(
        m: &'a str,
        g: &'a BTreeMap<String, BTreeSet<String>>,
        colour: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match colour.get(m) {
            Some(1) => {
                let at = path.iter().position(|p| *p == m).unwrap_or(0);
                let mut cycle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            Some(_) => return None,
            None => {}
        }
        colour.insert(m, 1);
        path.push(m);
        for d in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, g, colour, path) {
                return Some(c);
            }
        }
        path.pop();
        colour.insert(m, 2);
        None
    }
    let mut colour = BTreeMap::new();
    for m in g.keys() {
        let cycle = visit(m, &g, &mut colour, &mut Vec::new());
        assert!(
            cycle.is_none(),
            "import cycle: {}",
            cycle.unwrap().join(" -> ")
        );
    }
}

#[test]
fn the_scanner_sees_imports() {
    // The test would pass vacuously if it found no edges.
    let g = graph();
    assert!(g["wal"].contains("writer"), "{:?}", g["wal"]);
    assert!(g["archive"].contains("shared"), "{:?}", g["archive"]);
}

/// File calls that must go through the storage seam (`src/io/fs.rs`, and the
/// data path's engines in `src/io/`): a simulated disk sees only what passes
/// there. Receivers of `is_file`/`is_dir` that are metadata already read
/// (`meta`, `ft`, `file_type()`) are not calls.
const FILE_CALLS: &[&str] = &[
    "OpenOptions",
    "File::open",
    "File::create",
    "tempfile::",
    ".set_len(",
    ".sync_all()",
    ".sync_data()",
    "read_exact_at",
    "write_all_at",
    ".read_dir()",
    ".exists()",
    ".is_dir()",
    ".is_file()",
    ".canonicalize()",
    "Path::metadata",
];

/// libc calls on files or directories.
const LIBC_FILE_CALLS: &[&str] = &[
    "open",
    "openat",
    "pwrite",
    "pwritev",
    "pwritev2",
    "pread",
    "preadv",
    "fsync",
    "fdatasync",
    "ftruncate",
    "fallocate",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "flock",
    "mkdir",
    "rmdir",
    "sync_file_range",
    "posix_fallocate",
    "posix_fadvise",
];

/// The file calls in `code` outside the seam, one line each.
fn file_calls(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in code.lines() {
        let metadata_receiver =
            line.contains("meta.") || line.contains("ft.") || line.contains("file_type()");
        let mut hit = FILE_CALLS.iter().any(|c| {
            line.contains(c) && !(metadata_receiver && (*c == ".is_dir()" || *c == ".is_file()"))
        });
        // `std::fs::` names types (File, Metadata) as well as functions: a
        // lowercase name after it is a function.
        for (at, _) in line.match_indices("std::fs::") {
            let rest = &line[at + "std::fs::".len()..];
            hit |= rest.starts_with(|c: char| c.is_ascii_lowercase());
        }
        for (at, _) in line.match_indices("libc::") {
            let rest = &line[at + "libc::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            hit |= LIBC_FILE_CALLS.contains(&name.as_str());
        }
        if hit {
            out.push(line.trim().to_string());
        }
    }
    out
}

fn file_calls_below(dir: &Path, src: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = path
            .strip_prefix(src)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if path.is_dir() {
            // The seam itself: the data path's engines and `io::fs`.
            if rel != "io" {
                file_calls_below(&path, src, out);
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for call in file_calls(&code_of(&text)) {
            out.push(format!("src/{rel}: {call}"));
        }
    }
}

#[test]
fn every_file_call_goes_through_the_seam() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut calls = Vec::new();
    file_calls_below(&src, &src, &mut calls);
    assert!(
        calls.is_empty(),
        "file calls outside src/io (use xwal::io::fs):\n{}",
        calls.join("\n")
    );
}

#[test]
fn the_seam_check_sees_file_calls() {
    // The check would pass vacuously if it recognised nothing.
    let code = "let f = std::fs::File::open(p)?;\nstd::fs::rename(a, b)?;\n\
                unsafe { libc::fdatasync(fd) };\nif meta.is_dir() {}\nlet t: std::fs::File = f;";
    assert_eq!(file_calls(code).len(), 3, "{:?}", file_calls(code));
}
