-- Listed present on a facility's latest roster, not on the roll. Contract staff (no
-- officer id, known to the sector ministry) are not a discrepancy.
-- $2 (bool): the pass looks at everyone. $3 (uuid): the facility of a facility pass,
-- else NULL. A facility pass reads its whole roster, people nobody knows included; a
-- pass over the people changed since the last reads their entries only (pass_scope).
SELECT
    'roster:' || cr.facility_id || ':' || COALESCE('staff:' || e.staff_id,
        'csid:' || e.civil_servant_id,
        'nid:' || encode(sha256(convert_to((SELECT pepper FROM reconcile_pepper) || e.national_id, 'UTF8')), 'hex'),
        'name:' || name_match_key(e.name_km)),
    CASE WHEN e.staff_id IS NULL THEN '{}'::uuid[] ELSE ARRAY[e.staff_id] END,
    cr.facility_id, f.admin_unit_code,
    jsonb_build_array(
        evidence('roster', cr.id::text, 'present', 'true'::jsonb, cr.submitted_at,
                 'listed present on the roster for ' || cr.period)
            || jsonb_build_object('entry', jsonb_strip_nulls(jsonb_build_object(
                'index', e.idx, 'civil_servant_id', e.civil_servant_id,
                'national_id', e.national_id, 'name_km', e.name_km, 'name_latin', e.name_latin,
                'role', e.role))),
        evidence('mcs', NULL, 'civil_servant_id', to_jsonb(COALESCE(p.csid, e.civil_servant_id)),
                 NULL, CASE WHEN e.staff_id IS NULL THEN 'no ministry knows this person'
                            ELSE 'not on the roll' END))
FROM current_rosters cr
JOIN roster_entries e ON e.roster_id = cr.id AND e.present
JOIN facilities f ON f.id = cr.facility_id
LEFT JOIN pass_people p ON p.id = e.staff_id
LEFT JOIN pass_scope x ON x.id = e.staff_id
WHERE ($3 IS NULL OR f.id = $3)
  AND ($2 OR $3 IS NOT NULL OR x.id IS NOT NULL)
  AND (e.staff_id IS NULL
       OR ((p.csid IS NOT NULL OR e.civil_servant_id IS NOT NULL) AND NOT p.on_roll))
