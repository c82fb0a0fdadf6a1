-- Points are whole numbers (the unit is one point; a verified page earns 100, a label up to 50), so
-- sums are exact. Earlier rows were in tenths of today's unit at most three decimals deep: scale and round.
alter table points_ledger alter column points type bigint using round(points * 10)::bigint;
