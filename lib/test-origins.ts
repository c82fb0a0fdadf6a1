import { logger } from './logger';

/**
 * Parses the build-time list of test origins (comma-separated). Only exact `http://127.0.0.1:PORT`
 * origins count, as on the server; anything else is dropped (and logged).
 */
export function parseTestOrigins(text: string | undefined): string[] {
  const origins: string[] = [];
  for (const entry of (text ?? '').split(',')) {
    const origin = entry.trim();
    if (!origin) continue;
    if (/^http:\/\/127\.0\.0\.1:\d{1,5}$/.test(origin) && new URL(origin).origin === origin) origins.push(origin);
    else logger.warn(`Ignored test origin "${origin}": only exact http://127.0.0.1:PORT origins are allowed.`);
  }
  return origins;
}

/** The origins this build may fetch although the URL rules forbid them: none unless built with GLEANER_TEST_ORIGINS. */
export const buildTestOrigins: readonly string[] = parseTestOrigins(import.meta.env.GLEANER_TEST_ORIGINS);
