import { afterEach, describe, expect, it, vi } from 'vitest';
import { SIMULATED_WARNING_MS } from '../src/constants.js';
import type { Logger } from '../src/log.js';
import { warnWhileSimulated } from '../src/meters/simulated-warning.js';

describe('the warning while the keeper runs on simulated meters', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('warns at start and then every hour until stopped', () => {
    vi.useFakeTimers();
    const warnings: unknown[][] = [];
    const log = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
    expect(SIMULATED_WARNING_MS).toBe(3_600_000);
    const stop = warnWhileSimulated(log, 31337);
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]?.[1])).toMatch(/METER_SOURCE=simulated: the readings are invented/);
    vi.advanceTimersByTime(SIMULATED_WARNING_MS - 1);
    expect(warnings).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(warnings).toHaveLength(2);
    vi.advanceTimersByTime(2 * SIMULATED_WARNING_MS);
    expect(warnings).toHaveLength(4);
    stop();
    vi.advanceTimersByTime(5 * SIMULATED_WARNING_MS);
    expect(warnings).toHaveLength(4);
  });

  it('takes a shorter interval', () => {
    vi.useFakeTimers();
    let count = 0;
    const log = { warn: () => count++ } as unknown as Logger;
    const stop = warnWhileSimulated(log, 31337, 50);
    vi.advanceTimersByTime(500);
    stop();
    expect(count).toBe(11);
  });
});
