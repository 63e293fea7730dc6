-- The people whose records took a version after a mark: their record, a source's
-- report of them, an assignment of theirs, or a facility they are placed at changed.
-- Every finding but facility_unplaced is about people, so the findings of everyone
-- else stand as the last pass left them. $1 (bigint): the mark.
INSERT INTO pass_scope
SELECT id FROM staff WHERE version > $1
UNION SELECT entity_id FROM source_reports
      WHERE version > $1 AND entity_type <> 'facility' AND entity_id IS NOT NULL
UNION SELECT staff_id FROM assignments WHERE version > $1
UNION SELECT a.staff_id FROM facilities f JOIN assignments a ON a.facility_id = f.id
      WHERE f.version > $1
