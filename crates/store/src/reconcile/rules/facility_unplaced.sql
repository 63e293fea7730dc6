-- A facility whose commune code names no commune of the gazetteer. Judged over every
-- facility in every pass that judges it.
SELECT 'facility:' || f.id, '{}'::uuid[], f.id,
    (SELECT u.code FROM admin_units u
      WHERE f.admin_unit_code IS NOT NULL
        AND u.code IN (left(f.admin_unit_code, 4), left(f.admin_unit_code, 2))
      ORDER BY length(u.code) DESC LIMIT 1),
    COALESCE((SELECT jsonb_agg(evidence(r.ministry, r.source_id, 'admin_unit_code',
                                        r.report->'admin_unit_code', r.fetched_at,
                                        CASE WHEN r.report->>'admin_unit_code' IS NULL
                                             THEN 'no valid commune code'
                                             ELSE 'names no commune of the gazetteer' END)
                         ORDER BY r.ministry, r.source_id)
                FROM source_reports r WHERE r.entity_type = 'facility' AND r.entity_id = f.id),
             '[]'::jsonb)
FROM facilities f
WHERE NOT EXISTS (SELECT 1 FROM admin_units u WHERE u.code = f.admin_unit_code AND u.level = 'commune')
