-- Devices: one row per extension install, keyed by the address of its device key.
create table devices (
  address text primary key,
  extension_version text not null,
  browser text not null,
  registered_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now()
);

-- Nonces seen in signed requests, kept a little longer than the allowed clock skew to stop replays.
create table request_nonces (
  device text not null,
  nonce text not null,
  seen_at timestamptz not null default now(),
  primary key (device, nonce)
);
create index request_nonces_seen_at on request_nonces (seen_at);

create table buyers (
  id uuid primary key,
  name text not null,
  email text,
  created_at timestamptz not null default now()
);

-- Only a SHA-256 of each key's secret is kept; the secret is shown once when the key is made.
create table api_keys (
  id text primary key,
  buyer_id uuid not null references buyers (id),
  secret_sha256 text not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index api_keys_buyer on api_keys (buyer_id);
