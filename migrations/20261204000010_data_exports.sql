-- Exports of a person's data (promise P8), built by a background job into a zip file in the
-- region's data directory. The row is the export's whole story: requested, building (with its
-- progress), ready until it expires, deleted, or failed with a reason.
CREATE TABLE data_exports (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    id uuid NOT NULL,
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'building', 'ready', 'deleted', 'failed')),
    -- What the job is doing now, for the progress bar.
    stage text NOT NULL DEFAULT 'Waiting to start',
    files_done integer NOT NULL DEFAULT 0 CHECK (files_done >= 0),
    files_total integer NOT NULL DEFAULT 0 CHECK (files_total >= 0),
    records_written bigint NOT NULL DEFAULT 0 CHECK (records_written >= 0),
    requested_at timestamptz NOT NULL,
    finished_at timestamptz,
    expires_at timestamptz,
    size_bytes bigint CHECK (size_bytes >= 0),
    -- The manifest's SHA-256 (hex): names the archive in the security log.
    manifest_sha256 text,
    failure text,
    PRIMARY KEY (owner_id, id)
);
-- One export building at a time per account, whatever races the requests run.
CREATE UNIQUE INDEX data_exports_one_active ON data_exports (owner_id)
    WHERE state IN ('queued', 'building');
CREATE INDEX data_exports_recent_idx ON data_exports (owner_id, requested_at);
SELECT custodian_protect_tenant_table('data_exports', 'SELECT, INSERT, UPDATE');

-- The invites a tenant created (with who used them, as the invites page shows) and the one it
-- signed up with (without its inviter: that is another person's data), for the export. Answers
-- only for the transaction's own tenant: `p_owner` must be the tenant the transaction acts for.
CREATE FUNCTION custodian_export_invites(p_owner uuid)
    RETURNS TABLE (relation text, created_at timestamptz, expires_at timestamptz,
                   used_at timestamptz, used_by_email text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    SELECT 'created', created_at, expires_at, used_at, used_by_email FROM invites
        WHERE invited_by = p_owner AND p_owner = custodian_current_owner()
    UNION ALL
    SELECT 'used to sign up', created_at, expires_at, used_at, NULL FROM invites
        WHERE used_by = p_owner AND p_owner = custodian_current_owner()
$$;
REVOKE ALL ON FUNCTION custodian_export_invites(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_export_invites(uuid) TO custodian_app;
