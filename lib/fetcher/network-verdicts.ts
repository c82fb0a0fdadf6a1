import { checkUrl, classifyIp } from '@protocol/url-guard';
import { type FetchFailure, fetchFailure } from './fetch-failure';

/** Redirects a page fetch may follow; the next one aborts it (browsers themselves allow 20). */
export const maxRedirectHops = 5;

export interface NetworkPolicy {
  /** Exact origins a test build may fetch (and whose loopback address is expected); empty in production. */
  allowedTestOrigins: readonly string[];
}

function isTestOrigin(url: string, policy: NetworkPolicy): boolean {
  if (policy.allowedTestOrigins.length === 0 || !URL.canParse(url)) return false;
  return policy.allowedTestOrigins.includes(new URL(url).origin);
}

/**
 * Judges the address the browser actually connected to for `url` (webRequest `ip`): only public
 * unicast addresses are accepted, so a public name that resolves to a private address (DNS
 * rebinding) is caught. A test build's exact test origins are exempt: they are 127.0.0.1 by definition.
 */
export function judgeConnectedIp(url: string, ip: string | undefined, policy: NetworkPolicy): FetchFailure | null {
  if (isTestOrigin(url, policy)) return null;
  if (ip === undefined || ip === '') {
    return fetchFailure('private_ip', `The browser did not report which address answered ${url}, so it was not used.`);
  }
  const verdict = classifyIp(ip);
  if (verdict === 'public') return null;
  return fetchFailure(
    'private_ip',
    `${new URL(url).host} was served from ${ip}, a ${verdict ?? 'unrecognised'} address; the response was discarded.`,
  );
}

export interface RedirectHop {
  /** How many redirects this fetch has met so far, this one included. */
  count: number;
  /** The URL that answered with the redirect. */
  fromUrl: string;
  /** Where it points. */
  redirectUrl: string;
  /** The address that sent the redirect; absent for the browser's internal redirects (e.g. HSTS). */
  ip: string | undefined;
}

/** Judges one redirect hop: too many hops, a target the URL rules refuse, or a redirect sent from a non-public address. */
export function judgeRedirect(hop: RedirectHop, policy: NetworkPolicy): FetchFailure | null {
  if (hop.count > maxRedirectHops) {
    return fetchFailure('too_many_redirects', `More than ${maxRedirectHops} redirects; stopped at ${hop.redirectUrl}.`);
  }
  const target = checkUrl(hop.redirectUrl, { allowedTestOrigins: policy.allowedTestOrigins });
  if (!target.ok) return fetchFailure('redirect_blocked', `Redirect to ${hop.redirectUrl} refused: ${target.reason}`);
  if (hop.ip === undefined) return null;
  return judgeConnectedIp(hop.fromUrl, hop.ip, policy);
}
