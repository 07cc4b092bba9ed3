//! `verify --since-checkpoint`: only the streams changed after the latest checkpoint that
//! verifies (heads moved since, roots created since the checkpoint before it), each whole.

use tokio_postgres::Client;
use torghut_audit::{Problem, VerifyOptions, VerifyReport};
use uuid::Uuid;

use crate::support::*;

const SINCE: VerifyOptions = VerifyOptions {
    since_checkpoint: true,
};

async fn since(c: &mut Client) -> VerifyReport {
    torghut_audit::verify_with(c, SINCE).await.unwrap()
}

async fn behind_the_back(c: &Client, sql: &str) {
    c.batch_execute(&format!(
        "BEGIN; SET LOCAL session_replication_role = replica; {sql}; COMMIT"
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test]
async fn only_what_changed_since_the_latest_checkpoint_is_verified() {
    let db = db().await;
    let mut admin = db.connect().await;
    // Without a checkpoint, everything is verified.
    let r = since(&mut admin).await;
    assert_eq!(r.since_checkpoint, None);

    let mut rt = connect_as(&db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    let mut a = Vec::new();
    for n in 0..3 {
        a.push(seed(&mut rt, sid, n).await);
    }
    torghut_audit::chain::checkpoint(&rt).await.unwrap();
    let b = seed(&mut rt, sid, 10).await;
    torghut_audit::chain::checkpoint(&rt).await.unwrap();
    // After checkpoint 2: one of the first decisions moves, a new trail is written.
    torghut_store::decision::transition(
        &mut rt,
        a[0].decision_id,
        &torghut_store::decision::Transition::to("filled"),
        &policy(),
    )
    .await
    .unwrap();
    let c = record(&mut rt, sid, 20).await;

    let full = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(full.ok, "{}", full.render());
    let r = since(&mut admin).await;
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.since_checkpoint, Some(2));
    assert!(
        r.render().contains("only what changed since checkpoint #2"),
        "{}",
        r.render()
    );
    // a[0]'s decision (head moved); b's and c's decisions and executions (created since
    // checkpoint 1); nothing else.
    assert_eq!(r.streams_checked, 5, "{}", r.render());
    assert_eq!(r.rows_by_table["trade_decisions"], 3, "{}", r.render());
    assert!(full.streams_checked > r.streams_checked);

    // A change in a stream that moved is found; one in a stream that did not is left to a
    // full verification.
    behind_the_back(
        &admin,
        &format!(
            "UPDATE llm_decision_reviews SET verdict = 'reject' WHERE trade_decision_id = '{}'; \
             UPDATE llm_decision_reviews SET verdict = 'reject' WHERE trade_decision_id = '{}'",
            c.decision_id, a[1].decision_id
        ),
    )
    .await;
    let r = since(&mut admin).await;
    let stream_of = |r: &VerifyReport, id: Uuid| {
        r.findings
            .iter()
            .any(|f| f.problem == Problem::Modified && f.stream_id == Some(id))
    };
    assert!(stream_of(&r, c.decision_id), "{}", r.render());
    assert!(!stream_of(&r, a[1].decision_id), "{}", r.render());
    let full = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(stream_of(&full, a[1].decision_id), "{}", full.render());
    assert!(stream_of(&full, c.decision_id), "{}", full.render());

    // A later checkpoint that no longer verifies is reported, and the one before it is used.
    torghut_audit::chain::checkpoint(&rt).await.unwrap();
    behind_the_back(
        &admin,
        "UPDATE audit_checkpoint_heads SET seq = seq + 1 WHERE checkpoint_id = 3",
    )
    .await;
    let r = since(&mut admin).await;
    assert_eq!(r.since_checkpoint, Some(2), "{}", r.render());
    assert!(
        r.findings
            .iter()
            .any(|f| f.problem == Problem::Checkpoint && f.seq == Some(3)),
        "{}",
        r.render()
    );
    let _ = b;
}
