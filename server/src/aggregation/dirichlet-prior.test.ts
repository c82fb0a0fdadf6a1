import { describe, expect, it } from 'vitest';
import { digamma, fitDirichlet } from './dirichlet-prior';
import { seededRandom } from './synthetic-crowd';

/** A Gamma(shape, 1) draw for an integer shape: the sum of `shape` unit exponentials. */
function gammaInteger(random: () => number, shape: number): number {
  let sum = 0;
  for (let j = 0; j < shape; j += 1) sum -= Math.log(1 - random());
  return sum;
}

/** `rows` count rows: each a Dirichlet(alpha) draw of probabilities, then `draws` answers from it. */
function dirichletMultinomialRows(alpha: number[], rows: number, draws: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const counts = new Float64Array(rows * alpha.length);
  for (let w = 0; w < rows; w += 1) {
    const gammas = alpha.map((a) => gammaInteger(random, a));
    const total = gammas.reduce((sum, value) => sum + value, 0);
    for (let d = 0; d < draws; d += 1) {
      let u = random() * total;
      let l = 0;
      while (l < alpha.length - 1 && u > (gammas[l] as number)) {
        u -= gammas[l] as number;
        l += 1;
      }
      counts[w * alpha.length + l] = (counts[w * alpha.length + l] as number) + 1;
    }
  }
  return counts;
}

function fitted(counts: Float64Array, classCount: number): Float64Array {
  const alpha = new Float64Array(classCount).fill(1);
  fitDirichlet(
    alpha,
    counts,
    { offset: 0, stride: classCount, rows: counts.length / classCount },
    {
      maxIterations: 2000,
      tolerance: 1e-7,
    },
  );
  return alpha;
}

describe('digamma', () => {
  it('matches known values', () => {
    expect(digamma(1)).toBeCloseTo(-0.5772156649, 9);
    expect(digamma(0.5)).toBeCloseTo(-1.963510026, 9);
    expect(digamma(10)).toBeCloseTo(2.251752589, 9);
  });
});

describe('fitDirichlet', () => {
  it('recovers the pseudo-counts that generated workers’ answer rows', () => {
    const alpha = fitted(dirichletMultinomialRows([1, 6, 3], 3000, 20, 5), 3);
    expect(alpha[0]).toBeGreaterThan(0.85);
    expect(alpha[0]).toBeLessThan(1.15);
    expect(alpha[1]).toBeGreaterThan(5.1);
    expect(alpha[1]).toBeLessThan(6.9);
    expect(alpha[2]).toBeGreaterThan(2.55);
    expect(alpha[2]).toBeLessThan(3.45);
  });

  it('pulls hard toward the crowd when workers do not differ, and weakly when they differ a lot', () => {
    const strength = (alpha: Float64Array) => alpha.reduce((sum, value) => sum + value, 0);
    const alike = fitted(dirichletMultinomialRows([300, 600], 500, 20, 6), 2);
    const varied = fitted(dirichletMultinomialRows([1, 2], 500, 20, 7), 2);
    expect(strength(alike)).toBeGreaterThan(100);
    expect(strength(varied)).toBeLessThan(6);
  });

  it('ignores workers who never met the class', () => {
    const counts = dirichletMultinomialRows([2, 2], 400, 10, 8);
    const withEmpty = new Float64Array(counts.length + 200);
    withEmpty.set(counts);
    expect(Array.from(fitted(withEmpty, 2))).toEqual(Array.from(fitted(counts, 2)));
  });
});
