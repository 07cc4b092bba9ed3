//! Reading the reference vector files (JSON Lines of flat objects whose values are strings or
//! null), without depending on the crate under test.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One reference vector.
#[derive(Debug)]
pub struct Vector {
    /// 1-based line number in its file.
    pub line: usize,
    /// The decision's JSON text.
    pub input: String,
    /// The expected outcome.
    pub expected: Expected,
}

#[derive(Debug)]
pub enum Expected {
    /// The decision hashes to this digest.
    Hash(String),
    /// The decision is rejected; with the field at fault when one is named.
    Error(Option<String>),
}

/// A path relative to this crate's directory.
pub fn crate_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Reads a vector file; panics (failing the test) when it is missing or malformed.
pub fn read_vectors(relative: &str) -> Vec<Vector> {
    let path = crate_path(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()));
    let mut vectors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields =
            parse_flat_object(line).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
        let input = fields
            .get("input")
            .cloned()
            .flatten()
            .unwrap_or_else(|| panic!("{}:{}: no input", path.display(), i + 1));
        let expected = match (fields.get("hash"), fields.get("error")) {
            (Some(Some(hash)), _) => Expected::Hash(hash.clone()),
            (None, Some(field)) => Expected::Error(field.clone()),
            _ => panic!("{}:{}: neither hash nor error", path.display(), i + 1),
        };
        vectors.push(Vector {
            line: i + 1,
            input,
            expected,
        });
    }
    vectors
}

/// Parses `{"key": "string" | null, ...}`.
fn parse_flat_object(line: &str) -> Result<BTreeMap<String, Option<String>>, String> {
    let mut chars = line.trim().chars().peekable();
    let mut map = BTreeMap::new();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
    };
    if chars.next() != Some('{') {
        return Err("expected '{'".into());
    }
    loop {
        skip_ws(&mut chars);
        let key = parse_string(&mut chars)?;
        skip_ws(&mut chars);
        if chars.next() != Some(':') {
            return Err("expected ':'".into());
        }
        skip_ws(&mut chars);
        let value = if chars.peek() == Some(&'n') {
            for expected in "null".chars() {
                if chars.next() != Some(expected) {
                    return Err("expected null".into());
                }
            }
            None
        } else {
            Some(parse_string(&mut chars)?)
        };
        map.insert(key, value);
        skip_ws(&mut chars);
        match chars.next() {
            Some(',') => continue,
            Some('}') => return Ok(map),
            other => return Err(format!("expected ',' or '}}', found {other:?}")),
        }
    }
}

fn parse_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    if chars.next() != Some('"') {
        return Err("expected a string".into());
    }
    let mut out = String::new();
    let mut pending_high: Option<u32> = None;
    loop {
        let c = chars.next().ok_or("unterminated string")?;
        if c == '\\' {
            let e = chars.next().ok_or("unterminated escape")?;
            let simple = match e {
                '"' => '"',
                '\\' => '\\',
                '/' => '/',
                'b' => '\u{8}',
                'f' => '\u{c}',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let unit = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
                    match (pending_high.take(), unit) {
                        (None, 0xD800..=0xDBFF) => pending_high = Some(unit),
                        (Some(high), 0xDC00..=0xDFFF) => {
                            let cp = 0x1_0000 + ((high - 0xD800) << 10) + (unit - 0xDC00);
                            out.push(char::from_u32(cp).ok_or("bad pair")?);
                        }
                        (None, _) => out.push(char::from_u32(unit).ok_or("lone surrogate")?),
                        (Some(_), _) => return Err("lone surrogate".into()),
                    }
                    continue;
                }
                other => return Err(format!("bad escape \\{other}")),
            };
            out.push(simple);
        } else if pending_high.is_some() {
            return Err("lone surrogate".into());
        } else if c == '"' {
            return Ok(out);
        } else {
            out.push(c);
        }
    }
}
