-- Reward epochs (server/src/rewards/): each close pays a token pool pro rata over the points newly verified
-- since the last one, to the wallet each device is linked to at the close.

-- A point paid after it was verified can later be found bad (a late failed audit): the ledger stays
-- append-only, so the rejection is a new row, reason 'reversal', reference 'reversal:<original reference>'
-- (once per original, by the unique key), state 'verified', points the negative of the original's.
alter table points_ledger add column reverses bigint references points_ledger (id);
create unique index points_ledger_reverses on points_ledger (reverses) where reverses is not null;
alter table points_ledger add constraint points_ledger_sign
  check ((reverses is null and points >= 0) or (reverses is not null and points <= 0 and state = 'verified'));

-- One row per closed epoch. Amounts are token base units (uint256 as numeric, never a float).
create table epochs (
  number bigint primary key check (number >= 1),
  closed_at timestamptz not null default now(),
  rules_version text not null,
  -- This epoch's pool: the configured pool plus what the previous epoch carried over.
  pool numeric(78, 0) not null check (pool >= 0),
  carried_in numeric(78, 0) not null default 0,
  -- Rounding remainder (and a pool nobody earned) carried to the next epoch's pool.
  carried_out numeric(78, 0) not null default 0,
  points_total bigint not null check (points_total >= 0),
  wallets integer not null,
  root text not null,
  -- The public epoch file: stored at storage key `epochs/<number>/epoch.json`; its CIDv1 (raw, sha2-256).
  content_id text not null,
  file_sha256 text not null,
  file_bytes bigint not null,
  -- Set once the root is on the distributor contract (`gleaner epoch publish`).
  published_tx text,
  published_at timestamptz
);

-- Which ledger rows an epoch counted, and for which wallet: the primary key makes counting a row in two
-- epochs impossible. Rows of devices with no wallet wait here unpaid until their device is linked.
create table epoch_credits (
  ledger_id bigint primary key references points_ledger (id),
  epoch bigint not null references epochs (number),
  wallet text not null
);
create index epoch_credits_wallet on epoch_credits (wallet, epoch);

-- Every wallet in an epoch's tree (all wallets ever paid: claims check against the latest root only).
create table epoch_wallets (
  epoch bigint not null references epochs (number),
  wallet text not null,
  -- Points newly verified for the wallet in this epoch, reversals charged to it, and the debt it carried in.
  earned bigint not null default 0,
  reversed bigint not null default 0,
  debt_in bigint not null default 0,
  -- Points paid this epoch: max(0, earned - reversed - debt_in); what is left unpaid is debt_out.
  points bigint not null default 0 check (points >= 0),
  debt_out bigint not null default 0 check (debt_out >= 0),
  amount numeric(78, 0) not null default 0,
  cumulative numeric(78, 0) not null,
  -- Position of the wallet's leaf in the stored tree (`epochs/<number>/tree.bin`, OpenZeppelin's node order).
  tree_index integer not null,
  primary key (epoch, wallet)
);
create index epoch_wallets_wallet on epoch_wallets (wallet, epoch desc);

-- Contributors sign in to the console with their wallet (SIWE) and get a session token, stored hashed.
create table wallet_sessions (
  token_sha256 text primary key,
  wallet text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz
);
create index wallet_sessions_expires_at on wallet_sessions (expires_at);

-- Ledger rows by day for the dashboard, and a wallet's devices' unpaid rows.
create index points_ledger_device_created on points_ledger (device, created_at);
