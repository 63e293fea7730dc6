-- Known to a sector ministry by an officer id the roll does not have.
SELECT 'staff:' || p.id, ARRAY[p.id], a.facility_id,
    COALESCE(f.admin_unit_code, p.admin_unit_code),
    (SELECT jsonb_agg(evidence(o.ministry, o.source_id, 'civil_servant_id',
                               to_jsonb(p.csid), o.fetched_at,
                               'serves under an officer id that is not on the roll')
                      ORDER BY o.ministry, o.source_id)
       FROM source_reports o
      WHERE o.entity_id = p.id AND o.entity_type = 'staff' AND o.ministry IN ('moh', 'moeys'))
    || jsonb_build_array(evidence('mcs', NULL, 'civil_servant_id', to_jsonb(p.csid),
                                  NULL, 'not on the roll'))
FROM pass_people p
LEFT JOIN LATERAL (
    SELECT a.facility_id FROM assignments a
    WHERE a.staff_id = p.id AND a.source IN ('moh', 'moeys') AND a.end_date IS NULL
      AND a.facility_id IS NOT NULL
    ORDER BY a.source, a.id LIMIT 1) a ON true
LEFT JOIN facilities f ON f.id = a.facility_id
WHERE p.csid IS NOT NULL AND NOT p.on_roll AND (p.known_moh OR p.known_moeys)
