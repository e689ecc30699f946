// Runs the receipt gas benchmark (keeper/bench/gas.ts) in its smallest mode, so the script cannot silently rot:
// every table is there and every figure is in a plausible range.
import { describe, expect, it } from 'vitest';
import { marginal, runGasBench, type BenchResult } from '../bench/gas.js';

describe('make bench (receipt gas on anvil), smallest mode', () => {
  let result: BenchResult;

  it('runs with books of 10 per side and batches of 10 and 30', async () => {
    result = await runGasBench({ maxBook: 10, batches: [10, 30], verify: false, log: () => undefined });
    expect(result.placeOrder).toHaveLength(10); // 5 positions x 2 sides
    expect(result.hostile).toHaveLength(12); // 6 hints x 2 sides
  }, 60_000);

  it('reports plausible placeOrder figures', () => {
    for (const row of result.placeOrder) expect(row.gasUsed).toBeGreaterThan(40_000);
    for (const row of result.placeOrder) expect(row.gasUsed).toBeLessThan(200_000);
    // With a 10-order book a hostile hint walks a few orders at most: more than no walk, far below 1M.
    for (const row of result.hostile) expect(row.gasUsed).toBeGreaterThan(40_000);
    for (const row of result.hostile) expect(row.gasUsed).toBeLessThan(1_000_000);
  });

  it('reports plausible per-step batch figures, and the worst settle at least the typical', () => {
    const perStep = (operation: string, worst: boolean) => {
      const row = result.batches.find((r) => r.operation === operation && r.worst === worst);
      if (!row) throw new Error(`no ${operation} row`);
      return marginal(row, 'gasUsed').perStep;
    };
    for (const row of result.batches) {
      const { perStep: step, fixed } = marginal(row, 'gasUsed');
      expect(step).toBeGreaterThan(10_000);
      expect(step).toBeLessThan(120_000);
      expect(fixed).toBeGreaterThan(21_000);
      expect(marginal(row, 'gasLimit').perStep).toBeGreaterThanOrEqual(step - 1);
    }
    expect(perStep('settle', true)).toBeGreaterThan(perStep('settle', false));
    for (const limit of result.limits) {
      expect(limit.maxUnderCap).toBeGreaterThan(50);
      expect(limit.maxUnderCap).toBeLessThan(2_000);
      expect(limit.maxUnderChainlink).toBeLessThan(limit.maxUnderCap);
    }
  });

  it('prints the markdown tables', () => {
    for (const heading of ['placeOrder, findHint hint', 'mid-book price', 'batch (receipt gasUsed)', 'largest batch']) {
      expect(result.markdown).toContain(heading);
    }
    expect(result.markdown).toMatch(/\| 10, buy \| \d{2},\d{3} \|/);
  });
});
