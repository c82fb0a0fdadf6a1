import {
  datasetCreateSchema,
  datasetListQuerySchema,
  datasetListSchema,
  datasetSchema,
  datasetUrlsQuerySchema,
  datasetUrlsSchema,
  rowProofSchema,
} from '@protocol/datasets';
import { BaseError, errorBodySchema } from '@protocol/errors';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../app-context';
import { datasetFileKey } from '../datasets/dataset-build';
import { datasetRepository } from '../datasets/dataset-repository';
import { datasetService } from '../datasets/dataset-service';
import type { DatasetSettings } from '../datasets/dataset-settings';
import { verifyDownload } from '../datasets/download-urls';
import { sendStoredFile } from '../datasets/serve-file';
import { buyerAuth } from '../plugins/buyer-auth';

/** Dataset ids in lower case, however the URL spells them: storage keys and signatures use that one spelling. */
const datasetId = z.uuid().transform((id) => id.toLowerCase());
const datasetParams = z.object({ datasetId });
const fileParams = z.object({ datasetId, '*': z.string().min(1).max(1024) });

/** Buyers' datasets: create (a durable build), list, read, cancel, delete, download, and prove rows. */
export const datasetRoutes: FastifyPluginAsyncZod<
  AppContext & { datasets: DatasetSettings; onDatasetCreated: () => void }
> = async (app, { db, datasets: settings, onDatasetCreated }) => {
  const datasets = datasetService(db, settings);
  const common = { tags: ['datasets'], security: [{ apiKey: [] }] };
  const buyerOf = (request: { buyer: { id: string } | null }) => {
    if (!request.buyer) throw new Error('buyer auth did not run');
    return request.buyer.id;
  };

  app.post(
    '/v1/datasets',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary:
          'Build a dataset from a campaign (pages) or a project (labels): a frozen snapshot, built in the background; Parquet always, JSONL.gz and WARC on request',
        body: datasetCreateSchema,
        response: { 201: datasetSchema, 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const created = await datasets.create(buyerOf(request), request.body);
      onDatasetCreated();
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/v1/datasets',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary: "The buyer's datasets, newest first",
        querystring: datasetListQuerySchema,
        response: { 200: datasetListSchema, 400: errorBodySchema, 401: errorBodySchema },
      },
    },
    async (request) => datasets.list(buyerOf(request), request.query.before, request.query.limit),
  );

  app.get(
    '/v1/datasets/:datasetId',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary:
          'A dataset: state, build progress, and once ready its files (path, bytes, rows, sha256), stats and Merkle root',
        params: datasetParams,
        response: { 200: datasetSchema, 401: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => datasets.get(buyerOf(request), request.params.datasetId),
  );

  app.post(
    '/v1/datasets/:datasetId/cancel',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary: 'Cancel a queued or building dataset (409 once it has ended)',
        params: datasetParams,
        response: { 200: datasetSchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request) => datasets.cancel(buyerOf(request), request.params.datasetId),
  );

  app.delete(
    '/v1/datasets/:datasetId',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary: 'Delete a dataset and its files; its download URLs stop working',
        params: datasetParams,
        response: { 204: z.null(), 401: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      await datasets.remove(buyerOf(request), request.params.datasetId);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/datasets/:datasetId/urls',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary:
          'Pre-signed, expiring download URLs for every file: pandas, DuckDB and `datasets` read them with no header',
        params: datasetParams,
        querystring: datasetUrlsQuerySchema,
        response: { 200: datasetUrlsSchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request) => {
      // Absolute, as the buyer reached this server (behind a proxy, as it forwarded): pasted into pandas,
      // DuckDB or `datasets` as they are.
      const origin = `${request.protocol}://${request.host}`;
      return datasets.urls(buyerOf(request), request.params.datasetId, request.query.expiresIn, origin);
    },
  );

  app.get(
    '/v1/datasets/:datasetId/files/*',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary: 'Download a file of a ready dataset with the API key (Range, ETag and HEAD supported)',
        params: fileParams,
      },
    },
    async (request, reply) => {
      const path = request.params['*'];
      const key = await datasets.fileKey(buyerOf(request), request.params.datasetId, path);
      return sendStoredFile(request, reply, settings.storage, key, { fileName: path.split('/').at(-1) ?? path });
    },
  );

  app.get(
    '/v1/datasets/:datasetId/rows/:n/proof',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary:
          "Row n (0-based, in file order across shards) as published, and its inclusion proof against the dataset's Merkle root",
        params: z.object({
          datasetId,
          n: z
            .string()
            .regex(/^\d{1,15}$/, 'a row number in decimal digits, such as 0 or 41')
            .transform(Number),
        }),
        response: { 200: rowProofSchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request) => datasets.proof(buyerOf(request), request.params.datasetId, request.params.n),
  );

  app.get(
    '/v1/files/:datasetId/*',
    {
      schema: {
        tags: ['datasets'],
        summary:
          'A pre-signed download (from /v1/datasets/{id}/urls): no header needed; 403 when expired or altered (Range, ETag and HEAD supported)',
        params: fileParams,
        querystring: z.object({ expires: z.string().max(20).optional(), signature: z.string().max(200).optional() }),
      },
    },
    async (request, reply) => {
      const path = request.params['*'];
      const { datasetId } = request.params;
      const verdict = verifyDownload(
        { datasetId, path, expires: request.query.expires, signature: request.query.signature },
        settings.urlSecret,
      );
      if (verdict !== 'ok') {
        throw new BaseError(
          'download_url_invalid',
          verdict === 'expired'
            ? 'This download URL has expired: ask for new ones at /v1/datasets/{id}/urls.'
            : 'This download URL is not valid (altered or incomplete): ask for new ones at /v1/datasets/{id}/urls.',
        );
      }
      const record = await datasetRepository(db).findById(datasetId);
      if (record?.state !== 'ready' || !record.files.some((file) => file.path === path)) {
        throw new BaseError('not_found', `Dataset ${datasetId} has no file ${path} (deleted?).`);
      }
      return sendStoredFile(request, reply, settings.storage, datasetFileKey(datasetId, path), {
        fileName: path.split('/').at(-1) ?? path,
      });
    },
  );
};
