-- Drug exposures per person, as a distribution: for each number of
-- drug_exposure rows a person has (zero included), how many persons have it.
-- requires: person, drug_exposure
-- returns: exposures, persons
WITH counts AS (
    SELECT p.person_id, COUNT(d.drug_exposure_id) AS exposures
    FROM person p
    LEFT JOIN drug_exposure d ON d.person_id = p.person_id
    GROUP BY p.person_id
)
SELECT exposures, COUNT(*) AS persons
FROM counts
GROUP BY exposures
ORDER BY exposures;
