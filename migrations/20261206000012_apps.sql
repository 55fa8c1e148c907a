-- Apps (promise P10): a person's apps, their files and their share links, all tenant rows in the
-- owner's region; and in the directory, each app's route (its id to the owner and region), so
-- that a request to an app's own origin finds the database that holds it.

-- The directory's part: routing only, like address_routes.
CREATE TABLE app_routes (
    app_id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    region text NOT NULL CHECK (region IN ('us-east', 'eu-west'))
);
CREATE INDEX app_routes_tenant_idx ON app_routes (tenant_id);
GRANT SELECT, INSERT, DELETE ON app_routes TO custodian_app;

CREATE TABLE apps (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    id uuid NOT NULL,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 80),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
    -- Origins the app's scripts may connect to besides its own (its CSP's connect-src).
    connect_hosts text[] NOT NULL DEFAULT '{}' CHECK (cardinality(connect_hosts) <= 10),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    -- In the trash: since when, and when it is purged for good.
    trashed_at timestamptz,
    purge_at timestamptz,
    PRIMARY KEY (owner_id, id),
    CHECK ((trashed_at IS NULL) = (purge_at IS NULL))
);
SELECT custodian_protect_tenant_table('apps');

CREATE TABLE app_files (
    owner_id uuid NOT NULL,
    app_id uuid NOT NULL,
    -- Normalised by the app (no `..`, no leading slash, no control characters).
    path text NOT NULL CHECK (char_length(path) BETWEEN 1 AND 255 AND path !~ '(^/|(^|/)\.\.(/|$))'),
    content_type text NOT NULL,
    content bytea NOT NULL,
    size_bytes integer NOT NULL CHECK (size_bytes = octet_length(content)),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (owner_id, app_id, path),
    FOREIGN KEY (owner_id, app_id) REFERENCES apps (owner_id, id) ON DELETE CASCADE
);
SELECT custodian_protect_tenant_table('app_files');

-- A share link: only the SHA-256 of its token is kept; the link is shown once.
CREATE TABLE app_share_links (
    owner_id uuid NOT NULL,
    app_id uuid NOT NULL,
    id uuid NOT NULL,
    label text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 80),
    token_sha256 bytea NOT NULL CHECK (octet_length(token_sha256) = 32),
    -- An argon2id PHC string when the link asks for a password.
    password_hash text,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz,
    uses bigint NOT NULL DEFAULT 0,
    last_used_at timestamptz,
    last_used_network text,
    failed_tries integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    PRIMARY KEY (owner_id, id),
    UNIQUE (owner_id, app_id, token_sha256),
    FOREIGN KEY (owner_id, app_id) REFERENCES apps (owner_id, id) ON DELETE CASCADE
);
SELECT custodian_protect_tenant_table('app_share_links');

-- The directory's rows of a tenant, now with its apps' routes.
CREATE OR REPLACE FUNCTION custodian_forget_routes(p_tenant uuid, p_codes bytea[]) RETURNS jsonb
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
    DELETE FROM app_routes WHERE tenant_id = p_tenant;
    GET DIAGNOSTICS n = ROW_COUNT;
    removed := removed || jsonb_build_object('public.app_routes', n);
    DELETE FROM move_requests WHERE tenant_id = p_tenant;
    DELETE FROM erasures WHERE tenant_id = p_tenant
        AND NOT EXISTS (SELECT 1 FROM tenant_moves WHERE tenant_id = p_tenant);
    RETURN removed;
END
$$;
