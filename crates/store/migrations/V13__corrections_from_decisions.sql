-- Correction requests also come from the review queue: a reviewer decided that a
-- sector record and a roll record are one person, and the sector record does not
-- carry the roll's officer id. Such a request names the pair it comes from instead
-- of a finding.
ALTER TABLE corrections ADD COLUMN match_id uuid REFERENCES match_pairs (id) ON DELETE SET NULL;
CREATE INDEX corrections_match ON corrections (match_id) WHERE match_id IS NOT NULL;
