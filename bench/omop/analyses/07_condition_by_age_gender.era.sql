-- One condition by age group and gender, read from condition_era for
-- extracts that ship eras without occurrences: distinct persons by gender and
-- by ten-year group of age at their first era of the condition (age is the
-- year of that date minus the year of birth; group 40 holds 40 to 49).
-- param: condition_concept_id = 192671 (gastrointestinal hemorrhage)
-- requires: person, condition_era
-- returns: age_group, gender_concept_id, persons
WITH first_seen AS (
    SELECT person_id, MIN(condition_era_start_date) AS first_date
    FROM condition_era
    WHERE condition_concept_id = :condition_concept_id
    GROUP BY person_id
),
ages AS (
    SELECT p.person_id, p.gender_concept_id,
           CAST(SUBSTR(CAST(f.first_date AS VARCHAR(10)), 1, 4) AS INTEGER) - p.year_of_birth
               AS age
    FROM first_seen f
    JOIN person p ON p.person_id = f.person_id
)
SELECT age / 10 * 10 AS age_group, gender_concept_id, COUNT(*) AS persons
FROM ages
GROUP BY age / 10 * 10, gender_concept_id
ORDER BY age_group, gender_concept_id;
