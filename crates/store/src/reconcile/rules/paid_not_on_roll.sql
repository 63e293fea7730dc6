-- Paid in the latest payroll month under an officer id the roll does not have.
-- $2 (bool): the pass looks at everyone; otherwise only at the payroll lines under the
-- officer ids of the people in scope.
WITH latest AS (SELECT max(period) AS period FROM payroll_entries),
on_roll AS MATERIALIZED (
    SELECT csid AS civil_servant_id FROM pass_people WHERE on_roll AND csid IS NOT NULL
)
SELECT 'payroll:' || p.officer_id,
    ARRAY(SELECT s.id FROM staff s WHERE s.civil_servant_id = p.officer_id), NULL::uuid, NULL,
    jsonb_build_array(
        evidence('mef', p.officer_id, 'paid', to_jsonb(p.period), NULL,
                 'paid by ' || p.ministry || ' (budget unit ' || p.budget_unit || ')'),
        evidence('mcs', NULL, 'civil_servant_id', to_jsonb(p.officer_id), NULL, 'not on the roll'))
FROM payroll_entries p JOIN latest l ON p.period = l.period
LEFT JOIN on_roll o ON o.civil_servant_id = p.officer_id
LEFT JOIN (SELECT DISTINCT csid FROM pass_people WHERE csid IS NOT NULL) x ON x.csid = p.officer_id
WHERE o.civil_servant_id IS NULL AND ($2 OR x.csid IS NOT NULL)
