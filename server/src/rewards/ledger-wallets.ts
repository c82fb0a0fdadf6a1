import { type Address, getAddress } from 'viem';

/**
 * Which wallet a ledger row belongs to: the one rule the epoch close, its estimate and the contributor
 * dashboard share, so what a contributor is shown is what the next close pays.
 *
 * 1. A row an epoch counted belongs, forever, to the wallet it was counted for (`epoch_credits.wallet`).
 * 2. An uncounted reversal (`points_ledger.reverses` set) goes to the wallet its original was paid to, even if
 *    the device has moved since; when the original was never paid either, it goes with its device (3).
 * 3. Any other uncounted row goes to the wallet its device is linked to now (its `wallet_links` row with
 *    `unlinked_at` null). A device with no open link has its rows wait, unpaid, belonging to no wallet.
 *
 * Spelling: the epoch tables store wallets lower case (the close writes what these forms give); a link
 * stores the address its SIWE message named, checksummed (tests and old rows may have it lower case). The
 * all-wallets form lowers the link's spelling; the one-wallet form compares a link with both spellings, so
 * the (wallet, …) indexes stay usable.
 */

/** The SQL condition that `row` (an alias of points_ledger) is in no epoch yet. */
const uncounted = (row: string) => `not exists (select 1 from epoch_credits c where c.ledger_id = ${row}.id)`;

/** Rule 2, first half: uncounted reversals of paid originals, charged to the wallet the original was paid to. */
function reversalsOfPaidRows(extra: string): string {
  return `
    select r.id, r.points, paid.wallet
      from epoch_credits paid join points_ledger r on r.reverses = paid.ledger_id
     where ${uncounted('r')}${extra}`;
}

/** Rule 3, and rule 2's fallback: uncounted rows that go to the wallet their device is linked to now. */
function rowsFollowingDevice(extra: string): string {
  return `
    select l.id, l.points, lower(link.wallet) as wallet
      from wallet_links link join points_ledger l on l.device = link.device
     where link.unlinked_at is null and ${uncounted('l')}
       -- No 'l.reverses is null or': a null never matches, and the bare anti-join looks the original up by key
       -- instead of hashing every credit.
       and not exists (select 1 from epoch_credits paid where paid.ledger_id = l.reverses)${extra}`;
}

/**
 * Every uncounted verified row that has a wallet to go to, with that wallet (lower case): `id`, `points`,
 * `wallet`. What the next close counts (and the estimate sums); rows of devices with no wallet are left out.
 * One statement, so a row verified while a close runs is either in it or left for the next one.
 */
export const uncountedVerifiedRows = `
  ${reversalsOfPaidRows(` and r.state = 'verified'`)}
  union all
  ${rowsFollowingDevice(` and l.state = 'verified'`)}`;

/**
 * Every ledger row (any state) that belongs to one wallet, with the epoch that counted it (null while
 * uncounted): `id`, `epoch`. `$1` and `$2` are the wallet's spellings from `walletSpellings`. It starts from
 * the wallet's credits, reversals of them and links, so it reads only that wallet's rows through indexes.
 */
export const walletLedgerRows = `
  select c.ledger_id as id, c.epoch from epoch_credits c where c.wallet = $2
  union all
  select id, null::bigint from (
    ${reversalsOfPaidRows(' and paid.wallet = $2')}
    union all
    ${rowsFollowingDevice(' and link.wallet in ($1, $2)')}
  ) uncounted_rows`;

/** The parameters `$1`, `$2` of `walletLedgerRows`: the wallet checksummed and lower case. */
export function walletSpellings(wallet: Address): [Address, string] {
  return [getAddress(wallet), wallet.toLowerCase()];
}
