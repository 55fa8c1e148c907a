-- Server-side sessions (promise P4), in the layout tower-sessions-sqlx-store expects. Sessions
-- are found by their unguessable id before any tenant is known, so this is not a tenant table.
CREATE SCHEMA tower_sessions;
CREATE TABLE tower_sessions.session (
    id text PRIMARY KEY NOT NULL,
    data bytea NOT NULL,
    expiry_date timestamptz NOT NULL
);
CREATE INDEX session_expiry_date_idx ON tower_sessions.session (expiry_date);
GRANT USAGE ON SCHEMA tower_sessions TO custodian_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tower_sessions.session TO custodian_app;
