-- Rights with their clocks (promise P15) and retention that enforces itself (promise P16).

-- The few functions below that must see every tenant's rows (the retention sweep, the public
-- report, the restriction rule the triggers consult) run as the tables' owner, which forced
-- row-level security holds too. This policy lets that owner through only while
-- `custodian.cross_tenant` is on: set as an attribute of those functions (restored when they
-- return, errors included), or by an operator's command in its own transaction. The app role,
-- which is never the owner, gains nothing from it.
CREATE FUNCTION custodian_allow_cross_tenant(tenant_table regclass) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    EXECUTE format(
        'CREATE POLICY cross_tenant_definer ON %s TO %I '
        'USING (current_setting(''custodian.cross_tenant'', true) = ''on'') '
        'WITH CHECK (current_setting(''custodian.cross_tenant'', true) = ''on'')',
        tenant_table, current_user);
END
$$;

-- A request: one or more rights asked for at one time, answered under one regime.
CREATE TABLE rights_requests (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    id uuid NOT NULL,
    received_at timestamptz NOT NULL,
    regime text NOT NULL CHECK (regime IN ('gdpr', 'ccpa', 'both')),
    -- When its last right was closed, and the signed closure receipt written then.
    closed_at timestamptz,
    receipt jsonb,
    CHECK ((closed_at IS NULL) = (receipt IS NULL)),
    PRIMARY KEY (owner_id, id)
);
CREATE INDEX rights_requests_closed_idx ON rights_requests (closed_at) WHERE closed_at IS NOT NULL;
SELECT custodian_protect_tenant_table('rights_requests');

-- One right of a request, with its own status and clock.
CREATE TABLE rights_items (
    owner_id uuid NOT NULL,
    request_id uuid NOT NULL,
    right_kind text NOT NULL CHECK (right_kind IN ('correction', 'restriction', 'objection', 'access', 'opt_out')),
    -- Correction: which data, what is wrong, what it should be. Objection: the purpose.
    -- Restriction: why (optional). Access and opt-out: empty.
    subject text NOT NULL DEFAULT '' CHECK (char_length(subject) <= 2000),
    wrong text NOT NULL DEFAULT '' CHECK (char_length(wrong) <= 2000),
    should_be text NOT NULL DEFAULT '' CHECK (char_length(should_be) <= 2000),
    status text NOT NULL CHECK (status IN ('received', 'in_progress', 'done', 'partly_done', 'refused')),
    reason text NOT NULL DEFAULT '' CHECK (char_length(reason) <= 2000),
    -- CCPA: receipt confirmed by (10 business days).
    confirm_by date,
    due_on date NOT NULL,
    extended_to date,
    extension_reason text NOT NULL DEFAULT '',
    extended_at timestamptz,
    closed_at timestamptz,
    -- A restriction granted stays until the person lifts it.
    lifted_at timestamptz,
    CHECK ((status IN ('done', 'partly_done', 'refused')) = (closed_at IS NOT NULL)),
    CHECK (status NOT IN ('partly_done', 'refused') OR reason <> ''),
    CHECK ((extended_to IS NULL) = (extended_at IS NULL)),
    PRIMARY KEY (owner_id, request_id, right_kind),
    FOREIGN KEY (owner_id, request_id) REFERENCES rights_requests (owner_id, id) ON DELETE CASCADE
);
SELECT custodian_protect_tenant_table('rights_items');

-- Product news by mail (the one non-essential mail): off unless the person turns it on; an
-- objection to direct marketing turns it off at once.
CREATE TABLE marketing_preferences (
    owner_id uuid PRIMARY KEY REFERENCES tenants (owner_id) ON DELETE CASCADE,
    product_news boolean NOT NULL,
    changed_at timestamptz NOT NULL,
    objected_at timestamptz
);
SELECT custodian_protect_tenant_table('marketing_preferences');

-- Why the account's processing is restricted, if it is: each right that restricts it, from
-- when. A correction or objection (other than to direct marketing) restricts while it is open;
-- a restriction while it is open or granted and not lifted. The one rule the areas consult
-- (platform::restriction) and the triggers below enforce.
CREATE FUNCTION custodian_processing_restriction(p_owner uuid)
    RETURNS TABLE (right_kind text, since timestamptz)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    SET custodian.cross_tenant = 'on'
    AS $$
BEGIN
    RETURN QUERY
    SELECT i.right_kind, r.received_at
    FROM rights_items i JOIN rights_requests r ON r.owner_id = i.owner_id AND r.id = i.request_id
    WHERE i.owner_id = p_owner
      AND ((i.right_kind IN ('correction', 'objection') AND i.status IN ('received', 'in_progress')
            AND i.subject <> 'direct_marketing')
        OR (i.right_kind = 'restriction' AND i.status IN ('received', 'in_progress', 'done')
            AND i.lifted_at IS NULL))
    ORDER BY r.received_at;
END
$$;
REVOKE ALL ON FUNCTION custodian_processing_restriction(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_processing_restriction(uuid) TO custodian_app;

CREATE FUNCTION custodian_processing_restricted(p_owner uuid) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT EXISTS (SELECT 1 FROM custodian_processing_restriction(p_owner)) $$;
REVOKE ALL ON FUNCTION custodian_processing_restricted(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_processing_restricted(uuid) TO custodian_app;

-- Non-essential mail: only to an account that asked for it, did not object, and whose
-- processing is not restricted, whatever the code that queues it forgets.
ALTER TABLE mail_outbox ADD COLUMN essential boolean;
UPDATE mail_outbox SET essential = true;
-- Every message says whether it is essential; one that does not is refused.
ALTER TABLE mail_outbox ALTER COLUMN essential SET NOT NULL;

CREATE FUNCTION custodian_refuse_restricted_mail() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    SET custodian.cross_tenant = 'on'
    AS $$
DECLARE
    wanted boolean;
BEGIN
    IF NEW.essential THEN
        RETURN NEW;
    END IF;
    SELECT EXISTS (SELECT 1 FROM marketing_preferences p
                   WHERE p.owner_id = NEW.account AND p.product_news AND p.objected_at IS NULL)
        INTO wanted;
    IF NOT wanted OR custodian_processing_restricted(NEW.account) THEN
        RAISE EXCEPTION 'non-essential mail to an account that did not ask for it or is restricted'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER mail_outbox_non_essential BEFORE INSERT OR UPDATE OF essential, account ON mail_outbox
    FOR EACH ROW EXECUTE FUNCTION custodian_refuse_restricted_mail();

-- Publishing to Discover is refused while the owner's processing is restricted.
CREATE FUNCTION custodian_refuse_restricted_publishing() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    IF custodian_processing_restricted(NEW.owner_id) THEN
        RAISE EXCEPTION 'publishing while processing is restricted' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER apps_publish_unless_restricted BEFORE UPDATE OF published_at ON apps
    FOR EACH ROW WHEN (NEW.published_at IS NOT NULL AND OLD.published_at IS NULL)
    EXECUTE FUNCTION custodian_refuse_restricted_publishing();

-- Apps already on Discover leave it while their owner's processing is restricted, and come
-- back when it ends: the flag follows the rights, as `owner_locked` follows a deletion.
ALTER TABLE apps ADD COLUMN owner_restricted boolean NOT NULL DEFAULT false;
CREATE FUNCTION custodian_apps_follow_restriction() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    SET custodian.cross_tenant = 'on'
    AS $$
BEGIN
    UPDATE apps SET owner_restricted = custodian_processing_restricted(NEW.owner_id)
        WHERE owner_id = NEW.owner_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER apps_follow_restriction AFTER INSERT OR UPDATE ON rights_items
    FOR EACH ROW EXECUTE FUNCTION custodian_apps_follow_restriction();
DROP POLICY discover_reads ON apps;
CREATE POLICY discover_reads ON apps FOR SELECT
    USING (published_at IS NOT NULL AND trashed_at IS NULL AND NOT owner_locked
           AND NOT owner_restricted);

-- The yearly public report counts every tenant's rights, and names none.
CREATE FUNCTION custodian_rights_report()
    RETURNS TABLE (right_kind text, year integer, status text, days integer)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    SET custodian.cross_tenant = 'on'
    AS $$
BEGIN
    RETURN QUERY
    SELECT i.right_kind, extract(year FROM r.received_at)::integer, i.status,
           CASE WHEN i.closed_at IS NULL THEN NULL
                ELSE (i.closed_at::date - r.received_at::date) END
    FROM rights_items i JOIN rights_requests r ON r.owner_id = i.owner_id AND r.id = i.request_id;
END
$$;
REVOKE ALL ON FUNCTION custodian_rights_report() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_rights_report() TO custodian_app;

-- Where a security log was cut by the retention schedule: the head of the chain at the cut,
-- signed, so the events after it still verify from there. Read-only for the app role.
CREATE TABLE audit_cuts (
    owner_id uuid NOT NULL REFERENCES tenants (owner_id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    cut_at timestamptz NOT NULL,
    signature bytea NOT NULL,
    PRIMARY KEY (owner_id, seq)
);
SELECT custodian_protect_tenant_table('audit_cuts', 'SELECT');

-- The shortest time each entry of the retention schedule (platform::retention) may keep, in
-- days, as the database enforces it against its own clock: the app role can run the sweep, but
-- cannot make it remove anything younger than the schedule says, whatever it passes.
CREATE FUNCTION custodian_retention_floor(p_what text) RETURNS integer
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE p_what
        WHEN 'security_log' THEN 730
        WHEN 'ended_sessions' THEN 90
        WHEN 'delivered_mail' THEN 90
        WHEN 'rate_limits' THEN 1
        WHEN 'anonymous_consents' THEN 1095
        WHEN 'page_views' THEN 730
        WHEN 'closed_rights_requests' THEN 730
    END
$$;

-- The cutoff of `p_what` kept `p_days`: refused when shorter than its floor.
CREATE FUNCTION custodian_retention_cutoff(p_what text, p_days integer) RETURNS timestamptz
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    floor_days integer := custodian_retention_floor(p_what);
BEGIN
    IF floor_days IS NULL THEN
        RAISE EXCEPTION 'unknown retention entry %', p_what USING ERRCODE = '22023';
    END IF;
    IF p_days IS NULL OR p_days < floor_days THEN
        RAISE EXCEPTION '% are kept at least % days', p_what, floor_days USING ERRCODE = '22023';
    END IF;
    RETURN now() - make_interval(days => p_days);
END
$$;

-- Per log, the newest event older than the security log's retention: where a cut would go.
CREATE FUNCTION custodian_audit_cut_heads(p_days integer)
    RETURNS TABLE (owner_id uuid, seq bigint, hash bytea)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    SET custodian.cross_tenant = 'on'
    AS $$
DECLARE
    cutoff timestamptz := custodian_retention_cutoff('security_log', p_days);
BEGIN
    RETURN QUERY
    SELECT DISTINCT ON (e.owner_id) e.owner_id, e.seq, e.hash
    FROM audit_events e WHERE e.occurred_at < cutoff
    ORDER BY e.owner_id, e.seq DESC;
END
$$;
REVOKE ALL ON FUNCTION custodian_audit_cut_heads(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_audit_cut_heads(integer) TO custodian_app;

-- Cuts a log at an event whose hash the caller names (so it cuts exactly what it checked and
-- signed), only when that event is older than the security log's retention and the cut is
-- signed now: records the signed cut, then removes the events and checkpoints up to it.
CREATE FUNCTION custodian_audit_cut(
    p_owner uuid, p_seq bigint, p_hash bytea, p_days integer, p_at timestamptz, p_signature bytea
) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    SET custodian.cross_tenant = 'on'
    AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_owner::text, 1));
    IF abs(extract(epoch FROM p_at - now())) > 3600 THEN
        RAISE EXCEPTION 'a cut is signed at the time it is made' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit_events
                   WHERE owner_id = p_owner AND seq = p_seq AND hash = p_hash
                     AND occurred_at < custodian_retention_cutoff('security_log', p_days)) THEN
        RETURN false;
    END IF;
    INSERT INTO audit_cuts (owner_id, seq, hash, cut_at, signature)
        VALUES (p_owner, p_seq, p_hash, p_at, p_signature);
    DELETE FROM audit_events WHERE owner_id = p_owner AND seq <= p_seq;
    DELETE FROM audit_checkpoints WHERE owner_id = p_owner AND seq <= p_seq;
    DELETE FROM audit_cuts WHERE owner_id = p_owner AND seq < p_seq;
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION custodian_audit_cut(uuid, bigint, bytea, integer, timestamptz, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_audit_cut(uuid, bigint, bytea, integer, timestamptz, bytea) TO custodian_app;

-- The retention sweep of one entry of the schedule, across tenants. Returns how many rows went.
-- A granted restriction that is not lifted keeps its request: it is still in force.
CREATE FUNCTION custodian_retention_sweep(p_what text, p_days integer) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    SET custodian.cross_tenant = 'on'
    AS $$
DECLARE
    cutoff timestamptz := custodian_retention_cutoff(p_what, p_days);
    removed bigint;
BEGIN
    CASE p_what
    WHEN 'ended_sessions' THEN
        DELETE FROM account_sessions WHERE expires_at < cutoff;
    WHEN 'delivered_mail' THEN
        DELETE FROM mail_outbox WHERE coalesce(sent_at, failed_at) < cutoff;
    WHEN 'rate_limits' THEN
        DELETE FROM rate_limits WHERE window_start < cutoff;
    WHEN 'anonymous_consents' THEN
        DELETE FROM anonymous_consents WHERE recorded_at < cutoff;
    WHEN 'page_views' THEN
        DELETE FROM page_views WHERE day < cutoff::date;
    WHEN 'closed_rights_requests' THEN
        DELETE FROM rights_requests r WHERE r.closed_at < cutoff AND NOT EXISTS (
            SELECT 1 FROM rights_items i
            WHERE i.owner_id = r.owner_id AND i.request_id = r.id
              AND i.right_kind = 'restriction' AND i.status = 'done' AND i.lifted_at IS NULL);
    ELSE
        RAISE EXCEPTION 'the % entry is not swept here', p_what USING ERRCODE = '22023';
    END CASE;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;
REVOKE ALL ON FUNCTION custodian_retention_sweep(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION custodian_retention_sweep(text, integer) TO custodian_app;

-- Rights requests and GPC/opt-out records made by request.
ALTER TABLE consent_records DROP CONSTRAINT consent_records_method_check;
ALTER TABLE consent_records ADD CONSTRAINT consent_records_method_check
    CHECK (method IN ('banner', 'settings', 'gpc', 'signup', 'request'));

SELECT custodian_allow_cross_tenant(t) FROM unnest(ARRAY[
    'rights_requests', 'rights_items', 'marketing_preferences', 'account_sessions',
    'audit_events', 'audit_checkpoints', 'audit_cuts', 'anonymous_consents', 'apps']::regclass[]) AS t;

DROP FUNCTION custodian_allow_cross_tenant(regclass);
