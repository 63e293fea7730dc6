-- The shared registry: admin units, facilities, staff, assignments, the identifiers
-- each source gives them, every raw record received, and the hash-chained audit log.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Every real change to a record takes the next value: the change feed's order.
CREATE SEQUENCE record_version AS bigint;

CREATE TABLE admin_units (
    code        text PRIMARY KEY,
    level       text NOT NULL CHECK (level IN ('province', 'district', 'commune', 'village')),
    kind        text NOT NULL,
    name_km     text NOT NULL,
    name_latin  text,
    parent_code text,
    sources     jsonb NOT NULL DEFAULT '[]',
    search      text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT nextval('record_version')
);
CREATE INDEX admin_units_parent ON admin_units (parent_code, code);
CREATE INDEX admin_units_level ON admin_units (level, code);
CREATE INDEX admin_units_code_prefix ON admin_units (code text_pattern_ops);
CREATE INDEX admin_units_search ON admin_units USING gin (search gin_trgm_ops);
CREATE INDEX admin_units_version ON admin_units (version);

CREATE TABLE facilities (
    id              uuid PRIMARY KEY,
    sector          text NOT NULL CHECK (sector IN ('health', 'education')),
    kind            text NOT NULL,
    name_km         text NOT NULL,
    name_latin      text,
    admin_unit_code text,
    latitude        double precision,
    longitude       double precision,
    status          text NOT NULL CHECK (status IN ('open', 'closed')),
    managed_by      text NOT NULL,
    identifiers     jsonb NOT NULL DEFAULT '[]',
    sources         jsonb NOT NULL DEFAULT '[]',
    search          text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         bigint NOT NULL DEFAULT nextval('record_version')
);
CREATE INDEX facilities_admin_unit ON facilities (admin_unit_code text_pattern_ops);
CREATE INDEX facilities_managed_by ON facilities (managed_by);
CREATE INDEX facilities_search ON facilities USING gin (search gin_trgm_ops);
CREATE INDEX facilities_updated_at ON facilities (updated_at);
CREATE INDEX facilities_version ON facilities (version);

CREATE TABLE staff (
    id               uuid PRIMARY KEY,
    civil_servant_id text,
    national_id      text,
    birth_date       date,
    name_km          text NOT NULL,
    name_latin       text,
    sex              text CHECK (sex IN ('male', 'female')),
    employer         text,
    grade            text,
    status           text NOT NULL,
    admin_unit_code  text,
    identifiers      jsonb NOT NULL DEFAULT '[]',
    sources          jsonb NOT NULL DEFAULT '[]',
    search           text NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          bigint NOT NULL DEFAULT nextval('record_version')
);
CREATE UNIQUE INDEX staff_civil_servant_id ON staff (civil_servant_id) WHERE civil_servant_id IS NOT NULL;
CREATE INDEX staff_national_id ON staff (national_id) WHERE national_id IS NOT NULL;
CREATE INDEX staff_admin_unit ON staff (admin_unit_code text_pattern_ops);
CREATE INDEX staff_employer ON staff (employer);
CREATE INDEX staff_search ON staff USING gin (search gin_trgm_ops);
CREATE INDEX staff_updated_at ON staff (updated_at);
CREATE INDEX staff_version ON staff (version);

CREATE TABLE assignments (
    id              uuid PRIMARY KEY,
    staff_id        uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    facility_id     uuid REFERENCES facilities (id) ON DELETE SET NULL,
    admin_unit_code text,
    role            text NOT NULL,
    source          text NOT NULL,
    start_date      date,
    end_date        date,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         bigint NOT NULL DEFAULT nextval('record_version')
);
CREATE INDEX assignments_staff ON assignments (staff_id);
CREATE INDEX assignments_facility ON assignments (facility_id, staff_id);

-- Which record each source's id names: the lookup for linking records across sources.
CREATE TABLE source_identifiers (
    entity_type text NOT NULL CHECK (entity_type IN ('staff', 'facility')),
    system      text NOT NULL,
    value       text NOT NULL,
    entity_id   uuid NOT NULL,
    PRIMARY KEY (entity_type, system, value)
);
CREATE INDEX source_identifiers_entity ON source_identifiers (entity_id);

-- Every record a source sent, valid or not, as it arrived.
CREATE TABLE raw_records (
    ministry         text NOT NULL,
    record_type      text NOT NULL,
    source_key       text NOT NULL,
    source_id        text,
    payload          jsonb NOT NULL,
    fetched_at       timestamptz NOT NULL,
    valid            boolean NOT NULL,
    rejection_reason text,
    PRIMARY KEY (ministry, record_type, source_key)
);
CREATE INDEX raw_records_rejected ON raw_records (ministry, fetched_at) WHERE NOT valid;

-- Who read personal data, and when. Each entry hashes the previous entry's hash and
-- its own content, so an edited or removed entry breaks the chain.
CREATE TABLE audit_log (
    seq        bigint PRIMARY KEY,
    -- Makes a retried append exactly-once: an entry already written is skipped.
    entry_id   uuid NOT NULL UNIQUE,
    at         timestamptz NOT NULL,
    request_id text NOT NULL,
    client     text NOT NULL,
    route      text NOT NULL,
    query      text NOT NULL,
    status     integer NOT NULL,
    record_ids uuid[] NOT NULL,
    prev_hash  text NOT NULL,
    hash       text NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
