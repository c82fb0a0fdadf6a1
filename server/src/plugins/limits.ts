import fastifyRateLimit from '@fastify/rate-limit';
import fastifyUnderPressure from '@fastify/under-pressure';
import { BaseError, type ErrorBody } from '@protocol/errors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LimitSettings } from '../scraping-settings';
import { setupAdmission } from './admission';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Counts a signed request against its verified device's budget, and refuses it (429) when the
     * budget is spent. `deviceSigned` calls it right after the signature check, before the body is
     * inflated or parsed, so a device over its budget costs no more than an unsigned request.
     */
    spendDeviceBudget: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyContextConfig {
    /**
     * Requests to this route are counted per client IP before anything else runs (registration:
     * the one device route anyone can call with a fresh key).
     */
    limitPerIp?: boolean;
  }
}

/** How long a shed request is told to wait. */
export const overloadRetryAfterSeconds = 5;

/**
 * Limits on every door: registrations per client IP, signed requests per verified device, and
 * load shedding (503 + Retry-After) when more API requests arrive than the process works on at once
 * (admission.ts) or while the event loop lags or is saturated, instead of queueing.
 * Every refusal carries the project's error body and a Retry-After header.
 *
 * Shedding covers every route, /health included: under pressure /health answers the 503 at once,
 * without touching the database, naming the measure that is over. That is its truthful answer (a
 * load balancer stops sending this replica work until it recovers) and costs nothing.
 */
export async function setupLimits(app: FastifyInstance, limits: LimitSettings): Promise<void> {
  const thresholds = {
    delay: limits.maxEventLoopDelayMs,
    utilization: limits.maxEventLoopUtilization,
  };
  const shedding = thresholds.delay > 0 || thresholds.utilization > 0;
  const describePressure = (type: string, value: number | undefined): string => {
    if (type === fastifyUnderPressure.TYPE_EVENT_LOOP_DELAY)
      return `event loop delay ${Math.round(value ?? 0)} ms is over ${thresholds.delay} ms`;
    if (type === fastifyUnderPressure.TYPE_EVENT_LOOP_UTILIZATION)
      return `event loop busy ${Math.round((value ?? 0) * 100)}% of the time, over ${Math.round(thresholds.utilization * 100)}%`;
    return `${type} is over its limit`;
  };
  // Admission control (admission.ts): a bounded number of API requests at once, the rest wait briefly or are shed.
  setupAdmission(app, {
    maxRequestsInFlight: limits.maxRequestsInFlight,
    maxQueueWaitMs: limits.maxQueueWaitMs,
    retryAfterSeconds: overloadRetryAfterSeconds,
  });
  if (shedding) {
    await app.register(fastifyUnderPressure, {
      maxEventLoopDelay: thresholds.delay,
      maxEventLoopUtilization: thresholds.utilization,
      // Utilization over the last sample, not since boot: an hour of idling must not hide a saturated second.
      eventLoopUtilizationMode: 'interval',
      sampleInterval: 1000,
      // Answered here, not thrown: shedding is expected under load and must cost less than serving,
      // so no error log per refused request.
      pressureHandler: (_request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => {
        reply
          .status(503)
          .header('retry-after', overloadRetryAfterSeconds)
          .send({
            code: 'overloaded',
            message: `The server is overloaded (${describePressure(type, value)}); retry in ${overloadRetryAfterSeconds} s.`,
          } satisfies ErrorBody);
      },
    });
  }

  // No route gets the plugin's own hook (global: false); the two limiters below run where they must.
  // Counts live in this process (an LRU of recent callers): with N replicas a caller gets up to N
  // times the rate, still bounded.
  await app.register(fastifyRateLimit, { global: false });
  const refuse = (reply: FastifyReply, seconds: number, message: string): never => {
    reply.header('retry-after', Math.max(1, seconds));
    throw new BaseError('rate_limited', message);
  };

  if (limits.registrationsPerMinutePerIp > 0) {
    const perIp = app.createRateLimit({
      max: limits.registrationsPerMinutePerIp,
      timeWindow: 60_000,
      keyGenerator: (request) => request.ip,
    });
    // onRequest: before the body is read or its signature checked, so a flood costs almost nothing.
    app.addHook('onRequest', async (request, reply) => {
      if (!request.routeOptions.config.limitPerIp) return;
      const verdict = await perIp(request);
      if (verdict.isAllowed || !verdict.isExceeded) return;
      refuse(
        reply,
        verdict.ttlInSeconds,
        `Too many registrations from ${request.ip}: at most ${verdict.max} a minute; retry in ${verdict.ttlInSeconds} s.`,
      );
    });
  }

  if (limits.deviceRequestsPerMinute <= 0) {
    app.decorate('spendDeviceBudget', async () => {});
    return;
  }
  const perDevice = app.createRateLimit({
    max: limits.deviceRequestsPerMinute,
    timeWindow: 60_000,
    // Only ever the verified device (set once its signature checked out): keyed on a header,
    // anyone could spend a victim's quota by naming it.
    keyGenerator: (request) => {
      if (!request.device) throw new Error('per-device rate limit ran before device auth');
      return request.device;
    },
  });
  // One budget per device across every device route.
  app.decorate('spendDeviceBudget', async (request: FastifyRequest, reply: FastifyReply) => {
    const verdict = await perDevice(request);
    if (verdict.isAllowed || !verdict.isExceeded) return;
    refuse(
      reply,
      verdict.ttlInSeconds,
      `Device ${request.device} sent more than ${verdict.max} signed requests in a minute; retry in ${verdict.ttlInSeconds} s.`,
    );
  });
}
