-- What changed after a point in the version sequence, so the discrepancy pass after an
-- incremental sync can look at only the people the sync touched. Staff, facilities
-- and assignments already carry a version; a source's report now does too. (The
-- assignments' version is not indexed: a scan of them costs the pass less than an
-- index costs every sync.)
ALTER TABLE source_reports ADD COLUMN version bigint NOT NULL DEFAULT nextval('record_version');
CREATE INDEX source_reports_version ON source_reports (version);

-- New staff search entries wait in the index's pending list, which autovacuum merges
-- in the background, rather than being merged by the writer every 4 MB: a first sync
-- writes hundreds of thousands of names. A search reads the pending list too.
ALTER INDEX staff_search SET (gin_pending_list_limit = 32768);

-- Counts the transactions that take record versions (each bumps it under the version
-- lock), so a sync that looked a page's records up ahead of the page's transaction can
-- tell whether any other writer committed in between.
CREATE TABLE version_writers (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    commits bigint NOT NULL
);
INSERT INTO version_writers VALUES (true, 0);

-- Where the last country or changed-since pass cut the version sequence: the next
-- changed-since pass looks at what took a version after it, so a pass that failed, or
-- syncs run by other processes, are caught up with.
CREATE TABLE pass_marks (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL
);
