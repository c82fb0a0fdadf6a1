-- A job that one device's report failed for good (a 404, a blocked redirect, a content type not kept) is
-- checked by the server's own fetch in the verification round (server/src/verification/failure-checks.ts):
-- 'due' until then; 'confirmed' when the server's fetch fails too; 'refuted' when the page came, and the job
-- was opened again; 'moot' when the page came but the job could not be opened again (its copies arrived from
-- another lease meanwhile, or its campaign was cancelled). Null: no check was needed (two devices' reports,
-- retries ran out, or the server's own canary and audit jobs).
alter table jobs add column failure_check text;
create index jobs_failure_check_due on jobs (id) where failure_check = 'due';
-- Who made that one report: a permanent failure from another device ends the job without a check (two devices
-- agree); one from the same device again (after a lease ran out) is checked again.
alter table jobs add column failure_reported_by text;
