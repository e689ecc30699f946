// Runs the receipt gas benchmark (keeper/bench/gas.ts) in its smallest mode, so the script cannot silently rot:
// every table is there and every figure is in a plausible range.
import { describe, expect, it } from 'vitest';
import { marginal, optionsFromEnv, runGasBench, SIGNED_GOAL_PER_ORDER, type BenchResult } from '../bench/gas.js';

describe('make bench (receipt gas on anvil), smallest mode', () => {
  let result: BenchResult;

  it('runs with books of 10 per side and batches of 10 and 30 (signed: 1, 10 and 30)', async () => {
    const options = { maxBook: 10, batches: [10, 30], signedBatches: [1, 10, 30], verify: false } as const;
    result = await runGasBench({ ...options, log: () => undefined });
    expect(result.placeOrder).toHaveLength(10); // 5 positions x 2 sides
    expect(result.hostile).toHaveLength(16); // 8 hints x 2 sides
    expect(result.signed?.rows.map((r) => [r.book, r.batch])).toEqual([
      [10, 1],
      [10, 10],
      [10, 30],
    ]);
  }, 90_000);

  it('reports plausible placeOrder figures', () => {
    for (const row of result.placeOrder) expect(row.gasUsed).toBeGreaterThan(40_000);
    for (const row of result.placeOrder) expect(row.gasUsed).toBeLessThan(200_000);
    // With a 10-order book a hostile hint walks a few orders at most: more than no walk, far below 1M.
    for (const row of result.hostile) expect(row.gasUsed).toBeGreaterThan(40_000);
    for (const row of result.hostile) expect(row.gasUsed).toBeLessThan(150_000);
    // The bounded walk: MAX_HINT_WALK (20) orders since the hint still place, one node more is refused.
    const outcomes = (prefix: string) => result.hostile.filter((r) => r.hint.startsWith(prefix)).map((r) => r.outcome);
    expect(outcomes('worst placed')).toEqual(['placed', 'placed']);
    expect(outcomes('21 nodes since')).toEqual(['HintTooFar', 'HintTooFar']);
    expect(outcomes('findHint answer')).toEqual(['placed', 'placed']);
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

  it('reports plausible placeOrdersBySig and permit figures', () => {
    const signed = result.signed;
    if (!signed) throw new Error('no signed section');
    const perOrder = signed.rows.map((r) => r.gasUsed / r.batch);
    // One order pays the 21,000 base and the cold accounts alone; in a batch they are shared.
    expect(perOrder[0]).toBeGreaterThan(60_000);
    expect(perOrder[0]).toBeLessThan(120_000);
    for (let i = 1; i < perOrder.length; i++) expect(perOrder[i]).toBeLessThan(perOrder[i - 1] ?? 0);
    expect(perOrder[2]).toBeLessThanOrEqual(SIGNED_GOAL_PER_ORDER);
    for (const r of signed.rows) expect(r.gasLimit).toBeGreaterThanOrEqual(r.gasUsed); // nothing refunded
    expect(signed.worst.perOrder).toBeGreaterThan(30_000);
    expect(signed.worst.perOrder).toBeLessThan(SIGNED_GOAL_PER_ORDER);
    expect(signed.worst.maxUnderCap).toBe(Math.floor((16_777_216 - signed.worst.fixed) / signed.worst.perOrder));
    expect(signed.worst.verified).toBeUndefined(); // verify: false
    expect(signed.permit.map((p) => p.label)).toHaveLength(2);
    const [first, second] = signed.permit.map((p) => p.gasUsed);
    expect(first).toBeGreaterThan(second ?? Infinity); // the first writes a fresh nonce and allowance
    expect(first).toBeLessThan(120_000);
    expect(second).toBeGreaterThan(30_000);
  });

  it('prints the markdown tables', () => {
    const headings = [
      'placeOrder, findHint hint',
      'mid-book price',
      'batch (receipt gasUsed)',
      'largest batch',
      'placeOrdersBySig (receipt gasUsed)',
      'largest placeOrdersBySig batch',
      'permit (ERC-2612)',
    ];
    for (const heading of headings) expect(result.markdown).toContain(heading);
    expect(result.markdown).toMatch(/\| 10, buy \| \d{2},\d{3} \|/);
    expect(result.markdown).toMatch(/\| 10, 30 \| \d,\d{3},\d{3} \| \d{2},\d{3} \| \d,\d{3},\d{3} \|/);
    expect(result.markdown).toMatch(/\| 10 per side \| \d{2},\d{3} \| \d{2},\d{3} \| \d{3} \| not run \|/);
  });

  it('reads BENCH_ONLY and BENCH_SIGNED_BATCHES', () => {
    expect(optionsFromEnv({ BENCH_ONLY: 'signed', BENCH_SIGNED_BATCHES: '1,100' })).toMatchObject({
      only: 'signed',
      signedBatches: [1, 100],
    });
    expect(optionsFromEnv({}).signedBatches).toEqual([1, 10, 100, 300]);
    expect(() => optionsFromEnv({ BENCH_ONLY: 'gas' })).toThrow(/BENCH_ONLY/);
    expect(() => optionsFromEnv({ BENCH_SIGNED_BATCHES: '10,1' })).toThrow(/BENCH_SIGNED_BATCHES/);
  });
});
