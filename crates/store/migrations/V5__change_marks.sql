-- What changed after a point in the version sequence, so the discrepancy pass after an
-- incremental sync can look at only the people the sync touched. Staff, facilities
-- and assignments already carry a version; a source's report now does too.
ALTER TABLE source_reports ADD COLUMN version bigint NOT NULL DEFAULT nextval('record_version');
CREATE INDEX source_reports_version ON source_reports (version);
CREATE INDEX assignments_version ON assignments (version);
