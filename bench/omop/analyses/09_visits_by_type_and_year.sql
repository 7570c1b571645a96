-- Visits by type and year: visit_occurrence rows by visit concept and by the
-- calendar year of the visit's start.
-- requires: visit_occurrence
-- returns: visit_concept_id, visit_year, visits
WITH visits AS (
    SELECT visit_concept_id,
           CAST(SUBSTR(CAST(visit_start_date AS VARCHAR(10)), 1, 4) AS INTEGER) AS visit_year
    FROM visit_occurrence
)
SELECT visit_concept_id, visit_year, COUNT(*) AS visits
FROM visits
GROUP BY visit_concept_id, visit_year
ORDER BY visit_concept_id, visit_year;
