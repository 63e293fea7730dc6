-- The people a pass looks at, with what the rules need to know of each, computed once
-- per pass: on the roll or not (and under which officer id), which sector ministries
-- know them, where the roll and the sector ministries place them.
-- $1 (bool): the pass looks at everyone; otherwise only at the people in pass_scope.
-- (With $1 true the planner drops each join to pass_scope, whose id is unique: a
-- country pass reads as if there were none.)
CREATE TEMP TABLE pass_people ON COMMIT DROP AS
WITH reports AS (
    SELECT r.entity_id,
        bool_or(r.ministry = 'mcs') AS on_roll,
        bool_or(r.ministry = 'moh') AS known_moh,
        bool_or(r.ministry = 'moeys') AS known_moeys,
        bool_or(r.ministry = 'mcs')::int + bool_or(r.ministry = 'moh')::int
            + bool_or(r.ministry = 'moeys')::int
            + bool_or(r.ministry NOT IN ('mcs', 'moh', 'moeys'))::int AS ministries,
        min(r.source_id) FILTER (WHERE r.ministry = 'mcs') AS officer_id,
        max(r.fetched_at) FILTER (WHERE r.ministry = 'mcs') AS roll_seen
    FROM source_reports r
    LEFT JOIN pass_scope x ON x.id = r.entity_id
    WHERE r.entity_type = 'staff' AND r.entity_id IS NOT NULL AND ($1 OR x.id IS NOT NULL)
    GROUP BY r.entity_id
), placed_by_roll AS (
    SELECT a.staff_id, a.facility_id FROM assignments a
    LEFT JOIN pass_scope x ON x.id = a.staff_id
    WHERE a.source = 'mcs' AND a.end_date IS NULL AND a.facility_id IS NOT NULL
      AND ($1 OR x.id IS NOT NULL)
), placed_by_sector AS (
    SELECT a.staff_id, array_agg(a.facility_id) AS facilities FROM assignments a
    LEFT JOIN pass_scope x ON x.id = a.staff_id
    WHERE a.source IN ('moh', 'moeys') AND a.end_date IS NULL AND a.facility_id IS NOT NULL
      AND ($1 OR x.id IS NOT NULL)
    GROUP BY a.staff_id
)
SELECT s.id, s.civil_servant_id AS csid, s.status, s.admin_unit_code,
    s.birth_date::text AS birth_date, s.sex, s.name_km,
    COALESCE(r.on_roll, false) AS on_roll, COALESCE(r.known_moh, false) AS known_moh,
    COALESCE(r.known_moeys, false) AS known_moeys, COALESCE(r.ministries, 0) AS ministries,
    r.officer_id, r.roll_seen, m.facility_id AS mcs_facility,
    COALESCE(o.facilities, '{}'::uuid[]) AS sector_facilities
FROM staff s
LEFT JOIN pass_scope x ON x.id = s.id
LEFT JOIN reports r ON r.entity_id = s.id
LEFT JOIN placed_by_roll m ON m.staff_id = s.id
LEFT JOIN placed_by_sector o ON o.staff_id = s.id
WHERE ($1 OR x.id IS NOT NULL)
