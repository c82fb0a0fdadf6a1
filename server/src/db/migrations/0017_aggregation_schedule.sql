-- When a project's next re-aggregation may start (server/src/services/background-work.ts): each run sets it to
-- its start plus GLEANER_AGGREGATION_INTERVAL_MS, and labels arriving before then queue one run for that time,
-- which takes them all. Null: never aggregated, the next run starts at once.
alter table projects add column aggregate_not_before timestamptz;
