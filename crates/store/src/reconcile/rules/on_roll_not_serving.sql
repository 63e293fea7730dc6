-- On the roll at a facility, not serving there: the facility's latest roster does not
-- list them present, or, where no roster has come in yet, the facility's sector
-- ministry (MoH for health, MoEYS for education) has no record of them.
-- $3 (uuid): the facility of a facility pass, else NULL.
-- $4, $5 (bool): MoH's, MoEYS's staff have been pulled (no record is no evidence before).
WITH present AS (
    SELECT e.roster_id, e.staff_id FROM roster_entries e
    JOIN current_rosters cr ON cr.id = e.roster_id
    WHERE e.present AND e.staff_id IS NOT NULL
), listed AS (
    SELECT e.roster_id, e.staff_id FROM roster_entries e
    JOIN current_rosters cr ON cr.id = e.roster_id
    WHERE NOT e.present AND e.staff_id IS NOT NULL
)
SELECT 'staff:' || p.id, ARRAY[p.id], f.id, f.admin_unit_code,
    jsonb_build_array(
        evidence('mcs', p.officer_id, 'facility', facility_ref(f), p.roll_seen,
                 'on the roll at this facility'),
        CASE WHEN cr.id IS NOT NULL THEN
            evidence('roster', cr.id::text, 'present',
                     CASE WHEN l.staff_id IS NULL THEN NULL ELSE 'false'::jsonb END,
                     cr.submitted_at,
                     CASE WHEN l.staff_id IS NULL THEN 'not listed on the roster for ' || cr.period
                          ELSE 'listed absent on the roster for ' || cr.period END)
        ELSE
            evidence(CASE f.sector WHEN 'health' THEN 'moh' ELSE 'moeys' END, NULL, 'staff', NULL,
                     NULL, 'no record of this person')
        END)
FROM pass_people p
JOIN facilities f ON f.id = p.mcs_facility AND f.status = 'open'
LEFT JOIN current_rosters cr ON cr.facility_id = f.id
LEFT JOIN present pr ON pr.roster_id = cr.id AND pr.staff_id = p.id
LEFT JOIN listed l ON l.roster_id = cr.id AND l.staff_id = p.id
WHERE p.on_roll AND p.status = 'active' AND ($3 IS NULL OR f.id = $3)
  AND CASE WHEN cr.id IS NOT NULL THEN pr.staff_id IS NULL
      WHEN f.sector = 'health' THEN $4 AND NOT p.known_moh
      ELSE $5 AND NOT p.known_moeys
      END
