import { BaseError, errorBodySchema } from '@protocol/errors';
import type { z } from 'zod';

/** Talks to a running server's admin API with the operator token. */
export function adminClient(serverUrl: string, operatorToken: string) {
  const call = async <Schema extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: Schema,
    body?: unknown,
  ): Promise<z.infer<Schema>> => {
    let response: Response;
    try {
      response = await fetch(new URL(path, serverUrl), {
        method,
        headers: {
          authorization: `Bearer ${operatorToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (cause) {
      throw new BaseError(
        'server_unreachable',
        `No Gleaner server answered at ${serverUrl}. Is it running (npm start)?`,
        {
          cause,
        },
      );
    }
    const payload: unknown = await response.json().catch(() => undefined);
    if (!response.ok) {
      const error = errorBodySchema.safeParse(payload);
      if (error.success) throw BaseError.fromBody(error.data);
      throw new BaseError('server_rejected', `The server answered ${response.status} to ${method} ${path}.`);
    }
    return schema.parse(payload);
  };
  return { call };
}
