-- A run can end `interrupted`: stopped by a shutdown after its last committed page, or
-- found still `running` by the next run of its source (its process died). Either way it
-- resumes from its stored cursors; it did not fail.
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_status_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_status_check
    CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted'));
-- Runs closed before this status existed said so in their error.
UPDATE sync_runs SET status = 'interrupted' WHERE status = 'failed' AND error LIKE 'interrupted:%';
