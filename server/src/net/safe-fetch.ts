import { lookup as dnsLookup } from 'node:dns/promises';
import { type ClientRequest, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { checkUrl, classifyIp } from '@protocol/url-guard';

/** One address a hostname resolves to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a hostname (no brackets) to every address it has; rejects when it has none. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface SafeFetchOptions {
  /** Bytes of body kept; the socket is closed as soon as more arrive. */
  maxBytes: number;
  /** One deadline for the whole fetch: every hop's DNS, connect, headers and body. */
  timeoutMs: number;
  /** Redirect hops followed after the first request (default 5). */
  maxRedirects?: number;
  /** A body longer than maxBytes is cut to maxBytes (`truncated: true`, the default) or refused as `too_large`. */
  onTooLarge?: 'truncate' | 'fail';
  /** Exact `http://127.0.0.1:PORT` origins a test may fetch although the URL rules forbid them. */
  allowedTestOrigins?: readonly string[];
  /** Extra request headers (e.g. user-agent); host, connection and accept-encoding are always set here. */
  headers?: Record<string, string>;
  /** The resolver, injectable for tests; defaults to the system resolver (`dns.lookup` with all addresses). */
  lookup?: Resolver;
}

export type SafeFetchFailureCode =
  /** The URL breaks the rules of `@protocol/url-guard`. */
  | 'url_blocked'
  /** The hostname (of the URL or a redirect hop) resolves to at least one non-public address. */
  | 'private_address'
  | 'dns_failed'
  /** A redirect's Location is invalid or breaks the URL rules. */
  | 'redirect_blocked'
  | 'too_many_redirects'
  | 'timeout'
  | 'network_error'
  /** The body is longer than maxBytes and `onTooLarge` is 'fail'. */
  | 'too_large'
  /** The server compressed the body although it was asked for `identity`. */
  | 'unsupported_encoding';

export type SafeFetchResult =
  | {
      ok: true;
      status: number;
      headers: IncomingHttpHeaders;
      /** The URL of the last hop (after redirects), without fragment. */
      finalUrl: string;
      /** The checked address the last hop connected to. */
      address: string;
      body: Buffer;
      /** The server sent more than maxBytes; `body` holds the first maxBytes. */
      truncated: boolean;
    }
  | { ok: false; code: SafeFetchFailureCode; detail: string };

type Failure = Extract<SafeFetchResult, { ok: false }>;

const redirectStatuses = new Set([301, 302, 303, 307, 308]);

const fail = (code: SafeFetchFailureCode, detail: string): Failure => ({ ok: false, code, detail });

const systemResolver: Resolver = async (hostname) => {
  const addresses = await dnsLookup(hostname, { all: true, verbatim: true });
  return addresses.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/**
 * GETs a URL of the open web from the server without letting it reach a private network: every hop
 * passes the URL rules, its hostname is resolved once and every address must be public, and the
 * socket connects to that checked address (never resolving the name again), so DNS rebinding between
 * check and connect cannot redirect it. Redirects are followed by hand; the body is streamed and cut
 * at maxBytes. Network problems come back as `{ ok: false }`, never as exceptions.
 */
export async function safeFetch(url: string, options: SafeFetchOptions): Promise<SafeFetchResult> {
  const maxRedirects = options.maxRedirects ?? 5;
  const deadline = Date.now() + options.timeoutMs;
  const verdict = checkUrl(url, { allowedTestOrigins: options.allowedTestOrigins });
  if (!verdict.ok) return fail('url_blocked', verdict.reason);
  let target = new URL(url);
  target.hash = '';
  for (let redirects = 0; ; redirects += 1) {
    const hopLabel = redirects === 0 ? '' : `redirect to ${target.href}: `;
    const resolved = await resolveHop(target, options, deadline);
    if (!resolved.ok) return { ...resolved, detail: `${hopLabel}${resolved.detail}` };
    const outcome = await requestHop(target, resolved.address, options, deadline);
    if (outcome.kind === 'done') return outcome.result;
    if (redirects >= maxRedirects) {
      return fail('too_many_redirects', `Gave up after ${maxRedirects} redirects (last one to ${outcome.location}).`);
    }
    let next: URL;
    try {
      next = new URL(outcome.location, target);
    } catch {
      return fail('redirect_blocked', `HTTP ${outcome.status} redirect to an invalid URL: ${outcome.location}`);
    }
    next.hash = '';
    const hopVerdict = checkUrl(next.href, { allowedTestOrigins: options.allowedTestOrigins });
    if (!hopVerdict.ok) return fail('redirect_blocked', `redirect to ${next.href}: ${hopVerdict.reason}`);
    target = next;
  }
}

/**
 * The one address a hop may connect to: an IP literal as written (public, or an allowed test
 * origin), or the first address of a hostname whose every address is public.
 */
async function resolveHop(
  target: URL,
  options: SafeFetchOptions,
  deadline: number,
): Promise<{ ok: true; address: string } | Failure> {
  const hostname = target.hostname.replace(/^\[|\]$/g, '');
  if (isIP(hostname)) {
    if (options.allowedTestOrigins?.includes(target.origin)) return { ok: true, address: hostname };
    const kind = classifyIp(hostname);
    return kind === 'public'
      ? { ok: true, address: hostname }
      : fail('private_address', `${hostname} is a ${kind} address; only public addresses are fetched.`);
  }
  const resolver = options.lookup ?? systemResolver;
  let addresses: ResolvedAddress[];
  try {
    const answer = await withDeadline(resolver(hostname), deadline);
    if (answer === timedOut) return fail('timeout', `DNS lookup of ${hostname} did not finish in time.`);
    addresses = answer;
  } catch (error) {
    return fail('dns_failed', `DNS lookup of ${hostname} failed: ${describeError(error)}`);
  }
  const [first] = addresses;
  if (!first) return fail('dns_failed', `DNS lookup of ${hostname} returned no address.`);
  for (const { address } of addresses) {
    const kind = classifyIp(address);
    if (kind !== 'public') {
      return fail(
        'private_address',
        `${hostname} resolves to ${address} (${kind ?? 'not an IP address'}); only public addresses are fetched.`,
      );
    }
  }
  return { ok: true, address: first.address };
}

const timedOut = Symbol('timed out');

/** Waits for a promise until the deadline; the timer never outlives the wait. */
async function withDeadline<T>(promise: Promise<T>, deadline: number): Promise<T | typeof timedOut> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<typeof timedOut>((resolve) => {
    timer = setTimeout(() => resolve(timedOut), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

type HopOutcome = { kind: 'done'; result: SafeFetchResult } | { kind: 'redirect'; status: number; location: string };

/** One GET to the checked address, with the hostname kept for the Host header, SNI and the certificate check. */
function requestHop(target: URL, address: string, options: SafeFetchOptions, deadline: number): Promise<HopOutcome> {
  const hostname = target.hostname.replace(/^\[|\]$/g, '');
  const secure = target.protocol === 'https:';
  const maxBytes = options.maxBytes;
  return new Promise((resolve) => {
    let settled = false;
    let request: ClientRequest | undefined;
    const settle = (outcome: HopOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // One request per connection (agent: false): destroying it closes the socket, mid-body included.
      request?.destroy();
      resolve(outcome);
    };
    const done = (result: SafeFetchResult) => settle({ kind: 'done', result });
    const timer = setTimeout(
      () => done(fail('timeout', `No complete answer from ${target.origin} within ${options.timeoutMs} ms.`)),
      Math.max(0, deadline - Date.now()),
    );
    try {
      request = (secure ? httpsRequest : httpRequest)({
        // An IP literal as host: Node connects to it without any lookup of its own.
        host: address,
        port: target.port === '' ? (secure ? 443 : 80) : Number(target.port),
        path: `${target.pathname}${target.search}`,
        method: 'GET',
        agent: false,
        // TLS: SNI and the certificate must match the name, not the address ('' = no SNI for IP literals).
        servername: isIP(hostname) ? '' : hostname,
        headers: {
          ...options.headers,
          host: target.host,
          'accept-encoding': 'identity',
          connection: 'close',
        },
      });
    } catch (error) {
      done(fail('network_error', `${target.origin}: ${describeError(error)}`));
      return;
    }
    request.on('error', (error) =>
      done(fail('network_error', `${target.origin} (${address}): ${describeError(error)}`)),
    );
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (redirectStatuses.has(status) && location !== undefined) {
        settle({ kind: 'redirect', status, location });
        return;
      }
      const encoding = response.headers['content-encoding'];
      if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
        done(fail('unsupported_encoding', `${target.href} was sent with content-encoding ${encoding}.`));
        return;
      }
      const tooLarge = () =>
        fail('too_large', `${target.href} is larger than ${maxBytes} bytes; only ${maxBytes} are accepted.`);
      if (options.onTooLarge === 'fail' && Number(response.headers['content-length']) > maxBytes) {
        done(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      const success = (body: Buffer, truncated: boolean): SafeFetchResult => ({
        ok: true,
        status,
        headers: response.headers,
        finalUrl: target.href,
        address,
        body,
        truncated,
      });
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received <= maxBytes) return;
        done(
          options.onTooLarge === 'fail'
            ? tooLarge()
            : success(Buffer.concat(chunks, received).subarray(0, maxBytes), true),
        );
      });
      response.on('end', () => done(success(Buffer.concat(chunks, received), false)));
      response.on('error', (error) => done(fail('network_error', `${target.href}: ${describeError(error)}`)));
      response.on('close', () =>
        done(fail('network_error', `${target.href}: the connection closed before the body was complete.`)),
      );
    });
    request.end();
  });
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code} ${error.message}` : error.message;
}
