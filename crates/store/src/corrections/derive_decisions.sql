-- New correction requests from the review queue: a reviewer decided that a sector
-- record (MoH, MoEYS) and a roll record are one person, and the sector record carries
-- no officer id, or another one. The sector ministry is asked to write the roll's
-- officer id on its record. Evidence: the decision (who, when) and both records' ids.
WITH decided AS (
    SELECT m.id, m.admin_unit_code, m.decided_by, m.decided_at,
        CASE WHEN m.left_ministry = 'mcs' THEN m.right_ministry ELSE m.left_ministry END AS ministry,
        CASE WHEN m.left_ministry = 'mcs' THEN m.right_source_id ELSE m.left_source_id END AS record_id,
        CASE WHEN m.left_ministry = 'mcs' THEN m.left_source_id ELSE m.right_source_id END AS officer_id
    FROM match_pairs m
    WHERE m.decision = 'same'
      AND (m.left_ministry = 'mcs') <> (m.right_ministry = 'mcs')
      AND (CASE WHEN m.left_ministry = 'mcs' THEN m.right_ministry ELSE m.left_ministry END)
          IN ('moh', 'moeys')
), requests AS (
    SELECT d.*, s.report->'civil_servant_id' AS held, s.version
    FROM decided d
    JOIN LATERAL (
        SELECT r.report, r.version FROM source_reports r
        WHERE r.entity_type = 'staff' AND r.ministry = d.ministry AND r.source_id = d.record_id
        ORDER BY r.version DESC LIMIT 1) s ON true
    WHERE (s.report->>'civil_servant_id') IS DISTINCT FROM d.officer_id
), inserted AS (
    INSERT INTO corrections AS k (id, match_id, kind, ministry, record_id, field, held,
                                  supported, evidence, admin_unit_code, record_version)
    SELECT md5('match:' || r.id || ':' || r.ministry || ':' || r.record_id
               || ':civil_servant_id')::uuid,
        r.id, 'same_person', r.ministry, r.record_id, 'civil_servant_id',
        NULLIF(r.held, 'null'::jsonb), to_jsonb(r.officer_id),
        jsonb_build_array(
            jsonb_build_object('source', 'mcs', 'record_id', r.officer_id,
                               'field', 'civil_servant_id', 'value', r.officer_id),
            jsonb_build_object('source', r.ministry, 'record_id', r.record_id,
                               'field', 'civil_servant_id', 'value', NULLIF(r.held, 'null'::jsonb)),
            jsonb_build_object('match_id', r.id, 'decision', 'same',
                               'decided_by', r.decided_by, 'decided_at', r.decided_at)),
        r.admin_unit_code, r.version
    FROM requests r
    -- A request settled before (done) stays settled; one made obsolete (the pair was
    -- split, then joined again) opens again.
    ON CONFLICT (id) DO UPDATE SET status = 'open', status_at = now(),
        held = EXCLUDED.held, evidence = EXCLUDED.evidence,
        record_version = EXCLUDED.record_version
        WHERE k.status = 'obsolete'
    RETURNING k.id, k.ministry, k.record_id, k.field, k.kind, k.discrepancy_id, k.admin_unit_code
)
SELECT id, ministry, record_id, field, kind, discrepancy_id, admin_unit_code FROM inserted
