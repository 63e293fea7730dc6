-- Signed anchors of the audit chain. A checkpoint says "the chain had `seq` entries and
-- its head hash was `hash` at `at`", signed with a key that is kept outside the database
-- (HMAC-SHA256, `key_id` names the key). The chain alone cannot show that its newest
-- entries were cut off, nor that it was rewritten from some entry on (its hashes are
-- unkeyed); a checkpoint can, because only the key's holder can make one.
-- No foreign key to audit_log: a checkpoint must outlive the entries it vouches for.
CREATE TABLE audit_checkpoints (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq       bigint NOT NULL,
    hash      text NOT NULL,
    at        timestamptz NOT NULL,
    algorithm text NOT NULL,
    key_id    text NOT NULL,
    signature text NOT NULL
);
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints (seq);

CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_checkpoints is append-only';
END
$$;
CREATE TRIGGER audit_checkpoints_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only();
