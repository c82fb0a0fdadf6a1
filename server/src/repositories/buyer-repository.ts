import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { type ApiKeySummary, apiKeyPattern, type Buyer, type BuyerCreate, type IssuedApiKey } from '@protocol/buyers';
import type { Database, Queryable } from '../db/database';

interface BuyerRow {
  id: string;
  name: string;
  email: string | null;
  created_at: Date;
}

interface ApiKeyRow {
  id: string;
  buyer_id: string;
  secret_sha256: string;
  created_at: Date;
  revoked_at: Date | null;
}

const toBuyer = (row: BuyerRow): Buyer => ({
  id: row.id,
  name: row.name,
  email: row.email,
  createdAt: row.created_at.toISOString(),
});

const toKeySummary = (row: ApiKeyRow): ApiKeySummary => ({
  id: row.id,
  buyerId: row.buyer_id,
  createdAt: row.created_at.toISOString(),
  revokedAt: row.revoked_at?.toISOString() ?? null,
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function newApiKey(): { id: string; secret: string; apiKey: string } {
  const id = randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 12);
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, apiKey: `glk_${id}_${secret}` };
}

export type ApiKeyCheck =
  | { ok: true; buyer: Buyer; keyId: string }
  | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' };

export function buyerRepository(db: Database) {
  const issueKey = async (tx: Queryable, buyerId: string) => {
    const key = newApiKey();
    const rows = await tx.query<ApiKeyRow>(
      'insert into api_keys (id, buyer_id, secret_sha256) values ($1, $2, $3) returning *',
      [key.id, buyerId, sha256(key.secret)],
    );
    const row = rows[0];
    if (!row) throw new Error('api key insert returned no row');
    return { summary: toKeySummary(row), apiKey: key.apiKey };
  };

  return {
    /** Creates a buyer with a first API key; the key's secret is only in the return value. */
    async create(input: BuyerCreate): Promise<IssuedApiKey> {
      return db.transaction(async (tx) => {
        const rows = await tx.query<BuyerRow>('insert into buyers (id, name, email) values ($1, $2, $3) returning *', [
          randomUUID(),
          input.name,
          input.email ?? null,
        ]);
        const buyerRow = rows[0];
        if (!buyerRow) throw new Error('buyer insert returned no row');
        const key = await issueKey(tx, buyerRow.id);
        return { buyer: toBuyer(buyerRow), key: key.summary, apiKey: key.apiKey };
      });
    },

    async issueKey(buyerId: string): Promise<IssuedApiKey | undefined> {
      return db.transaction(async (tx) => {
        const rows = await tx.query<BuyerRow>('select * from buyers where id = $1', [buyerId]);
        const buyerRow = rows[0];
        if (!buyerRow) return undefined;
        const key = await issueKey(tx, buyerId);
        return { buyer: toBuyer(buyerRow), key: key.summary, apiKey: key.apiKey };
      });
    },

    /** Revokes a key; undefined when there is no such key. Revoking twice keeps the first time. */
    async revokeKey(keyId: string): Promise<ApiKeySummary | undefined> {
      const rows = await db.query<ApiKeyRow>(
        'update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 returning *',
        [keyId],
      );
      return rows[0] ? toKeySummary(rows[0]) : undefined;
    },

    async list(): Promise<Array<Buyer & { keys: ApiKeySummary[] }>> {
      const buyers = await db.query<BuyerRow>('select * from buyers order by created_at');
      const keys = await db.query<ApiKeyRow>('select * from api_keys order by created_at');
      return buyers.map((row) => ({
        ...toBuyer(row),
        keys: keys.filter((key) => key.buyer_id === row.id).map(toKeySummary),
      }));
    },

    /** Checks a presented API key in constant time against the stored hash. */
    async checkApiKey(apiKey: string): Promise<ApiKeyCheck> {
      const match = apiKeyPattern.exec(apiKey);
      if (!match) return { ok: false, reason: 'malformed' };
      const [, id, secret] = match as unknown as [string, string, string];
      const rows = await db.query<
        ApiKeyRow & { buyer_name: string; buyer_email: string | null; buyer_created_at: Date }
      >(
        `select k.*, b.name as buyer_name, b.email as buyer_email, b.created_at as buyer_created_at
         from api_keys k join buyers b on b.id = k.buyer_id where k.id = $1`,
        [id],
      );
      const row = rows[0];
      if (!row) return { ok: false, reason: 'unknown' };
      const presented = Buffer.from(sha256(secret), 'hex');
      const stored = Buffer.from(row.secret_sha256, 'hex');
      if (presented.length !== stored.length || !timingSafeEqual(presented, stored))
        return { ok: false, reason: 'unknown' };
      if (row.revoked_at) return { ok: false, reason: 'revoked' };
      return {
        ok: true,
        keyId: row.id,
        buyer: toBuyer({
          id: row.buyer_id,
          name: row.buyer_name,
          email: row.buyer_email,
          created_at: row.buyer_created_at,
        }),
      };
    },
  };
}
