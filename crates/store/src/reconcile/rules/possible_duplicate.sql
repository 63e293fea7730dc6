-- The same person under two records: two records of one national id with different
-- civil-servant ids, or a probable match (one Khmer name and birth date) without
-- conflicting national ids.
-- $2 (bool): the pass looks at everyone; otherwise only at the pairs with a person of
-- pass_scope on either side (each side is its own branch, so each probes its index).
WITH pairs AS (
    SELECT a.id AS a, b.id AS b, 'national_id' AS reason
    FROM staff a JOIN staff b ON b.national_id = a.national_id AND a.id < b.id
    LEFT JOIN pass_scope x ON x.id = a.id
    WHERE a.national_id IS NOT NULL
      AND a.civil_servant_id IS NOT NULL AND b.civil_servant_id IS NOT NULL
      AND a.civil_servant_id <> b.civil_servant_id
      AND ($2 OR x.id IS NOT NULL)
    UNION
    SELECT a.id, b.id, 'national_id'
    FROM staff a JOIN staff b ON b.national_id = a.national_id AND a.id < b.id
    JOIN pass_scope x ON x.id = b.id
    WHERE NOT $2 AND a.national_id IS NOT NULL
      AND a.civil_servant_id IS NOT NULL AND b.civil_servant_id IS NOT NULL
      AND a.civil_servant_id <> b.civil_servant_id
    UNION
    SELECT m.staff_a, m.staff_b, 'name_and_birth_date'
    FROM probable_matches m
    JOIN staff a ON a.id = m.staff_a JOIN staff b ON b.id = m.staff_b
    WHERE (a.national_id IS NULL OR b.national_id IS NULL OR a.national_id = b.national_id)
      AND ($2 OR m.staff_a IN (SELECT id FROM pass_scope) OR m.staff_b IN (SELECT id FROM pass_scope))
)
SELECT DISTINCT ON (p.a, p.b) 'staff:' || p.a || '+staff:' || p.b,
    ARRAY[p.a, p.b], NULL::uuid, COALESCE(sa.admin_unit_code, sb.admin_unit_code),
    jsonb_build_array(
        evidence(sa.sources->0->>'ministry', COALESCE(sa.civil_servant_id, sa.sources->0->>'source_id'),
                 p.reason, CASE p.reason WHEN 'national_id' THEN to_jsonb(sa.national_id)
                    ELSE jsonb_build_object('name_km', sa.name_km, 'birth_date', sa.birth_date) END,
                 NULL, NULL),
        evidence(sb.sources->0->>'ministry', COALESCE(sb.civil_servant_id, sb.sources->0->>'source_id'),
                 p.reason, CASE p.reason WHEN 'national_id' THEN to_jsonb(sb.national_id)
                    ELSE jsonb_build_object('name_km', sb.name_km, 'birth_date', sb.birth_date) END,
                 NULL, NULL))
FROM pairs p JOIN staff sa ON sa.id = p.a JOIN staff sb ON sb.id = p.b
ORDER BY p.a, p.b, p.reason DESC
