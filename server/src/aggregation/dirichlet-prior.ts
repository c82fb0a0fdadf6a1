/** ψ(x) = d/dx ln Γ(x) for x > 0: the recurrence up to 6, then the asymptotic series (error below 1e-12). */
export function digamma(x: number): number {
  let shift = 0;
  let at = x;
  while (at < 6) {
    shift -= 1 / at;
    at += 1;
  }
  const f = 1 / (at * at);
  return shift + Math.log(at) - 0.5 / at - f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))));
}

/** Bounds on a fitted pseudo-count: above 0 so no cell is ever impossible, finite when workers do not differ. */
const least = 1e-3;
const most = 1e4;

/**
 * Fits one Dirichlet (all K pseudo-counts) to many workers' count rows by maximum marginal likelihood
 * (the Dirichlet-multinomial; Minka's fixed point), updating `alpha` in place from its current value.
 * `counts` holds `rows` rows of K cells starting at `offset`, one row every `stride` cells: the same
 * true class across workers. Soft (fractional) counts are allowed. Returns the iterations used.
 */
export function fitDirichlet(
  alpha: Float64Array,
  counts: Float64Array,
  layout: { offset: number; stride: number; rows: number },
  options: { maxIterations: number; tolerance: number },
): number {
  const classCount = alpha.length;
  const totals = new Float64Array(layout.rows);
  // Per cell, how many workers have a count in it: Σ_w ψ(α_l) over them, the rest add exactly 0.
  const used = new Float64Array(classCount);
  for (let w = 0; w < layout.rows; w += 1) {
    let total = 0;
    for (let l = 0; l < classCount; l += 1) total += counts[layout.offset + w * layout.stride + l] as number;
    totals[w] = total;
    if (total < 1e-9) continue;
    for (let l = 0; l < classCount; l += 1) {
      if ((counts[layout.offset + w * layout.stride + l] as number) > 1e-12) used[l] = (used[l] as number) + 1;
    }
  }
  const next = new Float64Array(classCount);
  for (let iteration = 1; iteration <= options.maxIterations; iteration += 1) {
    let strength = 0;
    for (let l = 0; l < classCount; l += 1) strength += alpha[l] as number;
    const digammaStrength = digamma(strength);
    let denominator = 0;
    next.fill(0);
    for (let w = 0; w < layout.rows; w += 1) {
      const total = totals[w] as number;
      // A worker who never met this class says nothing about how workers vary on it.
      if (total < 1e-9) continue;
      denominator += digamma(total + strength) - digammaStrength;
      const row = layout.offset + w * layout.stride;
      for (let l = 0; l < classCount; l += 1) {
        const count = counts[row + l] as number;
        if (count > 1e-12) next[l] = (next[l] as number) + digamma(count + (alpha[l] as number));
      }
    }
    if (denominator <= 0) return iteration;
    let change = 0;
    for (let l = 0; l < classCount; l += 1) {
      const a = alpha[l] as number;
      // Σ_w [ψ(n_wl + α_l) − ψ(α_l)]
      const numerator = (next[l] as number) - (used[l] as number) * digamma(a);
      const updated = Math.min(most, Math.max(least, (a * numerator) / denominator));
      change = Math.max(change, Math.abs(updated - a) / a);
      alpha[l] = updated;
    }
    if (change < options.tolerance) return iteration;
  }
  return options.maxIterations;
}
