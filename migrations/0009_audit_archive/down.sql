-- Remove governed retention (the archive log goes with it).
DROP FUNCTION audit_archive_delete(timestamptz, text, text, text, jsonb, uuid[], uuid[], jsonb);
DROP TRIGGER audit_no_truncate ON audit_archive_log;
DROP TRIGGER audit_append_only ON audit_archive_log;
DROP TABLE audit_archive_log;
