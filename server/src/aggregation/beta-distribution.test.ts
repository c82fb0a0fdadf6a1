import { describe, expect, it } from 'vitest';
import { betaProbabilityAboveHalf, fairCoinPValue, logGamma, regularizedIncompleteBeta } from './beta-distribution';

describe('logGamma', () => {
  it('matches factorials and Γ(1/2) = √π', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(20)).toBeCloseTo(Math.log(121645100408832000), 10);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    expect(logGamma(0.25)).toBeCloseTo(Math.log(3.625609908221908), 12);
  });
});

describe('regularizedIncompleteBeta', () => {
  it('agrees with closed forms: I_x(1,1) = x, I_x(a,1) = x^a, I_x(1,b) = 1 − (1−x)^b', () => {
    for (const x of [0.01, 0.2, 0.5, 0.77, 0.99]) {
      expect(regularizedIncompleteBeta(x, 1, 1)).toBeCloseTo(x, 12);
      expect(regularizedIncompleteBeta(x, 3.5, 1)).toBeCloseTo(x ** 3.5, 12);
      expect(regularizedIncompleteBeta(x, 1, 7)).toBeCloseTo(1 - (1 - x) ** 7, 12);
    }
  });

  it('is 1/2 at x = 1/2 for symmetric shapes, small and large', () => {
    for (const a of [0.5, 2, 30.5, 5000]) expect(regularizedIncompleteBeta(0.5, a, a)).toBeCloseTo(0.5, 10);
  });

  it('gives the arcsine law for Beta(1/2, 1/2)', () => {
    expect(regularizedIncompleteBeta(0.25, 0.5, 0.5)).toBeCloseTo((2 / Math.PI) * Math.asin(0.5), 12);
  });

  it('puts more mass above 1/2 when the first shape is larger', () => {
    expect(betaProbabilityAboveHalf(5.5, 1.5)).toBeGreaterThan(0.95);
    expect(betaProbabilityAboveHalf(1.5, 5.5)).toBeLessThan(0.05);
  });
});

describe('fairCoinPValue', () => {
  it('is the exact two-sided binomial test', () => {
    // P(X ≤ 1) for n = 10 is 11/1024; doubled for two sides.
    expect(fairCoinPValue(1, 10)).toBeCloseTo(22 / 1024, 12);
    expect(fairCoinPValue(9, 10)).toBeCloseTo(22 / 1024, 12);
    expect(fairCoinPValue(10, 10)).toBeCloseTo(2 / 1024, 12);
    expect(fairCoinPValue(5, 10)).toBe(1);
    expect(fairCoinPValue(0, 0)).toBe(1);
  });
});
