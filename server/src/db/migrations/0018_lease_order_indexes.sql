-- A lease takes the due origins oldest turn first and stops once it has as many as it may lease
-- (lease-service.ts): read in that order from an index, instead of probing every due origin's jobs on each call.
create index hosts_due on hosts (next_fetch_at) where robots_status in ('parsed', 'allow_all') and not opted_out;

-- Of an origin's leasable jobs a lease takes its audits first, then its oldest: the leasable index in that order
-- lets it stop at the first job it may take instead of reading and sorting all of them.
drop index jobs_leasable;
create index jobs_leasable on jobs (origin, (audit_of_page is null), id)
  where open_slots > 0 and state in ('queued', 'fetched') and not held;
