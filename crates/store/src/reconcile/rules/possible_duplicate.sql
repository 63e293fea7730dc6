-- The same person under two records: a pair waiting in the review queue whose two
-- source records are held by two persons (the matcher could not settle it, or did not
-- trust the identifier joining it). A pair a person decided is no longer in doubt.
-- Evidence: each source record, the reason it waits and its match weight (no
-- personal values: a reviewer reads them on the pair).
-- $2 (bool): the pass looks at everyone; otherwise only at the pairs with a person of
-- pass_scope on either side.
WITH pairs AS (
    SELECT m.id, m.kind, m.weight, m.left_ministry, m.left_source_id, m.right_ministry,
        m.right_source_id, rl.entity_id AS a, rr.entity_id AS b
    FROM match_pairs m
    JOIN source_reports rl ON rl.entity_type = 'staff' AND rl.ministry = m.left_ministry
        AND rl.source_id = m.left_source_id
    JOIN source_reports rr ON rr.entity_type = 'staff' AND rr.ministry = m.right_ministry
        AND rr.source_id = m.right_source_id
    WHERE m.decision IS NULL AND rl.entity_id <> rr.entity_id
      AND ($2 OR rl.entity_id IN (SELECT id FROM pass_scope)
              OR rr.entity_id IN (SELECT id FROM pass_scope))
)
SELECT DISTINCT ON (least(p.a, p.b), greatest(p.a, p.b))
    'staff:' || least(p.a, p.b) || '+staff:' || greatest(p.a, p.b),
    ARRAY[least(p.a, p.b), greatest(p.a, p.b)], NULL::uuid,
    COALESCE(sa.admin_unit_code, sb.admin_unit_code),
    jsonb_build_array(
        evidence(p.left_ministry, p.left_source_id, p.kind,
                 jsonb_build_object('match_id', p.id, 'weight', round(p.weight::numeric, 2)),
                 NULL, NULL),
        evidence(p.right_ministry, p.right_source_id, p.kind,
                 jsonb_build_object('match_id', p.id, 'weight', round(p.weight::numeric, 2)),
                 NULL, NULL))
FROM pairs p JOIN staff sa ON sa.id = p.a JOIN staff sb ON sb.id = p.b
ORDER BY least(p.a, p.b), greatest(p.a, p.b), p.weight DESC
