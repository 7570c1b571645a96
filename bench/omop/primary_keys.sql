-- Primary keys of the CDM tables as unique indexes, built after the load.
-- Real extracts sometimes repeat an id; the loader then keeps the rows and
-- builds a plain index under the same name, and says so. Each statement is
-- on one line so tools can run them one at a time.
CREATE UNIQUE INDEX pk_person ON person (person_id);
CREATE UNIQUE INDEX pk_observation_period ON observation_period (observation_period_id);
CREATE UNIQUE INDEX pk_visit_occurrence ON visit_occurrence (visit_occurrence_id);
CREATE UNIQUE INDEX pk_visit_detail ON visit_detail (visit_detail_id);
CREATE UNIQUE INDEX pk_condition_occurrence ON condition_occurrence (condition_occurrence_id);
CREATE UNIQUE INDEX pk_drug_exposure ON drug_exposure (drug_exposure_id);
CREATE UNIQUE INDEX pk_procedure_occurrence ON procedure_occurrence (procedure_occurrence_id);
CREATE UNIQUE INDEX pk_device_exposure ON device_exposure (device_exposure_id);
CREATE UNIQUE INDEX pk_measurement ON measurement (measurement_id);
CREATE UNIQUE INDEX pk_observation ON observation (observation_id);
CREATE UNIQUE INDEX pk_note ON note (note_id);
CREATE UNIQUE INDEX pk_note_nlp ON note_nlp (note_nlp_id);
CREATE UNIQUE INDEX pk_specimen ON specimen (specimen_id);
CREATE UNIQUE INDEX pk_location ON location (location_id);
CREATE UNIQUE INDEX pk_care_site ON care_site (care_site_id);
CREATE UNIQUE INDEX pk_provider ON provider (provider_id);
CREATE UNIQUE INDEX pk_payer_plan_period ON payer_plan_period (payer_plan_period_id);
CREATE UNIQUE INDEX pk_cost ON cost (cost_id);
CREATE UNIQUE INDEX pk_drug_era ON drug_era (drug_era_id);
CREATE UNIQUE INDEX pk_dose_era ON dose_era (dose_era_id);
CREATE UNIQUE INDEX pk_condition_era ON condition_era (condition_era_id);
CREATE UNIQUE INDEX pk_concept ON concept (concept_id);
CREATE UNIQUE INDEX pk_vocabulary ON vocabulary (vocabulary_id);
CREATE UNIQUE INDEX pk_domain ON domain (domain_id);
CREATE UNIQUE INDEX pk_concept_class ON concept_class (concept_class_id);
CREATE UNIQUE INDEX pk_relationship ON relationship (relationship_id);
CREATE UNIQUE INDEX pk_concept_ancestor ON concept_ancestor (ancestor_concept_id, descendant_concept_id);
CREATE UNIQUE INDEX pk_concept_relationship ON concept_relationship (concept_id_1, concept_id_2, relationship_id);
