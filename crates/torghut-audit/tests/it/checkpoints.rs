//! Incremental checkpoints: a checkpoint reads the streams that moved (their head rows' `pending`
//! flag) and the roots created lately, never every stream; a head a writer holds is skipped, not
//! waited for; `max_heads` splits a large set over several checkpoints; `full` reads everything.

use torghut_audit::chain::{self, CheckpointOptions};
use torghut_store::decision::{self, Transition};

use crate::support::*;

async fn pending(c: &tokio_postgres::Client) -> i64 {
    c.query_one("SELECT audit_heads_pending()", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_checkpoint_records_the_moved_heads_and_clears_their_flag() {
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    let mut trails = Vec::new();
    for n in 0..4 {
        trails.push(seed(&mut rt, sid, n).await);
    }
    // Every stream of the four trails has a head row (events and reviews), and the strategy;
    // the runtime connection's lane, which linked all of them.
    assert_eq!(pending(&rt).await, 8);
    let first = chain::checkpoint(&rt).await.unwrap();
    assert_eq!(first.streams, 10, "{first:?}");
    assert_eq!(pending(&rt).await, 0);

    // One decision moves: the next checkpoint records it alone.
    decision::transition(
        &mut rt,
        trails[2].decision_id,
        &Transition::to("filled"),
        &policy(),
    )
    .await
    .unwrap();
    assert_eq!(pending(&rt).await, 1);
    let second = chain::checkpoint(&rt).await.unwrap();
    assert_eq!(second.streams, 1, "{second:?}");
    let recorded: Vec<(String, uuid::Uuid)> = rt
        .query(
            "SELECT stream, stream_id FROM audit_checkpoint_heads WHERE checkpoint_id = $1",
            &[&second.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        recorded,
        vec![("decision".to_string(), trails[2].decision_id)]
    );

    // A new trail that stays its roots alone (no event, no review) is found by its creation
    // time; a full checkpoint then finds nothing new either.
    let fresh = record(&mut rt, sid, 9).await;
    let third = chain::checkpoint(&rt).await.unwrap();
    // The decision has a head (its review and status event), the execution is its root alone;
    // and the lane that linked both moved.
    assert_eq!(third.streams, 3, "{third:?}");
    let root_alone: bool = rt
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM audit_checkpoint_heads WHERE checkpoint_id = $1 \
             AND stream = 'execution' AND stream_id = $2 AND seq = 1)",
            &[&third.id, &fresh.execution_id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(root_alone);
    let full = CheckpointOptions {
        full: true,
        max_heads: None,
    };
    let fourth = chain::checkpoint_with(&rt, full).await.unwrap();
    assert_eq!(fourth.streams, 0, "{fourth:?}");
    let mut admin = db.connect().await;
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.streams_not_checkpointed, 0, "{}", r.render());
}

#[tokio::test]
async fn max_heads_splits_the_moved_heads_over_several_checkpoints() {
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    for n in 0..3 {
        seed(&mut rt, sid, n).await;
    }
    assert_eq!(pending(&rt).await, 6);
    let some = CheckpointOptions {
        full: false,
        max_heads: Some(3),
    };
    // Three moved heads, the strategy (its root alone) and the lane (lanes are not limited:
    // one per server process).
    let a = chain::checkpoint_with(&rt, some).await.unwrap();
    assert_eq!(a.streams, 5, "{a:?}");
    assert_eq!(pending(&rt).await, 3);
    let b = chain::checkpoint_with(&rt, some).await.unwrap();
    assert_eq!(b.streams, 3, "{b:?}");
    assert_eq!(pending(&rt).await, 0);
    let c = chain::checkpoint_with(&rt, some).await.unwrap();
    assert_eq!(c.streams, 0, "{c:?}");
    let mut admin = db.connect().await;
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.checkpoints_checked, 3);
    assert_eq!(r.streams_not_checkpointed, 0, "{}", r.render());
}

#[tokio::test]
async fn a_head_held_by_a_writer_is_skipped_not_waited_for() {
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    let s = seed(&mut rt, sid, 0).await;
    chain::checkpoint(&rt).await.unwrap();
    // A writer moves the decision's head and keeps its transaction open.
    let mut writer = connect_as(&db, RUNTIME).await;
    let tx = writer.transaction().await.unwrap();
    decision::transition_in_tx(&tx, s.decision_id, &Transition::to("filled"), &policy())
        .await
        .unwrap();
    // The checkpoint neither waits (a statement timeout would fail it) nor records the head.
    let other = connect_as(&db, RUNTIME).await;
    other
        .batch_execute("SET statement_timeout = '2s'")
        .await
        .unwrap();
    let during = chain::checkpoint(&other).await.unwrap();
    assert_eq!(during.streams, 0, "{during:?}");
    tx.commit().await.unwrap();
    // Once committed, the move is pending and the next checkpoint records it.
    assert_eq!(pending(&rt).await, 1);
    let after = chain::checkpoint(&other).await.unwrap();
    assert_eq!(after.streams, 1, "{after:?}");
    let mut admin = db.connect().await;
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
}
