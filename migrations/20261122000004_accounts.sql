-- Accounts, their sessions, one-time tokens, the security log, the mail outbox and sign-in
-- rate limits (promises P2, P4, P5, P12).

-- The account of a tenant: one per tenant, sharing its owner_id.
CREATE TABLE accounts (
    owner_id uuid PRIMARY KEY REFERENCES tenants (owner_id) ON DELETE CASCADE,
    email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    email_verified_at timestamptz,
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    -- argon2id PHC string; never the password.
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    password_changed_at timestamptz NOT NULL,
    -- Consecutive failed sign-ins (NIST SP 800-63B throttling); reset by a success or a reset.
    failed_sign_ins integer NOT NULL DEFAULT 0 CHECK (failed_sign_ins >= 0),
    last_failed_sign_in_at timestamptz,
    created_at timestamptz NOT NULL
);
SELECT custodian_protect_tenant_table('accounts', 'SELECT, INSERT, UPDATE');

-- Email addresses are unique across tenants, so the directory cannot be a tenant table. The app
-- role reaches it only through two functions below: look up one exact address, and claim an
-- address for the current tenant (giving up its previous one). It cannot list addresses.
CREATE TABLE email_directory (
    email text PRIMARY KEY,
    account uuid NOT NULL UNIQUE
);

-- The current tenant, or an error: the functions below act for a tenant and never for none.
CREATE FUNCTION custodian_required_owner() RETURNS uuid
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    me uuid := custodian_current_owner();
BEGIN
    IF me IS NULL THEN
        RAISE EXCEPTION 'no tenant in this transaction' USING ERRCODE = '42501';
    END IF;
    RETURN me;
END
$$;

CREATE FUNCTION custodian_account_for_email(p_email text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT account FROM email_directory WHERE email = p_email $$;

-- Gives the current tenant the address (replacing its previous one); false when another
-- account has it.
CREATE FUNCTION custodian_claim_email(p_email text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    me uuid := custodian_required_owner();
BEGIN
    INSERT INTO email_directory (email, account) VALUES (p_email, me)
        ON CONFLICT (account) DO UPDATE SET email = excluded.email;
    RETURN true;
EXCEPTION WHEN unique_violation THEN
    RETURN false;
END
$$;

-- Invites: a verified account may create up to five; redemption marks the code used by the
-- current (new) tenant and records the address it signed up with, which the inviter sees.
ALTER TABLE invites ADD COLUMN used_by_email text;
CREATE INDEX invites_invited_by_idx ON invites (invited_by);

CREATE FUNCTION custodian_redeem_invite(
    p_code text, p_email text, p_now timestamptz, OUT status text, OUT inviter uuid
)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    me uuid := custodian_required_owner();
    invite_row invites%ROWTYPE;
BEGIN
    SELECT * INTO invite_row FROM invites
        WHERE code_sha256 = sha256(convert_to(p_code, 'UTF8')) FOR UPDATE;
    IF NOT FOUND THEN
        status := 'unknown';
    ELSIF invite_row.used_at IS NOT NULL THEN
        status := 'used';
    ELSIF invite_row.expires_at <= p_now THEN
        status := 'expired';
    ELSE
        UPDATE invites SET used_by = me, used_at = p_now, used_by_email = p_email
            WHERE id = invite_row.id;
        status := 'ok';
        inviter := invite_row.invited_by;
    END IF;
END
$$;

CREATE FUNCTION custodian_create_invite(p_code text, p_now timestamptz, p_expires_at timestamptz)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    me uuid := custodian_required_owner();
BEGIN
    -- Serialises one account's concurrent requests so the limit holds.
    PERFORM pg_advisory_xact_lock(hashtextextended(me::text, 0));
    IF (SELECT count(*) FROM invites WHERE invited_by = me) >= 5 THEN
        RETURN false;
    END IF;
    INSERT INTO invites (code_sha256, invited_by, created_at, expires_at)
        VALUES (sha256(convert_to(p_code, 'UTF8')), me, p_now, p_expires_at);
    RETURN true;
END
$$;

CREATE FUNCTION custodian_my_invites()
    RETURNS TABLE (created_at timestamptz, expires_at timestamptz, used_at timestamptz,
                   used_by_email text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    SELECT created_at, expires_at, used_at, used_by_email FROM invites
        WHERE invited_by = custodian_current_owner() ORDER BY created_at DESC
$$;

DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'custodian_account_for_email(text)',
        'custodian_claim_email(text)',
        'custodian_redeem_invite(text, text, timestamptz)',
        'custodian_create_invite(text, timestamptz, timestamptz)',
        'custodian_my_invites()'
    ] LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO custodian_app', f);
    END LOOP;
END
$$;

-- One row per signed-in device (promise P4). `store_id` is the tower-sessions record, deleted to
-- revoke the session.
CREATE TABLE account_sessions (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    id uuid NOT NULL,
    store_id text NOT NULL,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    remember boolean NOT NULL,
    user_agent text NOT NULL,
    ip_prefix text NOT NULL,
    PRIMARY KEY (owner_id, id)
);
SELECT custodian_protect_tenant_table('account_sessions');

-- Devices an account has signed in from (browser, OS and network), to mail about new ones.
CREATE TABLE known_devices (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    fingerprint bytea NOT NULL CHECK (length(fingerprint) = 32),
    first_seen_at timestamptz NOT NULL,
    PRIMARY KEY (owner_id, fingerprint)
);
SELECT custodian_protect_tenant_table('known_devices', 'SELECT, INSERT');

-- Single-use links sent by mail; only the SHA-256 of the secret is stored.
CREATE TABLE account_tokens (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
    purpose text NOT NULL CHECK (purpose IN ('verify_email', 'change_email', 'reset_password')),
    new_email text,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (owner_id, secret_sha256),
    CHECK ((purpose = 'change_email') = (new_email IS NOT NULL))
);
SELECT custodian_protect_tenant_table('account_tokens', 'SELECT, INSERT, UPDATE');

-- The security log (promise P5): append-only for the app role, and hash-chained per tenant.
CREATE TABLE audit_events (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    seq bigint NOT NULL CHECK (seq > 0),
    occurred_at timestamptz NOT NULL,
    kind text NOT NULL,
    detail text NOT NULL,
    ip_prefix text NOT NULL,
    user_agent text NOT NULL,
    prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (owner_id, seq)
);
CREATE INDEX audit_events_kind_idx ON audit_events (owner_id, kind, seq);
SELECT custodian_protect_tenant_table('audit_events', 'SELECT, INSERT');

-- Mail waiting to be delivered, written in the same transaction as the action that sends it.
-- Not a tenant table: the delivery job serves every tenant. The body is erased once delivered.
CREATE TABLE mail_outbox (
    id uuid PRIMARY KEY,
    account uuid NOT NULL,
    recipient text NOT NULL,
    subject text NOT NULL,
    body text,
    created_at timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    sent_at timestamptz,
    failed_at timestamptz,
    last_error text
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
GRANT SELECT, INSERT, UPDATE ON mail_outbox TO custodian_app;

-- Attempts per client network per minute, shared by every server process.
CREATE TABLE rate_limits (
    bucket text NOT NULL,
    window_start timestamptz NOT NULL,
    hits integer NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limits TO custodian_app;
