-- Settles open correction requests: done when the finding resolved and the ministry's
-- record now says what the request supported (where the record holds the field as
-- the evidence quoted it: a person's attributes), or else changed since the request
-- (a posting, a record the ministry lacked); obsolete when the finding resolved
-- another way, or a reviewer no longer confirms it. A record that changed for another
-- reason while the finding resolved the other way is not a correction applied.
-- A request from a review decision (`same_person`) has no finding: it is done when the
-- record holds the supported value, obsolete when the decision was undone (a split).
WITH base AS (
    SELECT k.id, k.kind = 'same_person' AS decided, d.id IS NULL AS no_finding,
        d.resolved_at IS NOT NULL AS finding_resolved,
        d.review_state IS DISTINCT FROM 'confirmed' AS finding_unconfirmed,
        m.decision IS DISTINCT FROM 'same' AS undone,
        CASE
            WHEN k.record_id IS NULL THEN true
            -- Names as the rules compare them (their match keys).
            WHEN k.field = 'name_km' AND r.report ? 'name_km'
                THEN name_match_key(r.report->>'name_km') = name_match_key(k.supported #>> '{}')
            WHEN r.report ? k.field THEN r.report->k.field = k.supported
            ELSE r.version > COALESCE(k.record_version, 0)
        END AS applied
    FROM corrections k
    LEFT JOIN discrepancies d ON d.id = k.discrepancy_id
    LEFT JOIN match_pairs m ON m.id = k.match_id
    LEFT JOIN LATERAL (
        -- Every entity type named, so that the primary key's index serves the lookup.
        SELECT s.report, s.version FROM source_reports s
        WHERE s.entity_type IN ('staff', 'facility', 'role')
          AND s.ministry = k.ministry AND s.source_id = k.record_id
        ORDER BY s.version DESC LIMIT 1) r ON true
    WHERE k.status = 'open'
), state AS (
    SELECT id, applied,
        CASE WHEN decided THEN undone ELSE no_finding END AS gone,
        CASE WHEN decided THEN COALESCE(applied, false) ELSE finding_resolved END AS resolved,
        NOT decided AND finding_unconfirmed AS unconfirmed
    FROM base
), settled AS (
    UPDATE corrections k SET status_at = now(),
        status = CASE WHEN s.resolved AND s.applied THEN 'done' ELSE 'obsolete' END
    FROM state s
    WHERE k.id = s.id AND (s.gone OR s.resolved OR s.unconfirmed)
    RETURNING k.status
)
SELECT count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status = 'obsolete')
FROM settled
