-- How many copies of a job have been stored as real copies (not late duplicates): a job pays once per
-- copy it asked for (copies_wanted), whoever comes first; later copies are kept as duplicates and earn nothing.
alter table jobs add column copies_received integer not null default 0;
update jobs set copies_received = (select count(*) from pages where pages.job_id = jobs.id);

-- A batch id is claimed first inside the ingest transaction (acks still null), so a concurrent copy
-- of the same batch waits for the first and then returns its acknowledgement.
alter table result_batches alter column acks drop not null;

-- The ledger is append-only: TRUNCATE is refused too (a row trigger never sees it).
create or replace function points_ledger_guard() returns trigger language plpgsql as $$
begin
  if tg_op = 'TRUNCATE' then
    raise exception 'points_ledger is append-only: it is never truncated';
  end if;
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
create trigger points_ledger_no_truncate before truncate on points_ledger
  for each statement execute function points_ledger_guard();
