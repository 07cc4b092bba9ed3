//! Migration files: ids, directives, checksums, and the ordered set.
//!
//! A migration is a directory `NNNN_name/` holding `up.sql` and `down.sql`. Its description is the
//! first `--` comment line of `up.sql` (else the name with `_` as spaces). A line
//! `-- torghut:no-transaction` in `up.sql` makes it run outside a transaction, statement by
//! statement (for `CREATE INDEX CONCURRENTLY`), guarded by a dirty marker.

use std::path::Path;

use sha2::{Digest, Sha256};

/// The directive that opts a migration out of the single transaction.
pub const NO_TRANSACTION: &str = "-- torghut:no-transaction";

/// One migration.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Full id, such as `0005_trade_cursor_symbol`.
    pub id: String,
    /// The numeric prefix.
    pub version: u32,
    /// Human description.
    pub description: String,
    /// The forward SQL.
    pub up: String,
    /// The reverse SQL.
    pub down: String,
    /// Runs statement by statement outside a transaction.
    pub no_transaction: bool,
    /// `down.sql` runs statement by statement outside a transaction (its own marker, e.g. for
    /// `DROP INDEX CONCURRENTLY`).
    pub down_no_transaction: bool,
    /// SHA-256 (hex) of the normalised `up.sql` (BOM dropped, CRLF and CR as LF).
    pub checksum: String,
}

/// Problems with the migration files themselves.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A directory name is not `NNNN_name`.
    #[error("migration directory {0:?} is not named NNNN_name (four or more digits, an underscore, a name)")]
    BadId(String),
    /// Two migrations share a version number.
    #[error("migrations {0:?} and {1:?} share the version number {2}")]
    DuplicateVersion(String, String, u32),
    /// A file is missing or unreadable.
    #[error("migration {id}: cannot read {file}: {reason}")]
    Unreadable {
        id: String,
        file: String,
        reason: String,
    },
    /// `up.sql` is empty.
    #[error("migration {0}: up.sql is empty")]
    Empty(String),
}

/// Normalises text for checksums: drops a UTF-8 BOM and turns CRLF and lone CR into LF.
pub fn normalize(text: &str) -> String {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    t.replace("\r\n", "\n").replace('\r', "\n")
}

/// The checksum of a migration's SQL: SHA-256 hex of the normalised text.
pub fn checksum(text: &str) -> String {
    hex::encode(Sha256::digest(normalize(text).as_bytes()))
}

fn parse_id(id: &str) -> Result<u32, SourceError> {
    let (num, name) = id
        .split_once('_')
        .ok_or_else(|| SourceError::BadId(id.to_string()))?;
    if num.len() < 4
        || !num.bytes().all(|b| b.is_ascii_digit())
        || name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(SourceError::BadId(id.to_string()));
    }
    num.parse().map_err(|_| SourceError::BadId(id.to_string()))
}

impl Migration {
    /// Builds a migration from its id and SQL texts.
    pub fn new(id: &str, up: &str, down: &str) -> Result<Self, SourceError> {
        let version = parse_id(id)?;
        let up_n = normalize(up);
        if up_n.trim().is_empty() {
            return Err(SourceError::Empty(id.to_string()));
        }
        let no_transaction = up_n.lines().any(|l| l.trim() == NO_TRANSACTION);
        let description = up_n
            .lines()
            .map(str::trim)
            .find_map(|l| {
                l.strip_prefix("--")
                    .map(str::trim)
                    .filter(|d| !d.is_empty() && !d.starts_with("torghut:"))
            })
            .map(str::to_string)
            .unwrap_or_else(|| {
                id.split_once('_')
                    .map(|x| x.1)
                    .unwrap_or(id)
                    .replace('_', " ")
            });
        let down_n = normalize(down);
        let down_no_transaction = down_n.lines().any(|l| l.trim() == NO_TRANSACTION);
        Ok(Self {
            id: id.to_string(),
            version,
            description,
            checksum: checksum(up),
            up: up_n,
            down: down_n,
            no_transaction,
            down_no_transaction,
        })
    }
}

/// An ordered set of migrations.
#[derive(Debug, Clone)]
pub struct MigrationSet {
    migrations: Vec<Migration>,
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

impl MigrationSet {
    /// The migrations compiled into this binary.
    pub fn embedded() -> Self {
        let list = embedded::EMBEDDED
            .iter()
            .map(|(id, up, down)| Migration::new(id, up, down))
            .collect::<Result<Vec<_>, _>>()
            .expect("embedded migrations are validated by the test suite");
        Self::from_vec(list).expect("embedded migrations are validated by the test suite")
    }

    /// Loads migrations from a directory of `NNNN_name/{up,down}.sql` (development and tests).
    pub fn from_dir(dir: &Path) -> Result<Self, SourceError> {
        let entries = std::fs::read_dir(dir).map_err(|e| SourceError::Unreadable {
            id: String::new(),
            file: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut list = Vec::new();
        for entry in entries.flatten() {
            if !entry.path().is_dir() {
                continue;
            }
            let id = entry.file_name().to_string_lossy().into_owned();
            let read = |f: &str| {
                std::fs::read(entry.path().join(f))
                    .map_err(|e| SourceError::Unreadable {
                        id: id.clone(),
                        file: f.to_string(),
                        reason: e.to_string(),
                    })
                    .and_then(|b| {
                        String::from_utf8(b).map_err(|_| SourceError::Unreadable {
                            id: id.clone(),
                            file: f.to_string(),
                            reason: "not UTF-8".to_string(),
                        })
                    })
            };
            let up = read("up.sql")?;
            let down = read("down.sql")?;
            list.push(Migration::new(&id, &up, &down)?);
        }
        Self::from_vec(list)
    }

    /// Orders and checks a list of migrations.
    pub fn from_vec(mut list: Vec<Migration>) -> Result<Self, SourceError> {
        list.sort_by(|a, b| a.version.cmp(&b.version).then(a.id.cmp(&b.id)));
        for w in list.windows(2) {
            if w[0].version == w[1].version {
                return Err(SourceError::DuplicateVersion(
                    w[0].id.clone(),
                    w[1].id.clone(),
                    w[0].version,
                ));
            }
        }
        Ok(Self { migrations: list })
    }

    /// All migrations, in order.
    pub fn all(&self) -> &[Migration] {
        &self.migrations
    }

    /// The migration with this id.
    pub fn get(&self, id: &str) -> Option<&Migration> {
        self.migrations.iter().find(|m| m.id == id)
    }

    /// Position of a migration id.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.migrations.iter().position(|m| m.id == id)
    }

    /// The id of the last migration (the revision this binary expects).
    pub fn latest(&self) -> Option<&str> {
        self.migrations.last().map(|m| m.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_ignores_crlf_cr_and_bom() {
        let lf = "-- x\nCREATE TABLE t (a int);\n";
        let crlf = "-- x\r\nCREATE TABLE t (a int);\r\n";
        let bom = "\u{feff}-- x\r\nCREATE TABLE t (a int);\r\n";
        let cr = "-- x\rCREATE TABLE t (a int);\r";
        assert_eq!(checksum(lf), checksum(crlf));
        assert_eq!(checksum(lf), checksum(bom));
        assert_eq!(checksum(lf), checksum(cr));
        assert_ne!(checksum(lf), checksum("-- x\nCREATE TABLE t (b int);\n"));
    }

    #[test]
    fn ids_and_directives() {
        let m = Migration::new(
            "0007_add_index",
            "-- torghut:no-transaction\n-- Adds an index\nCREATE INDEX CONCURRENTLY i ON t (a);",
            "DROP INDEX i;",
        )
        .unwrap();
        assert_eq!(m.version, 7);
        assert!(m.no_transaction);
        assert_eq!(m.description, "Adds an index");
        for bad in ["7_x", "0007", "0007_", "abcd_x", "0007_Bad-Name"] {
            assert!(Migration::new(bad, "select 1", "").is_err(), "{bad}");
        }
        assert!(matches!(
            Migration::new("0001_x", " \n", ""),
            Err(SourceError::Empty(_))
        ));
    }

    #[test]
    fn embedded_set_is_valid_and_starts_with_the_legacy_chain() {
        let set = MigrationSet::embedded();
        let ids: Vec<&str> = set.all().iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            &ids[..5],
            &[
                "0001_initial",
                "0002_trading_core",
                "0003_llm_decision_reviews",
                "0004_trade_cursor_seq",
                "0005_trade_cursor_symbol"
            ]
        );
    }
}
