import type { ErrorBody } from '@protocol/errors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface AdmissionSettings {
  /** API requests worked on at once; 0 turns admission control off. */
  maxRequestsInFlight: number;
  /** The longest a request waits in line for a place before it is shed. */
  maxQueueWaitMs: number;
  /** Retry-After of a shed request is this many seconds, plus up to as many again at random. */
  retryAfterSeconds: number;
}

interface Waiter {
  admit: () => void;
}

/** At most this many requests per place wait in line; beyond it a request is shed at once. */
const linePerPlace = 4;

/**
 * Only the API is admitted: /health, the console's files and the docs never wait behind it, nor does the
 * operator (`/v1/admin/…`), who must be able to pause a campaign while devices overload the server. By the
 * matched route, not the URL as sent, which may spell the same route differently (`/%761/…`).
 */
const isAdmitted = (request: FastifyRequest) => {
  const route = request.routeOptions.url ?? '';
  return route.startsWith('/v1/') && !route.startsWith('/v1/admin/');
};

/**
 * Admission control: at most `maxRequestsInFlight` API requests are worked on at once; the next ones
 * wait in line, first come first served, and a request that waited `maxQueueWaitMs` without a place (or
 * finds the line full) is answered 503 `overloaded` with a Retry-After. Past capacity, a request let in
 * only queues for a database connection or a lock and makes every other request slower; turning it away
 * early keeps the admitted ones fast and tells the device (which keeps Retry-After) when to come back.
 *
 * A place is taken once the body has arrived (the first preValidation hook, before the signature is
 * checked or the body decoded), so a client that sends its body slowly holds a socket, not a place; and
 * it is given back when the answer is ready to go (onSend: the database work is done, and a slow reader
 * of a long download holds no place), or when the client went away first. Whichever comes first gives it
 * back, once.
 */
export function setupAdmission(app: FastifyInstance, settings: AdmissionSettings): void {
  if (settings.maxRequestsInFlight <= 0) return;
  let inFlight = 0;
  const line: Waiter[] = [];
  const holding = new WeakSet<FastifyRequest>();

  /** Hands a finished request's place to the first in line, or frees it; only once per request. */
  const release = (request: FastifyRequest) => {
    if (!holding.delete(request)) return;
    const next = line.shift();
    if (next) next.admit();
    else inFlight -= 1;
  };
  const holdPlace = (request: FastifyRequest, reply: FastifyReply) => {
    holding.add(request);
    // Backstops for a request that never reaches onSend: the client left while it was being served.
    reply.raw.once('close', () => release(request));
  };
  /** Waits for a place: 'admitted', 'timeout' after maxQueueWaitMs, or 'gone' when the client leaves first. */
  const waitForPlace = (reply: FastifyReply) =>
    new Promise<'admitted' | 'timeout' | 'gone'>((resolve) => {
      const leave = (outcome: 'timeout' | 'gone') => {
        const at = line.indexOf(waiter);
        if (at >= 0) line.splice(at, 1);
        clearTimeout(timer);
        reply.raw.off('close', gone);
        resolve(outcome);
      };
      const gone = () => leave('gone');
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(timer);
          reply.raw.off('close', gone);
          resolve('admitted');
        },
      };
      const timer = setTimeout(() => leave('timeout'), settings.maxQueueWaitMs);
      reply.raw.once('close', gone);
      line.push(waiter);
    });

  app.addHook('preValidation', async (request, reply) => {
    if (!isAdmitted(request)) return;
    if (inFlight < settings.maxRequestsInFlight) {
      inFlight += 1;
      holdPlace(request, reply);
      return;
    }
    const lineFull = line.length >= settings.maxRequestsInFlight * linePerPlace;
    const outcome =
      settings.maxQueueWaitMs > 0 && !lineFull && !reply.raw.closed ? await waitForPlace(reply) : 'timeout';
    if (outcome === 'admitted') {
      // The place came from a finished request (release did not free it), so it is this one's now.
      holdPlace(request, reply);
      return;
    }
    // Nobody is left to answer: nothing runs for a client that left while it waited.
    if (outcome === 'gone') return reply.hijack();
    const seconds = settings.retryAfterSeconds + Math.floor(Math.random() * (settings.retryAfterSeconds + 1));
    // Retry-After is spread out so the devices turned away together do not all come back together.
    return reply
      .status(503)
      .header('retry-after', seconds)
      .send({
        code: 'overloaded',
        message: `The server is at capacity (${settings.maxRequestsInFlight} requests in progress and none finished within ${settings.maxQueueWaitMs} ms); retry in ${seconds} s.`,
      } satisfies ErrorBody);
  });
  app.addHook('onSend', async (request) => {
    release(request);
  });
  app.addHook('onRequestAbort', async (request) => {
    release(request);
  });
}
