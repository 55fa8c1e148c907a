-- Hardening (issue 11): sessions that really end, throttles counted before the check, sign-up
-- without enumeration, expiring address claims, a keyed and checkpointed security log, and
-- mailed "this wasn't me" links.

-- Re-authentication failures of one session: ten end it.
ALTER TABLE account_sessions
    ADD COLUMN failed_reauths integer NOT NULL DEFAULT 0 CHECK (failed_reauths >= 0);

-- A sign-in whose password was right and whose second step is still to come. The row, not the
-- session record, counts the second step's failures, so concurrent guesses are all counted.
CREATE TABLE pending_sign_ins (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    id uuid NOT NULL,
    failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (owner_id, id)
);
SELECT custodian_protect_tenant_table('pending_sign_ins');

-- "This wasn't me" links, mailed with every change of the sign-in methods and of the address.
-- `scope` says what such a link undoes (the factor it reports), and whether a reset link may
-- also remove every factor (only one that a "this wasn't me" link led to).
ALTER TABLE account_tokens DROP CONSTRAINT account_tokens_purpose_check;
ALTER TABLE account_tokens ADD CONSTRAINT account_tokens_purpose_check
    CHECK (purpose IN ('verify_email', 'change_email', 'reset_password', 'not_me'));
ALTER TABLE account_tokens ADD COLUMN scope text CHECK (length(scope) <= 100);
ALTER TABLE account_tokens ADD CONSTRAINT account_tokens_scope_fits_purpose
    CHECK (CASE purpose
               WHEN 'not_me' THEN scope IS NOT NULL
               WHEN 'reset_password' THEN scope IS NULL OR scope = 'remove_factors'
               ELSE scope IS NULL
           END);
GRANT DELETE ON account_tokens TO custodian_app;

-- An address is held by an unverified account for 72 hours; afterwards a new sign-up may take it.
ALTER TABLE email_directory
    ADD COLUMN verified boolean NOT NULL DEFAULT false,
    ADD COLUMN claimed_at timestamptz NOT NULL DEFAULT now();
-- Existing claims are verified when their account verified its address. Row by row, each in its
-- tenant's context: the accounts table's forced row-level security applies to this role too.
DO $$
DECLARE
    claim record;
BEGIN
    FOR claim IN SELECT account FROM email_directory LOOP
        PERFORM set_config('app.owner_id', claim.account::text, true);
        UPDATE email_directory SET verified = EXISTS (
            SELECT 1 FROM accounts WHERE owner_id = claim.account AND email_verified_at IS NOT NULL
        ) WHERE account = claim.account;
    END LOOP;
    PERFORM set_config('app.owner_id', '', true);
END
$$;

DROP FUNCTION custodian_claim_email(text);
-- Gives the current tenant the address (replacing its previous one). False when another account
-- holds it, unless that account never verified it and claimed it more than 72 hours ago.
CREATE FUNCTION custodian_claim_email(p_email text, p_now timestamptz, p_verified boolean)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    me uuid := custodian_required_owner();
    holder email_directory%ROWTYPE;
BEGIN
    SELECT * INTO holder FROM email_directory WHERE email = p_email FOR UPDATE;
    IF FOUND AND holder.account <> me THEN
        IF holder.verified OR holder.claimed_at > p_now - interval '72 hours' THEN
            RETURN false;
        END IF;
        DELETE FROM email_directory WHERE email = p_email;
    END IF;
    DELETE FROM email_directory WHERE account = me AND email <> p_email;
    INSERT INTO email_directory (email, account, verified, claimed_at)
        VALUES (p_email, me, p_verified, p_now)
        ON CONFLICT (email) DO UPDATE SET verified = email_directory.verified OR excluded.verified;
    RETURN true;
END
$$;

-- The current tenant proved it reads its address.
CREATE FUNCTION custodian_email_verified() RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ UPDATE email_directory SET verified = true WHERE account = custodian_required_owner() $$;

-- Whether an invite code can be used, without using it: sign-up checks this before it spends
-- time hashing a password.
CREATE FUNCTION custodian_invite_status(p_code text, p_now timestamptz) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    SELECT CASE
        WHEN i.id IS NULL THEN 'unknown'
        WHEN i.used_at IS NOT NULL THEN 'used'
        WHEN i.expires_at <= p_now THEN 'expired'
        ELSE 'ok' END
    FROM (SELECT 1) AS one
    LEFT JOIN invites i ON i.code_sha256 = sha256(convert_to(p_code, 'UTF8'))
$$;

-- A sign-up with an address that already has an account spends the invite like any other
-- sign-up (the answer must not differ), but no account is created for it.
ALTER TABLE invites DROP CONSTRAINT invites_check1;
ALTER TABLE invites ADD CONSTRAINT invites_used_check CHECK (used_by IS NULL OR used_at IS NOT NULL);

DROP FUNCTION custodian_redeem_invite(text, text, timestamptz);
-- Marks the code used by the current tenant, or by no account (p_for_tenant false).
CREATE FUNCTION custodian_redeem_invite(
    p_code text, p_email text, p_now timestamptz, p_for_tenant boolean,
    OUT status text, OUT inviter uuid
)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    me uuid := CASE WHEN p_for_tenant THEN custodian_required_owner() END;
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

DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'custodian_claim_email(text, timestamptz, boolean)',
        'custodian_email_verified()',
        'custodian_invite_status(text, timestamptz)',
        'custodian_redeem_invite(text, text, timestamptz, boolean)'
    ] LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO custodian_app', f);
    END LOOP;
END
$$;

-- Signed checkpoints of each tenant's security-log head: a log cut short after a checkpoint, or
-- rewritten with a key that is not the server's, no longer verifies.
CREATE TABLE audit_checkpoints (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    seq bigint NOT NULL CHECK (seq > 0),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    signed_at timestamptz NOT NULL,
    signature bytea NOT NULL CHECK (length(signature) = 64),
    PRIMARY KEY (owner_id, seq)
);
SELECT custodian_protect_tenant_table('audit_checkpoints', 'SELECT, INSERT');

-- How long an account waits after `failures` consecutive failures (NIST SP 800-63B throttling):
-- nothing for the first four, then one second doubling to at most fifteen minutes. Attempts are
-- counted in the same UPDATE that applies this, so concurrent guesses cannot all pass.
CREATE FUNCTION custodian_throttle_delay(failures integer) RETURNS interval
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE WHEN failures < 5 THEN interval '0 seconds'
                ELSE least(make_interval(secs => power(2, least(failures - 5, 20))),
                           interval '15 minutes') END
$$;

-- One-time upgrades the server runs itself (they need keys the database never sees), recorded
-- so that each runs once.
CREATE TABLE maintenance_done (
    name text PRIMARY KEY,
    done_at timestamptz NOT NULL
);
