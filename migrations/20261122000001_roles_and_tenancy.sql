-- The server's role. It owns nothing, is not superuser and cannot bypass row-level security
-- (promise P1). NOLOGIN: the server reaches it with SET ROLE from the migration connection, or an
-- operator grants it LOGIN and points APP_DATABASE_URL at it. Roles are cluster-wide, so several
-- databases (and parallel test databases) share it.
DO $$
BEGIN
    CREATE ROLE custodian_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO custodian_app;

-- The tenant of the current transaction, set by the server with
-- set_config('app.owner_id', $1, true). Outside a tenant transaction the setting is empty (or
-- unset), which yields NULL and therefore matches no row.
CREATE FUNCTION custodian_current_owner() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.owner_id', true), '')::uuid $$;

-- Every tenant table goes through this one function so that none can be created half-protected:
-- RLS enabled and forced (the owner is subject to it too), one policy that filters reads (USING)
-- and checks writes (WITH CHECK), and only the listed privileges for the app role.
CREATE FUNCTION custodian_protect_tenant_table(
    tenant_table regclass,
    app_privileges text DEFAULT 'SELECT, INSERT, UPDATE, DELETE'
) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tenant_table);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tenant_table);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s USING (owner_id = custodian_current_owner()) '
        'WITH CHECK (owner_id = custodian_current_owner())',
        tenant_table
    );
    EXECUTE format('GRANT %s ON %s TO custodian_app', app_privileges, tenant_table);
END
$$;

-- One row per tenant (an account and everything it owns). The data region is fixed at sign-up.
CREATE TABLE tenants (
    owner_id uuid PRIMARY KEY,
    region text NOT NULL DEFAULT 'us-east' CHECK (region IN ('us-east', 'eu-west')),
    created_at timestamptz NOT NULL DEFAULT now()
);
SELECT custodian_protect_tenant_table('tenants');
