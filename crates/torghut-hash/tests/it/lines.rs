//! `hash_lines`: JSON Lines in, hashes and per-line errors out.

use std::io::{self, Write};

use torghut_hash::{decision_hash_from_json, hash_lines};

const GOOD: &str = r#"{"strategy_id": "s1", "symbol": "AAPL", "event_ts": "2026-02-10T00:00:00Z", "timeframe": "1Min", "action": "buy", "qty": "1"}"#;
const GOOD_TOO: &str = r#"{"strategy_id": "s2", "symbol": "MSFT", "event_ts": "2026-02-10T00:00:00Z", "timeframe": "1Day", "action": "sell", "qty": 3}"#;

fn run(input: &[u8]) -> (bool, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let all = hash_lines(input, &mut out, &mut err).unwrap();
    (
        all,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn hashes_every_line() {
    let input = format!("{GOOD}\n{GOOD_TOO}\n");
    let (all, out, err) = run(input.as_bytes());
    assert!(all);
    assert_eq!(
        out,
        format!(
            "{}\n{}\n",
            decision_hash_from_json(GOOD).unwrap(),
            decision_hash_from_json(GOOD_TOO).unwrap()
        )
    );
    assert_eq!(err, "");
}

#[test]
fn reports_bad_lines_and_goes_on() {
    let bad_qty = GOOD.replace(r#""qty": "1""#, r#""qty": "abc""#);
    let mut input = Vec::new();
    input.extend_from_slice(format!("{GOOD}\n{bad_qty}\n{{\"strategy_id\": \n").as_bytes());
    input.extend_from_slice(b"{\"bad\": \"\xff\"}\n");
    input.extend_from_slice(GOOD_TOO.as_bytes()); // no final newline
    let (all, out, err) = run(&input);
    assert!(!all);
    assert_eq!(
        out,
        format!(
            "{}\n{}\n",
            decision_hash_from_json(GOOD).unwrap(),
            decision_hash_from_json(GOOD_TOO).unwrap()
        )
    );
    assert_eq!(
        err,
        "line 2: field \"qty\": not a decimal: \"abc\"\n\
         line 3: invalid JSON at byte 16 (in $.strategy_id): expected a JSON value\n\
         line 4: not UTF-8 (at byte 9)\n"
    );
}

#[test]
fn skips_blank_lines_but_counts_them() {
    let input = format!("\n   \n\t\r\n{GOOD}\r\n\n{{}}\n\n");
    let (all, out, err) = run(input.as_bytes());
    assert!(!all);
    assert_eq!(out, format!("{}\n", decision_hash_from_json(GOOD).unwrap()));
    assert_eq!(err, "line 6: field \"strategy_id\": required but missing\n");

    let (all, out, err) = run(b"\n\n  \n");
    assert!(all);
    assert_eq!((out.as_str(), err.as_str()), ("", ""));
    let (all, out, err) = run(b"");
    assert!(all);
    assert_eq!((out.as_str(), err.as_str()), ("", ""));
}

#[test]
fn a_crlf_line_hashes_like_an_lf_line() {
    let (_, lf, _) = run(format!("{GOOD}\n").as_bytes());
    let (_, crlf, _) = run(format!("{GOOD}\r\n").as_bytes());
    assert_eq!(lf, crlf);
}

struct FailingWriter;

impl Write for FailingWriter {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("disk full"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_errors_are_returned() {
    let input = format!("{GOOD}\n");
    let e = hash_lines(input.as_bytes(), FailingWriter, io::sink()).unwrap_err();
    assert_eq!(e.to_string(), "disk full");
    let e = hash_lines(&b"{}\n"[..], io::sink(), FailingWriter).unwrap_err();
    assert_eq!(e.to_string(), "disk full");
}
