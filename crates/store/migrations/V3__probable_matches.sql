-- Two staff records that may be one person (same Khmer name and birth date) but share
-- no identifier that would link them: kept for review and reconciliation, never merged.
CREATE TABLE probable_matches (
    staff_a    uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    staff_b    uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    reason     text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (staff_a, staff_b),
    CHECK (staff_a < staff_b)
);

CREATE INDEX staff_name_birth ON staff (name_km, birth_date) WHERE birth_date IS NOT NULL;
