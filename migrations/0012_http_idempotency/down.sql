-- Remove the idempotency keys (kept answers are lost: retries are then new requests).
DROP TABLE http_idempotency_keys;
