-- Drop the audit event tables.
DROP TABLE execution_events;
DROP TABLE decision_events;
