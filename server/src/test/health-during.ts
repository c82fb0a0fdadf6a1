import type { FastifyInstance } from 'fastify';

/** Runs `send` while /health is asked every 5 ms; returns the slowest /health answer and how long `send` took. */
export async function healthDuring(
  app: FastifyInstance,
  send: () => Promise<unknown>,
): Promise<{ slowestHealthMs: number; sendMs: number }> {
  let slowestHealthMs = 0;
  let done = false;
  const poll = (async () => {
    while (!done) {
      const started = performance.now();
      await app.inject({ method: 'GET', url: '/health' });
      slowestHealthMs = Math.max(slowestHealthMs, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  const started = performance.now();
  await send();
  const sendMs = performance.now() - started;
  done = true;
  await poll;
  return { slowestHealthMs, sendMs };
}
