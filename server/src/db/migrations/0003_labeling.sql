-- Labeling projects of buyers: instructions, a label schema, overlap k and a gold rate.
create table projects (
  id uuid primary key,
  buyer_id uuid not null references buyers (id),
  name text not null,
  instructions text not null,
  label_schema text not null,
  overlap integer not null,
  gold_rate double precision not null,
  created_at timestamptz not null default now()
);
create index projects_buyer on projects (buyer_id);

-- Items to label; gold items carry their known answer and look like any other item to labelers.
create table project_items (
  id bigint generated always as identity primary key,
  project_id uuid not null references projects (id),
  external_id text not null,
  content text not null,
  gold_answer text,
  usable_labels integer not null default 0,
  complete boolean not null default false,
  created_at timestamptz not null default now(),
  unique (project_id, external_id)
);
create index project_items_open on project_items (project_id, id) where not complete;

-- Who was shown which item. One row per (item, labeler) ever: nobody sees an item twice.
-- left_is_a records the random order of a pairwise item's answers in this assignment.
create table task_assignments (
  id bigint generated always as identity primary key,
  item_id bigint not null references project_items (id),
  project_id uuid not null references projects (id),
  device text not null references devices (address),
  left_is_a boolean not null default true,
  leased_at timestamptz not null default now(),
  expires_at timestamptz not null,
  state text not null default 'leased',
  unique (item_id, device)
);
create index task_assignments_live on task_assignments (item_id) where state = 'leased';

create table labels (
  id bigint generated always as identity primary key,
  assignment_id bigint not null unique references task_assignments (id),
  item_id bigint not null references project_items (id),
  project_id uuid not null references projects (id),
  device text not null references devices (address),
  value text not null,
  shown_left text,
  is_gold boolean not null,
  gold_correct boolean,
  labeled_at timestamptz not null,
  received_at timestamptz not null default now()
);
create index labels_project on labels (project_id, item_id);
create index labels_device on labels (device, is_gold);

-- The current aggregate of each item; recomputed as labels arrive.
create table aggregated_labels (
  item_id bigint primary key references project_items (id),
  project_id uuid not null references projects (id),
  label text not null,
  confidence double precision not null,
  method text not null,
  updated_at timestamptz not null default now()
);
create index aggregated_labels_project on aggregated_labels (project_id);
