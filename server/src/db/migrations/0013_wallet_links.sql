-- Sign-In with Ethereum nonces handed out by this server: each one signs at most one wallet action, before it expires.
create table siwe_nonces (
  nonce text primary key,
  issued_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index siwe_nonces_expires_at on siwe_nonces (expires_at);

-- Short codes a device shows its person (extension options); a wallet must name one to link that device,
-- so nobody links a device they do not hold. Single use, minutes long.
create table device_link_codes (
  code text primary key,
  device text not null references devices (address),
  issued_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index device_link_codes_expires_at on device_link_codes (expires_at);

-- Which wallet a device's points go to, as history: a link is closed (unlinked_at), never deleted or
-- rewritten, so unlinking and relinking keep who earned what when. One open link per device at a time.
create table wallet_links (
  id bigint generated always as identity primary key,
  device text not null references devices (address),
  wallet text not null,
  linked_at timestamptz not null default now(),
  unlinked_at timestamptz,
  check (unlinked_at is null or unlinked_at >= linked_at)
);
create unique index wallet_links_one_open_per_device on wallet_links (device) where unlinked_at is null;
create index wallet_links_wallet on wallet_links (wallet, linked_at);
