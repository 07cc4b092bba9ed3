//! Prints, for each line of standard input, the text that is hashed for the decision on that
//! line, or `error: ...` when it is rejected (blank lines stay blank).
//!
//! ```text
//! cargo run -p torghut-hash --example canonical < decisions.jsonl
//! ```

use std::io::{self, BufRead, Write};

fn main() -> io::Result<()> {
    let stdin = io::stdin().lock();
    let mut out = io::BufWriter::new(io::stdout().lock());
    for line in stdin.split(b'\n') {
        let line = line?;
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            writeln!(out)?;
            continue;
        }
        match std::str::from_utf8(line) {
            Ok(text) => match torghut_hash::canonical_text(text) {
                Ok(canonical) => writeln!(out, "{canonical}")?,
                Err(e) => writeln!(out, "error: {e}")?,
            },
            Err(e) => writeln!(out, "error: not UTF-8 (at byte {})", e.valid_up_to())?,
        }
    }
    out.flush()
}
