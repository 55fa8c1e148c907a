-- Connections (promise P9): a secret whose value is an OAuth 2.0 access token, kept with its
-- refresh token and client secret (sealed together, bound to the connection), the time the
-- access token expires and the service's token and revocation endpoints. Egress refreshes an
-- expiring token itself; disconnecting deletes the row and asks the service to revoke.
ALTER TABLE app_secrets
    ADD COLUMN kind text NOT NULL DEFAULT 'key' CHECK (kind IN ('key', 'connection')),
    ADD COLUMN sealed_grant bytea,
    ADD COLUMN access_expires_at timestamptz,
    ADD COLUMN token_url text CHECK (token_url ~ '^https://'),
    ADD COLUMN revocation_url text CHECK (revocation_url ~ '^https://'),
    ADD COLUMN client_id text CHECK (char_length(client_id) BETWEEN 1 AND 200),
    ADD CONSTRAINT app_secrets_connection_whole CHECK (
        (kind = 'key') = (sealed_grant IS NULL AND token_url IS NULL AND client_id IS NULL)
        AND (kind = 'key' OR placement = 'bearer')
    );
