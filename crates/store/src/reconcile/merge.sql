-- Moves what a pass found into discrepancies: new findings open with their first-seen
-- time, findings seen again move their last-seen time and evidence (and reopen if
-- they were resolved). Returns how many were (re)opened, and how many are open.
WITH reopened AS (
    SELECT count(*) AS n FROM found_discrepancies f
    JOIN discrepancies d ON d.id = f.id AND d.resolved_at IS NOT NULL
), merged AS (
    INSERT INTO discrepancies AS d (id, kind, subject, staff_ids, facility_id, admin_unit_code,
                                    sources, evidence, first_seen, last_seen)
    SELECT f.id, f.kind, f.subject, f.staff_ids, f.facility_id, f.admin_unit_code,
        ARRAY(SELECT DISTINCT e->>'source' FROM jsonb_array_elements(f.evidence) e
              WHERE e->>'source' IS NOT NULL ORDER BY 1),
        f.evidence, now(), now()
    FROM found_discrepancies f
    ON CONFLICT (id) DO UPDATE SET
        staff_ids = EXCLUDED.staff_ids, facility_id = EXCLUDED.facility_id,
        admin_unit_code = EXCLUDED.admin_unit_code, sources = EXCLUDED.sources,
        evidence = EXCLUDED.evidence, last_seen = EXCLUDED.last_seen, resolved_at = NULL,
        -- A state people gave holds while what it was given for holds: a finding
        -- that resolved and came back, or an explained or confirmed one whose
        -- evidence changed, is open again and says why.
        review_state = CASE WHEN d.review_state IS NULL THEN NULL
            WHEN d.resolved_at IS NOT NULL THEN NULL
            WHEN d.review_state IN ('explained', 'confirmed')
                 AND evidence_facts(EXCLUDED.evidence) IS DISTINCT FROM d.reviewed_evidence THEN NULL
            ELSE d.review_state END,
        reopened_because = CASE WHEN d.review_state IS NULL THEN d.reopened_because
            WHEN d.resolved_at IS NOT NULL
                THEN 'the sources disagree again after it had resolved'
            WHEN d.review_state IN ('explained', 'confirmed')
                 AND evidence_facts(EXCLUDED.evidence) IS DISTINCT FROM d.reviewed_evidence
                THEN 'the evidence changed after it was ' || d.review_state
            ELSE d.reopened_because END,
        review_version = d.review_version + CASE WHEN d.review_state IS NOT NULL AND (
                d.resolved_at IS NOT NULL
                OR (d.review_state IN ('explained', 'confirmed')
                    AND evidence_facts(EXCLUDED.evidence) IS DISTINCT FROM d.reviewed_evidence))
            THEN 1 ELSE 0 END
    RETURNING (xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM merged WHERE inserted) + (SELECT n FROM reopened),
       (SELECT count(*) FROM merged)
