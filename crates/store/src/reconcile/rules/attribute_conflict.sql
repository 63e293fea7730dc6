-- Two ministries disagree on a person's birth date, sex or Khmer name (names compared
-- as their match keys). Each source's report is compared with the registry's record
-- (which holds the owning ministry's value), so one scan finds every disagreement; the
-- evidence is gathered only for what differs.
WITH differing AS (
    SELECT DISTINCT p.id AS entity_id, v.field
    FROM pass_people p
    JOIN source_reports r ON r.entity_id = p.id AND r.entity_type = 'staff'
    CROSS JOIN LATERAL (VALUES
        ('birth_date', r.report->>'birth_date', p.birth_date, false),
        ('sex', r.report->>'sex', p.sex, false),
        ('name_km', r.report->>'name_km', p.name_km, true)) v(field, said, held, is_name)
    WHERE p.ministries > 1
      -- The registry holds the roll's own values for the people on it.
      AND NOT (p.on_roll AND r.ministry = 'mcs')
      AND v.said <> v.held
      AND (NOT v.is_name OR name_match_key(v.said) <> name_match_key(v.held))
)
SELECT 'staff:' || d.entity_id || ':' || d.field, ARRAY[d.entity_id],
    NULL::uuid, s.admin_unit_code,
    (SELECT jsonb_agg(evidence(r.ministry, r.source_id, d.field, r.report->d.field, r.fetched_at, NULL)
                      ORDER BY r.ministry, r.source_id)
       FROM source_reports r
      WHERE r.entity_id = d.entity_id AND r.entity_type = 'staff' AND r.report->>d.field IS NOT NULL)
FROM differing d JOIN pass_people s ON s.id = d.entity_id
