//! The reference vectors: the shared contract's, and those generated from the old service's
//! code by `tests/data/generate_vectors.py`.

use torghut_hash::{decision_hash_from_json, hash_lines};

use crate::support::{read_vectors, Expected, Vector};

/// The contract's vectors (the specification's, copied into `tests/data`).
const SHARED_VECTORS: &str = "tests/data/spec-vectors.jsonl";
/// Vectors generated with the old service's model and `json` module.
const PYTHON_VECTORS: &str = "tests/data/python-vectors.jsonl";

fn check(file: &str, vectors: &[Vector]) {
    let mut failures = Vec::new();
    for v in vectors {
        let got = decision_hash_from_json(&v.input);
        let ok = match (&v.expected, &got) {
            (Expected::Hash(want), Ok(hash)) => want == hash,
            (Expected::Error(None), Err(_)) => true,
            (Expected::Error(Some(field)), Err(e)) => e.field() == Some(field.as_str()),
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{file}:{}: expected {:?}, got {:?}\n  input: {}",
                v.line, v.expected, got, v.input
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn shared_contract_vectors_hash_as_the_old_service() {
    let vectors = read_vectors(SHARED_VECTORS);
    assert!(vectors.len() >= 10, "only {} vectors", vectors.len());
    assert!(vectors
        .iter()
        .all(|v| matches!(v.expected, Expected::Hash(_))));
    check(SHARED_VECTORS, &vectors);
}

#[test]
fn generated_python_vectors_match() {
    let vectors = read_vectors(PYTHON_VECTORS);
    assert!(vectors.len() > 2000, "only {} vectors", vectors.len());
    let hashed = vectors
        .iter()
        .filter(|v| matches!(v.expected, Expected::Hash(_)))
        .count();
    assert!(hashed > 2000 && hashed < vectors.len());
    check(PYTHON_VECTORS, &vectors);
}

/// The same vectors through `hash_lines`: one hash per accepted line, in order, and one error
/// line per rejected line.
#[test]
fn generated_python_vectors_through_hash_lines() {
    let vectors = read_vectors(PYTHON_VECTORS);
    // Inputs with a raw line break cannot be one line each; the generator produces none.
    assert!(vectors.iter().all(|v| !v.input.contains('\n')));
    let input: String = vectors.iter().map(|v| format!("{}\n", v.input)).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let all_hashed = hash_lines(input.as_bytes(), &mut out, &mut err).unwrap();
    assert!(!all_hashed);

    let blank = |v: &&Vector| v.input.trim_matches([' ', '\t', '\r']).is_empty();
    let want_hashes: Vec<&str> = vectors
        .iter()
        .filter_map(|v| match &v.expected {
            Expected::Hash(h) => Some(h.as_str()),
            Expected::Error(_) => None,
        })
        .collect();
    let want_errors: Vec<usize> = vectors
        .iter()
        .enumerate()
        .filter(|(_, v)| matches!(v.expected, Expected::Error(_)) && !blank(v))
        .map(|(i, _)| i + 1)
        .collect();
    let out = String::from_utf8(out).unwrap();
    let err = String::from_utf8(err).unwrap();
    assert_eq!(out.lines().collect::<Vec<_>>(), want_hashes);
    let error_lines: Vec<usize> = err
        .lines()
        .map(|l| {
            l.strip_prefix("line ")
                .and_then(|rest| rest.split(':').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("malformed error line {l:?}"))
        })
        .collect();
    assert_eq!(error_lines, want_errors);
}
