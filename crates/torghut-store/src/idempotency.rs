//! Idempotency keys of the HTTP service: the first answer to a key is kept (table
//! `http_idempotency_keys`, migration `0012_http_idempotency`), so that a retry with the same key
//! and body is answered the same, a retry with another body is refused, and a retry while the
//! first attempt is still running waits for it.
//!
//! A key is claimed by inserting its row (status null: in progress); the answer is recorded when
//! the request is done; a request that fails without an answer to keep (a 5xx) releases its
//! key. A claim older than [`STALE_CLAIM`] without an answer (its request died) is taken over.

use std::time::Duration;

use tokio_postgres::GenericClient;

/// A claim without an answer after this long belongs to a request that died: taken over.
pub const STALE_CLAIM: Duration = Duration::from_secs(60);

/// What a key says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new (or its earlier claim went stale): run the request, then [`record`].
    New,
    /// The same key and body were answered before: answer this.
    Replay { status: u16, body: Vec<u8> },
    /// The key was used with another body.
    OtherBody,
    /// The first request with this key is still running.
    InProgress,
}

/// Claims `key` for a request to `route` whose body has digest `request_sha256`.
pub async fn claim(
    db: &impl GenericClient,
    route: &str,
    key: &str,
    request_sha256: &[u8],
) -> Result<Claim, tokio_postgres::Error> {
    let stale = format!("{} seconds", STALE_CLAIM.as_secs());
    let claimed = db
        .query_opt(
            "INSERT INTO http_idempotency_keys AS k (route, key, request_sha256) \
             VALUES ($1, $2, $3) \
             ON CONFLICT (route, key) DO UPDATE SET request_sha256 = EXCLUDED.request_sha256, \
               created_at = now() \
             WHERE k.status IS NULL AND k.created_at < now() - $4::text::interval \
             RETURNING 1",
            &[&route, &key, &request_sha256, &stale],
        )
        .await?;
    if claimed.is_some() {
        return Ok(Claim::New);
    }
    let Some(row) = db
        .query_opt(
            "SELECT request_sha256, status, response FROM http_idempotency_keys \
             WHERE route = $1 AND key = $2",
            &[&route, &key],
        )
        .await?
    else {
        // Released between the two statements: a new request may run.
        return Ok(Claim::InProgress);
    };
    let digest: Vec<u8> = row.try_get(0)?;
    if digest != request_sha256 {
        return Ok(Claim::OtherBody);
    }
    let status: Option<i32> = row.try_get(1)?;
    let body: Option<Vec<u8>> = row.try_get(2)?;
    Ok(match status.and_then(|s| u16::try_from(s).ok()) {
        Some(status) => Claim::Replay {
            status,
            body: body.unwrap_or_default(),
        },
        None => Claim::InProgress,
    })
}

/// Records the answer to a claimed key.
pub async fn record(
    db: &impl GenericClient,
    route: &str,
    key: &str,
    status: u16,
    body: &[u8],
) -> Result<(), tokio_postgres::Error> {
    db.execute(
        "UPDATE http_idempotency_keys SET status = $3, response = $4 \
         WHERE route = $1 AND key = $2 AND status IS NULL",
        &[&route, &key, &i32::from(status), &body],
    )
    .await?;
    Ok(())
}

/// Releases a claimed key without an answer (the request failed in a way a retry may not).
pub async fn release(
    db: &impl GenericClient,
    route: &str,
    key: &str,
) -> Result<(), tokio_postgres::Error> {
    db.execute(
        "DELETE FROM http_idempotency_keys WHERE route = $1 AND key = $2 AND status IS NULL",
        &[&route, &key],
    )
    .await?;
    Ok(())
}

/// Deletes keys older than `retention` (at most `batch` of them, so that one call stays short);
/// returns how many.
pub async fn expire(
    db: &impl GenericClient,
    retention: Duration,
    batch: i64,
) -> Result<u64, tokio_postgres::Error> {
    let older = format!("{} seconds", retention.as_secs());
    db.execute(
        "DELETE FROM http_idempotency_keys WHERE ctid IN ( \
           SELECT ctid FROM http_idempotency_keys \
           WHERE created_at < now() - $1::text::interval LIMIT $2)",
        &[&older, &batch],
    )
    .await
}
