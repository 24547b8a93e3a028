//! The official Mustache spec cases, run against our renderer.
//!
//! The JSON files in `tests/mustache-spec/` are the spec's own test files, vendored unchanged
//! with their MIT license (see the README there for where they came from). Every case runs with
//! HTML escaping on, as the spec expects; cases that need partials are skipped because Dashi
//! renders partials as nothing.

use dashi_core::{Escape, Template};
use serde_json::Value;

fn run_spec_file(file_name: &str) -> usize {
    let path = format!(
        "{}/tests/mustache-spec/{file_name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("vendored spec file is readable");
    let spec: Value = serde_json::from_str(&text).expect("vendored spec file is JSON");
    let cases = spec["tests"]
        .as_array()
        .expect("spec file has a tests list");
    let mut n_run = 0;
    let mut failures = Vec::new();
    for case in cases {
        if case.get("partials").is_some() {
            continue;
        }
        let name = case["name"].as_str().expect("case has a name");
        let template = case["template"].as_str().expect("case has a template");
        let expected = case["expected"]
            .as_str()
            .expect("case has an expected output");
        let rendered = match Template::parse(template) {
            Ok(parsed) => parsed.render(&case["data"], Escape::Html),
            Err(error) => format!("parse error: {error}"),
        };
        if rendered != expected {
            failures.push(format!(
                "{file_name} / {name}: expected {expected:?}, got {rendered:?}"
            ));
        }
        n_run += 1;
    }
    assert!(
        failures.is_empty(),
        "spec cases failed:\n{}",
        failures.join("\n")
    );
    n_run
}

#[test]
fn spec_interpolation() {
    assert_eq!(run_spec_file("interpolation.json"), 42);
}

#[test]
fn spec_sections() {
    assert_eq!(run_spec_file("sections.json"), 34);
}

#[test]
fn spec_inverted() {
    assert_eq!(run_spec_file("inverted.json"), 22);
}

#[test]
fn spec_comments() {
    assert_eq!(run_spec_file("comments.json"), 12);
}

#[test]
fn spec_delimiters_without_partials() {
    assert_eq!(run_spec_file("delimiters.json"), 12);
}
