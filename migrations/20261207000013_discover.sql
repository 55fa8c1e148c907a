-- Discover (promise P10): an app its owner chose to publish, readable by anyone through one
-- policy over published apps only, and the signed receipts of each publication and withdrawal.

ALTER TABLE apps
    -- Published to Discover since, under the author name the owner published with.
    ADD COLUMN published_at timestamptz,
    ADD COLUMN published_author text CHECK (char_length(published_author) BETWEEN 1 AND 100),
    -- Whether signed-in people may copy its files into an app of their own.
    ADD COLUMN remix_allowed boolean NOT NULL DEFAULT false,
    -- Where a remixed app came from, as its maker published it.
    ADD COLUMN remixed_from text CHECK (char_length(remixed_from) <= 300),
    -- The owner's account is scheduled for deletion (kept by the trigger below), so that the
    -- public policy can leave a locked account's apps out without reading `tenants`.
    ADD COLUMN owner_locked boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT apps_published_has_author CHECK ((published_at IS NULL) = (published_author IS NULL)),
    ADD CONSTRAINT apps_published_not_trashed CHECK (published_at IS NULL OR trashed_at IS NULL),
    ADD CONSTRAINT apps_remix_only_published CHECK (published_at IS NOT NULL OR NOT remix_allowed);

CREATE INDEX apps_published_idx ON apps (published_at DESC, id) WHERE published_at IS NOT NULL;

CREATE FUNCTION custodian_apps_follow_lock() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
BEGIN
    UPDATE apps SET owner_locked = (NEW.deletion_requested_at IS NOT NULL)
        WHERE owner_id = NEW.owner_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER apps_follow_lock AFTER UPDATE OF deletion_requested_at ON tenants
    FOR EACH ROW WHEN (OLD.deletion_requested_at IS DISTINCT FROM NEW.deletion_requested_at)
    EXECUTE FUNCTION custodian_apps_follow_lock();

-- Anyone (any tenant, or none) reads a published app of an unlocked account and its files;
-- nothing else of it. Listing Discover and serving a published app go through these alone.
CREATE POLICY discover_reads ON apps FOR SELECT
    USING (published_at IS NOT NULL AND trashed_at IS NULL AND NOT owner_locked);
CREATE POLICY discover_reads ON app_files FOR SELECT
    USING (EXISTS (SELECT 1 FROM apps a
                   WHERE a.owner_id = app_files.owner_id AND a.id = app_files.app_id
                     AND a.published_at IS NOT NULL));

-- A member's read is only for a transaction with a tenant: asked first for a published app
-- read by no tenant (the gallery), it would look up a membership per row.
DROP POLICY members_read ON apps;
CREATE POLICY members_read ON apps FOR SELECT
    USING (trashed_at IS NULL AND custodian_current_owner() IS NOT NULL
           AND custodian_app_role(owner_id, id) IS NOT NULL);

-- Each publication and withdrawal, with the signed receipt the owner downloads. Kept when the
-- app is purged (the proof it was taken down outlives it), until the account is erased.
CREATE TABLE app_publications (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    id uuid NOT NULL,
    app_id uuid NOT NULL,
    action text NOT NULL CHECK (action IN ('published', 'unpublished')),
    at timestamptz NOT NULL,
    receipt jsonb NOT NULL,
    PRIMARY KEY (owner_id, id)
);
CREATE INDEX app_publications_app_idx ON app_publications (owner_id, app_id, at DESC);
SELECT custodian_protect_tenant_table('app_publications', 'SELECT, INSERT, DELETE');
