-- Persons with at least one continuous observation period of 365 days or
-- more (end date minus start date >= 365). Only persons in the person table
-- count: an extract may hold periods of persons it does not describe.
-- Dates are turned into day numbers by integer arithmetic on their ISO text
-- (the civil-calendar formula), which SQLite and PostgreSQL compute alike.
-- requires: person, observation_period
-- returns: persons, persons_total
WITH parts AS (
    SELECT person_id,
           CAST(SUBSTR(CAST(observation_period_start_date AS VARCHAR(10)), 1, 4) AS INTEGER) AS sy,
           CAST(SUBSTR(CAST(observation_period_start_date AS VARCHAR(10)), 6, 2) AS INTEGER) AS sm,
           CAST(SUBSTR(CAST(observation_period_start_date AS VARCHAR(10)), 9, 2) AS INTEGER) AS sd,
           CAST(SUBSTR(CAST(observation_period_end_date AS VARCHAR(10)), 1, 4) AS INTEGER) AS ey,
           CAST(SUBSTR(CAST(observation_period_end_date AS VARCHAR(10)), 6, 2) AS INTEGER) AS em,
           CAST(SUBSTR(CAST(observation_period_end_date AS VARCHAR(10)), 9, 2) AS INTEGER) AS ed
    FROM observation_period
),
years AS (
    SELECT person_id, sm, sd, em, ed,
           sy - CASE WHEN sm <= 2 THEN 1 ELSE 0 END AS syy,
           ey - CASE WHEN em <= 2 THEN 1 ELSE 0 END AS eyy
    FROM parts
),
spans AS (
    SELECT person_id,
           (365 * eyy + eyy / 4 - eyy / 100 + eyy / 400 + (153 * ((em + 9) % 12) + 2) / 5 + ed)
         - (365 * syy + syy / 4 - syy / 100 + syy / 400 + (153 * ((sm + 9) % 12) + 2) / 5 + sd)
           AS days
    FROM years
)
SELECT (SELECT COUNT(*) FROM person p
        WHERE EXISTS (SELECT 1 FROM spans s WHERE s.person_id = p.person_id AND s.days >= 365))
           AS persons,
       (SELECT COUNT(*) FROM person) AS persons_total;
