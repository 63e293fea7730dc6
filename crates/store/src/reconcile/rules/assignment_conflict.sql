-- The roll places an officer at one facility; the sector ministry only elsewhere.
SELECT 'staff:' || p.id, ARRAY[p.id], p.mcs_facility,
    fm.admin_unit_code,
    jsonb_build_array(evidence('mcs', p.officer_id, 'facility', facility_ref(fm), p.roll_seen, NULL))
    || (SELECT jsonb_agg(evidence(ao.source, NULL, 'facility', facility_ref(fo), ao.updated_at, NULL)
                         ORDER BY ao.source, ao.id)
          FROM assignments ao JOIN facilities fo ON fo.id = ao.facility_id
         WHERE ao.staff_id = p.id AND ao.source IN ('moh', 'moeys') AND ao.end_date IS NULL)
FROM pass_people p
JOIN facilities fm ON fm.id = p.mcs_facility
WHERE p.on_roll AND cardinality(p.sector_facilities) > 0
  AND NOT (p.mcs_facility = ANY(p.sector_facilities))
