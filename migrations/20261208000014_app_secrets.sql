-- App secrets (promise P9): write-only values sealed with the tenant's data key, bound by their
-- associated data to owner, app and name. The server opens one only when the running app calls
-- its egress endpoint, and sends it only to the hosts listed here.

CREATE TABLE app_secrets (
    owner_id uuid NOT NULL,
    app_id uuid NOT NULL,
    name text NOT NULL CHECK (name ~ '^[A-Z][A-Z0-9_]{0,63}$'),
    -- Origins it may be sent to, each `https://host[:port]`; the first is where egress goes
    -- unless the app names another of them.
    hosts text[] NOT NULL CHECK (cardinality(hosts) BETWEEN 1 AND 10),
    -- How it is sent: `Authorization: Bearer`, a header of its own, or a query parameter.
    placement text NOT NULL CHECK (placement IN ('bearer', 'header', 'query')),
    placement_name text NOT NULL DEFAULT '' CHECK (
        (placement = 'bearer') = (placement_name = '')
        AND char_length(placement_name) <= 64),
    -- data-key version ‖ nonce ‖ AES-256-GCM ciphertext and tag.
    sealed_value bytea NOT NULL,
    -- The value's last characters as the page shows them (empty for short values).
    hint text NOT NULL CHECK (char_length(hint) <= 4),
    created_at timestamptz NOT NULL,
    rotated_at timestamptz NOT NULL,
    last_used_at timestamptz,
    PRIMARY KEY (owner_id, app_id, name),
    FOREIGN KEY (owner_id, app_id) REFERENCES apps (owner_id, id) ON DELETE CASCADE
);
SELECT custodian_protect_tenant_table('app_secrets');

-- How often each secret was used, per hour: the security log gets one event per secret and
-- hour, not one per request.
CREATE TABLE app_secret_uses (
    owner_id uuid NOT NULL,
    app_id uuid NOT NULL,
    name text NOT NULL,
    hour timestamptz NOT NULL,
    uses integer NOT NULL CHECK (uses > 0),
    PRIMARY KEY (owner_id, app_id, name, hour),
    FOREIGN KEY (owner_id, app_id, name) REFERENCES app_secrets (owner_id, app_id, name) ON DELETE CASCADE
);
SELECT custodian_protect_tenant_table('app_secret_uses', 'SELECT, INSERT, UPDATE');

-- The names of an app's secrets, for one of its collaborators while the app is out of the
-- trash and its owner's account is not locked: no policy lets a member read the rows
-- themselves, so nothing but the names ever reaches another tenant's transaction.
CREATE FUNCTION custodian_app_secret_names(p_owner uuid, p_app uuid) RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    me text := current_setting('app.owner_id', true);
BEGIN
    IF custodian_app_role(p_owner, p_app) IS NULL OR custodian_tenant_locked(p_owner) THEN
        RETURN;
    END IF;
    PERFORM set_config('app.owner_id', p_owner::text, true);
    RETURN QUERY SELECT s.name FROM app_secrets s
        JOIN apps a ON a.owner_id = s.owner_id AND a.id = s.app_id AND a.trashed_at IS NULL
        WHERE s.owner_id = p_owner AND s.app_id = p_app ORDER BY s.name;
    PERFORM set_config('app.owner_id', coalesce(me, ''), true);
END
$$;
REVOKE ALL ON FUNCTION custodian_app_secret_names(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_app_secret_names(uuid, uuid) TO custodian_app;
