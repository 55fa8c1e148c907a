-- Which key wraps each data key: 'kek' (the key-encryption key itself) until the operator
-- rotates the wrapping key (`custodian keys rotate-kek`), then that key's public id. A data key
-- wrapped by a key the server no longer holds is refused by name, not tried.
ALTER TABLE data_keys ADD COLUMN kek_id text NOT NULL DEFAULT 'kek'
    CHECK (kek_id ~ '^(kek|[0-9a-f]{16})$');
