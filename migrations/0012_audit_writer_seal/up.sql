-- A writer may seal the rows it inserts itself, so that the database does not have to: the
-- store seals a trail's decision, its opening review and its execution in the trail statement
-- and in bulk backfill (the content and hashes 0008 and 0011 define, written by the store: see
-- crates/torghut-store/src/seal.rs). The sealing triggers of these three tables now run only
-- for a row inserted without a chain_hash; a row inserted with one keeps the chain_seq,
-- chain_hash and initial state its writer gave.
--
-- The database does not recompute a writer's seal; torghut audit verify does, with the same SQL
-- as the triggers, so a seal that does not match its row, a chain_seq that is not the row's
-- place, an initial state that is not the row's (initial_status, initial_raw_order,
-- initial_chain_rows), or a review claimed as a trail's opening row when it is not one, is
-- reported like any modified or out-of-band row. A writer's seal covers its own row only (and,
-- for an opening review, its decision's seal): no stream head is read or moved. Rows of the
-- other audit tables (events, later reviews) are sealed by their triggers as before.
--
-- The condition is one null test, evaluated without calling the trigger function: on the
-- single-statement trail, a larger condition costs more to set up (once per statement and
-- table) than it saves. Writers of this content set nothing else. A migration that changes
-- what is sealed must stop trusting them, e.g. with
--   WHEN (NEW.chain_hash IS NULL OR current_setting('torghut.seal_format', true) IS DISTINCT FROM '2')
-- and writers of the new content setting torghut.seal_format in their transaction.

DROP TRIGGER audit_seal ON trade_decisions;
CREATE TRIGGER audit_seal BEFORE INSERT ON trade_decisions
  FOR EACH ROW WHEN (NEW.chain_hash IS NULL) EXECUTE FUNCTION audit_seal_decision();

DROP TRIGGER audit_seal ON executions;
CREATE TRIGGER audit_seal BEFORE INSERT ON executions
  FOR EACH ROW WHEN (NEW.chain_hash IS NULL) EXECUTE FUNCTION audit_seal_execution();

DROP TRIGGER audit_seal ON llm_decision_reviews;
CREATE TRIGGER audit_seal BEFORE INSERT ON llm_decision_reviews
  FOR EACH ROW WHEN (NEW.chain_hash IS NULL) EXECUTE FUNCTION audit_seal('decision');
