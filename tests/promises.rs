//! The promises the home page shows as kept are those a named test proves: every test the
//! registry names exists, and every promise of DESIGN §1 is in the registry once.

use std::{fs, path::PathBuf};

use app::home::model::PROMISES;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `file` defines the test `name` (a function under a test attribute).
fn defines_test(file: &str, name: &str) -> bool {
    let Ok(source) = fs::read_to_string(root().join(file)) else {
        return false;
    };
    let lines: Vec<&str> = source.lines().collect();
    lines.iter().enumerate().any(|(at, line)| {
        let defines = line.trim_start().starts_with(&format!("async fn {name}("))
            || line.trim_start().starts_with(&format!("fn {name}("));
        defines
            && lines[at.saturating_sub(3)..at]
                .iter()
                .any(|above| above.contains("#[test]") || above.contains("::test"))
    })
}

#[test]
fn every_test_a_promise_names_exists() {
    let mut missing = Vec::new();
    for promise in PROMISES {
        for test in promise.proven_by {
            let (file, name) = test.split_once("::").unwrap_or((test, ""));
            if !defines_test(file, name) {
                missing.push(format!("{}: {test}", promise.id));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named tests that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_check_tells_a_test_from_a_name() {
    assert!(defines_test(
        "tests/promises.rs",
        "every_test_a_promise_names_exists"
    ));
    assert!(
        !defines_test("tests/promises.rs", "defines_test"),
        "not a test"
    );
    assert!(!defines_test("tests/nowhere.rs", "anything"));
}

#[test]
fn every_promise_of_the_design_is_listed_once() {
    let ids: Vec<&str> = PROMISES.iter().map(|p| p.id).collect();
    let expected: Vec<String> = (1..=16).map(|n| format!("P{n}")).collect();
    assert_eq!(ids, expected);
    let design = fs::read_to_string(root().join("../shared/DESIGN.md")).unwrap_or_default();
    for id in &ids {
        assert!(
            design.is_empty() || design.contains(&format!("| {id} |")),
            "{id} is not a promise of DESIGN.md"
        );
    }
}
