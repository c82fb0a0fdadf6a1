-- Datasets (server/src/datasets/): frozen snapshots of a campaign's pages or a project's labels, built by the
-- durable work queue. A dataset's files are listed here only once it is ready, in the same update that makes
-- it ready, so a half-built dataset is never visible.
create table datasets (
  id uuid primary key,
  buyer_id uuid not null references buyers (id),
  name text not null,
  source_kind text not null check (source_kind in ('campaign', 'project')),
  source_id uuid not null,
  formats jsonb not null,
  options jsonb not null,
  state text not null default 'queued' check (state in ('queued', 'building', 'ready', 'failed', 'cancelled')),
  phase text not null default 'queued',
  rows_done bigint not null default 0,
  rows_total bigint,
  error text,
  -- The key of this dataset's pseudonymous contributor ids: a keyed hash per dataset, so two datasets
  -- cannot be joined on contributors. Never leaves the server.
  pseudonym_key text not null,
  snapshot_at timestamptz,
  merkle_root text,
  stats jsonb,
  files jsonb not null default '[]',
  created_at timestamptz not null default now(),
  finished_at timestamptz,
  deleted_at timestamptz
);
create index datasets_buyer on datasets (buyer_id, created_at desc, id desc) where deleted_at is null;

-- The snapshot: which source rows (pages, or project items) a dataset holds and their state as of the build.
-- Pages never change after upload, so a page row keeps only its verification state; a label row keeps its
-- item's aggregate and raw labels as they were (frozen), since both keep changing as labels arrive.
create table dataset_snapshot_rows (
  dataset_id uuid not null references datasets (id) on delete cascade,
  source_id bigint not null,
  verification text not null,
  -- Pages: the text is the same as an earlier snapshot row's (exact duplicate).
  exact_duplicate boolean not null default false,
  frozen jsonb,
  primary key (dataset_id, source_id)
);
