import { describe, expect, it } from 'vitest';
import { seededRandom } from '../aggregation/synthetic-crowd';
import {
  auditBound,
  auditRate,
  auditsToDraw,
  chanceToPass,
  defaultAuditSettings,
  nextTrust,
  passesToVerify,
  trustPerPass,
  trustToVerify,
} from './audit-rules';

describe('the audit rules', () => {
  it('needs the fewest passed audits that catch a fifth-fabricator with probability 0.99', () => {
    const { fabricatedShare, catchProbability } = auditBound;
    expect(1 - chanceToPass(fabricatedShare, passesToVerify)).toBeGreaterThanOrEqual(catchProbability);
    expect(1 - chanceToPass(fabricatedShare, passesToVerify - 1)).toBeLessThan(catchProbability);
    // More fabrication is caught sooner still.
    expect(chanceToPass(0.5)).toBeLessThan(1e-6);
    expect(chanceToPass(1)).toBe(0);
  });

  it('takes a new or caught device 25 passes in a row to earn, and a failure back to nothing', () => {
    let trust = 0;
    let passes = 0;
    while (trust < trustToVerify - 1e-9) {
      trust = nextTrust(trust, true);
      passes += 1;
    }
    expect(passes).toBe(Math.round(trustToVerify / trustPerPass));
    expect(passes).toBe(25);
    expect(nextTrust(0.9, false)).toBe(0);
    expect(nextTrust(0.995, true)).toBe(1);
  });

  it('audits new and low-trust devices more', () => {
    const settings = defaultAuditSettings;
    expect(auditRate(0.9, 100, settings)).toBe(settings.rate);
    expect(auditRate(0.9, 0, settings)).toBe(settings.newDeviceRate);
    expect(auditRate(0.1, 100, settings)).toBe(settings.lowTrustRate);
  });

  it('draws each new page for audit with the rate’s probability', () => {
    const random = seededRandom(3);
    const draws = auditsToDraw(100_000, 0.1, random);
    expect(draws).toBeGreaterThan(9_700);
    expect(draws).toBeLessThan(10_300);
    expect(auditsToDraw(50, 0, random)).toBe(0);
    expect(auditsToDraw(50, 1, random)).toBe(50);
  });
});
