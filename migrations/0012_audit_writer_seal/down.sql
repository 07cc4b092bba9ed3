-- Every row sealed by its trigger again. Rows already sealed by their writer keep their seals
-- (the same content and hashes as a trigger computes).
DROP TRIGGER audit_seal ON llm_decision_reviews;
CREATE TRIGGER audit_seal BEFORE INSERT ON llm_decision_reviews
  FOR EACH ROW EXECUTE FUNCTION audit_seal('decision');

DROP TRIGGER audit_seal ON executions;
CREATE TRIGGER audit_seal BEFORE INSERT ON executions
  FOR EACH ROW EXECUTE FUNCTION audit_seal_execution();

DROP TRIGGER audit_seal ON trade_decisions;
CREATE TRIGGER audit_seal BEFORE INSERT ON trade_decisions
  FOR EACH ROW EXECUTE FUNCTION audit_seal_decision();
