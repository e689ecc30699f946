// An export checked against the chain (keeper verify-export) and the forge replay's per-window report.
// One window on anvil, driven by hand so every amount is known: bids A 700@25, B 700@23 (C 300@10 placed and
// cancelled), asks S1 1000@18, S2 700@20, and E's signed order with A's signature (rejected). Clearing: A<-S1 700,
// B<-S1 300, B<-S2 400 at 20 (S2 partly filled). Readings: B imports 500, so B<-S2 is rejected (BuyerShortfall).
// A changed reading or a changed non-marginal price replays (the outcomes do not move); verify-export catches them.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { energyMarketAbi, ORDER_TYPES } from '@p2p-energy/sdk';
import { createTestClient, createWalletClient, http, maxUint256, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../dev/paths.js';
import { ANVIL_KEYS } from '../dev/test-keys.js';
import { makeChain } from '../src/chain.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';
import { EXPORT_FORMAT, exportWindows, writeExport, type ExportedEvent, type ExportFile } from '../src/export.js';
import { verifyExport, type Difference } from '../src/verify-export.js';
import { HOUR, setupMarket, type Fixture, type Prosumer } from './fixture.js';
import { runInRepo, runReplay as replay } from './replay-run.js';

const verifyCli = (file: string, rpcUrl: string) =>
  runInRepo(process.execPath, ['--import', 'tsx', 'keeper/src/cli.ts', 'verify-export', file, '--rpc-url', rpcUrl]);

describe('verify-export: the export is the chain', () => {
  let f: Fixture;
  let file: ExportFile;
  let out: string;
  let w0: bigint;
  let A: Prosumer;
  let B: Prosumer;
  let C: Prosumer;
  let S1: Prosumer;
  let S2: Prosumer;
  let E: Prosumer;
  /** Anvil snapshot just before the settlement: the last test re-mines the settlement block (a reorg). */
  let beforeSettle: Hex;
  let settle: () => Promise<void>;

  beforeAll(async () => {
    f = await setupMarket({ prosumers: 6, startHour: 11 });
    [A, B, C, S1, S2, E] = f.prosumers as [Prosumer, Prosumer, Prosumer, Prosumer, Prosumer, Prosumer];
    w0 = f.start;
    const chain = makeChain(f.anvil.chainId, f.anvil.url);
    const admin = createWalletClient({
      chain,
      transport: http(f.anvil.url),
      account: privateKeyToAccount(ANVIL_KEYS[0]),
    });
    const market = { address: f.deployment.market, abi: energyMarketAbi } as const;
    const confirm = async (sent: Promise<Hex>) => {
      const receipt = await f.publicClient.waitForTransactionReceipt({ hash: await sent });
      expect(receipt.status).toBe('success');
    };

    await f.setTime(w0 + 5n);
    await confirm(admin.writeContract({ ...market, functionName: 'openWindow' }));
    await f.placeOrder(A, w0, 0, 700n, 25n * TOKEN);
    await f.placeOrder(B, w0, 0, 700n, 23n * TOKEN);
    await f.placeOrder(S1, w0, 1, 1000n, 18n * TOKEN);
    await f.placeOrder(S2, w0, 1, 700n, 20n * TOKEN);
    await f.placeOrder(C, w0, 0, 300n, 10n * TOKEN);
    const cWallet = createWalletClient({ chain, transport: http(f.anvil.url), account: C.account });
    await confirm(cWallet.writeContract({ ...market, functionName: 'cancelOrder', args: [w0] }));
    // E's order, signed by A: InvalidSignature.
    const [, name, version, chainId, verifyingContract] = await f.publicClient.readContract({
      ...market,
      functionName: 'eip712Domain',
    });
    const message = { prosumer: E.address, windowId: w0, side: 0, energyWh: 100n, pricePerKWh: TOKEN, nonce: 0n };
    const signature = await A.account.signTypedData({
      domain: { name, version, chainId, verifyingContract },
      types: ORDER_TYPES,
      primaryType: 'Order',
      message,
    });
    const signed = { ...message, hintPrev: '0x0000000000000000000000000000000000000000' as Address, signature };
    await confirm(admin.writeContract({ ...market, functionName: 'placeOrdersBySig', args: [[signed]] }));

    await f.setTime(w0 + HOUR + 5n);
    await confirm(admin.writeContract({ ...market, functionName: 'closeWindow', args: [w0, maxUint256] }));
    await f.setTime(w0 + 2n * HOUR + 5n);
    const who = [A.address, B.address, S1.address, S2.address];
    const readings = [w0, who, [700n, 500n, 0n, 0n], [0n, 0n, 1000n, 400n]] as const;
    await confirm(admin.writeContract({ ...market, functionName: 'submitMeterReadings', args: readings }));
    beforeSettle = await createTestClient({ chain, transport: http(f.anvil.url), mode: 'anvil' }).snapshot();
    settle = () => confirm(admin.writeContract({ ...market, functionName: 'settleWindow', args: [w0, maxUint256] }));
    await settle();

    file = await exportWindows(f.publicClient, f.deployment.market, w0, w0);
    const dir = path.join(repoRoot, 'exports');
    await mkdir(dir, { recursive: true });
    out = path.join(dir, `verify-${f.anvil.chainId}.json`);
    await writeExport(out, file);
  });

  afterAll(async () => {
    await f?.stop();
  });

  const events = (copy: ExportFile): ExportedEvent[] => {
    const list = copy.windows[0]?.events;
    if (!list) throw new Error('no window in the export');
    return list;
  };
  const find = (copy: ExportFile, name: string, prosumer?: Address) => {
    const e = events(copy).find((x) => x.name === name && (prosumer === undefined || x.args.prosumer === prosumer));
    if (!e) throw new Error(`no ${name} ${prosumer ?? ''}`);
    return e;
  };
  const tampered = async (name: string, change: (copy: ExportFile) => void) => {
    const copy = structuredClone(file);
    change(copy);
    const target = out.replace(/\.json$/, `-${name}.json`);
    await writeFile(target, JSON.stringify(copy));
    return { copy, target };
  };
  const label = (e: ExportedEvent) => `${e.name} (block ${e.blockNumber}, log ${e.logIndex})`;

  it('exports block number, block hash, transaction hash and log index of every event, and its block range', () => {
    expect(file.format).toBe('p2p-energy-market/export@2');
    expect(EXPORT_FORMAT).toBe(file.format);
    expect(BigInt(file.toBlock)).toBeGreaterThan(BigInt(file.fromBlock));
    expect(file.toBlockHash).toMatch(/^0x[0-9a-f]{64}$/);
    for (const e of events(file)) {
      expect(e.blockNumber).toMatch(/^\d+$/);
      expect(e.blockHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(e.transactionHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(typeof e.logIndex).toBe('number');
    }
    const settle = find(file, 'TradeSettled');
    expect(file.windows[0]?.fundsBlock).toBe((BigInt(settle.blockNumber) - 1n).toString());
  });

  it('the unmodified export verifies, and the result counts what was checked per window', async () => {
    const result = await verifyExport(f.publicClient, file);
    expect(result.differences).toEqual([]);
    expect(result.windows).toEqual([
      {
        windowId: w0.toString(),
        events: {
          WindowOpened: 1,
          OrderPlaced: 5,
          OrderCancelled: 1,
          SignedOrderRejected: 1,
          TradeMatched: 3,
          WindowCleared: 1,
          MeterReadingSubmitted: 4,
          TradeSettled: 3,
          WindowSettled: 1,
        },
        prosumerIds: 6,
        funds: 2,
        blocks: new Set(events(file).map((e) => e.blockHash)).size,
      },
    ]);
  });

  it('+1 Wh on a meter reading: the replay still passes, verify-export fails naming the reading', async () => {
    const { copy, target } = await tampered('reading', (c) => {
      const r = find(c, 'MeterReadingSubmitted', S1.address);
      r.args.exportedWh = '1001';
    });
    const replayed = await replay(target);
    expect(replayed.stdout).toContain('[PASS] test_replay_export()');
    expect(replayed.code).toBe(0);
    const result = await verifyExport(f.publicClient, copy);
    expect(result.differences).toEqual<Difference[]>([
      {
        window: w0.toString(),
        event: label(find(file, 'MeterReadingSubmitted', S1.address)),
        field: 'args.exportedWh',
        expected: '1000',
        found: '1001',
      },
    ]);
  }, 180_000);

  it("+1 wei on a non-marginal order's price: the replay still passes, verify-export fails", async () => {
    const price = (25n * TOKEN).toString();
    const { copy, target } = await tampered('price', (c) => {
      find(c, 'OrderPlaced', A.address).args.pricePerKWh = (25n * TOKEN + 1n).toString();
    });
    const replayed = await replay(target);
    expect(replayed.stdout).toContain('[PASS] test_replay_export()');
    const result = await verifyExport(f.publicClient, copy);
    expect(result.differences).toEqual<Difference[]>([
      {
        window: w0.toString(),
        event: label(find(file, 'OrderPlaced', A.address)),
        field: 'args.pricePerKWh',
        expected: price,
        found: (25n * TOKEN + 1n).toString(),
      },
    ]);
  }, 180_000);

  it('a dropped event fails', async () => {
    const cancel = find(file, 'OrderCancelled');
    const { copy } = await tampered('dropped', (c) => {
      const list = events(c);
      list.splice(
        list.findIndex((e) => e.name === 'OrderCancelled'),
        1,
      );
    });
    const result = await verifyExport(f.publicClient, copy);
    expect(result.differences).toEqual<Difference[]>([
      { window: w0.toString(), event: label(cancel), field: 'event', expected: 'in the chain', found: 'missing' },
    ]);
  });

  it('an added event fails', async () => {
    const placed = find(file, 'OrderPlaced', C.address);
    const extra: ExportedEvent = { ...placed, logIndex: placed.logIndex + 1 };
    const { copy } = await tampered('added', (c) => {
      const list = events(c);
      list.splice(
        list.findIndex((e) => e.name === 'OrderCancelled'),
        0,
        extra,
      );
    });
    const result = await verifyExport(f.publicClient, copy);
    expect(result.differences).toEqual<Difference[]>([
      { window: w0.toString(), event: label(extra), field: 'event', expected: 'absent', found: 'in the export' },
    ]);
  });

  it('events in another order fail', async () => {
    const { copy } = await tampered('reordered', (c) => {
      const list = events(c);
      const i = list.findIndex((e) => e.name === 'OrderCancelled');
      [list[i - 1], list[i]] = [list[i] as ExportedEvent, list[i - 1] as ExportedEvent];
    });
    const result = await verifyExport(f.publicClient, copy);
    expect(result.differences).toHaveLength(1);
    expect(result.differences[0]).toMatchObject({ window: w0.toString(), field: 'order' });
  });

  it('a changed block hash fails (a reorg or a forgery)', async () => {
    const settled = find(file, 'WindowSettled');
    const forged = `0x${'ab'.repeat(32)}`;
    const { copy } = await tampered('block-hash', (c) => {
      find(c, 'WindowSettled').blockHash = forged;
    });
    const result = await verifyExport(f.publicClient, copy);
    expect(result.differences).toEqual<Difference[]>([
      { window: w0.toString(), event: label(settled), field: 'blockHash', expected: settled.blockHash, found: forged },
    ]);
  });

  it('a changed prosumer ID, balance or token address fails', async () => {
    const { copy } = await tampered('values', (c) => {
      const w = c.windows[0];
      if (!w) throw new Error('no window');
      w.prosumerIds[A.address] = '99';
      const funds = w.fundsAtSettlement[B.address];
      if (!funds) throw new Error('no funds of B');
      funds.balance = (BigInt(funds.balance) + 1n).toString();
      c.token = c.registry;
    });
    const result = await verifyExport(f.publicClient, copy);
    expect(result.differences.map((d) => [d.window, d.field, d.expected])).toEqual([
      [undefined, 'token', file.token],
      [w0.toString(), `prosumerIds.${A.address}`, '1'],
      [w0.toString(), `fundsAtSettlement.${B.address}.balance`, file.windows[0]?.fundsAtSettlement[B.address]?.balance],
    ]);
  });

  it('an export of another chain fails before anything else is compared', async () => {
    const { copy } = await tampered('chain', (c) => {
      c.chainId += 1;
    });
    const result = await verifyExport(f.publicClient, copy);
    expect(result.differences).toEqual<Difference[]>([
      { field: 'chainId', expected: String(f.anvil.chainId), found: String(f.anvil.chainId + 1) },
    ]);
  });

  it('keeper verify-export: exit 0 with the counts; exit 1 naming window, event, field, both values', async () => {
    const ok = await verifyCli(out, f.anvil.url);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`verified ${out}`);
    expect(ok.stdout).toContain(`window ${w0}: 20 events`);
    expect(ok.stdout).toContain('OrderPlaced 5');
    expect(ok.stdout).toContain('MeterReadingSubmitted 4');

    const { target } = await tampered('cli', (c) => {
      find(c, 'MeterReadingSubmitted', S1.address).args.exportedWh = '1001';
    });
    const bad = await verifyCli(target, f.anvil.url);
    expect(bad.code).toBe(1);
    const reading = label(find(file, 'MeterReadingSubmitted', S1.address));
    expect(bad.stderr).toContain(
      `window ${w0}, event ${reading}, field args.exportedWh: expected 1000 (chain), found 1001 (export)`,
    );
    expect(bad.stdout).not.toContain('verified');
  }, 120_000);

  it('the replay reports per window what it checked', async () => {
    const r = await replay(out);
    expect(r.stdout).toContain('[PASS] test_replay_export()');
    const lines = r.stdout.split('\n').map((l) => l.trim());
    const cost = (wh: bigint) => ((wh * 20n * TOKEN) / 1000n).toString();
    const expected = [
      `window ${w0}: orders placed 5, cancelled 1, signed orders rejected 1`,
      `window ${w0}: rejected signed order of ${E.address}: nonce 0, reason InvalidSignature (re-checked)`,
      `window ${w0}: cleared at price ${20n * TOKEN}, 1400 Wh in 3 trades`,
      `window ${w0}: trade 0: ${A.address} <- ${S1.address} 700 Wh`,
      `window ${w0}: trade 1: ${B.address} <- ${S1.address} 300 Wh`,
      `window ${w0}: trade 2: ${B.address} <- ${S2.address} 400 Wh`,
      `window ${w0}: 4 readings, funds of 2 buyers`,
      `window ${w0}: trade 0: Accepted, cost ${cost(700n)}`,
      `window ${w0}: trade 1: Accepted, cost ${cost(300n)}`,
      `window ${w0}: trade 2: Rejected (BuyerShortfall), cost 0`,
      `window ${w0}: settled: 2 accepted, 1 rejected`,
      `window ${w0}: token movement of ${A.address}: -${cost(700n)}`,
      `window ${w0}: token movement of ${S1.address}: ${cost(1000n)}`,
      `window ${w0}: token movement of ${B.address}: -${cost(300n)}`,
      `window ${w0}: token movement of ${S2.address}: 0`,
    ];
    const report = lines.filter((l) => l.startsWith(`window ${w0}:`));
    expect(report).toEqual(expected);
  }, 180_000);

  it('keeper export --to-block: the export stops at that block, and verifies', async () => {
    const cleared = find(file, 'WindowCleared');
    const early = out.replace(/\.json$/, '-to-block.json');
    const args = ['--import', 'tsx', 'keeper/src/cli.ts', 'export', '--from', String(w0), '--to', String(w0)];
    const exported = await runInRepo(process.execPath, [...args, '--to-block', cleared.blockNumber, '--out', early], {
      RPC_URL: f.anvil.url,
      CHAIN_ID: String(f.anvil.chainId),
      MARKET_ADDRESS: f.deployment.market,
    });
    expect(exported.code).toBe(0);
    const copy = JSON.parse(await readFile(early, 'utf8')) as ExportFile;
    expect(copy.toBlock).toBe(cleared.blockNumber);
    expect(events(copy).at(-1)).toEqual(cleared);
    expect(copy.windows[0]?.fundsBlock).toBeNull();
    expect((await verifyExport(f.publicClient, copy)).differences).toEqual([]);
  }, 60_000);

  it('keeper verify-export: exit 2 on a file it cannot read or without an RPC URL', async () => {
    const missing = await verifyCli(path.join(repoRoot, 'exports', 'no-such-export.json'), f.anvil.url);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('verify-export: cannot read');
    const noRpc = await runInRepo(process.execPath, ['--import', 'tsx', 'keeper/src/cli.ts', 'verify-export', out], {
      RPC_URL: '',
    });
    expect(noRpc.code).toBe(2);
    expect(noRpc.stderr).toContain('invalid verify-export arguments');
  }, 60_000);

  it('keeper verify-export: exit 1 with the reason when the chain cannot be read', async () => {
    const down = await verifyCli(out, 'http://127.0.0.1:9'); // nothing listens there
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`verify-export: could not check ${out} against the chain:`);
    expect(down.stderr).not.toMatch(/\n\s+at /); // no stack trace
  }, 60_000);

  // Last: it rewrites the chain. The settlement block is mined again (same transaction, another timestamp):
  // the events are the same, their block is not.
  it('a reorg of the settlement block fails: the block hashes differ', async () => {
    const testClient = createTestClient({ chain: f.publicClient.chain, transport: http(f.anvil.url), mode: 'anvil' });
    await testClient.revert({ id: beforeSettle });
    await testClient.setNextBlockTimestamp({ timestamp: w0 + 2n * HOUR + 600n });
    await settle();
    const result = await verifyExport(f.publicClient, file);
    const settled = events(file).filter((e) => e.blockNumber === file.toBlock);
    expect(settled.map((e) => e.name)).toEqual(['TradeSettled', 'TradeSettled', 'TradeSettled', 'WindowSettled']);
    const newHash = (await f.publicClient.getBlock({ blockNumber: BigInt(file.toBlock) })).hash;
    expect(newHash).not.toBe(file.toBlockHash);
    const hashes = result.differences.filter((d) => d.field === 'blockHash' || d.field === 'toBlockHash');
    expect(hashes).toEqual<Difference[]>([
      { field: 'toBlockHash', expected: newHash, found: file.toBlockHash },
      ...settled.map((e) => ({
        window: w0.toString(),
        event: label(e),
        field: 'blockHash',
        expected: newHash,
        found: e.blockHash,
      })),
    ]);
  });
});
