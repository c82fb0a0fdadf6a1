-- The durable work queue (server/src/queue/): background work that must survive a crash and must run
-- once across any number of server processes. An item names its work by (kind, key); enqueueing work
-- that is already queued coalesces with it, and work enqueued while the same work runs is queued once more
-- to run after it. Workers claim due items with FOR UPDATE SKIP LOCKED and hold them for a lease
-- (locked_until), renewed while they run; an item whose lease ran out is taken over by another worker.
create table work_items (
  id bigint generated always as identity primary key,
  kind text not null,
  key text not null,
  payload jsonb not null default 'null',
  state text not null default 'queued' check (state in ('queued', 'running', 'done', 'failed')),
  run_at timestamptz not null default now(),
  attempts integer not null default 0,
  max_attempts integer not null default 5 check (max_attempts >= 1),
  last_error text,
  locked_by text,
  locked_until timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz
);
-- At most one queued and one running item per (kind, key): the first makes enqueueing coalesce,
-- the second makes sure the same work never runs twice at once.
create unique index work_items_queued_key on work_items (kind, key) where state = 'queued';
create unique index work_items_running_key on work_items (kind, key) where state = 'running';
create index work_items_due on work_items (run_at) where state = 'queued';
create index work_items_lease on work_items (locked_until) where state = 'running';
create index work_items_state on work_items (state, id);

-- Label payment (server/src/services/label-settlement.ts): labels of complete items whose pending ledger
-- row waits until the item's aggregate has held still for the settle window (due_at). A re-aggregation
-- that changes the item's label moves due_at; settling the label deletes its row here.
create table label_settlements (
  label_id bigint primary key references labels (id),
  project_id uuid not null references projects (id),
  item_id bigint not null references project_items (id),
  due_at timestamptz not null
);
create index label_settlements_project on label_settlements (project_id, due_at);
create index label_settlements_item on label_settlements (item_id);
