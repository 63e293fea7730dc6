-- The review queue of scored pairs and the model that scored them. A pair is named by
-- its two source records (ministry, source id; the lower first), never by the persons
-- holding them, so a decision survives merges, splits and every later sync.
CREATE TABLE match_pairs (
    id              uuid PRIMARY KEY,
    left_ministry   text NOT NULL,
    left_source_id  text NOT NULL,
    right_ministry  text NOT NULL,
    right_source_id text NOT NULL,
    kind            text NOT NULL
        CHECK (kind IN ('uncertain', 'identifier_conflict', 'distinct_officers')),
    -- The total match weight (log2 odds) at the last scoring, and its probability.
    weight          double precision NOT NULL,
    probability     double precision NOT NULL,
    -- Each field's level and weight: [{field, level, weight}], no personal values.
    fields          jsonb NOT NULL DEFAULT '[]',
    -- Either person's unit, for jurisdiction (the left one's when both are known).
    admin_unit_code text,
    decision        text CHECK (decision IN ('same', 'different')),
    note            text,
    decided_by      text,
    decided_at      timestamptz,
    -- A person decided or split this pair: the engine never links it by score, and
    -- keeps it queued whatever its score.
    touched         boolean NOT NULL DEFAULT false,
    first_seen      timestamptz NOT NULL DEFAULT now(),
    scored_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (left_ministry, left_source_id, right_ministry, right_source_id),
    CHECK ((left_ministry, left_source_id) < (right_ministry, right_source_id)),
    CHECK ((decision IS NULL) = (decided_at IS NULL))
);
CREATE INDEX match_pairs_right ON match_pairs (right_ministry, right_source_id);
CREATE INDEX match_pairs_pending ON match_pairs (id) WHERE decision IS NULL;
CREATE INDEX match_pairs_admin_unit ON match_pairs (admin_unit_code text_pattern_ops);

-- The Fellegi-Sunter model each full matching pass trained, as it was estimated from
-- the records: m and u per field level, each level's weight, the prior.
CREATE TABLE match_models (
    id         bigserial PRIMARY KEY,
    trained_at timestamptz NOT NULL DEFAULT now(),
    -- Source records it was trained on, and the candidate pairs blocking found.
    records    bigint NOT NULL,
    pairs      bigint NOT NULL,
    prior      double precision NOT NULL,
    -- {field: {level: {m, u, weight}}}
    levels     jsonb NOT NULL,
    -- The link and review thresholds on the match weight.
    link_at    double precision NOT NULL,
    review_at  double precision NOT NULL
);

-- Where the last matching pass cut the version sequence: an incremental pass scores
-- only the pairs with a source record that changed after it.
CREATE TABLE match_marks (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL
);

-- Probable matches (one name and birth date) came from the registry's rows; the queue,
-- scored over every source record, replaces them.
DROP TABLE probable_matches;
DROP INDEX IF EXISTS staff_name_birth;
