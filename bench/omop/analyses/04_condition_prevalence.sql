-- Prevalence of one condition: distinct persons (of the person table) with
-- at least one condition_occurrence of the concept, out of all persons.
-- param: condition_concept_id = 192671 (gastrointestinal hemorrhage)
-- requires: person, condition_occurrence
-- returns: condition_concept_id, persons, persons_total, per_1000
WITH cases AS (
    SELECT COUNT(*) AS persons
    FROM person p
    WHERE EXISTS (SELECT 1 FROM condition_occurrence c
                  WHERE c.person_id = p.person_id
                    AND c.condition_concept_id = :condition_concept_id)
),
everyone AS (
    SELECT COUNT(*) AS persons_total FROM person
)
SELECT :condition_concept_id AS condition_concept_id, persons, persons_total,
       ROUND(1000.0 * persons / persons_total, 2) AS per_1000
FROM cases, everyone;
