import { buyerListQuerySchema } from '@protocol/campaigns';
import { BaseError, errorBodySchema } from '@protocol/errors';
import {
  itemsAddedSchema,
  labelerStandingSchema,
  labelingProjectsSchema,
  maxItemsPerRequest,
  projectCreatedSchema,
  projectCreateSchema,
  projectLabelersSchema,
  projectLabelsSchema,
  projectListSchema,
  projectSchema,
  taskLeaseRequestSchema,
  taskLeaseResponseSchema,
} from '@protocol/labeling';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../app-context';
import { buyerAuth } from '../plugins/buyer-auth';
import { deviceSigned } from '../plugins/device-auth';
import { checkJsonLinesShape, defaultBodyLimits } from '../plugins/request-body';
import { labelerStanding } from '../services/labeler-quality';
import { type ProjectAction, parseItemUpload, projectService } from '../services/project-service';
import { taskLeaseService } from '../services/task-lease-service';

const projectParams = z.object({ projectId: z.uuid() });

/** What each control does, as the API reference says it. */
const controlSummaries: Record<ProjectAction, string> = {
  pause:
    'Pause a project: no new labeling tasks until resumed; tasks already out may be labeled, and those labels are kept and paid',
  resume: 'Resume a paused project (409 conflict for a cancelled one)',
  cancel:
    'Cancel a project for good: its items are never handed out again (kept for the record); tasks already out may be labeled and are paid; it takes no more items',
};

/** Labeling: buyers' projects and items; labelers' task leases and standing. */
export const projectRoutes: FastifyPluginAsyncZod<AppContext> = async (app, context) => {
  const { db } = context;
  const projects = projectService(db, context.scraping);
  const tasks = taskLeaseService(db, context.scraping);
  const asBuyer = { onRequest: buyerAuth(db) };
  const buyerCommon = { tags: ['projects'], security: [{ apiKey: [] }] };
  const deviceCommon = { tags: ['labeling'], security: [{ deviceSignature: [] }] };
  const buyerOf = (request: { buyer: { id: string } | null }) => {
    if (!request.buyer) throw new Error('buyer auth did not run');
    return request.buyer.id;
  };
  const deviceOf = (request: { device: string | null }) => {
    if (!request.device) throw new Error('device auth did not run');
    return request.device;
  };

  // JSONL uploads of items: kept as text and split line by line, so one bad line is one rejected item.
  // Checked for depth and size like a JSON body, line by line, before any line is parsed.
  app.addContentTypeParser(
    ['application/x-ndjson', 'application/jsonl'],
    { parseAs: 'string' },
    (_request, body, done) => {
      const problem = checkJsonLinesShape(String(body), defaultBodyLimits);
      if (problem) done(new BaseError('payload_too_large', `The JSONL body is ${problem}.`), undefined);
      else done(null, body);
    },
  );

  app.post(
    '/v1/projects',
    {
      ...asBuyer,
      schema: {
        ...buyerCommon,
        summary: `Create a labeling project with at most ${maxItemsPerRequest} items (add more with /v1/projects/{id}/items); each bad item comes back with a reason, good ones are kept`,
        body: projectCreateSchema,
        response: { 201: projectCreatedSchema, 400: errorBodySchema, 401: errorBodySchema },
      },
    },
    async (request, reply) => reply.status(201).send(await projects.create(buyerOf(request), request.body)),
  );

  app.get(
    '/v1/projects/:projectId',
    {
      ...asBuyer,
      schema: {
        ...buyerCommon,
        summary: 'A project and its progress',
        params: projectParams,
        response: { 200: projectSchema, 401: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const project = await projects.get(buyerOf(request), request.params.projectId);
      if (!project) throw new BaseError('not_found', `No project ${request.params.projectId} for this buyer.`);
      return project;
    },
  );

  app.post(
    '/v1/projects/:projectId/items',
    {
      ...asBuyer,
      schema: {
        ...buyerCommon,
        summary: `Add at most ${maxItemsPerRequest} items per request: a JSON array, {"items": [...]}, or JSONL (application/x-ndjson)`,
        params: projectParams,
        body: z.unknown(),
        response: {
          200: itemsAddedSchema,
          400: errorBodySchema,
          401: errorBodySchema,
          404: errorBodySchema,
          409: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { items, unreadable } = parseItemUpload(request.body, request.headers['content-type']);
      const added = await projects.addItems(buyerOf(request), request.params.projectId, items);
      if (!added) throw new BaseError('not_found', `No project ${request.params.projectId} for this buyer.`);
      const rejected = [...added.rejected.filter((entry) => items[entry.index] !== undefined), ...unreadable];
      return { added: added.added, rejected: rejected.sort((a, b) => a.index - b.index) };
    },
  );

  app.get(
    '/v1/projects/:projectId/labelers',
    {
      ...asBuyer,
      schema: {
        ...buyerCommon,
        summary:
          'Each labeler of the project: labels given, gold answers and accuracy, whether their labels count, and agreement with the aggregate',
        params: projectParams,
        response: { 200: projectLabelersSchema, 401: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const labelers = await projects.labelers(buyerOf(request), request.params.projectId);
      if (!labelers) throw new BaseError('not_found', `No project ${request.params.projectId} for this buyer.`);
      return labelers;
    },
  );

  app.get(
    '/v1/projects/:projectId/labels',
    {
      ...asBuyer,
      schema: {
        ...buyerCommon,
        summary:
          'Each item with its content, its aggregated label with confidence, and every raw label (paged by item)',
        params: projectParams,
        querystring: z.object({
          after: z.coerce.number().int().nonnegative().default(0),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
        response: { 200: projectLabelsSchema, 401: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const labels = await projects.labels(buyerOf(request), request.params.projectId, request.query);
      if (!labels) throw new BaseError('not_found', `No project ${request.params.projectId} for this buyer.`);
      return labels;
    },
  );

  app.get(
    '/v1/projects',
    {
      ...asBuyer,
      schema: {
        ...buyerCommon,
        summary: "The buyer's projects with their progress, newest first (pass next as before for older ones)",
        querystring: buyerListQuerySchema,
        response: { 200: projectListSchema, 400: errorBodySchema, 401: errorBodySchema },
      },
    },
    async (request) => projects.list(buyerOf(request), request.query),
  );

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    app.post(
      `/v1/projects/:projectId/${action}`,
      {
        ...asBuyer,
        schema: {
          ...buyerCommon,
          summary: controlSummaries[action],
          params: projectParams,
          response: { 200: projectSchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
        },
      },
      async (request) => {
        const project = await projects.control(buyerOf(request), request.params.projectId, action);
        if (!project) throw new BaseError('not_found', `No project ${request.params.projectId} for this buyer.`);
        return project;
      },
    );
  }

  app.post(
    '/v1/tasks/lease',
    {
      ...deviceSigned(context),
      schema: {
        ...deviceCommon,
        summary:
          'Lease a few labeling tasks (never an item this labeler has seen), of one project when projectId is given',
        body: taskLeaseRequestSchema,
        response: { 200: taskLeaseResponseSchema, 401: errorBodySchema, 429: errorBodySchema },
      },
    },
    async (request) => ({
      tasks: await tasks.lease(deviceOf(request), request.body.max, request.body.projectId),
    }),
  );

  app.get(
    '/v1/tasks/projects',
    {
      ...deviceSigned(context),
      schema: {
        ...deviceCommon,
        summary:
          'The projects with work for this labeler, by name, with the crowd’s progress and the labeler’s own answers (lease with projectId to choose one)',
        response: { 200: labelingProjectsSchema, 401: errorBodySchema, 429: errorBodySchema },
      },
    },
    async (request) => tasks.projectsWithWork(deviceOf(request)),
  );

  app.get(
    '/v1/devices/me/labeling',
    {
      ...deviceSigned(context),
      schema: {
        ...deviceCommon,
        summary: 'The labeler’s accuracy on gold, whether their labels count, and label points',
        response: { 200: labelerStandingSchema, 401: errorBodySchema, 429: errorBodySchema },
      },
    },
    async (request) => labelerStanding(db, deviceOf(request)),
  );
};
