//! Streams written before the chain (legacy streams: their first rows have no chain columns and
//! their head row says how many) as `verify` reads them, one stream at a time: intact ones verify
//! with the digests computed by verify; a changed, deleted or added row among them is found and
//! named.

use tokio_postgres::Client;
use torghut_audit::{Problem, VerifyReport};
use torghut_migrate::{MigrateOptions, MigrationSet, Migrator};
use uuid::Uuid;

use crate::support::*;

struct Legacy {
    _db: torghut_testdb::TestDb,
    c: Client,
    /// A decision with two reviews and later changes; a decision alone; a decision with two
    /// reviews and nothing after; an execution alone.
    d: Uuid,
    d2: Uuid,
    d3: Uuid,
    x: Uuid,
}

/// Rows written by plain SQL at 0005, then the upgrade to the latest migration (the backfill
/// seals them), then changes through the triggers and a checkpoint.
async fn legacy() -> Legacy {
    let db = torghut_testdb::empty_db().await;
    let mut m = Migrator::new(
        db.connect().await,
        MigrationSet::embedded(),
        MigrateOptions::default(),
    );
    m.up(Some("0005_trade_cursor_symbol")).await.unwrap();
    let c = m.into_client();
    let (s, d, d2, d3, x) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let decision = |id: Uuid| {
        format!(
            "INSERT INTO trade_decisions (id, strategy_id, alpaca_account_label, symbol, timeframe, \
               decision_json, decision_hash, status) VALUES ('{id}', '{s}', 'paper', 'AAPL', '1Min', \
               '{{\"qty\": \"1.50\"}}', 'h-{id}', 'planned');"
        )
    };
    let reviews = |id: Uuid| {
        format!(
            "INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json, \
               response_json, verdict, confidence, created_at) VALUES \
               (gen_random_uuid(), '{id}', 'm', 'v1', '{{}}', '{{}}', 'approve', 0.9, now() - interval '1 minute'), \
               (gen_random_uuid(), '{id}', 'm', 'v1', '{{}}', '{{}}', 'reject', 0.1, now());"
        )
    };
    c.batch_execute(&format!(
        "INSERT INTO strategies (id, name, base_timeframe, universe_type) VALUES ('{s}', 's', '1Min', 'static'); \
         {} {} {} {} {} \
         INSERT INTO executions (id, trade_decision_id, alpaca_order_id, symbol, side, order_type, \
           time_in_force, submitted_qty, filled_qty, status, raw_order) VALUES ('{x}', NULL, \
           'legacy-1', 'AAPL', 'buy', 'market', 'day', 1, 1, 'filled', '{{\"legacy\": true}}')",
        decision(d),
        reviews(d),
        decision(d2),
        decision(d3),
        reviews(d3),
    ))
    .await
    .unwrap();
    let mut m = Migrator::new(c, MigrationSet::embedded(), MigrateOptions::default());
    m.up(None).await.unwrap();
    let c = m.into_client();
    // The original service changes d, the store adds a review: chained after the legacy rows.
    c.batch_execute(&format!(
        "UPDATE trade_decisions SET status = 'submitted' WHERE id = '{d}'"
    ))
    .await
    .unwrap();
    torghut_store::review::append(&c, d, &review(), &policy())
        .await
        .unwrap();
    torghut_audit::chain::checkpoint(&c).await.unwrap();
    Legacy {
        _db: db,
        c,
        d,
        d2,
        d3,
        x,
    }
}

fn found(r: &VerifyReport, problem: Problem, stream_id: Uuid) -> Vec<&str> {
    r.findings
        .iter()
        .filter(|f| f.problem == problem && f.stream_id == Some(stream_id))
        .map(|f| f.detail.as_str())
        .collect()
}

#[tokio::test]
async fn legacy_streams_verify_and_every_change_among_their_rows_is_found() {
    let mut w = legacy().await;
    let r = torghut_audit::verify(&mut w.c).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.streams_unsealed, 0);
    assert_eq!(r.streams_not_checkpointed, 0, "{}", r.render());
    assert_eq!(
        r.streams_rechecked, 0,
        "legacy streams verify with the digests computed by verify"
    );
    let (d, d2, d3, x) = (w.d, w.d2, w.d3, w.x);
    w.c.batch_execute(&format!(
        "BEGIN; SET LOCAL session_replication_role = replica; \
         UPDATE llm_decision_reviews SET verdict = 'hold' WHERE trade_decision_id = '{d}' AND verdict = 'approve' \
           AND chain_hash IS NULL; \
         UPDATE executions SET filled_qty = 0 WHERE id = '{x}'; \
         DELETE FROM llm_decision_reviews WHERE trade_decision_id = '{d3}' AND verdict = 'reject'; \
         INSERT INTO llm_decision_reviews (id, trade_decision_id, model, prompt_version, input_json, \
           response_json, verdict) VALUES (gen_random_uuid(), '{d2}', 'm', 'v1', '{{}}', '{{}}', 'approve'); \
         COMMIT"
    ))
    .await
    .unwrap();
    let r = torghut_audit::verify(&mut w.c).await.unwrap();
    let text = r.render();
    // A changed legacy review: the first chained row after the legacy rows no longer follows
    // (and only that one: the rows after it follow it).
    let m = found(&r, Problem::Modified, d);
    assert_eq!(m.len(), 1, "{text}");
    assert!(m[0].contains("legacy rows 1..3"), "{text}");
    // A changed legacy root with no row after it: the head no longer follows, nor does the
    // checkpoint's record of it.
    let m = found(&r, Problem::Modified, x);
    assert!(
        m.iter()
            .any(|f| f.contains("their hashes do not lead to the stream head")),
        "{text}"
    );
    assert!(
        m.iter().any(|f| f.contains("checkpoint 1 recorded")),
        "{text}"
    );
    // A deleted legacy review.
    assert!(
        found(&r, Problem::Deleted, d3)
            .iter()
            .any(|f| f.contains("3 rows written before the chain were sealed, 2 are left")),
        "{text}"
    );
    // A row without chain columns added to a legacy stream.
    assert!(
        found(&r, Problem::Inserted, d2)
            .iter()
            .any(|f| f.contains("the stream had only 1 rows from before the chain")),
        "{text}"
    );
    // Only those streams, each verified again by PostgreSQL.
    for f in &r.findings {
        assert!(
            [d, d2, d3, x].contains(&f.stream_id.unwrap_or_default()),
            "{f}"
        );
    }
    assert_eq!(r.streams_rechecked, 4, "{text}");
}
