-- Rosters that service sites submit, and the discrepancies found between sources.

-- A roster is append-only: a later one for the same facility and month supersedes an
-- earlier one, which stays readable.
CREATE TABLE rosters (
    id              uuid PRIMARY KEY,
    -- Submission order: "latest" means the highest seq.
    seq             bigserial NOT NULL UNIQUE,
    facility_id     uuid NOT NULL REFERENCES facilities (id),
    period          text NOT NULL,
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    client          text NOT NULL,
    idempotency_key text,
    -- SHA-256 of what was submitted, so a reused key with another body is refused.
    request_hash    text NOT NULL
);
CREATE INDEX rosters_facility ON rosters (facility_id, period, seq);
CREATE INDEX rosters_period ON rosters (period, facility_id, seq);
CREATE UNIQUE INDEX rosters_idempotency ON rosters (client, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE roster_entries (
    roster_id        uuid NOT NULL REFERENCES rosters (id),
    idx              integer NOT NULL,
    civil_servant_id text,
    national_id      text,
    name_km          text,
    name_latin       text,
    sex              text,
    role             text,
    present          boolean NOT NULL,
    note             text,
    -- The staff record the entry was linked to when submitted, and by what.
    staff_id         uuid,
    linked_by        text,
    PRIMARY KEY (roster_id, idx)
);
CREATE INDEX roster_entries_staff ON roster_entries (staff_id) WHERE staff_id IS NOT NULL;

CREATE FUNCTION rosters_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rosters are append-only: submit a new roster to supersede one';
END
$$;
CREATE TRIGGER rosters_no_update_or_delete BEFORE UPDATE OR DELETE ON rosters
    FOR EACH ROW EXECUTE FUNCTION rosters_append_only();
CREATE TRIGGER roster_entries_no_update_or_delete BEFORE UPDATE OR DELETE ON roster_entries
    FOR EACH ROW EXECUTE FUNCTION rosters_append_only();

-- What each submission's discrepancy pass did: a replayed submission answers it again.
CREATE TABLE roster_passes (
    roster_id uuid PRIMARY KEY REFERENCES rosters (id),
    open      bigint NOT NULL,
    opened    bigint NOT NULL,
    resolved  bigint NOT NULL,
    took_ms   bigint NOT NULL
);

-- A random value of this database. A national id that names an unknown person in a
-- finding's subject is hashed with it, so a finding's id (a hash of its subject)
-- cannot be reversed into the national id by trying every number.
CREATE TABLE reconcile_pepper (pepper text NOT NULL);
INSERT INTO reconcile_pepper SELECT gen_random_uuid()::text;

-- The roster each facility submitted last, for its latest month.
CREATE VIEW current_rosters AS
    SELECT DISTINCT ON (facility_id) id, facility_id, period, submitted_at
    FROM rosters
    ORDER BY facility_id, period DESC, seq DESC;

-- The civil-service roll: every staff record MCS reports.
CREATE VIEW roll AS
    SELECT r.entity_id AS staff_id, r.source_id AS officer_id, r.report, r.fetched_at
    FROM source_reports r
    WHERE r.entity_type = 'staff' AND r.ministry = 'mcs' AND r.entity_id IS NOT NULL;

-- The key two spellings of one Khmer name share (schema::text::match_key, in SQL):
-- stored names are NFC already.
CREATE FUNCTION name_match_key(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(btrim(regexp_replace(
        -- Khmer digits become ASCII digits; the zero-width characters, listed past
        -- the end of the replacement, are dropped.
        translate(t, E'០១២៣៤៥៦៧៨៩\u200B\u200C\u200D\uFEFF', '0123456789'),
        '\s+', ' ', 'g')))
$$;

-- One piece of a finding's evidence: which source said what, and when.
CREATE FUNCTION evidence(source text, record_id text, field text, value jsonb,
                         seen_at timestamptz, note text)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'source', source, 'record_id', record_id, 'field', field, 'value', value,
        'seen_at', seen_at, 'note', note))
$$;

-- A facility as evidence names it.
CREATE FUNCTION facility_ref(f facilities) RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'facility_id', f.id, 'name_km', f.name_km,
        'code', (SELECT i->>'value' FROM jsonb_array_elements(f.identifiers) i
                 WHERE i->>'system' IN ('moh:code', 'moeys:school_code') LIMIT 1)))
$$;

-- Where the sources disagree. One row per finding (kind + subject); a finding is open
-- until a pass no longer finds it, and reopens if it comes back.
CREATE TABLE discrepancies (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL,
    subject         text NOT NULL,
    staff_ids       uuid[] NOT NULL DEFAULT '{}',
    facility_id     uuid,
    admin_unit_code text,
    sources         text[] NOT NULL DEFAULT '{}',
    evidence        jsonb NOT NULL,
    first_seen      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL,
    resolved_at     timestamptz
);
CREATE INDEX discrepancies_kind ON discrepancies (kind, id);
CREATE INDEX discrepancies_admin_unit ON discrepancies (admin_unit_code text_pattern_ops);
CREATE INDEX discrepancies_facility ON discrepancies (facility_id);
CREATE INDEX discrepancies_open ON discrepancies (id) WHERE resolved_at IS NULL;
