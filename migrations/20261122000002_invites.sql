-- Invite codes (promise P12). Not a tenant table: a code is redeemed before its user exists.
-- The app role has no privilege on it; the operator's CLI writes it with the migration role and
-- redemption will go through a narrow SECURITY DEFINER function. Only the SHA-256 of a code is
-- stored, so a leaked table cannot be used to sign up.
CREATE TABLE invites (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code_sha256 bytea NOT NULL UNIQUE CHECK (length(code_sha256) = 32),
    invited_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_by uuid,
    used_at timestamptz,
    CHECK (expires_at > created_at),
    CHECK ((used_by IS NULL) = (used_at IS NULL))
);
COMMENT ON COLUMN invites.invited_by IS 'owner_id of the inviting account; NULL when the operator created it';
