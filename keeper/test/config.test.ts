import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { TEST_CHAINS } from '../src/constants.js';
import { validateReadings } from '../src/meters/validate.js';
import { SimulatedMeters } from '../src/meters/simulated.js';

const base = {
  RPC_URL: 'http://127.0.0.1:8545',
  CHAIN_ID: '31337',
  MARKET_ADDRESS: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  PRIVATE_KEY: `0x${'11'.repeat(32)}`,
  METER_SOURCE: 'simulated',
};

describe('config', () => {
  it('parses defaults and "false" as false', () => {
    const c = loadConfig({ ...base, METER_SOURCE: undefined, READINGS: 'false', DRY_RUN: 'false' });
    expect(c.readings).toBe(false);
    expect(c.dryRun).toBe(false);
    expect(c.meterSource).toBeUndefined();
    expect(c.closeBatch).toBe(300);
    expect(loadConfig({ ...base, READINGS: 'true' }).readings).toBe(true);
  });

  it('lets CLI flags override the environment', () => {
    const c = loadConfig({ ...base, CLOSE_BATCH: '10' }, ['--close-batch', '20', '--dry-run', '--no-readings']);
    expect(c.closeBatch).toBe(20);
    expect(c.dryRun).toBe(true);
    expect(c.readings).toBe(false);
  });

  it('names every invalid setting and never echoes the key', () => {
    const attempt = () =>
      loadConfig({ ...base, PRIVATE_KEY: '0xsecret', CHAIN_ID: 'abc', MARKET_ADDRESS: '0x12', READINGS: 'maybe' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('PRIVATE_KEY: must be');
      expect(message).toContain('CHAIN_ID (--chain-id)');
      expect(message).toContain('MARKET_ADDRESS (--market-address)');
      expect(message).toContain('READINGS (--readings)');
      expect(message).not.toContain('0xsecret');
    }
  });

  it('requires a key and the settings of the chosen meter source', () => {
    expect(() => loadConfig({ ...base, PRIVATE_KEY: undefined })).toThrow(/PRIVATE_KEY or KEYSTORE_PATH/);
    expect(() => loadConfig({ ...base, METER_SOURCE: 'csv' })).toThrow(/METER_CSV_PATH/);
    expect(() => loadConfig({ ...base, METER_SOURCE: 'http' })).toThrow(/METER_HTTP_URL/);
    expect(() => loadConfig({ ...base, FEE_BUMP_PERCENT: '10' })).toThrow(/FEE_BUMP_PERCENT/);
  });
});

describe('meter source (safe defaults)', () => {
  const message = (env: Record<string, string | undefined>) => {
    try {
      loadConfig({ ...base, ...env });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('the configuration was accepted');
  };

  it('has no default: with readings on, METER_SOURCE must be chosen', () => {
    const m = message({ METER_SOURCE: undefined });
    expect(m).toContain('METER_SOURCE (--meter-source): required while READINGS=true');
    expect(m).toContain('csv');
    expect(m).toContain('http');
    expect(m).not.toContain(base.PRIVATE_KEY.slice(2));
  });

  it('refuses the simulated meters on a chain that is not a known local or test chain', () => {
    for (const chainId of ['1', '100', '8453', '42161', '50123']) {
      const m = message({ CHAIN_ID: chainId });
      expect(m).toContain(`METER_SOURCE (--meter-source): simulated readings are invented`);
      expect(m).toContain(`chain ${chainId} is not a known local or test chain`);
      expect(m).toContain('31337');
      expect(m).not.toContain(base.PRIVATE_KEY.slice(2));
    }
  });

  it('accepts them, set explicitly, on every local and test chain of the list', () => {
    expect(Object.keys(TEST_CHAINS)).toEqual(
      expect.arrayContaining(['31337', '1337', '11155111', '17000', '84532', '421614', '10200']),
    );
    for (const chainId of Object.keys(TEST_CHAINS))
      expect(loadConfig({ ...base, CHAIN_ID: chainId }).meterSource).toBe('simulated');
  });

  it('needs no meter source with READINGS=false (nothing is read), on any chain', () => {
    expect(loadConfig({ ...base, CHAIN_ID: '1', METER_SOURCE: undefined, READINGS: 'false' }).readings).toBe(false);
    expect(loadConfig({ ...base, CHAIN_ID: '1', METER_SOURCE: 'csv', METER_CSV_PATH: 'm.csv' }).meterSource).toBe(
      'csv',
    );
  });
});

describe('simulated meters', () => {
  const p = {
    account: '0x00000000000000000000000000000000000000aa' as const,
    pvPeakW: 6000n,
    batteryPowerW: 2000n,
    batteryCapacityWh: 8000n,
  };

  it('are deterministic and plausible for the assets', async () => {
    const m = new SimulatedMeters(42);
    const noon = 1_780_012_800n + 12n * 3600n;
    const a = await m.fetch(noon, 3600, [p]);
    expect(await new SimulatedMeters(42).fetch(noon, 3600, [p])).toEqual(a);
    expect(await new SimulatedMeters(43).fetch(noon, 3600, [p])).not.toEqual(a);
    expect(a[0]!.exportWh).toBeGreaterThan(1000n); // a sunny noon with 6 kW of PV
    const night = await m.fetch(noon + 12n * 3600n, 3600, [p]);
    expect(night[0]!.exportWh).toBe(0n);
    expect(
      validateReadings([...a, ...night.map((r) => ({ ...r, prosumer: r.prosumer }))].slice(0, 1), [p], 3600).valid,
    ).toHaveLength(1);
    const f = m.forecast(noon, 3600, p);
    expect(f.exportWh).toBeGreaterThan(0n);
  });
});
