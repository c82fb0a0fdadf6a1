-- A job that one device's report failed for good (a 404, a blocked redirect, a content type not kept) is
-- checked by the server's own fetch in the verification round (server/src/verification/failure-checks.ts):
-- 'due' until then; 'confirmed' when the server's fetch fails too; 'refuted' when the page came, and the job
-- was opened again. Null: no check was needed (two devices' reports, or retries ran out).
alter table jobs add column failure_check text;
create index jobs_failure_check_due on jobs (id) where failure_check = 'due';
