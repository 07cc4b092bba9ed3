//! Anchors kept outside the database: an owner who rewrites a row and recomputes every hash after
//! it (the stream, its head, the checkpoint heads and the checkpoint chain) leaves a database that
//! verifies on its own; the anchors still find it.

use torghut_audit::anchor::{self, Anchor};
use torghut_audit::Problem;

use crate::support::*;

/// Rewrites the first review of decision `d` and recomputes everything that depends on it, as
/// an owner with every trigger off could.
const RECOMPUTE: &str = r#"
SET session_replication_role = replica;
UPDATE llm_decision_reviews SET verdict = 'reject' WHERE trade_decision_id = '{d}';
DO $$
DECLARE
  r record;
  cp record;
  prev bytea;
  prev_cp bytea;
BEGIN
  PERFORM set_config('TimeZone', 'UTC', true);
  FOR r IN
    SELECT * FROM (
      SELECT 'trade_decisions' AS t, x.id, x.chain_seq, audit_content('trade_decisions',
        audit_initial(to_jsonb(x), ARRAY(SELECT e.payload -> 'changes' FROM decision_events e
          WHERE e.decision_id = x.id ORDER BY e.seq))) AS c
      FROM trade_decisions x WHERE x.id = '{d}'
      UNION ALL SELECT 'decision_events', x.id, x.chain_seq, audit_content('decision_events', to_jsonb(x))
      FROM decision_events x WHERE x.decision_id = '{d}'
      UNION ALL SELECT 'llm_decision_reviews', x.id, x.chain_seq, audit_content('llm_decision_reviews', to_jsonb(x))
      FROM llm_decision_reviews x WHERE x.trade_decision_id = '{d}') q
    ORDER BY chain_seq
  LOOP
    prev := CASE WHEN prev IS NULL THEN sha256(r.c) ELSE sha256(prev || r.c) END;
    EXECUTE format('UPDATE %I SET chain_hash = $1 WHERE id = $2', r.t) USING prev, r.id;
  END LOOP;
  UPDATE audit_chain_heads SET head = prev WHERE stream = 'decision' AND stream_id = '{d}';
  UPDATE audit_checkpoint_heads SET head = prev WHERE stream = 'decision' AND stream_id = '{d}';
  FOR cp IN SELECT id, kind FROM audit_checkpoints ORDER BY id LOOP
    UPDATE audit_checkpoints SET prev_hash = prev_cp,
      hash = sha256(coalesce(prev_cp, '\x'::bytea) || convert_to(audit_checkpoint_text(cp.id, cp.kind), 'UTF8'))
    WHERE id = cp.id RETURNING hash INTO prev_cp;
  END LOOP;
END
$$;
"#;

/// [`RECOMPUTE`] for decision `d`, without its `SET` (for a caller that turns the triggers off).
pub fn recompute_sql(d: uuid::Uuid) -> String {
    RECOMPUTE
        .replace("SET session_replication_role = replica;", "")
        .replace("{d}", &d.to_string())
}

#[tokio::test]
async fn a_recomputed_chain_verifies_alone_but_not_against_its_anchors() {
    let db = db().await;
    let mut rt = connect_as(&db, RUNTIME).await;
    let sid = strategy(&mut rt).await;
    let a = seed(&mut rt, sid, 1).await;
    seed(&mut rt, sid, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let key_hex = anchor::generate_key().unwrap().0;
    std::fs::write(dir.path().join("key"), format!("{key_hex}\n")).unwrap();
    let key = anchor::read_signing_key(&dir.path().join("key")).unwrap();
    let cp = torghut_audit::chain::checkpoint(&rt).await.unwrap();
    let anchored = Anchor::sign(&cp, &key);
    let anchors_file = dir.path().join("anchors.jsonl");
    anchor::write_anchor(&anchors_file, &anchored).unwrap();
    // More writes and a second checkpoint, anchored into a directory.
    seed(&mut rt, sid, 3).await;
    let cp2 = torghut_audit::chain::checkpoint(&rt).await.unwrap();
    let anchor_dir = dir.path().join("anchors");
    std::fs::create_dir(&anchor_dir).unwrap();
    anchor::write_anchor(&anchor_dir, &Anchor::sign(&cp2, &key)).unwrap();
    anchor::write_anchor(&anchor_dir, &anchored).unwrap();

    let trusted = key.verifying_key();
    let mut admin = db.connect().await;
    for path in [&anchors_file, &anchor_dir] {
        let anchors = anchor::read_anchors(path).unwrap();
        let found = anchor::check_anchors(&admin, &anchors, Some(&trusted))
            .await
            .unwrap();
        assert!(found.is_empty(), "{found:?}");
    }

    // The attack: the rewritten chain verifies on its own...
    admin
        .batch_execute(&RECOMPUTE.replace("{d}", &a.decision_id.to_string()))
        .await
        .unwrap();
    let r = torghut_audit::verify(&mut admin).await.unwrap();
    assert!(r.ok, "the recomputed chain verifies alone: {}", r.render());
    // ...but not against the anchors kept outside the database.
    let anchors = anchor::read_anchors(&anchor_dir).unwrap();
    let found = anchor::check_anchors(&admin, &anchors, Some(&trusted))
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|f| f.problem == Problem::Checkpoint));
    assert!(
        found[0].detail.contains("not the one anchored"),
        "{found:?}"
    );

    // An anchor altered, or signed by another key, is refused as such.
    let mut forged = anchored.clone();
    forged.hash = "00".repeat(32);
    let other = anchor::read_public_key(&anchor::generate_key().unwrap().1).unwrap();
    let found = anchor::check_anchors(&admin, &[forged, anchored.clone()], Some(&other))
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .all(|f| f.detail.contains("signed by another key")),
        "{found:?}"
    );
    let mut forged = anchored.clone();
    forged.hash = "00".repeat(32);
    let found = anchor::check_anchors(&admin, &[forged], None)
        .await
        .unwrap();
    assert!(
        found[0].detail.contains("signature does not verify"),
        "{found:?}"
    );
}
