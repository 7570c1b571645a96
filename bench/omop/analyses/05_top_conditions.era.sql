-- The ten conditions with the most distinct persons (of the person table),
-- read from condition_era for extracts that ship eras without occurrences;
-- ties are broken by the smaller concept id, so the list is stable.
-- requires: person, condition_era
-- returns: condition_concept_id, persons
SELECT c.condition_concept_id, COUNT(DISTINCT c.person_id) AS persons
FROM condition_era c
JOIN person p ON p.person_id = c.person_id
GROUP BY c.condition_concept_id
ORDER BY persons DESC, c.condition_concept_id
LIMIT 10;
