//! `torghut decision-hash`.

/// Hashes JSON Lines from stdin; exit 1 when any line could not be read.
pub fn run() -> u8 {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    let stderr = std::io::stderr().lock();
    match torghut_hash::hash_lines(stdin, stdout, stderr) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => crate::failure::Failure::config(e.to_string()).report(false),
    }
}
