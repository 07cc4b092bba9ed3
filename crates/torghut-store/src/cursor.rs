//! Trade cursors: where a source's ingestion has got to. A cursor only moves forward.
//!
//! The position is `(cursor_at, cursor_seq, cursor_symbol)` compared lexicographically, a NULL
//! `cursor_seq` or `cursor_symbol` sorting below any value, symbols by byte (`COLLATE "C"`).
//! [`advance`] is one statement, `INSERT ... ON CONFLICT (source) DO UPDATE ... WHERE <new is
//! greater> RETURNING`, so concurrent advances cannot move a cursor back. An older position is
//! refused with [`CursorError::Backwards`] unless `force`; the same position is a successful
//! no-op.

use std::cmp::Ordering;

use chrono::{DateTime, SubsecRound, Utc};
use tokio_postgres::{Client, GenericClient, Row, Transaction};
use uuid::Uuid;

use crate::check;
use crate::input::InputError;
use crate::statements;

/// A cursor position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorPosition {
    pub at: DateTime<Utc>,
    pub seq: Option<i64>,
    /// At most 32 characters.
    pub symbol: Option<String>,
}

impl CursorPosition {
    /// A position with only a timestamp.
    pub fn at(at: DateTime<Utc>) -> Self {
        Self {
            at,
            seq: None,
            symbol: None,
        }
    }
}

impl PartialOrd for CursorPosition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CursorPosition {
    /// Lexicographic; `None` sorts first; symbols by bytes.
    fn cmp(&self, other: &Self) -> Ordering {
        self.at
            .cmp(&other.at)
            .then(self.seq.cmp(&other.seq))
            .then_with(|| {
                self.symbol
                    .as_deref()
                    .map(str::as_bytes)
                    .cmp(&other.symbol.as_deref().map(str::as_bytes))
            })
    }
}

/// A stored cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub source: String,
    pub position: CursorPosition,
    pub updated_at: DateTime<Utc>,
}

/// What [`advance`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advanced {
    /// The cursor did not exist and was created.
    Created,
    /// The cursor moved (forward, or anywhere when forced).
    Moved,
    /// The cursor was already at this position.
    Unchanged,
}

/// Why a cursor operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CursorError {
    /// The source or the position is not acceptable: the source is refused as a parameter
    /// (it names the cursor), the position's symbol as the member `cursor_symbol`.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The requested position is older than the stored one (and `force` was not given).
    #[error("cursor {source_name}: refusing to move back from {current:?} to {requested:?}")]
    Backwards {
        source_name: String,
        current: CursorPosition,
        requested: CursorPosition,
    },
    /// Any other database error.
    #[error("database error: {}", crate::check::describe(.0))]
    Db(#[from] tokio_postgres::Error),
}

/// The subject of this module's input refusals.
const SUBJECT: &str = "cursor";

/// The source of a cursor, refused: a parameter naming the cursor.
fn source_refused(message: impl Into<String>) -> InputError {
    InputError::Parameter {
        subject: SUBJECT,
        field: "source",
        message: message.into(),
    }
}

fn position_from_row(row: &Row, first: usize) -> Result<CursorPosition, tokio_postgres::Error> {
    Ok(CursorPosition {
        at: row.try_get(first)?,
        seq: row.try_get(first + 1)?,
        symbol: row.try_get(first + 2)?,
    })
}

/// The cursor of `source`.
pub async fn get(db: &impl GenericClient, source: &str) -> Result<Option<Cursor>, CursorError> {
    let row = statements::query_opt(
        db,
        "SELECT source, cursor_at, cursor_seq, cursor_symbol, updated_at FROM trade_cursor \
             WHERE source = $1",
        &[&source],
    )
    .await?;
    row.map(|r| -> Result<Cursor, tokio_postgres::Error> {
        Ok(Cursor {
            source: r.try_get(0)?,
            position: position_from_row(&r, 1)?,
            updated_at: r.try_get(4)?,
        })
    })
    .transpose()
    .map_err(Into::into)
}

/// Moves the cursor of `source` to `to`, creating it if needed, in its own transaction.
pub async fn advance(
    client: &mut Client,
    source: &str,
    to: &CursorPosition,
    force: bool,
) -> Result<Advanced, CursorError> {
    let tx = client.transaction().await?;
    let out = advance_in_tx(&tx, source, to, force).await?;
    tx.commit().await?;
    Ok(out)
}

/// [`advance`] in the caller's transaction.
pub async fn advance_in_tx(
    tx: &Transaction<'_>,
    source: &str,
    to: &CursorPosition,
    force: bool,
) -> Result<Advanced, CursorError> {
    check::varchar("source", source, 64, true).map_err(|p| source_refused(p.message))?;
    if let Some(s) = &to.symbol {
        check::varchar("symbol", s, 32, false).map_err(|p| InputError::Member {
            subject: SUBJECT,
            field: p.field,
            known_as: Some("cursor_symbol"),
            message: p.message,
        })?;
    }
    // timestamptz keeps microseconds: compare what is stored.
    let to = &CursorPosition {
        at: to.at.trunc_subsecs(6),
        ..to.clone()
    };
    // (at, seq is not null, seq, symbol is not null, symbol): NULL sorts below any value.
    let row = statements::query_opt(
        tx,
        "INSERT INTO trade_cursor AS c (id, source, cursor_at, cursor_seq, cursor_symbol) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (source) DO UPDATE SET cursor_at = EXCLUDED.cursor_at, \
             cursor_seq = EXCLUDED.cursor_seq, cursor_symbol = EXCLUDED.cursor_symbol, \
             updated_at = now() \
             WHERE $6 OR (EXCLUDED.cursor_at, EXCLUDED.cursor_seq IS NOT NULL, \
                 coalesce(EXCLUDED.cursor_seq, 0), EXCLUDED.cursor_symbol IS NOT NULL, \
                 coalesce(EXCLUDED.cursor_symbol, '') COLLATE \"C\") \
               > (c.cursor_at, c.cursor_seq IS NOT NULL, coalesce(c.cursor_seq, 0), \
                 c.cursor_symbol IS NOT NULL, coalesce(c.cursor_symbol, '') COLLATE \"C\") \
             RETURNING (xmax = 0) AS created",
        &[
            &Uuid::now_v7(),
            &source,
            &to.at,
            &to.seq,
            &to.symbol,
            &force,
        ],
    )
    .await?;
    if let Some(row) = row {
        return Ok(if row.try_get(0)? {
            Advanced::Created
        } else {
            Advanced::Moved
        });
    }
    // Not moved: the stored position is the same or newer (positions only grow, so what is read
    // now is at least what the statement compared with).
    let current = get(tx, source).await?.map(|c| c.position);
    match current {
        Some(current) if current == *to => Ok(Advanced::Unchanged),
        Some(current) => Err(CursorError::Backwards {
            source_name: source.to_owned(),
            current,
            requested: to.clone(),
        }),
        None => Err(source_refused("the cursor disappeared while it was being advanced").into()),
    }
}
