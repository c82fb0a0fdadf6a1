/**
 * The rules of audits drawn after upload, as numbers and pure functions (audits.ts applies them).
 *
 * Each device's accepted pages wait, pending, in its pool. The server draws audits uniformly at random
 * from that pool and has another device (or itself) fetch the audited page again. A pending page is
 * verified once `passesToVerify` audits drawn AFTER its upload have passed for its device; a failed
 * audit rejects the device's whole pending pool. A device that fabricates a share f of its pages passes
 * one audit with probability 1 − f, so k audits in a row with probability (1 − f)^k: with k = 21,
 * a device fabricating a fifth of its pages gets any page verified with probability 0.8^21 < 0.01, and
 * one fabricating half of them with probability 0.5^21 < 1e-6. Audits drawn after a page cannot be
 * anticipated when the page is uploaded, so the bound holds for every page, whatever the device knows.
 */

/** Passed audits drawn after a page that verify it: the least k with 0.8^k ≤ 0.01. */
export const passesToVerify = 21;

/** The fabricated share the rule is sized for, and the chance it must catch it with. */
export const auditBound = { fabricatedShare: 0.2, catchProbability: 0.99 } as const;

/** Probability that a device fabricating share `f` of its pages passes `k` independent audits. */
export function chanceToPass(fabricatedShare: number, k: number = passesToVerify): number {
  return (1 - fabricatedShare) ** k;
}

export interface AuditSettings {
  /** Share of a device's accepted pages that draw an audit, for an established, trusted device. */
  rate: number;
  /** The rate for a new device: one with fewer than `newDeviceAudits` passed audits. */
  newDeviceRate: number;
  newDeviceAudits: number;
  /** The rate for a device whose trust is below `lowTrust`. */
  lowTrustRate: number;
  lowTrust: number;
  /** An audit no other device has delivered after this many seconds is done by the server itself. */
  serverAfterSeconds: number;
  /** Pending pages this old, of a device with no audit under way, draw another audit (so a pool always settles). */
  settleAfterSeconds: number;
  /** Share of audits two devices agreed on that the server judges too (against collusion). */
  spotCheckRate: number;
  /** Where the draws' randomness comes from (tests pass a seeded one). */
  random?: () => number;
}

export const defaultAuditSettings: AuditSettings = {
  rate: 0.1,
  newDeviceRate: 0.3,
  newDeviceAudits: 21,
  lowTrustRate: 0.5,
  lowTrust: 0.3,
  serverAfterSeconds: 600,
  settleAfterSeconds: 300,
  spotCheckRate: 0.1,
};

/** The share of a device's new pages that draw an audit: higher for new and for low-trust devices. */
export function auditRate(trust: number, passedAudits: number, settings: AuditSettings): number {
  let rate = settings.rate;
  if (passedAudits < settings.newDeviceAudits) rate = Math.max(rate, settings.newDeviceRate);
  if (trust < settings.lowTrust) rate = Math.max(rate, settings.lowTrustRate);
  return Math.min(1, rate);
}

/** How many of `pages` new pages draw an audit: each with probability `rate` (a binomial draw). */
export function auditsToDraw(pages: number, rate: number, random: () => number): number {
  let draws = 0;
  for (let i = 0; i < pages; i += 1) if (random() < rate) draws += 1;
  return draws;
}

/** A device's pages are verified only while its trust is at least this. */
export const trustToVerify = 0.5;

/** What one passed audit adds to trust; 25 of them take a new device (trust 0) to `trustToVerify`. */
export const trustPerPass = 0.02;

/**
 * Trust after a check: a pass adds 0.02, a failure takes it to 0. New devices start at 0. So a device
 * earns only after 25 audits of distinct pages passed with no failure between: a device fabricating a
 * fifth of its pages manages that with probability 0.8^25 < 0.004 each time it tries.
 */
export function nextTrust(trust: number, passed: boolean): number {
  return passed ? Math.min(1, trust + trustPerPass) : 0;
}
