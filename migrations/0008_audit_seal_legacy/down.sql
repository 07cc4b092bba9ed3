-- The seals of the rows from before the chain are forgotten with the chain itself (the down of
-- 0007_audit_capture drops audit_chain_heads); they hold nothing else, so there is nothing to undo
-- here, and the heads of streams that grew since stay as they are.
SELECT 1;
