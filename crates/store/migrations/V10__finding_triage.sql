-- What people say of a finding: its review state (acknowledged, explained, confirmed;
-- none while open), who holds it, the explanation, and the history of every action.
-- The sources still decide open or resolved (`resolved_at`).

-- A finding's evidence without the times it was seen: what an explanation was given
-- for, compared again at every pass.
CREATE FUNCTION evidence_facts(evidence jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(jsonb_agg(e - 'seen_at' ORDER BY n), '[]'::jsonb)
    FROM jsonb_array_elements(evidence) WITH ORDINALITY AS x(e, n)
$$;

ALTER TABLE discrepancies
    ADD COLUMN review_state text
        CHECK (review_state IN ('acknowledged', 'explained', 'confirmed')),
    ADD COLUMN held_by text,
    ADD COLUMN explanation text,
    ADD COLUMN explained_ministry text,
    ADD COLUMN review_note text,
    ADD COLUMN reviewed_at timestamptz,
    -- The evidence the state was given for.
    ADD COLUMN reviewed_evidence jsonb,
    -- Why a state people gave was dropped by a pass.
    ADD COLUMN reopened_because text,
    -- Moves on every change of the review: the finding's ETag for If-Match.
    ADD COLUMN review_version bigint NOT NULL DEFAULT 1;
CREATE INDEX discrepancies_review ON discrepancies (review_state, held_by) WHERE review_state IS NOT NULL;

CREATE TABLE discrepancy_actions (
    seq            bigserial PRIMARY KEY,
    discrepancy_id uuid NOT NULL REFERENCES discrepancies (id) ON DELETE CASCADE,
    action         text NOT NULL,
    from_state     text NOT NULL,
    to_state       text NOT NULL,
    explanation    text,
    ministry       text,
    note           text,
    by_client      text NOT NULL,
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX discrepancy_actions_finding ON discrepancy_actions (discrepancy_id, seq);

-- A pass that drops a state people gave records it in the history too, as the
-- gateway's own action, with the reason.
CREATE FUNCTION record_reopening() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.review_state IS NOT NULL AND NEW.review_state IS NULL
       AND NEW.reopened_because IS NOT NULL
       AND NEW.reopened_because IS DISTINCT FROM OLD.reopened_because THEN
        INSERT INTO discrepancy_actions (discrepancy_id, action, from_state, to_state, note, by_client)
        VALUES (NEW.id, 'reopen', OLD.review_state, 'open', NEW.reopened_because, 'gateway');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER discrepancies_reopened AFTER UPDATE OF review_state ON discrepancies
    FOR EACH ROW EXECUTE FUNCTION record_reopening();
