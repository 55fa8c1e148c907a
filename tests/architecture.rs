//! The shape of the code (DESIGN §2), checked on its sources: areas import only the areas before
//! them in the declared order, SQL lives only in stores and the platform, every table has one
//! owner that says so, and no source file grows past 600 lines.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

/// The one-way order: an area may use those before it, never one after it.
const ORDER: [&str; 12] = [
    "platform", "ui", "privacy", "auth", "mfa", "signin", "account", "security", "data", "apps",
    "discover", "home",
];

const MAX_LINES: usize = 600;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The area a file of `app/src` belongs to: its first folder (None for lib.rs, the wiring).
fn area_of(relative: &Path) -> Option<String> {
    let mut parts = relative.components();
    let first = parts.next()?.as_os_str().to_str()?.to_owned();
    parts.next().map(|_| first)
}

/// The code of a source without its comments, so a comment naming an area is no import.
fn without_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every first segment a path that starts with `crate::` names, also inside `crate::{a, b::c}`.
fn crate_references(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let preceded_by_word = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        rest = &rest[at + "crate::".len()..];
        if preceded_by_word {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            let mut word = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => word.push(c),
                    _ if item_start && !word.is_empty() => {
                        names.push(std::mem::take(&mut word));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            names.push(name);
        }
    }
    names
}

/// The imports of `area`'s `code` that go against the order.
fn backward_imports(area: &str, code: &str) -> Vec<String> {
    let Some(rank) = ORDER.iter().position(|a| *a == area) else {
        return vec![format!("{area} is not in the declared order")];
    };
    crate_references(&without_comments(code))
        .into_iter()
        .filter(|name| {
            ORDER
                .iter()
                .position(|a| a == name)
                .is_some_and(|r| r > rank)
        })
        .collect()
}

#[test]
fn the_checker_catches_a_backward_import_in_every_form() {
    assert_eq!(
        backward_imports("privacy", "use crate::auth::service;"),
        ["auth"]
    );
    assert_eq!(
        backward_imports("ui", "use crate::{platform::ids, signin::pages::X};"),
        ["signin"]
    );
    assert_eq!(
        backward_imports("mfa", "let x = crate::security::api::list();"),
        ["security"]
    );
    assert_eq!(
        backward_imports(
            "auth",
            "use crate::{\n    privacy::x,\n    platform::{a, b},\n};"
        ),
        Vec::<String>::new()
    );
    assert!(backward_imports("auth", "// see crate::home for the page").is_empty());
}

#[test]
fn every_area_imports_only_the_areas_before_it() {
    let src = root().join("app/src");
    let mut violations = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap().to_owned();
        let Some(area) = area_of(&relative) else {
            continue;
        };
        let code = fs::read_to_string(&file).unwrap();
        for name in backward_imports(&area, &code) {
            violations.push(format!("{}: {area} imports {name}", relative.display()));
        }
    }
    assert!(
        violations.is_empty(),
        "backward imports:\n{}",
        violations.join("\n")
    );
    // Every area folder is in the declared order.
    for entry in fs::read_dir(&src).unwrap().flatten() {
        if entry.path().is_dir() {
            let name = entry.file_name().into_string().unwrap();
            assert!(ORDER.contains(&name.as_str()), "{name} is not in the order");
        }
    }
}

#[test]
fn the_list_of_areas_follows_the_declared_order() {
    let lib = fs::read_to_string(root().join("app/src/lib.rs")).unwrap();
    let list = lib
        .split("areas!(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("lib.rs declares its areas with areas!(...)");
    let listed: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .collect();
    let ranks: Vec<usize> = listed
        .iter()
        .map(|area| {
            ORDER
                .iter()
                .position(|a| a == area)
                .unwrap_or_else(|| panic!("{area} is not in the declared order"))
        })
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] < w[1]),
        "areas out of order: {listed:?}"
    );
}

fn has_sql(code: &str) -> bool {
    [
        "sqlx::query",
        "query_as(",
        "query_scalar(",
        "query!(",
        "query_as!(",
        "query_scalar!(",
    ]
    .iter()
    .any(|needle| code.contains(needle))
}

/// Where SQL may be written: an area's store, and the platform.
fn may_hold_sql(relative: &Path) -> bool {
    let path = relative.to_string_lossy();
    path.starts_with("platform/")
        || path.ends_with("/store.rs")
        || relative
            .components()
            .any(|part| part.as_os_str() == "store")
}

#[test]
fn sql_lives_only_in_stores_and_the_platform() {
    let src = root().join("app/src");
    let mut misplaced: Vec<String> = rust_files(&src)
        .into_iter()
        .filter(|file| {
            let relative = file.strip_prefix(&src).unwrap();
            !may_hold_sql(relative)
                && has_sql(&without_comments(&fs::read_to_string(file).unwrap()))
        })
        .map(|file| file.display().to_string())
        .collect();
    // The server's wiring runs no SQL of its own either.
    misplaced.extend(
        rust_files(&root().join("src"))
            .into_iter()
            .filter(|file| has_sql(&without_comments(&fs::read_to_string(file).unwrap())))
            .map(|file| file.display().to_string()),
    );
    assert!(
        misplaced.is_empty(),
        "SQL outside a store:\n{}",
        misplaced.join("\n")
    );
    assert!(has_sql("sqlx::query(\"SELECT 1\")"), "the check finds SQL");
}

/// The tables the migrations leave, by name.
fn tables() -> Vec<String> {
    let mut tables = Vec::new();
    let mut files: Vec<PathBuf> = fs::read_dir(root().join("migrations"))
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    files.sort();
    for file in files {
        let sql = fs::read_to_string(&file).unwrap();
        for line in sql.lines() {
            if let Some(rest) = line.trim().strip_prefix("CREATE TABLE ") {
                let name = rest
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches('(');
                tables.push(name.to_owned());
            }
            if let Some(rest) = line.trim().strip_prefix("DROP TABLE ") {
                let name = rest.trim_end_matches(';').trim();
                tables.retain(|t| t != name);
            }
        }
    }
    tables
}

/// The tables each source declares it owns, on a `//! Owns:` line.
fn owners() -> BTreeMap<String, Vec<String>> {
    let src = root().join("app/src");
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let code = fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = code.lines().map(str::trim).collect();
        for (at, line) in lines.iter().enumerate() {
            let Some(first) = line.strip_prefix("//! Owns:") else {
                continue;
            };
            // The list may go on over the next doc lines, up to an empty one.
            let rest = lines[at + 1..]
                .iter()
                .map_while(|next| next.strip_prefix("//!").filter(|t| !t.trim().is_empty()));
            let list: String = std::iter::once(first).chain(rest).collect();
            for table in list.split('`').skip(1).step_by(2) {
                owners
                    .entry(table.to_owned())
                    .or_default()
                    .push(file.strip_prefix(&src).unwrap().display().to_string());
            }
        }
    }
    owners
}

#[test]
fn every_table_has_exactly_one_owner_that_says_so() {
    let owners = owners();
    let tables = tables();
    assert!(tables.len() > 20, "the migrations were read: {tables:?}");
    let mut problems = Vec::new();
    for table in &tables {
        match owners.get(table).map(Vec::as_slice) {
            None | Some([]) => problems.push(format!("{table}: no owner")),
            Some([owner]) => {
                let relative = Path::new(owner);
                if !may_hold_sql(relative) {
                    problems.push(format!("{table}: owned by {owner}, which may hold no SQL"));
                }
            }
            Some(many) => problems.push(format!("{table}: owned by {many:?}")),
        }
    }
    for table in owners.keys() {
        if !tables.contains(table) {
            problems.push(format!("{table}: owned, but no migration creates it"));
        }
    }
    assert!(
        problems.is_empty(),
        "table ownership:\n{}",
        problems.join("\n")
    );
}

#[test]
fn no_source_file_is_over_600_lines() {
    let mut long = Vec::new();
    for dir in ["app/src", "src", "tests", "frontend/src"] {
        for file in rust_files(&root().join(dir)) {
            let lines = fs::read_to_string(&file).unwrap().lines().count();
            if lines > MAX_LINES {
                long.push(format!("{}: {lines} lines", file.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}
