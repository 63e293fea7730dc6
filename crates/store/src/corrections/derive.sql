-- New correction requests from the findings a reviewer confirmed. The ministry whose
-- record should change is the one the reviewer named; else, by kind: the sector
-- ministry whose value differs from the roll's for a person's attributes (the roll
-- owns them), MEF for the payroll, the facility's ministry for an unplaced facility,
-- MCS otherwise (the roll follows where people really serve). Each of that ministry's
-- records in the evidence gets a request: the value it holds, and the value another
-- source's evidence for the same field supports (the roll's first). A finding that
-- names no record of that ministry asks it for a record it lacks.
WITH confirmed AS (
    SELECT d.id, d.kind, d.admin_unit_code, d.evidence,
        COALESCE(d.explained_ministry, CASE d.kind
            WHEN 'attribute_conflict' THEN NULL
            WHEN 'facility_unplaced' THEN NULL
            WHEN 'paid_not_on_roll' THEN 'mef'
            WHEN 'on_roll_not_paid' THEN 'mef'
            ELSE 'mcs' END) AS target
    FROM discrepancies d
    WHERE d.review_state = 'confirmed' AND d.resolved_at IS NULL
), items AS (
    SELECT c.id, c.kind, c.admin_unit_code, c.evidence, e.item
    FROM confirmed c
    CROSS JOIN LATERAL jsonb_array_elements(c.evidence) AS e(item)
    WHERE e.item->>'record_id' IS NOT NULL
      AND e.item->>'source' IN ('mcs', 'moh', 'moeys', 'mef', 'moi')
      AND (e.item->>'source' = c.target OR (c.target IS NULL AND e.item->>'source' <> 'mcs'))
), requests AS (
    SELECT i.id, i.kind, i.admin_unit_code, i.evidence, i.item->>'source' AS ministry,
        i.item->>'record_id' AS record_id, COALESCE(i.item->>'field', i.kind) AS field,
        i.item->'value' AS held,
        (SELECT o.item->'value' FROM jsonb_array_elements(i.evidence) AS o(item)
          WHERE o.item->>'field' IS NOT DISTINCT FROM i.item->>'field'
            AND o.item->>'source' IS DISTINCT FROM i.item->>'source'
          ORDER BY (o.item->>'source' = 'mcs') DESC, o.item->>'source'
          LIMIT 1) AS supported
    FROM items i
    UNION ALL
    SELECT c.id, c.kind, c.admin_unit_code, c.evidence, c.target, NULL, 'record', NULL,
        (SELECT o.item FROM jsonb_array_elements(c.evidence) AS o(item) LIMIT 1)
    FROM confirmed c
    -- NOT IN (a hashed set), not NOT EXISTS: the planner would scan the CTE per row.
    WHERE c.target IS NOT NULL AND c.id NOT IN (SELECT i.id FROM items i)
), inserted AS (
    INSERT INTO corrections AS k (id, discrepancy_id, kind, ministry, record_id, field, held,
                                  supported, evidence, admin_unit_code, record_version)
    SELECT md5('finding:' || r.id || ':' || r.ministry || ':' || COALESCE(r.record_id, '')
               || ':' || r.field)::uuid,
        r.id, r.kind, r.ministry, r.record_id, r.field, r.held, r.supported, r.evidence,
        r.admin_unit_code,
        (SELECT max(s.version) FROM source_reports s
          WHERE s.entity_type IN ('staff', 'facility', 'role')
            AND s.ministry = r.ministry AND s.source_id = r.record_id)
    FROM requests r
    -- A request settled before (done) stays settled; one made obsolete opens again.
    ON CONFLICT (id) DO UPDATE SET status = 'open', status_at = now(),
        held = EXCLUDED.held, supported = EXCLUDED.supported, evidence = EXCLUDED.evidence,
        record_version = EXCLUDED.record_version
        WHERE k.status = 'obsolete'
    RETURNING k.id, k.ministry, k.record_id, k.field, k.kind, k.discrepancy_id, k.admin_unit_code
)
SELECT id, ministry, record_id, field, kind, discrepancy_id, admin_unit_code FROM inserted
