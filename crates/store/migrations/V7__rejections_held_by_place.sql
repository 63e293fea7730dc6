-- Rejections held like the records they are (issue 11).
--
-- A rejection's problems (field, rule, and apart from them the offending value, which
-- may be a national id or a birth date) are kept as a JSON array, so the API quotes a
-- value only to callers who may read personal data; `rejection_reason` stays the
-- value-free text. `place` is the gazetteer code the raw record names, when it reads
-- as one: a sub-national caller sees the rejections placed inside its area, and one
-- without a place only national callers see.
--
-- jsonb refuses the `\u0000` escape: a payload with a NUL character is kept in
-- `payload` with each NUL replaced by U+FFFD (readable, queryable) and exactly as
-- received, as its JSON text, in `payload_original` (null for every other payload).
-- Values in `rejection_problems` have their NULs replaced likewise; the raw payload is
-- the lossless copy.
--
-- Rows from before this migration have no problems and no place: their reasons may
-- quote values, so the API shows them only with `staff:read:pii`, and only national
-- callers see them.
ALTER TABLE raw_records
    ADD COLUMN rejection_problems jsonb,
    ADD COLUMN place text,
    ADD COLUMN payload_original bytea;

CREATE INDEX raw_records_rejected_place ON raw_records (place text_pattern_ops, id) WHERE NOT valid;
