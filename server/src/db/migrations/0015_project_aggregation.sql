-- The aggregation method and priors chosen for each project at its last re-aggregation (labels re-run it):
-- {"method", "parameters", "selectedBy"} as the project's progress shows them; null before the first run.
alter table projects add column aggregation jsonb;
