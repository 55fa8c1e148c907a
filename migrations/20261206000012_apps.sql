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

-- Collaborators: the owner invites an address with a role; the row stays in the owner's region,
-- and names the account that accepted it. Another tenant reaches an app only through the
-- explicit policies below, never with row-level security off.
CREATE TABLE app_members (
    owner_id uuid NOT NULL,
    app_id uuid NOT NULL,
    id uuid NOT NULL,
    -- The invited address, normalised, as the owner typed it.
    email text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    role text NOT NULL CHECK (role IN ('viewer', 'editor')),
    -- The SHA-256 of the mailed invitation's token, until it is accepted.
    invite_sha256 bytea CHECK (octet_length(invite_sha256) = 32),
    invited_at timestamptz NOT NULL,
    invite_expires_at timestamptz NOT NULL,
    member_id uuid,
    accepted_at timestamptz,
    PRIMARY KEY (owner_id, id),
    UNIQUE (owner_id, app_id, email),
    FOREIGN KEY (owner_id, app_id) REFERENCES apps (owner_id, id) ON DELETE CASCADE,
    CHECK ((member_id IS NULL) = (accepted_at IS NULL)),
    CHECK (member_id IS DISTINCT FROM owner_id)
);
-- One membership per account and app, whatever addresses it was invited at.
CREATE UNIQUE INDEX app_members_one_per_member ON app_members (owner_id, app_id, member_id)
    WHERE member_id IS NOT NULL;
CREATE INDEX app_members_member_idx ON app_members (member_id) WHERE member_id IS NOT NULL;
SELECT custodian_protect_tenant_table('app_members');

-- A member sees its own memberships and may leave; nothing else of the owner's rows.
CREATE POLICY member_sees_own ON app_members FOR SELECT
    USING (member_id = custodian_current_owner());
CREATE POLICY member_leaves ON app_members FOR DELETE
    USING (member_id = custodian_current_owner());

-- The role the transaction's tenant holds on another tenant's app ('viewer', 'editor'), or
-- NULL. It reads app_members under its policies, so it answers for the caller alone.
CREATE FUNCTION custodian_app_role(p_owner uuid, p_app uuid) RETURNS text
    LANGUAGE sql STABLE SET search_path = public, pg_temp
    AS $$
    SELECT role FROM app_members
    WHERE owner_id = p_owner AND app_id = p_app AND member_id = custodian_current_owner()
$$;
GRANT EXECUTE ON FUNCTION custodian_app_role(uuid, uuid) TO custodian_app;

-- Whether a tenant's account is scheduled for deletion (locked): its apps are then closed to
-- its collaborators too. Answers that one fact about any tenant, nothing else.
CREATE FUNCTION custodian_tenant_locked(p_owner uuid) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    me text := current_setting('app.owner_id', true);
    locked boolean;
BEGIN
    PERFORM set_config('app.owner_id', p_owner::text, true);
    SELECT deletion_requested_at IS NOT NULL INTO locked FROM tenants WHERE owner_id = p_owner;
    PERFORM set_config('app.owner_id', coalesce(me, ''), true);
    RETURN coalesce(locked, false);
END
$$;
REVOKE ALL ON FUNCTION custodian_tenant_locked(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_tenant_locked(uuid) TO custodian_app;

-- Members read the app (out of the trash) and its files; editors also write its files. A
-- file is reached only through its app, so the trash closes files too.
CREATE POLICY members_read ON apps FOR SELECT
    USING (trashed_at IS NULL AND custodian_app_role(owner_id, id) IS NOT NULL);
CREATE POLICY members_read ON app_files FOR SELECT
    USING (custodian_app_role(owner_id, app_id) IS NOT NULL
           AND EXISTS (SELECT 1 FROM apps a WHERE a.owner_id = app_files.owner_id AND a.id = app_files.app_id));
CREATE POLICY editors_add ON app_files FOR INSERT
    WITH CHECK (custodian_app_role(owner_id, app_id) = 'editor'
                AND EXISTS (SELECT 1 FROM apps a WHERE a.owner_id = app_files.owner_id AND a.id = app_files.app_id));
CREATE POLICY editors_change ON app_files FOR UPDATE
    USING (custodian_app_role(owner_id, app_id) = 'editor'
           AND EXISTS (SELECT 1 FROM apps a WHERE a.owner_id = app_files.owner_id AND a.id = app_files.app_id))
    WITH CHECK (custodian_app_role(owner_id, app_id) = 'editor');
CREATE POLICY editors_remove ON app_files FOR DELETE
    USING (custodian_app_role(owner_id, app_id) = 'editor'
           AND EXISTS (SELECT 1 FROM apps a WHERE a.owner_id = app_files.owner_id AND a.id = app_files.app_id));

-- Accepting an invitation: for the transaction's tenant, when the token's hash matches an
-- invitation to `p_email` that has not expired at `p_now`. The caller (the server) passes the
-- account's verified address, which lives in the account's own region, and its clock. Answers
-- 'viewer' or 'editor' when accepted, else why not: 'unknown', 'expired', 'other-address',
-- 'own-app', 'already-member'.
CREATE FUNCTION custodian_accept_app_invite(
    p_owner uuid, p_app uuid, p_invite bytea, p_email text, p_now timestamptz
) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    me uuid := custodian_required_owner();
    invitation record;
BEGIN
    IF me = p_owner THEN
        RETURN 'own-app';
    END IF;
    PERFORM set_config('app.owner_id', p_owner::text, true);
    SELECT id, email, role, invite_expires_at INTO invitation FROM app_members
        WHERE owner_id = p_owner AND app_id = p_app AND invite_sha256 = p_invite FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM set_config('app.owner_id', me::text, true);
        RETURN 'unknown';
    ELSIF invitation.invite_expires_at <= p_now THEN
        PERFORM set_config('app.owner_id', me::text, true);
        RETURN 'expired';
    ELSIF lower(invitation.email) <> lower(p_email) THEN
        PERFORM set_config('app.owner_id', me::text, true);
        RETURN 'other-address';
    ELSIF EXISTS (SELECT 1 FROM app_members WHERE owner_id = p_owner AND app_id = p_app AND member_id = me) THEN
        PERFORM set_config('app.owner_id', me::text, true);
        RETURN 'already-member';
    END IF;
    UPDATE app_members SET member_id = me, accepted_at = p_now, invite_sha256 = NULL
        WHERE owner_id = p_owner AND id = invitation.id;
    PERFORM set_config('app.owner_id', me::text, true);
    RETURN invitation.role;
END
$$;
REVOKE ALL ON FUNCTION custodian_accept_app_invite(uuid, uuid, bytea, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_accept_app_invite(uuid, uuid, bytea, text, timestamptz) TO custodian_app;

-- An editor's change to an app's name and description (the rest of the row is the owner's).
CREATE FUNCTION custodian_edit_shared_app(
    p_owner uuid, p_app uuid, p_name text, p_description text, p_now timestamptz
) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    me uuid := custodian_required_owner();
    n bigint;
BEGIN
    IF custodian_app_role(p_owner, p_app) IS DISTINCT FROM 'editor' THEN
        RETURN false;
    END IF;
    PERFORM set_config('app.owner_id', p_owner::text, true);
    UPDATE apps SET name = p_name, description = p_description, updated_at = p_now
        WHERE owner_id = p_owner AND id = p_app AND trashed_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('app.owner_id', me::text, true);
    RETURN n = 1;
END
$$;
REVOKE ALL ON FUNCTION custodian_edit_shared_app(uuid, uuid, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_edit_shared_app(uuid, uuid, text, text, timestamptz) TO custodian_app;

-- How much all of an owner's apps weigh, for an editor's upload to count the owner's limit:
-- answered only to the owner or an editor of `p_app`.
CREATE FUNCTION custodian_owner_app_bytes(p_owner uuid, p_app uuid) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    me uuid := custodian_required_owner();
    total bigint;
BEGIN
    IF me IS DISTINCT FROM p_owner AND custodian_app_role(p_owner, p_app) IS DISTINCT FROM 'editor' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('app.owner_id', p_owner::text, true);
    SELECT coalesce(sum(size_bytes), 0) INTO total FROM app_files WHERE owner_id = p_owner;
    PERFORM set_config('app.owner_id', me::text, true);
    RETURN total;
END
$$;
REVOKE ALL ON FUNCTION custodian_owner_app_bytes(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_owner_app_bytes(uuid, uuid) TO custodian_app;

-- Every row that names the tenant, now with its memberships of other people's apps.
CREATE OR REPLACE FUNCTION custodian_erase_tenant_everywhere(p_owner uuid, p_buckets text[], p_keep_job uuid)
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
    -- Its memberships of other people's apps (the policy lets a member leave).
    DELETE FROM app_members WHERE member_id = p_owner;
    GET DIAGNOSTICS n = ROW_COUNT;
    removed := removed || jsonb_build_object('public.app_members (as member)', n);
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
