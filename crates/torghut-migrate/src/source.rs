//! Migration files: ids, directives, checksums, and the ordered set.
//!
//! A migration is a directory `NNNN_name/` holding `up.sql` and `down.sql`. Its description is the
//! first `--` comment line of `up.sql` (else the name with `_` as spaces). A line
//! `-- torghut:no-transaction` in `up.sql` makes it run outside a transaction, statement by
//! statement (for `CREATE INDEX CONCURRENTLY`), guarded by a dirty marker.
//!
//! A line `-- torghut:backfill` makes it a batched backfill (the only way a migration may touch
//! rows that are already there): `up.sql` is then a list of steps, each introduced by a line
//! `-- torghut:batch table=NAME key=COLUMN` and followed by one statement that handles the rows
//! of `NAME` whose `COLUMN` lies between `$1` and `$2` (the first and last key of the batch,
//! inclusive, passed as text: cast them to the key's type). `key=ctid` walks the table by its
//! pages instead: `$1` and `$2` are then tids `(block,0)`, the batch's first page and the page
//! after its last (`WHERE ctid >= $1::tid AND ctid < $2::tid`). See [`crate::backfill`].

use std::path::Path;

use sha2::{Digest, Sha256};

/// The directive that opts a migration out of the single transaction.
pub const NO_TRANSACTION: &str = "-- torghut:no-transaction";

/// The directive that makes a migration a batched backfill.
pub const BACKFILL: &str = "-- torghut:backfill";

/// The directive that starts a step of a backfill.
pub const BATCH: &str = "-- torghut:batch";

/// One step of a backfill: a statement run over the rows of `table`, batch after batch, by
/// ranges of `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillStep {
    /// The table whose rows are walked (in `public`).
    pub table: String,
    /// The unique, indexed column the batches are cut by.
    pub key: String,
    /// The statement run for each batch, with `$1` and `$2` the batch's first and last key.
    pub sql: String,
    /// `part=I/N` (page walks only): this step walks the I-th of N interleaved stripes of the
    /// table's pages (0-based here), so that N steps over one table run side by side.
    pub part: Option<(u32, u32)>,
}

impl BackfillStep {
    /// The table, and the part of it this step walks when it is one of several.
    pub fn label(&self) -> String {
        match self.part {
            Some((i, n)) => format!("{}[{}/{n}]", self.table, i + 1),
            None => self.table.clone(),
        }
    }
}

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
    /// The steps of a backfill migration (`-- torghut:backfill`); empty for any other.
    pub backfill: Vec<BackfillStep>,
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
    /// A backfill migration is not a list of well-formed steps.
    #[error("migration {id}: {reason}")]
    BadBackfill { id: String, reason: String },
}

fn is_identifier(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == b'_')
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// The steps of a backfill's `up.sql`.
fn parse_backfill(id: &str, up: &str) -> Result<Vec<BackfillStep>, SourceError> {
    let bad = |reason: String| SourceError::BadBackfill {
        id: id.to_string(),
        reason,
    };
    let mut steps: Vec<BackfillStep> = Vec::new();
    let mut body = String::new();
    let close = |steps: &mut Vec<BackfillStep>, body: &mut String| -> Result<(), SourceError> {
        if let Some(last) = steps.last_mut() {
            let sql = body.trim().trim_end_matches(';').trim().to_string();
            if sql.is_empty() {
                return Err(bad(format!(
                    "the step over {} has no statement",
                    last.table
                )));
            }
            if crate::split::split_statements(&sql).len() != 1 {
                return Err(bad(format!(
                    "the step over {} must be one statement",
                    last.table
                )));
            }
            if !sql.contains("$1") || !sql.contains("$2") {
                return Err(bad(format!(
                    "the step over {} must use $1 and $2 (the batch's first and last key)",
                    last.table
                )));
            }
            last.sql = sql;
        }
        body.clear();
        Ok(())
    };
    for line in up.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix(BATCH) {
            close(&mut steps, &mut body)?;
            let (mut table, mut key, mut part) = (None, None, None);
            for word in rest.split_whitespace() {
                match word.split_once('=') {
                    Some(("table", v)) if is_identifier(v) => table = Some(v.to_string()),
                    Some(("key", v)) if is_identifier(v) => key = Some(v.to_string()),
                    Some(("part", v)) => {
                        let parsed = v.split_once('/').and_then(|(i, n)| {
                            Some((i.parse::<u32>().ok()?, n.parse::<u32>().ok()?))
                        });
                        match parsed {
                            Some((i, n)) if (1..=n).contains(&i) && n <= 64 => {
                                part = Some((i - 1, n))
                            }
                            _ => {
                                return Err(bad(format!(
                                    "cannot read {word:?} in {t:?}: expected part=I/N with 1 <= I <= N <= 64"
                                )))
                            }
                        }
                    }
                    _ => return Err(bad(format!("cannot read {word:?} in {t:?}: expected table=NAME key=COLUMN [part=I/N] (lower-case identifiers)"))),
                }
            }
            if part.is_some() && key.as_deref() != Some(crate::backfill::PAGES) {
                return Err(bad(format!(
                    "{t:?}: part=I/N splits a walk by pages; it needs key=ctid"
                )));
            }
            match (table, key) {
                (Some(table), Some(key)) => steps.push(BackfillStep {
                    table,
                    key,
                    sql: String::new(),
                    part,
                }),
                _ => return Err(bad(format!("{t:?} needs table=NAME and key=COLUMN"))),
            }
        } else if steps.is_empty() {
            if !(t.is_empty() || t.starts_with("--")) {
                return Err(bad(format!(
                    "a backfill holds only steps; {t:?} comes before the first {BATCH} line"
                )));
            }
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    close(&mut steps, &mut body)?;
    if steps.is_empty() {
        return Err(bad(format!("a backfill needs at least one {BATCH} step")));
    }
    Ok(steps)
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
        let backfill = if up_n.lines().any(|l| l.trim() == BACKFILL) {
            if no_transaction {
                return Err(SourceError::BadBackfill {
                    id: id.to_string(),
                    reason: format!("{BACKFILL} and {NO_TRANSACTION} exclude each other"),
                });
            }
            parse_backfill(id, &up_n)?
        } else {
            Vec::new()
        };
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
            backfill,
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
    // The migrations are compiled in: whether they parse is decided when the binary is built
    // (and checked by the test suite), never by input at run time.
    #[allow(clippy::expect_used)]
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
    fn backfill_steps_are_parsed_and_checked() {
        let up = "-- Seals things\n-- torghut:backfill\n-- torghut:batch table=t key=id\n\
                  SELECT f($1::uuid, $2::uuid);\n-- torghut:batch table=u key=k\nUPDATE u SET a = 1\n  WHERE k BETWEEN $1::int AND $2::int;\n";
        let m = Migration::new("0008_fill", up, "").unwrap();
        assert_eq!(m.description, "Seals things");
        assert_eq!(m.backfill.len(), 2);
        assert_eq!(m.backfill[0].table, "t");
        assert_eq!(m.backfill[0].sql, "SELECT f($1::uuid, $2::uuid)");
        assert_eq!(m.backfill[1].key, "k");
        assert!(m.backfill[1].sql.starts_with("UPDATE u SET a = 1"));
        for bad in [
            "-- torghut:backfill\nUPDATE t SET a = 1;\n",
            "-- torghut:backfill\n",
            "-- torghut:backfill\n-- torghut:batch table=t\nSELECT $1, $2;",
            "-- torghut:backfill\n-- torghut:batch table=T key=id\nSELECT $1, $2;",
            "-- torghut:backfill\n-- torghut:batch table=t key=id\nSELECT 1;",
            "-- torghut:backfill\n-- torghut:batch table=t key=id\nSELECT $1; SELECT $2;",
            "-- torghut:backfill\n-- torghut:no-transaction\n-- torghut:batch table=t key=id\nSELECT $1, $2;",
            "-- torghut:backfill\n-- torghut:batch table=t key=id part=1/2\nSELECT $1, $2;",
            "-- torghut:backfill\n-- torghut:batch table=t key=ctid part=3/2\nSELECT $1, $2;",
            "-- torghut:backfill\n-- torghut:batch table=t key=ctid part=0/2\nSELECT $1, $2;",
            "-- torghut:backfill\n-- torghut:batch table=t key=ctid part=1\nSELECT $1, $2;",
        ] {
            assert!(
                matches!(Migration::new("0008_x", bad, ""), Err(SourceError::BadBackfill { .. })),
                "{bad}"
            );
        }
        assert!(Migration::new("0008_x", "SELECT 1", "")
            .unwrap()
            .backfill
            .is_empty());
        let parts = Migration::new(
            "0008_x",
            "-- torghut:backfill\n-- torghut:batch table=t key=ctid part=2/3\nSELECT $1, $2;",
            "",
        )
        .unwrap();
        assert_eq!(parts.backfill[0].part, Some((1, 3)));
        assert_eq!(parts.backfill[0].label(), "t[2/3]");
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
