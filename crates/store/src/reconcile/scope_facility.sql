-- The people one facility's pass looks at: everyone placed there, and everyone its
-- latest roster names. $1 (uuid): the facility.
INSERT INTO pass_scope
SELECT staff_id FROM assignments WHERE facility_id = $1
UNION
SELECT e.staff_id FROM roster_entries e JOIN current_rosters cr ON cr.id = e.roster_id
WHERE cr.facility_id = $1 AND e.staff_id IS NOT NULL
