use torghut_store::bulk::{backfill, backfill_staged, BulkError, BulkReport};
use torghut_store::trail::{self, TrailInput};
use torghut_store::JsonPolicy;

use crate::support::{count, db, decision as decision_text, order, policy, review, strategy};

fn trails(sid: uuid::Uuid, range: std::ops::Range<u64>) -> Vec<TrailInput> {
    range
        .map(|n| {
            let text = decision_text(sid, n);
            let hash = torghut_hash::decision_hash_from_json(&text).unwrap();
            TrailInput {
                strategy_id: sid,
                account_label: "paper".into(),
                decision_json_text: text,
                review: (n % 2 == 0).then(review),
                execution: Some(order(Some(&format!("o-{n}")), Some(&hash), "0", "accepted")),
                status: (n % 3 != 0).then(|| "submitted".to_owned()),
            }
        })
        .collect()
}

type Backfill = for<'a> fn(
    &'a mut tokio_postgres::Client,
    &'a [TrailInput],
    &'a JsonPolicy,
) -> futures_util::future::BoxFuture<'a, Result<BulkReport, BulkError>>;

fn direct_path() -> Backfill {
    |c, t, p| Box::pin(backfill(c, t, p))
}

fn staged_path() -> Backfill {
    |c, t, p| Box::pin(backfill_staged(c, t, p))
}

#[tokio::test]
async fn backfill_inserts_once_and_skips_what_exists() {
    inserts_once_and_skips_what_exists(direct_path()).await;
}

#[tokio::test]
async fn staged_backfill_inserts_once_and_skips_what_exists() {
    inserts_once_and_skips_what_exists(staged_path()).await;
}

async fn inserts_once_and_skips_what_exists(backfill: Backfill) {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let p = policy();
    let mut batch = trails(sid, 0..300);
    // A repeat within the batch is skipped.
    batch.push(batch[5].clone());
    let r = backfill(&mut c, &batch, &p).await.unwrap();
    assert_eq!(r.trails, 301);
    assert_eq!(r.decisions_inserted, 300);
    assert_eq!(r.decisions_skipped, 1);
    assert_eq!(r.reviews_inserted, 150);
    assert_eq!(r.executions_inserted, 300);
    assert_eq!(count(&c, "trade_decisions").await, 300);
    // Creation writes no event rows: the initial state is sealed into each row.
    assert_eq!(count(&c, "decision_events").await, 0);
    assert_eq!(count(&c, "execution_events").await, 0);

    // Again, overlapping: only the new ones.
    let r = backfill(&mut c, &trails(sid, 250..350), &p).await.unwrap();
    assert_eq!(r.decisions_inserted, 50);
    assert_eq!(r.decisions_skipped, 50);
    assert_eq!(count(&c, "trade_decisions").await, 350);
    assert_eq!(count(&c, "executions").await, 350);

    // An order already stored is skipped, its decision written.
    let mut batch = trails(sid, 400..403);
    batch[1].execution = trails(sid, 0..1)[0].execution.clone();
    let r = backfill(&mut c, &batch, &p).await.unwrap();
    assert_eq!(r.decisions_inserted, 3);
    assert_eq!(r.executions_inserted, 2);
    assert_eq!(r.executions_skipped, 1);

    // A backfilled trail reads back like a recorded one.
    let d = torghut_store::decision::get_by_hash(
        &c,
        &torghut_hash::decision_hash_from_json(&decision_text(sid, 4)).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let t = trail::get(&c, d.id).await.unwrap().unwrap();
    assert_eq!(t.decision.status, "submitted");
    assert_eq!(t.decision.initial_status.as_deref(), Some("submitted"));
    assert!(t.events.is_empty());
    assert_eq!(t.reviews.len(), 1);
    assert_eq!(t.executions.len(), 1);
    assert_eq!(
        t.executions[0].initial_raw_order, t.executions[0].raw_order,
        "the creating payload is sealed into the row"
    );
    assert!(t.execution_events.is_empty());
}

#[tokio::test]
async fn a_bad_trail_is_reported_with_its_index_and_nothing_is_written() {
    bad_trail(direct_path()).await;
    bad_trail(staged_path()).await;
}

async fn bad_trail(backfill: Backfill) {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let p = policy();
    let mut batch = trails(sid, 0..10);
    batch[7].review = Some(torghut_store::review::NewReview {
        verdict: "nope".into(),
        ..review()
    });
    let err = backfill(&mut c, &batch, &p).await.unwrap_err();
    assert_eq!(err.index(), Some(7));
    assert!(matches!(&err, BulkError::Trail { source, .. } if source.field() == Some("verdict")));

    let mut batch = trails(sid, 0..10);
    batch.extend(trails(uuid::Uuid::now_v7(), 10..11));
    let err = backfill(&mut c, &batch, &p).await.unwrap_err();
    assert_eq!(err.index(), Some(10), "{err}");
    assert_eq!(count(&c, "trade_decisions").await, 0);
}

#[tokio::test]
async fn a_batch_prepared_on_another_thread_is_written_once() {
    let db = db().await;
    let mut c = db.connect().await;
    let sid = strategy(&mut c).await;
    let input = trails(sid, 0..40);
    let batch = tokio::task::spawn_blocking(move || {
        torghut_store::bulk::prepare(&input, &JsonPolicy::default())
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(batch.len(), 40);
    let r = torghut_store::bulk::write(&mut c, &batch).await.unwrap();
    assert_eq!((r.trails, r.decisions_inserted), (40, 40));
    assert_eq!(r.executions_inserted, 40);
    // Written again (by either way): everything exists, nothing is added.
    let again = torghut_store::bulk::write(&mut c, &batch).await.unwrap();
    assert_eq!((again.decisions_inserted, again.decisions_skipped), (0, 40));
    let staged = torghut_store::bulk::write_staged(&mut c, &batch)
        .await
        .unwrap();
    assert_eq!(staged.decisions_inserted, 0);
    assert_eq!(count(&c, "trade_decisions").await, 40);
    assert_eq!(count(&c, "executions").await, 40);
    assert_eq!(count(&c, "execution_events").await, 0);
}
