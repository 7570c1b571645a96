-- The ten conditions with the most distinct persons (of the person table);
-- ties are broken by the smaller concept id, so the list is stable.
-- requires: person, condition_occurrence
-- returns: condition_concept_id, persons
SELECT c.condition_concept_id, COUNT(DISTINCT c.person_id) AS persons
FROM condition_occurrence c
JOIN person p ON p.person_id = c.person_id
GROUP BY c.condition_concept_id
ORDER BY persons DESC, c.condition_concept_id
LIMIT 10;
