-- Sync runs, their stored cursors, what each source said, and the payroll.

CREATE TABLE sync_runs (
    id          bigserial PRIMARY KEY,
    ministry    text NOT NULL,
    full_pull   boolean NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
    fetched     bigint NOT NULL DEFAULT 0,
    inserted    bigint NOT NULL DEFAULT 0,
    updated     bigint NOT NULL DEFAULT 0,
    unchanged   bigint NOT NULL DEFAULT 0,
    rejected    bigint NOT NULL DEFAULT 0,
    error       text
);
CREATE INDEX sync_runs_ministry ON sync_runs (ministry, id DESC);

-- Where each feed's pull stands; moved only in the transaction that stored the page
-- it points past.
CREATE TABLE sync_cursors (
    ministry   text NOT NULL,
    feed       text NOT NULL,
    cursor     jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ministry, feed)
);

ALTER TABLE raw_records ADD COLUMN run_id bigint;
-- A stable order to page rejections by.
ALTER TABLE raw_records ADD COLUMN id bigserial;
CREATE UNIQUE INDEX raw_records_id ON raw_records (id);
CREATE INDEX raw_records_run ON raw_records (run_id) WHERE NOT valid;

-- What each source said about a record, so disagreements keep both values.
CREATE TABLE source_reports (
    entity_type text NOT NULL CHECK (entity_type IN ('staff', 'facility', 'role')),
    ministry    text NOT NULL,
    source_id   text NOT NULL,
    entity_id   uuid,
    report      jsonb NOT NULL,
    fetched_at  timestamptz NOT NULL,
    PRIMARY KEY (entity_type, ministry, source_id)
);
CREATE INDEX source_reports_entity ON source_reports (entity_id);

CREATE TABLE payroll_entries (
    period      text NOT NULL,
    officer_id  text NOT NULL,
    ministry    text NOT NULL,
    budget_unit text NOT NULL,
    status      text NOT NULL,
    PRIMARY KEY (period, officer_id)
);
