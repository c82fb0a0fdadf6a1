import { z } from 'zod';
import { isoDateSchema, nameSchema } from './primitives';

/**
 * Datasets: frozen snapshots of a campaign's pages or a project's labels, built by a durable job and laid
 * out as Hugging Face expects (`data/train-0000N-of-0000M.parquet`, `README.md` card, `croissant.json`),
 * optionally with JSONL.gz and, for pages, WARC/1.1 with a CDXJ index.
 */

export const datasetFormatSchema = z.enum(['parquet', 'jsonl', 'warc']);
export type DatasetFormat = z.infer<typeof datasetFormatSchema>;

export const datasetSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('campaign'), campaignId: z.uuid() }),
  z.object({ kind: z.literal('project'), projectId: z.uuid() }),
]);
export type DatasetSource = z.infer<typeof datasetSourceSchema>;

/** A Hugging Face license identifier (`cc-by-4.0`, `odc-by`, `mit`, `other`, …), lower case. */
export const datasetLicenseSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9.+-]*$/, 'a Hugging Face license identifier such as cc-by-4.0, odc-by or other');

/** How a dataset's rows are chosen and cleaned; every removal and redaction is counted in the card. */
export const datasetOptionsSchema = z.object({
  license: datasetLicenseSchema.default('other'),
  /** `verified`: only pages (or items) whose verification passed; `all`: every stored row, with its state. */
  verification: z.enum(['verified', 'all']).default('verified'),
  /** Drop pages whose text is the same as an earlier page's (same text sha256). */
  removeExactDuplicates: z.boolean().default(true),
  /** Drop pages whose text is nearly the same as an earlier page's (the verification similarity measure). */
  removeNearDuplicates: z.boolean().default(false),
  /** Drop pages with fewer words than this. */
  minWords: z.number().int().min(0).max(1_000_000).default(0),
  /** Keep only pages in these languages (BCP 47 primary tags such as `en`); empty keeps all. */
  languages: z
    .array(
      z
        .string()
        .trim()
        .regex(/^[a-zA-Z]{2,3}$/, 'a language code such as en or fra'),
    )
    .max(50)
    .default([]),
  /** Replace e-mail addresses and phone numbers in text, titles and HTML with placeholders. */
  redactPii: z.boolean().default(true),
  /** Include the raw HTML column (only campaigns that kept it have any). */
  includeRawHtml: z.boolean().default(true),
});
export type DatasetOptions = z.infer<typeof datasetOptionsSchema>;

/** `POST /v1/datasets`. */
export const datasetCreateSchema = z.object({
  name: nameSchema.optional(),
  source: datasetSourceSchema,
  formats: z
    .array(datasetFormatSchema)
    .min(1, 'name at least one format')
    .max(3)
    .refine((formats) => new Set(formats).size === formats.length, 'each format once')
    .default(['parquet']),
  options: datasetOptionsSchema.default(datasetOptionsSchema.parse({})),
});
export type DatasetCreate = z.input<typeof datasetCreateSchema>;

export const datasetStateSchema = z.enum(['queued', 'building', 'ready', 'failed', 'cancelled']);
export type DatasetState = z.infer<typeof datasetStateSchema>;

export const datasetFileKindSchema = z.enum(['parquet', 'jsonl', 'warc', 'cdxj', 'card', 'croissant']);

export const datasetFileSchema = z.object({
  /** Path inside the dataset, as a Hugging Face repository would hold it: `data/train-00000-of-00002.parquet`. */
  path: z.string(),
  kind: datasetFileKindSchema,
  bytes: z.number().int().nonnegative(),
  /** Data rows (records for WARC); null for the card and the Croissant file. */
  rows: z.number().int().nonnegative().nullable(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type DatasetFile = z.infer<typeof datasetFileSchema>;

/** What cleaning did, counted in the card. */
export const datasetStatsSchema = z.object({
  /** Rows of the source as of the snapshot. */
  sourceRows: z.number().int().nonnegative(),
  notVerified: z.number().int().nonnegative(),
  exactDuplicates: z.number().int().nonnegative(),
  nearDuplicates: z.number().int().nonnegative(),
  tooShort: z.number().int().nonnegative(),
  otherLanguage: z.number().int().nonnegative(),
  emailsRedacted: z.number().int().nonnegative(),
  phonesRedacted: z.number().int().nonnegative(),
  /** Rows in the dataset. */
  rows: z.number().int().nonnegative(),
});
export type DatasetStats = z.infer<typeof datasetStatsSchema>;

export const datasetProgressSchema = z.object({
  /** What the build is doing now: `snapshot`, `cleaning`, `writing`, `publishing`, `done`. */
  phase: z.string(),
  rowsDone: z.number().int().nonnegative(),
  rowsTotal: z.number().int().nonnegative().nullable(),
});

export const datasetSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  source: datasetSourceSchema,
  formats: z.array(datasetFormatSchema),
  options: datasetOptionsSchema,
  state: datasetStateSchema,
  progress: datasetProgressSchema,
  /** Why the build failed, in words; null unless `failed`. */
  error: z.string().nullable(),
  createdAt: isoDateSchema,
  /** When the snapshot was taken: rows and verification states are as of this instant. */
  snapshotAt: isoDateSchema.nullable(),
  finishedAt: isoDateSchema.nullable(),
  /** Merkle root (0x…, 32 bytes) over the rows' leaves, in row order; null until ready. */
  merkleRoot: z.string().nullable(),
  stats: datasetStatsSchema.nullable(),
  /** Only once `ready`: a dataset is published whole or not at all. */
  files: z.array(datasetFileSchema),
});
export type Dataset = z.infer<typeof datasetSchema>;

export const datasetListQuerySchema = z.object({
  /** An opaque cursor from `next`. */
  before: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const datasetListSchema = z.object({
  datasets: z.array(datasetSchema),
  /** Pass as `before` for older datasets; null at the end. */
  next: z.string().nullable(),
});

/** `GET /v1/datasets/:id/urls`: pre-signed download links that need no header (absolute URLs). */
export const datasetUrlsQuerySchema = z.object({
  expiresIn: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86_400)
    .default(3600),
});

export const datasetUrlsSchema = z.object({
  expiresAt: isoDateSchema,
  files: z.array(z.object({ path: z.string(), url: z.string() })),
});
export type DatasetUrls = z.infer<typeof datasetUrlsSchema>;

const hex32Schema = z.string().regex(/^0x[0-9a-f]{64}$/);

/**
 * `GET /v1/datasets/:id/rows/:n/proof`: row `n` (0-based, in file order across shards) and its inclusion proof.
 * The leaf is OpenZeppelin's StandardMerkleTree leaf for the value `[rowHash]` of type `bytes32`
 * (keccak256(keccak256(abi.encode(rowHash)))); pairs are hashed sorted, as OpenZeppelin's MerkleProof does.
 */
export const rowProofSchema = z.object({
  row: z.number().int().nonnegative(),
  /** The row's hash: keccak256 of its canonical JSON (see `canonicalRowJson`). */
  rowHash: hex32Schema,
  leaf: hex32Schema,
  proof: z.array(hex32Schema),
  root: hex32Schema,
  /** The row as stored in the dataset (the canonical JSON's object). */
  values: z.record(z.string(), z.unknown()),
});
export type RowProof = z.infer<typeof rowProofSchema>;
