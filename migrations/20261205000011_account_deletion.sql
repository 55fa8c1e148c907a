-- Account deletion (promise P8): a request locks the account for a grace period, then a job
-- purges every row of the tenant, destroys its data keys and writes the erasure ledger.

-- The schedule, on the tenant's own row: while it is set the account is locked (its sessions
-- reach only the page that cancels), and when due the purge job erases the tenant.
ALTER TABLE tenants
    ADD COLUMN deletion_requested_at timestamptz,
    ADD COLUMN deletion_due_at timestamptz,
    ADD CONSTRAINT tenants_deletion_complete
        CHECK ((deletion_requested_at IS NULL) = (deletion_due_at IS NULL)),
    ADD CONSTRAINT tenants_deletion_after_request CHECK (deletion_due_at > deletion_requested_at);

-- The erasure ledger of deletions: what proves each purge and what a restored backup replays.
-- It holds no personal data: the tenant is named by a keyed hash of its id, and the rows
-- removed by table name and count. Each store's status moves from 'pending' once it is done.
CREATE TABLE deletion_ledger (
    id uuid PRIMARY KEY,
    tenant_hash bytea NOT NULL UNIQUE CHECK (length(tenant_hash) = 32),
    region text NOT NULL CHECK (region IN ('us-east', 'eu-west')),
    requested_at timestamptz NOT NULL,
    grace_ends_at timestamptz NOT NULL,
    purged_at timestamptz,
    database_rows text NOT NULL DEFAULT 'pending' CHECK (database_rows IN ('pending', 'deleted')),
    data_key text NOT NULL DEFAULT 'pending' CHECK (data_key IN ('pending', 'destroyed')),
    mail_outbox text NOT NULL DEFAULT 'pending' CHECK (mail_outbox IN ('pending', 'erased')),
    export_archives text NOT NULL DEFAULT 'pending' CHECK (export_archives IN ('pending', 'removed')),
    files text NOT NULL DEFAULT 'pending' CHECK (files IN ('pending', 'removed')),
    rows_removed jsonb NOT NULL DEFAULT '{}',
    data_keys_destroyed integer NOT NULL DEFAULT 0 CHECK (data_keys_destroyed >= 0),
    recorded_at timestamptz NOT NULL
);
GRANT SELECT, INSERT, UPDATE ON deletion_ledger TO custodian_app;

-- The directory's rows of a tenant (empty in a region's database): its address's route, its
-- invites' routes (`p_codes`, read from its region first), move requests and move erasures.
CREATE FUNCTION custodian_forget_routes(p_tenant uuid, p_codes bytea[]) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    removed jsonb := '{}';
    n bigint;
BEGIN
    DELETE FROM address_routes WHERE tenant_id = p_tenant;
    GET DIAGNOSTICS n = ROW_COUNT;
    removed := removed || jsonb_build_object('public.address_routes', n);
    DELETE FROM invite_routes WHERE code_sha256 = ANY (p_codes);
    GET DIAGNOSTICS n = ROW_COUNT;
    removed := removed || jsonb_build_object('public.invite_routes', n);
    DELETE FROM move_requests WHERE tenant_id = p_tenant;
    -- Earlier moves' entries name the tenant by id; the deletion ledger replaces them. A move
    -- under way is never touched (a scheduled tenant is not moved).
    DELETE FROM erasures WHERE tenant_id = p_tenant
        AND NOT EXISTS (SELECT 1 FROM tenant_moves WHERE tenant_id = p_tenant);
    RETURN removed;
END
$$;
REVOKE ALL ON FUNCTION custodian_forget_routes(uuid, bytea[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_forget_routes(uuid, bytea[]) TO custodian_app;

-- The tenant tables, from the catalog: every permanent table of the schema with an owner_id
-- under the tenant policy, so that no table another role made (a temporary one, say) is ever
-- touched with the owner's rights.
CREATE FUNCTION custodian_tenant_tables() RETURNS SETOF text
    LANGUAGE sql STABLE SET search_path = public, pg_temp
    AS $$
    SELECT format('%I.%I', ns.nspname, c.relname)
    FROM pg_class c
    JOIN pg_namespace ns ON ns.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'owner_id' AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'p' AND ns.nspname = 'public'
      AND EXISTS (SELECT 1 FROM pg_policy p
                  WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')
$$;
REVOKE ALL ON FUNCTION custodian_tenant_tables() FROM PUBLIC;

-- Every row that names the tenant, in this database: the tenant tables (most go with the
-- tenant row by cascade) and the shared tables that name it or its address. Returns the rows
-- removed per table. For the purge below and for an operator replaying the ledger on a
-- restored backup; the app role cannot call it. A browser's anonymous consent records name no
-- account and may be another person's too: they stay, and the links that tied them to this
-- account go with its tenant tables.
CREATE FUNCTION custodian_erase_tenant_everywhere(p_owner uuid, p_buckets text[], p_keep_job uuid)
    RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    removed jsonb := '{}';
    tenant_table record;
    n bigint;
    previous_owner text := current_setting('app.owner_id', true);
BEGIN
    -- The tenant tables are under forced row-level security: act as the tenant.
    PERFORM set_config('app.owner_id', p_owner::text, true);
    FOR tenant_table IN SELECT name FROM custodian_tenant_tables() AS name LOOP
        EXECUTE format('SELECT count(*) FROM %s WHERE owner_id = $1', tenant_table.name)
            INTO n USING p_owner;
        IF n > 0 THEN
            removed := removed || jsonb_build_object(tenant_table.name, n);
        END IF;
    END LOOP;

    -- Shared tables first, while the tenant tables still say which rows are the tenant's.
    -- Its listed sessions, and any other stored session that still names it (a sign-in left
    -- waiting for its second step keeps the tenant's id in its data until it expires).
    DELETE FROM tower_sessions.session
        WHERE id IN (SELECT store_id FROM account_sessions WHERE owner_id = p_owner)
           OR position(convert_to(p_owner::text, 'UTF8') IN data) > 0
           OR position(uuid_send(p_owner) IN data) > 0;
    GET DIAGNOSTICS n = ROW_COUNT;
    removed := removed || jsonb_build_object('tower_sessions.session', n);
    DELETE FROM jobs
        WHERE id IS DISTINCT FROM p_keep_job
          AND (payload->>'owner' = p_owner::text
               OR payload->>'message' IN (SELECT id::text FROM mail_outbox WHERE account = p_owner));
    GET DIAGNOSTICS n = ROW_COUNT;
    removed := removed || jsonb_build_object('public.jobs', n);
    DELETE FROM mail_outbox WHERE account = p_owner;
    GET DIAGNOSTICS n = ROW_COUNT;
    removed := removed || jsonb_build_object('public.mail_outbox', n);
    DELETE FROM email_directory WHERE account = p_owner;
    GET DIAGNOSTICS n = ROW_COUNT;
    removed := removed || jsonb_build_object('public.email_directory', n);
    -- The invites it made go; one it used stays used (its inviter's count must not change) but
    -- no longer says by whom.
    DELETE FROM invites WHERE invited_by = p_owner;
    GET DIAGNOSTICS n = ROW_COUNT;
    removed := removed || jsonb_build_object('public.invites', n);
    UPDATE invites SET used_by = '00000000-0000-0000-0000-000000000000', used_by_email = NULL
        WHERE used_by = p_owner;
    DELETE FROM rate_limits WHERE bucket = ANY (p_buckets);
    GET DIAGNOSTICS n = ROW_COUNT;
    removed := removed || jsonb_build_object('public.rate_limits', n);
    removed := removed || custodian_forget_routes(p_owner, '{}');

    -- The tenant row takes every tenant table with it (their foreign keys cascade); any table
    -- that does not reference it is cleared by name.
    DELETE FROM tenants WHERE owner_id = p_owner;
    FOR tenant_table IN SELECT name FROM custodian_tenant_tables() AS name LOOP
        EXECUTE format('DELETE FROM %s WHERE owner_id = $1', tenant_table.name) USING p_owner;
    END LOOP;
    PERFORM set_config('app.owner_id', coalesce(previous_owner, ''), true);
    RETURN removed;
END
$$;
REVOKE ALL ON FUNCTION custodian_erase_tenant_everywhere(uuid, text[], uuid) FROM PUBLIC;

-- The purge, for the app role: only the transaction's own tenant, only once its deletion is due.
CREATE FUNCTION custodian_purge_tenant(p_now timestamptz, p_buckets text[], p_keep_job uuid)
    RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    me uuid := custodian_required_owner();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM tenants WHERE owner_id = me AND deletion_due_at <= p_now) THEN
        RAISE EXCEPTION 'no deletion of this tenant is due' USING ERRCODE = '42501';
    END IF;
    RETURN custodian_erase_tenant_everywhere(me, p_buckets, p_keep_job);
END
$$;
REVOKE ALL ON FUNCTION custodian_purge_tenant(timestamptz, text[], uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_purge_tenant(timestamptz, text[], uuid) TO custodian_app;

-- Mail to an account that no longer exists (the deletion receipt, the last mail an erased
-- account gets) is forgotten once delivered or given up on, rather than kept.
CREATE FUNCTION custodian_forget_mail_of_erased(p_message uuid) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    addressee uuid;
    gone boolean;
    previous_owner text := current_setting('app.owner_id', true);
BEGIN
    SELECT account INTO addressee FROM mail_outbox
        WHERE id = p_message AND (sent_at IS NOT NULL OR failed_at IS NOT NULL);
    IF addressee IS NULL THEN
        RETURN false;
    END IF;
    PERFORM set_config('app.owner_id', addressee::text, true);
    gone := NOT EXISTS (SELECT 1 FROM tenants WHERE owner_id = addressee);
    PERFORM set_config('app.owner_id', coalesce(previous_owner, ''), true);
    IF gone THEN
        DELETE FROM mail_outbox WHERE id = p_message;
    END IF;
    RETURN gone;
END
$$;
REVOKE ALL ON FUNCTION custodian_forget_mail_of_erased(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_forget_mail_of_erased(uuid) TO custodian_app;

-- The code hashes of the invites the transaction's tenant made or used, whose routes the
-- directory forgets with the tenant.
CREATE FUNCTION custodian_invite_codes_of_current() RETURNS bytea[]
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    SELECT coalesce(array_agg(code_sha256), '{}') FROM invites
        WHERE invited_by = custodian_current_owner() OR used_by = custodian_current_owner()
$$;
REVOKE ALL ON FUNCTION custodian_invite_codes_of_current() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_invite_codes_of_current() TO custodian_app;

-- No role but the owner's may create temporary tables here: a function running with the owner's
-- rights must never meet a table (or a trigger on one) another role made.
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$$;
