-- Trust scales what a device's unsampled work earns; checks (canaries, redundancy) move it.
alter table devices add column trust double precision not null default 0.5;

-- A campaign belongs to a buyer; the canary campaign (no buyer) holds pages whose content the server knows.
create table campaigns (
  id uuid primary key,
  buyer_id uuid references buyers (id),
  name text not null,
  keep_raw_html boolean not null default false,
  max_depth integer not null default 0,
  max_pages integer,
  created_at timestamptz not null default now()
);
create index campaigns_buyer on campaigns (buyer_id);

-- One row per origin (scheme://host[:port]): robots.txt and politeness shared by every device and server process.
create table hosts (
  origin text primary key,
  robots_status text,
  robots_txt text,
  robots_fetched_at timestamptz,
  crawl_delay_ms integer not null,
  next_fetch_at timestamptz not null default now(),
  consecutive_errors integer not null default 0,
  opted_out boolean not null default false
);
create index hosts_robots_pending on hosts (origin) where robots_status is null;

-- The frontier. open_slots counts how many more devices may take the job (2 for verification copies).
create table jobs (
  id bigint generated always as identity primary key,
  campaign_id uuid not null references campaigns (id),
  url text not null,
  origin text not null references hosts (origin),
  depth integer not null default 0,
  canary_sha256 text,
  copies_wanted integer not null default 1,
  open_slots integer not null,
  state text not null default 'queued',
  attempts integer not null default 0,
  failure_reason text,
  available_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  unique (campaign_id, url)
);
create index jobs_leasable on jobs (origin, id) where open_slots > 0 and state in ('queued', 'fetched');
create index jobs_campaign_state on jobs (campaign_id, state);

-- Who was given which job, until when. A device never holds two live assignments of one job.
create table assignments (
  id bigint generated always as identity primary key,
  job_id bigint not null references jobs (id),
  device text not null references devices (address),
  leased_at timestamptz not null default now(),
  expires_at timestamptz not null,
  state text not null default 'leased'
);
create unique index assignments_live on assignments (job_id, device) where state <> 'expired';
create index assignments_expiry on assignments (expires_at) where state = 'leased';

-- Pages as uploaded by devices; large text is compressed by PostgreSQL's TOAST.
create table pages (
  id bigint generated always as identity primary key,
  job_id bigint not null references jobs (id),
  assignment_id bigint not null unique references assignments (id),
  device text not null,
  campaign_id uuid not null references campaigns (id),
  url text not null,
  final_url text not null,
  http_status integer not null,
  content_type text not null,
  fetched_at timestamptz not null,
  bytes_fetched integer not null,
  title text not null,
  text text not null,
  lang text,
  canonical_url text,
  text_sha256 text not null,
  html text,
  verification text not null default 'unverified',
  received_at timestamptz not null default now(),
  unique (job_id, device)
);
create index pages_campaign on pages (campaign_id, id);

-- Batches already answered, so a replayed batch gets the same answer and changes nothing.
create table result_batches (
  batch_id uuid primary key,
  device text not null,
  acks text not null,
  received_at timestamptz not null default now()
);

-- The points ledger: one row per credited reference (the unique key makes double credit impossible).
-- Rows are never deleted; the only change allowed is settling a pending row as verified or rejected.
create table points_ledger (
  id bigint generated always as identity primary key,
  device text not null references devices (address),
  reference text not null unique,
  reason text not null,
  points numeric(14, 3) not null,
  state text not null default 'pending' check (state in ('pending', 'verified', 'rejected')),
  rejection_reason text,
  url text,
  created_at timestamptz not null default now(),
  settled_at timestamptz
);
create index points_ledger_device on points_ledger (device, state);

create function points_ledger_guard() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    raise exception 'points_ledger is append-only: rows are never deleted';
  end if;
  if old.state <> 'pending' or new.state = 'pending'
     or new.device <> old.device or new.reference <> old.reference or new.reason <> old.reason
     or new.points <> old.points or new.created_at <> old.created_at then
    raise exception 'points_ledger is append-only: only a pending row may be settled, once';
  end if;
  return new;
end
$$;
create trigger points_ledger_append_only before update or delete on points_ledger
  for each row execute function points_ledger_guard();
