-- Settles open correction requests: done when the finding resolved and the ministry's
-- record changed since the request (its system applied it; a request for a record the
-- ministry lacked is done when the finding resolved), obsolete when the finding
-- resolved while the record stayed as it was, or a reviewer no longer confirms it.
WITH state AS (
    SELECT k.id, d.id IS NULL AS gone, d.resolved_at IS NOT NULL AS resolved,
        d.review_state IS DISTINCT FROM 'confirmed' AS unconfirmed,
        k.record_id IS NULL
          OR (SELECT max(s.version) FROM source_reports s
               WHERE s.ministry = k.ministry AND s.source_id = k.record_id)
             > COALESCE(k.record_version, 0) AS record_changed
    FROM corrections k LEFT JOIN discrepancies d ON d.id = k.discrepancy_id
    WHERE k.status = 'open'
), settled AS (
    UPDATE corrections k SET status_at = now(),
        status = CASE WHEN s.resolved AND s.record_changed THEN 'done' ELSE 'obsolete' END
    FROM state s
    WHERE k.id = s.id AND (s.gone OR s.resolved OR s.unconfirmed)
    RETURNING k.status
)
SELECT count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status = 'obsolete')
FROM settled
