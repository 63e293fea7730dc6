-- Correction requests: what each ministry's own system should change, derived from
-- findings a reviewer confirmed. Each names the ministry, its record (its own id), the
-- field, the value it holds and the value the evidence supports. Open until a later
-- sync shows the record changed and the finding resolved (done), or the finding is
-- settled another way (obsolete). The id is stable: a hash of where it came from, so
-- a ministry can report back which ones it applied.
CREATE TABLE corrections (
    id              uuid PRIMARY KEY,
    discrepancy_id  uuid REFERENCES discrepancies (id) ON DELETE SET NULL,
    kind            text NOT NULL,
    ministry        text NOT NULL,
    record_id       text,
    field           text NOT NULL,
    held            jsonb,
    supported       jsonb,
    evidence        jsonb NOT NULL,
    admin_unit_code text,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'obsolete')),
    -- The version of the ministry's record when the correction was made: a later
    -- version is the ministry's system having changed it.
    record_version  bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    status_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX corrections_ministry ON corrections (ministry, status, id);
CREATE INDEX corrections_admin_unit ON corrections (admin_unit_code text_pattern_ops);
CREATE INDEX corrections_discrepancy ON corrections (discrepancy_id);
