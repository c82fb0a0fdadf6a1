-- Buyers pause, resume and cancel their campaigns and projects. `complete` is not stored: it is derived
-- from the work left (campaign-service.ts, project-service.ts), so no write path has to keep it in step.
alter table campaigns add column state text not null default 'active'
  check (state in ('active', 'paused', 'cancelled'));
alter table projects add column state text not null default 'active'
  check (state in ('active', 'paused', 'cancelled'));

-- A held job belongs to a paused or cancelled campaign: it leaves the leasable index, so the lease query
-- never walks a paused campaign's frontier again and again. The campaign's state stays the rule (the lease
-- query checks it too); `held` only keeps those jobs out of the index.
alter table jobs add column held boolean not null default false;
drop index jobs_leasable;
create index jobs_leasable on jobs (origin, id) where open_slots > 0 and state in ('queued', 'fetched') and not held;

-- The buyer's lists, newest first, keyset paged by (created_at, id).
drop index campaigns_buyer;
create index campaigns_buyer_created on campaigns (buyer_id, created_at desc, id desc);
drop index projects_buyer;
create index projects_buyer_created on projects (buyer_id, created_at desc, id desc);
-- The task lease looks for the oldest active project with work left.
create index projects_active on projects (created_at) where state = 'active';

-- The page's links as uploaded (at most 5,000 of at most 4,096 characters, protocol/results.ts), a JSON
-- array of strings; null for pages stored before this column existed.
alter table pages add column links jsonb;
