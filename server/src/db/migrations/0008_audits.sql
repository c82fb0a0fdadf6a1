-- Audits drawn after upload (server/src/verification/audits.ts): a check of one pending page of a
-- device, fetched again by another device (an audit job) or, when none takes it in time, by the server.
-- Canary pages count as checks too (kind 'canary'), drawn when they were leased.
create table audits (
  id bigint generated always as identity primary key,
  kind text not null default 'audit' check (kind in ('audit', 'canary')),
  page_id bigint not null references pages (id),
  device text not null references devices (address),
  job_id bigint references jobs (id),
  drawn_at timestamptz not null default now(),
  state text not null default 'open' check (state in ('open', 'disputed', 'passed', 'failed', 'void')),
  checked_by text,
  similarity double precision,
  reason text,
  settled_at timestamptz
);
create index audits_device_passed on audits (device, drawn_at desc) where state = 'passed';
create index audits_device_failed on audits (device, drawn_at desc) where state = 'failed';
create index audits_unsettled on audits (drawn_at) where state in ('open', 'disputed');
create unique index audits_job on audits (job_id) where job_id is not null;
create index audits_page on audits (page_id);

-- Audit jobs live in a system campaign and look like any job to the device that takes them: they carry
-- the options of the job they check. The audited device is never offered its own audit.
alter table jobs add column audit_of_page bigint references pages (id);
alter table jobs add column not_for_device text;
alter table jobs add column keep_raw_html boolean;
alter table jobs add column collect_links boolean;
-- A canary is leased as a job made for that one lease (a fresh id, the device's usual options), so
-- neither its id nor its options tell it from any other job; the canary campaign's rows are templates.
alter table jobs add column for_device text;
alter table jobs drop constraint jobs_campaign_id_url_key;
create unique index jobs_campaign_url on jobs (campaign_id, url) where audit_of_page is null and for_device is null;
create index jobs_for_device on jobs (for_device, url) where for_device is not null;
-- Canary templates are never leased themselves.
update jobs set open_slots = 0 where canary_sha256 is not null;

-- A device's pending pool: its unverified pages, oldest first.
create index pages_device_pending on pages (device, received_at) where verification = 'unverified';

-- New devices start with no trust: their pages are verified once 25 audits of them have passed.
alter table devices alter column trust set default 0;
