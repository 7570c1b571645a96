-- Persons by gender: the number of persons of each gender concept.
-- requires: person
-- returns: gender_concept_id, persons
SELECT gender_concept_id, COUNT(*) AS persons
FROM person
GROUP BY gender_concept_id
ORDER BY gender_concept_id;
