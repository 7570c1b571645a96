-- The distribution of drug era length (end date minus start date, in days):
-- minimum, quartiles and maximum by the nearest-rank method (the p-th
-- percentile of n sorted values is the value at rank ceil(p * n / 100)).
-- Dates become day numbers by integer arithmetic on their ISO text, which
-- SQLite and PostgreSQL compute alike.
-- requires: drug_era
-- returns: eras, min_days, q1_days, median_days, q3_days, max_days
WITH parts AS (
    SELECT CAST(SUBSTR(CAST(drug_era_start_date AS VARCHAR(10)), 1, 4) AS INTEGER) AS sy,
           CAST(SUBSTR(CAST(drug_era_start_date AS VARCHAR(10)), 6, 2) AS INTEGER) AS sm,
           CAST(SUBSTR(CAST(drug_era_start_date AS VARCHAR(10)), 9, 2) AS INTEGER) AS sd,
           CAST(SUBSTR(CAST(drug_era_end_date AS VARCHAR(10)), 1, 4) AS INTEGER) AS ey,
           CAST(SUBSTR(CAST(drug_era_end_date AS VARCHAR(10)), 6, 2) AS INTEGER) AS em,
           CAST(SUBSTR(CAST(drug_era_end_date AS VARCHAR(10)), 9, 2) AS INTEGER) AS ed
    FROM drug_era
),
years AS (
    SELECT sm, sd, em, ed,
           sy - CASE WHEN sm <= 2 THEN 1 ELSE 0 END AS syy,
           ey - CASE WHEN em <= 2 THEN 1 ELSE 0 END AS eyy
    FROM parts
),
lengths AS (
    SELECT (365 * eyy + eyy / 4 - eyy / 100 + eyy / 400 + (153 * ((em + 9) % 12) + 2) / 5 + ed)
         - (365 * syy + syy / 4 - syy / 100 + syy / 400 + (153 * ((sm + 9) % 12) + 2) / 5 + sd)
           AS days
    FROM years
),
ranked AS (
    SELECT days, ROW_NUMBER() OVER (ORDER BY days) AS rank_no, COUNT(*) OVER () AS n
    FROM lengths
)
SELECT MAX(n) AS eras,
       MIN(days) AS min_days,
       MAX(CASE WHEN rank_no = (n + 3) / 4 THEN days END) AS q1_days,
       MAX(CASE WHEN rank_no = (n + 1) / 2 THEN days END) AS median_days,
       MAX(CASE WHEN rank_no = (3 * n + 3) / 4 THEN days END) AS q3_days,
       MAX(days) AS max_days
FROM ranked;
