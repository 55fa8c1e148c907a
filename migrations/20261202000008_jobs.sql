-- Background jobs (app/src/platform/jobs.rs). Not a tenant table: one runner serves every
-- tenant. A job is claimed under a lease (locked_until, locked_by) with FOR UPDATE SKIP LOCKED,
-- retried with backoff (run_at, attempts, last_error) and marked failed when it gives up.
-- A one-off job is deleted once it succeeds; a recurring one moves its run_at.
CREATE TABLE jobs (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    payload jsonb NOT NULL DEFAULT 'null',
    -- At most one pending job per key: one per recurring kind, one per mail message.
    dedupe_key text UNIQUE,
    run_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    locked_by text,
    last_error text,
    created_at timestamptz NOT NULL,
    failed_at timestamptz
);
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE failed_at IS NULL;
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO custodian_app;

-- Mail is delivered by a job per message now; the outbox keeps the message and its outcome.
-- Messages still waiting get their job, with the attempts they had and not before a delivery in
-- progress could have ended (its lease). Upgrade with every server stopped: an older server
-- still writes the columns dropped below.
INSERT INTO jobs (id, kind, payload, dedupe_key, run_at, attempts, created_at)
SELECT gen_random_uuid(), 'deliver_mail', jsonb_build_object('message', id), 'mail:' || id,
       greatest(next_attempt_at, coalesce(locked_until, next_attempt_at)), attempts, created_at
FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
DROP INDEX mail_outbox_due_idx;
ALTER TABLE mail_outbox DROP COLUMN next_attempt_at, DROP COLUMN locked_until;
