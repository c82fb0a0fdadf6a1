import { BaseError, type ErrorBody, httpStatusOf } from '@protocol/errors';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';

/**
 * The one error handler: 4xx answers say exactly what was wrong with the input,
 * 5xx answers are masked and the real error is logged with the request id.
 */
export function setupErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof BaseError) {
      const status = httpStatusOf(error.code);
      if (status >= 500) request.log.error({ err: error }, 'request failed');
      return reply.status(status).send(error.toBody());
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = error.validationContext ?? 'body';
      const issues = error.validation.map((issue) => ({
        path: `${where}${issue.instancePath.replaceAll('/', '.')}`,
        message: issue.message ?? 'is invalid',
      }));
      const body: ErrorBody = {
        code: 'bad_request',
        message: `Invalid request ${where}: ${issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}`,
        details: { issues },
      };
      return reply.status(400).send(body);
    }
    if (isResponseSerializationError(error)) {
      request.log.error({ err: error, issues: error.cause.issues }, 'response did not match its schema');
      return reply.status(500).send({ code: 'internal_error', message: `Internal error (request ${request.id}).` });
    }
    const status = error.statusCode ?? 500;
    if (status === 413) {
      return reply.status(413).send({ code: 'payload_too_large', message: error.message } satisfies ErrorBody);
    }
    if (status === 404) {
      return reply.status(404).send({ code: 'not_found', message: error.message } satisfies ErrorBody);
    }
    if (status >= 400 && status < 500) {
      return reply.status(status).send({ code: 'bad_request', message: error.message } satisfies ErrorBody);
    }
    request.log.error({ err: error }, 'request failed');
    return reply
      .status(500)
      .send({ code: 'internal_error', message: `Internal error (request ${request.id}).` } satisfies ErrorBody);
  });

  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send({ code: 'not_found', message: `No route for ${request.method} ${request.url}.` } satisfies ErrorBody);
  });
}
