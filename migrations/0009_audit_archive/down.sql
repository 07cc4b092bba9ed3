-- Remove governed retention (the archive log goes with it) and restore the 0008 checkpoint.
DROP FUNCTION audit_archive_delete(timestamptz, text, text, text, jsonb, uuid[], uuid[], jsonb);
DROP TRIGGER audit_no_truncate ON audit_archive_log;
DROP TRIGGER audit_append_only ON audit_archive_log;
DROP TABLE audit_archive_log;
CREATE OR REPLACE FUNCTION audit_checkpoint() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  prev record;
  new_id bigint;
  missing record;
  n bigint;
  body text;
BEGIN
  LOCK TABLE audit_checkpoints IN SHARE ROW EXCLUSIVE MODE;
  SELECT id, hash INTO prev FROM audit_checkpoints ORDER BY id DESC LIMIT 1;
  new_id := coalesce(prev.id, 0) + 1;
  SELECT l.stream, l.stream_id, l.seq INTO missing
  FROM (SELECT DISTINCT ON (stream, stream_id) stream, stream_id, seq FROM audit_checkpoint_heads
        ORDER BY stream, stream_id, checkpoint_id DESC) l
  LEFT JOIN audit_stream_heads() h ON h.stream = l.stream AND h.stream_id = l.stream_id
  WHERE l.seq > 0 AND (h.seq IS NULL OR h.seq < l.seq)
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'audit checkpoint refused: stream % % was at seq % at an earlier checkpoint and is now shorter or missing', missing.stream, missing.stream_id, missing.seq
      USING ERRCODE = 'TA002', HINT = 'run torghut audit verify';
  END IF;
  INSERT INTO audit_checkpoint_heads (checkpoint_id, stream, stream_id, seq, head)
  SELECT new_id, h.stream, h.stream_id, h.seq, h.head
  FROM audit_stream_heads() h
  LEFT JOIN LATERAL (SELECT c.seq, c.head FROM audit_checkpoint_heads c
                     WHERE c.stream = h.stream AND c.stream_id = h.stream_id
                     ORDER BY c.checkpoint_id DESC LIMIT 1) l ON true
  WHERE l.seq IS DISTINCT FROM h.seq OR l.head IS DISTINCT FROM h.head;
  GET DIAGNOSTICS n = ROW_COUNT;
  SELECT audit_checkpoint_text(new_id, 'checkpoint') INTO body;
  INSERT INTO audit_checkpoints (id, kind, streams, prev_hash, hash)
  VALUES (new_id, 'checkpoint', n, prev.hash,
          sha256(coalesce(prev.hash, '\x'::bytea) || convert_to(body, 'UTF8')));
  RETURN new_id;
END
$$;
DROP FUNCTION audit_take_checkpoint(text, uuid[], uuid[]);
