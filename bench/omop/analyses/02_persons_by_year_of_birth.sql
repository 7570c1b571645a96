-- Persons by year of birth.
-- requires: person
-- returns: year_of_birth, persons
SELECT year_of_birth, COUNT(*) AS persons
FROM person
GROUP BY year_of_birth
ORDER BY year_of_birth;
