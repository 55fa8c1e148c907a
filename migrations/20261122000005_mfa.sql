-- The key hierarchy and second factors (promises P3, P9).

-- Each tenant's data keys, wrapped by the key-encryption key (which never enters the database).
-- Versions only grow; values name the version that sealed them. The app role cannot change or
-- remove a key, so no sealed value can be orphaned by the app.
CREATE TABLE data_keys (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    version integer NOT NULL CHECK (version >= 1),
    wrapped_key bytea NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (owner_id, version)
);
SELECT custodian_protect_tenant_table('data_keys', 'SELECT, INSERT');

-- The authenticator app (TOTP, RFC 6238). One per account; enabled_at is null while enrolment
-- waits for its first correct code.
CREATE TABLE totp_factors (
    owner_id uuid PRIMARY KEY REFERENCES accounts (owner_id) ON DELETE CASCADE,
    -- Sealed with the tenant's data key; never stored in the clear.
    sealed_secret bytea NOT NULL,
    enabled_at timestamptz,
    -- The newest time step accepted: no code at or before it is accepted again.
    last_used_step bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL
);
SELECT custodian_protect_tenant_table('totp_factors');

-- Ten single-use codes per set; a new set replaces the old one. Only a keyed digest is stored.
CREATE TABLE backup_codes (
    owner_id uuid NOT NULL REFERENCES accounts (owner_id) ON DELETE CASCADE,
    code_digest bytea NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (owner_id, code_digest)
);
SELECT custodian_protect_tenant_table('backup_codes');

-- WebAuthn passkeys. The credential (public key, sign counter, backup state) is webauthn-rs'
-- serialised Passkey; it holds no secret.
CREATE TABLE passkeys (
    owner_id uuid NOT NULL REFERENCES accounts (owner_id) ON DELETE CASCADE,
    id uuid NOT NULL,
    credential_id bytea NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    credential jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz,
    PRIMARY KEY (owner_id, id),
    UNIQUE (owner_id, credential_id)
);
SELECT custodian_protect_tenant_table('passkeys');

-- Second-factor failures are throttled like passwords (but never lock: a reset cannot help).
ALTER TABLE accounts
    ADD COLUMN failed_second_factors integer NOT NULL DEFAULT 0 CHECK (failed_second_factors >= 0),
    ADD COLUMN last_failed_second_factor_at timestamptz;
