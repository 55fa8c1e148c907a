-- Consent, Global Privacy Control, versioned policies and analytics (promises P6, P7, P13).

-- The ledger of a browser that is not signed in: its subject is the random consent id in the
-- essential consent cookie. Not a tenant table (there is no tenant yet); the app role may read
-- only the rows of the consent id set for the transaction (app.consent_id) or of consent ids
-- linked to the current tenant, and may only append.
CREATE TABLE anonymous_consents (
    id uuid PRIMARY KEY,
    consent_id uuid NOT NULL,
    granted text[] NOT NULL,
    denied text[] NOT NULL,
    policy_version integer NOT NULL CHECK (policy_version >= 1),
    method text NOT NULL CHECK (method IN ('banner', 'settings', 'gpc', 'signup')),
    gpc boolean NOT NULL,
    recorded_at timestamptz NOT NULL,
    user_agent text NOT NULL
);
CREATE INDEX anonymous_consents_subject_idx ON anonymous_consents (consent_id, recorded_at);
-- GPC is recorded once per subject and policy version.
CREATE UNIQUE INDEX anonymous_consents_gpc_once ON anonymous_consents (consent_id, policy_version)
    WHERE method = 'gpc';

-- The ledger of a signed-in person: a tenant table, append-only for the app role.
CREATE TABLE consent_records (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    id uuid NOT NULL,
    granted text[] NOT NULL,
    denied text[] NOT NULL,
    policy_version integer NOT NULL CHECK (policy_version >= 1),
    method text NOT NULL CHECK (method IN ('banner', 'settings', 'gpc', 'signup')),
    gpc boolean NOT NULL,
    recorded_at timestamptz NOT NULL,
    user_agent text NOT NULL,
    PRIMARY KEY (owner_id, id)
);
CREATE INDEX consent_records_time_idx ON consent_records (owner_id, recorded_at);
CREATE UNIQUE INDEX consent_records_gpc_once ON consent_records (owner_id, policy_version)
    WHERE method = 'gpc';
SELECT custodian_protect_tenant_table('consent_records', 'SELECT, INSERT');

-- A browser's consent id, linked to the account that signed up or signed in on it: the
-- anonymous records become part of the person's history without being rewritten.
CREATE TABLE consent_links (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    consent_id uuid NOT NULL,
    linked_at timestamptz NOT NULL,
    PRIMARY KEY (owner_id, consent_id)
);
SELECT custodian_protect_tenant_table('consent_links', 'SELECT, INSERT');

CREATE FUNCTION custodian_current_consent_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.consent_id', true), '')::uuid $$;

ALTER TABLE anonymous_consents ENABLE ROW LEVEL SECURITY;
ALTER TABLE anonymous_consents FORCE ROW LEVEL SECURITY;
CREATE POLICY own_browser_or_linked ON anonymous_consents
    USING (
        consent_id = custodian_current_consent_id()
        OR consent_id IN (SELECT consent_id FROM consent_links)
    )
    WITH CHECK (consent_id = custodian_current_consent_id());
GRANT SELECT, INSERT ON anonymous_consents TO custodian_app;

-- Privacy policy, cookie policy, terms and sub-processors, each version kept for ever. The
-- bundled Markdown is inserted at start-up; `custodian policy publish` adds versions.
CREATE TABLE policy_versions (
    document text NOT NULL CHECK (document IN ('privacy', 'cookies', 'terms', 'subprocessors')),
    version integer NOT NULL CHECK (version >= 1),
    published_at timestamptz NOT NULL,
    material boolean NOT NULL,
    summary text NOT NULL CHECK (length(summary) BETWEEN 1 AND 500),
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 200000),
    PRIMARY KEY (document, version)
);
GRANT SELECT ON policy_versions TO custodian_app;

-- Which version of each document a person has seen: at sign-up, and when they acknowledge a
-- material change.
CREATE TABLE policy_acknowledgments (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    document text NOT NULL,
    version integer NOT NULL,
    acknowledged_at timestamptz NOT NULL,
    PRIMARY KEY (owner_id, document, version),
    FOREIGN KEY (document, version) REFERENCES policy_versions (document, version)
);
SELECT custodian_protect_tenant_table('policy_acknowledgments', 'SELECT, INSERT');

-- First-party analytics: page views per path and day, counted only with analytics consent and
-- without GPC. No person, browser, address or time of day is stored.
CREATE TABLE page_views (
    path text NOT NULL CHECK (length(path) BETWEEN 1 AND 200),
    day date NOT NULL,
    views bigint NOT NULL CHECK (views >= 1),
    PRIMARY KEY (path, day)
);
GRANT SELECT, INSERT, UPDATE ON page_views TO custodian_app;
