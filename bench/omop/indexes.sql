-- Indexes analytics need, created after the rows are loaded (building an
-- index once over sorted keys is far cheaper than keeping it up to date
-- row by row). The same statements serve CDM 5.3 and 5.4.
CREATE INDEX idx_observation_period_person ON observation_period (person_id);
CREATE INDEX idx_visit_occurrence_person ON visit_occurrence (person_id);
CREATE INDEX idx_visit_occurrence_concept ON visit_occurrence (visit_concept_id);
CREATE INDEX idx_condition_occurrence_person ON condition_occurrence (person_id);
CREATE INDEX idx_condition_occurrence_concept ON condition_occurrence (condition_concept_id);
CREATE INDEX idx_drug_exposure_person ON drug_exposure (person_id);
CREATE INDEX idx_drug_exposure_concept ON drug_exposure (drug_concept_id);
CREATE INDEX idx_procedure_occurrence_person ON procedure_occurrence (person_id);
CREATE INDEX idx_procedure_occurrence_concept ON procedure_occurrence (procedure_concept_id);
CREATE INDEX idx_measurement_person ON measurement (person_id);
CREATE INDEX idx_measurement_concept ON measurement (measurement_concept_id);
CREATE INDEX idx_observation_person ON observation (person_id);
CREATE INDEX idx_observation_concept ON observation (observation_concept_id);
CREATE INDEX idx_death_person ON death (person_id);
CREATE INDEX idx_condition_era_person ON condition_era (person_id);
CREATE INDEX idx_condition_era_concept ON condition_era (condition_concept_id);
CREATE INDEX idx_drug_era_person ON drug_era (person_id);
CREATE INDEX idx_drug_era_concept ON drug_era (drug_concept_id);
CREATE INDEX idx_concept_ancestor_descendant ON concept_ancestor (descendant_concept_id);
CREATE INDEX idx_concept_relationship_2 ON concept_relationship (concept_id_2);
CREATE INDEX idx_concept_code ON concept (vocabulary_id, concept_code);
CREATE INDEX idx_concept_synonym ON concept_synonym (concept_id);
