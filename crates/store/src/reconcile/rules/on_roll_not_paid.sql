-- Active on the roll, missing from the latest payroll month.
WITH latest AS (SELECT max(period) AS period FROM payroll_entries),
unpaid AS (
    SELECT p.id, p.csid AS civil_servant_id, p.admin_unit_code, p.officer_id,
        p.roll_seen AS fetched_at, p.mcs_facility
    FROM pass_people p
    WHERE p.on_roll AND p.status = 'active' AND p.csid IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM payroll_entries e, latest l
                      WHERE e.period = l.period AND e.officer_id = p.csid)
), last_paid AS (
    SELECT p.officer_id, max(p.period) AS period FROM payroll_entries p
    WHERE p.officer_id IN (SELECT civil_servant_id FROM unpaid)
    GROUP BY p.officer_id
)
SELECT 'staff:' || u.id, ARRAY[u.id],
    u.mcs_facility, u.admin_unit_code,
    jsonb_build_array(
        evidence('mcs', u.officer_id, 'status', '"active"'::jsonb, u.fetched_at, NULL),
        evidence('mef', u.civil_servant_id, 'paid', to_jsonb(lp.period), NULL,
                 'not on the payroll of ' || (SELECT period FROM latest)
                 || CASE WHEN lp.period IS NULL THEN '; never paid in the months held'
                         ELSE '; last paid ' || lp.period END))
FROM unpaid u LEFT JOIN last_paid lp ON lp.officer_id = u.civil_servant_id
