//! Governed retention: archive, delete through the one allowed path, verify stays green, the
//! archive verifies against the governance log.

use chrono::{DateTime, Utc};
use torghut_audit::archive::{self, ArchiveRequest};
use torghut_audit::AuditError;

use crate::support::*;

#[tokio::test]
async fn archive_deletes_only_through_its_function_and_verify_stays_green() {
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    let a = seed(&mut rt, sid, 1).await;
    let b = seed(&mut rt, sid, 2).await;
    // A trail and nothing after: its order's initial payload is still kept in place.
    let d = record(&mut rt, sid, 4).await;
    let mut owner = connect_as(&db, OWNER).await;
    // The streams about to be archived are in a checkpoint: the archive must carry it.
    torghut_audit::chain::checkpoint(&owner).await.unwrap();
    let cut: DateTime<Utc> = owner
        .query_one("SELECT clock_timestamp()", &[])
        .await
        .unwrap()
        .get(0);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let c = seed(&mut rt, sid, 3).await;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    let req = ArchiveRequest {
        before: cut,
        reason: "retention: 7 years".into(),
        approved_by: "compliance".into(),
        out: dir.clone(),
    };
    // A reason and an approver are required; the runtime role may not archive.
    let err = archive::archive(
        &mut owner,
        &ArchiveRequest {
            reason: " ".into(),
            ..req.clone()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AuditError::InvalidRequest(_)), "{err}");
    let (code, _) = refused(
        &rt,
        &format!(
            "SELECT audit_archive_delete(now(), 'r', 'a', 'x', '{{}}', ARRAY['{}'::uuid], '{{}}', '{{}}')",
            a.decision_id
        ),
    )
    .await;
    assert_eq!(code, "42501");

    let report = archive::archive(&mut owner, &req).await.unwrap();
    assert!(report.log_id.is_some(), "{report:?}");
    assert_eq!(report.decision_streams, 3);
    assert_eq!(report.execution_streams, 3);
    assert_eq!(report.rows["trade_decisions"], 3);
    assert_eq!(report.rows["decision_events"], 7);
    assert_eq!(report.rows["execution_events"], 4);

    let left: Vec<uuid::Uuid> = owner
        .query("SELECT id FROM trade_decisions", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, vec![c.decision_id]);
    assert!(!left.contains(&b.decision_id));
    assert!(!left.contains(&d.decision_id));
    // The governance log row.
    let log = owner
        .query_one(
            "SELECT archived_by, approved_by, reason, row_counts ->> 'llm_decision_reviews', checkpoint_id \
             FROM audit_archive_log",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(log.get::<_, String>(0), OWNER);
    assert_eq!(log.get::<_, String>(1), "compliance");
    assert_eq!(log.get::<_, String>(2), "retention: 7 years");
    assert_eq!(log.get::<_, String>(3), "3");

    let mut admin = db.connect().await;
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());
    assert_eq!(r.rows_by_table["trade_decisions"], 1);
    assert_eq!(r.checkpoints_checked, 2);
    // Later checkpoints are not refused by the archived streams.
    torghut_audit::chain::checkpoint(&owner).await.unwrap();
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "{}", r.render());

    let v = archive::verify_archive(&mut admin, &dir).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.rows_checked, 3 + 7 + 3 + 3 + 4);
    assert_eq!(v.streams_checked, 6);

    // Nothing is old enough any more: nothing happens.
    let again = archive::archive(
        &mut owner,
        &ArchiveRequest {
            out: tmp.path().join("again"),
            ..req.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(again.log_id, None);

    // A changed archive file no longer verifies: the payload of the order whose initial
    // payload was kept in place,
    let xpath = dir.join("executions.jsonl");
    let original = std::fs::read_to_string(&xpath).unwrap();
    assert!(original.contains("\"new\""), "{original}");
    std::fs::write(&xpath, original.replacen("\"new\"", "\"filled\"", 1)).unwrap();
    let v = archive::verify_archive(&mut admin, &dir).await.unwrap();
    assert!(!v.ok);
    assert!(v.problems.iter().any(|p| p.contains("executions")), "{v:?}");
    std::fs::write(&xpath, original).unwrap();
    assert!(archive::verify_archive(&mut admin, &dir).await.unwrap().ok);
    // or a review.
    let path = dir.join("llm_decision_reviews.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("approve", "reject", 1)).unwrap();
    let v = archive::verify_archive(&mut admin, &dir).await.unwrap();
    assert!(!v.ok);
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("llm_decision_reviews")),
        "{v:?}"
    );
    // A changed manifest is not the logged one.
    let mpath = dir.join("manifest.json");
    let m = std::fs::read_to_string(&mpath).unwrap();
    std::fs::write(&mpath, m.replace("compliance", "someone")).unwrap();
    let v = archive::verify_archive(&mut admin, &dir).await.unwrap();
    assert!(!v.ok);
    assert_eq!(v.log_id, None);
}
