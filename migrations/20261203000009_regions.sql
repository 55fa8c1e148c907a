-- Data regions (promise P11). Every database (the directory and each region's) has this same
-- schema; a region's database holds its tenants' rows and the directory database holds only
-- what routing needs, in the two tables below, which stay empty in a region's database.

-- Which region and tenant an address belongs to, by a keyed hash of the address (the directory
-- never holds an address). The same claim rule as email_directory: an address another account
-- holds is refused unless that account never verified it and claimed it over 72 hours ago.
CREATE TABLE address_routes (
    address_key bytea PRIMARY KEY CHECK (length(address_key) = 32),
    -- Not an owner_id: this is no tenant's row (row-level security has nothing to match), it
    -- names the tenant that the address routes to.
    tenant_id uuid NOT NULL UNIQUE,
    region text NOT NULL CHECK (region IN ('us-east', 'eu-west')),
    verified boolean NOT NULL DEFAULT false,
    claimed_at timestamptz NOT NULL
);

-- Which region holds an invite (by the code's hash, as the invite itself is kept).
CREATE TABLE invite_routes (
    code_sha256 bytea PRIMARY KEY CHECK (length(code_sha256) = 32),
    region text NOT NULL CHECK (region IN ('us-east', 'eu-west'))
);

GRANT SELECT, INSERT, UPDATE, DELETE ON address_routes, invite_routes TO custodian_app;

-- A browser's consent records are kept in the default region until the browser is linked to an
-- account of another region; they then move to the account's region (and are removed from the
-- default one), saying where they came from.
ALTER TABLE anonymous_consents ADD COLUMN moved_from text CHECK (moved_from IN ('us-east', 'eu-west'));
-- The ledger stays append-only for the app role: removing a browser's records after they moved
-- is this one function, for the records named (those just copied) of the browser the
-- transaction acts for.
CREATE FUNCTION custodian_remove_moved_browser_records(p_ids uuid[]) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ DELETE FROM anonymous_consents
          WHERE consent_id = custodian_current_consent_id() AND id = ANY (p_ids) $$;
REVOKE ALL ON FUNCTION custodian_remove_moved_browser_records(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_remove_moved_browser_records(uuid[]) TO custodian_app;

-- Each database's own random name: two regions configured onto one database (a developer's
-- layout) are told apart from two databases by this, not by their URLs.
CREATE TABLE database_identity (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    id uuid NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO database_identity DEFAULT VALUES;
GRANT SELECT ON database_identity TO custodian_app;

-- A move between regions under way (one per tenant at most). While a tenant is here it is
-- frozen: the directory answers "moving" to sign-in and to mailed links. `switched`: the route
-- already names the target; only removing the source's copy is left.
CREATE TABLE tenant_moves (
    tenant_id uuid PRIMARY KEY,
    from_region text NOT NULL CHECK (from_region IN ('us-east', 'eu-west')),
    to_region text NOT NULL CHECK (to_region IN ('us-east', 'eu-west')),
    switched boolean NOT NULL DEFAULT false,
    started_at timestamptz NOT NULL,
    CHECK (from_region <> to_region)
);

-- A person's request to move their data to another region, for an operator to approve.
CREATE TABLE move_requests (
    tenant_id uuid PRIMARY KEY,
    to_region text NOT NULL CHECK (to_region IN ('us-east', 'eu-west')),
    requested_at timestamptz NOT NULL
);

GRANT SELECT ON tenant_moves TO custodian_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON move_requests TO custodian_app;

-- The erasure ledger: each time a region's database let go of everything of a tenant, by tenant
-- id only (the proof that the region holds nothing more). A move's purge writes it; account
-- deletion will too.
CREATE TABLE erasures (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL,
    region text NOT NULL CHECK (region IN ('us-east', 'eu-west')),
    reason text NOT NULL CHECK (reason IN ('moved')),
    data_keys_destroyed integer NOT NULL CHECK (data_keys_destroyed >= 0),
    erased_at timestamptz NOT NULL
);
CREATE INDEX erasures_tenant_idx ON erasures (tenant_id);
GRANT SELECT, INSERT ON erasures TO custodian_app;
