-- Descendants of one concept through concept_ancestor, the concept itself
-- left out; an extract that repeats an ancestry row still lists each
-- descendant once, at its smallest separation.
-- param: ancestor_concept_id = 4283893 (sinusitis)
-- requires: concept_ancestor
-- returns: descendant_concept_id, min_levels_of_separation
SELECT descendant_concept_id, MIN(min_levels_of_separation) AS min_levels_of_separation
FROM concept_ancestor
WHERE ancestor_concept_id = :ancestor_concept_id
  AND descendant_concept_id <> :ancestor_concept_id
GROUP BY descendant_concept_id
ORDER BY descendant_concept_id;
