// Keeper benchmark: a 10,000-order window (5,000 bids, 5,000 asks, 5,000 trades) taken from close through
// readings to settled by the keeper process. Prints wall time, transactions used and the keeper's peak RSS.
// Run: make bench-keeper
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createPublicClient,
  encodeFunctionData,
  type EncodeFunctionDataParameters,
  http,
  maxUint256,
  numberToHex,
  type Address,
  type Hex,
} from 'viem';
import { energyMarketAbi, energyTokenAbi, prosumerRegistryAbi } from '@p2p-energy/sdk';
import { startAnvil } from '../dev/anvil.js';
import { ANVIL_KEYS } from '../dev/test-keys.js';
import { MarketReader, makeChain } from '../src/chain.js';
import { deploy } from '../dev/deploy.js';
import { spawnKeeper, until } from '../test/process.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';

const PAIRS = Number(process.env.PAIRS ?? 5000);
const HOUR = 3600n;
const ENERGY = 1000n;

async function rpc(url: string, calls: { method: string; params: unknown[] }[]): Promise<unknown[]> {
  const body = calls.map((c, id) => ({ jsonrpc: '2.0', id, ...c }));
  const res = (await (
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  ).json()) as {
    result?: unknown;
    error?: { message: string };
  }[];
  const failed = res.find((r) => r.error);
  if (failed) throw new Error(failed.error?.message);
  return res.map((r) => r.result);
}

/** Sends transactions through eth_sendTransaction (auto-impersonation) and mines them in one block. */
async function bulk(url: string, txs: { from: Address; to: Address; data: Hex }[]): Promise<void> {
  await rpc(url, [{ method: 'evm_setAutomine', params: [false] }]);
  const senders = [...new Set(txs.map((t) => t.from))];
  const counts = (await rpc(
    url,
    senders.map((s) => ({ method: 'eth_getTransactionCount', params: [s, 'pending'] })),
  )) as Hex[];
  const nonces = new Map(senders.map((s, i) => [s, Number(counts[i])]));
  const withNonces = txs.map((t) => {
    const nonce = nonces.get(t.from) as number;
    nonces.set(t.from, nonce + 1);
    return { ...t, nonce: numberToHex(nonce), gas: numberToHex(2_000_000), gasPrice: '0x0' };
  });
  for (let i = 0; i < withNonces.length; i += 1000) {
    await rpc(
      url,
      withNonces.slice(i, i + 1000).map((t) => ({ method: 'eth_sendTransaction', params: [t] })),
    );
  }
  await rpc(url, [{ method: 'evm_mine', params: [] }]);
  await rpc(url, [{ method: 'evm_setAutomine', params: [true] }]);
  const [status] = (await rpc(url, [{ method: 'txpool_status', params: [] }])) as { pending: Hex; queued: Hex }[];
  if (Number(status?.pending) + Number(status?.queued) !== 0)
    throw new Error(`transactions left in the pool: ${JSON.stringify(status)}`);
  const [block] = (await rpc(url, [{ method: 'eth_getBlockByNumber', params: ['latest', false] }])) as {
    transactions: Hex[];
    gasUsed: Hex;
  }[];
  if (block?.transactions.length !== txs.length)
    throw new Error(`mined ${block?.transactions.length} of ${txs.length}`);
  const receipts = (await rpc(
    url,
    block.transactions.slice(-3).map((h) => ({ method: 'eth_getTransactionReceipt', params: [h] })),
  )) as { status: Hex; gasUsed: Hex }[];
  if (receipts.some((r) => r.status !== '0x1'))
    throw new Error(`a transaction of the batch failed: ${JSON.stringify(receipts)}`);
}

const address = (i: number) => `0x${(0x10000000 + i).toString(16).padStart(40, '0')}` as Address;
const ZERO = '0x0000000000000000000000000000000000000000' as Address;
/** Orders per side per block: anvil may reorder a block's transactions, so hints point into the block before. */
const ORDERS_PER_BLOCK = 50;

async function main() {
  const day = 1_780_012_800n;
  const w0 = day + 11n * HOUR;
  const chainId = 60_000 + Math.floor(Math.random() * 1000);
  const anvil = await startAnvil({
    chainId,
    timestamp: Number(w0 + 60n),
    extraArgs: ['--auto-impersonate', '--disable-block-gas-limit', '--order', 'fifo', '--base-fee', '0'],
  });
  const outDir = await mkdtemp(path.join(tmpdir(), 'bench-deploy-'));
  try {
    const admin = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' as Address;
    const keeperKey = ANVIL_KEYS[1];
    const d = await deploy({
      rpcUrl: anvil.url,
      privateKey: ANVIL_KEYS[0],
      windowDuration: Number(HOUR),
      settlementGrace: Number(HOUR / 2n),
      keeper: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      outDir,
    });
    const client = createPublicClient({ chain: makeChain(chainId, anvil.url), transport: http(anvil.url) });
    const reader = new MarketReader(client, d.market);
    const setup = Date.now();
    const buyers = Array.from({ length: PAIRS }, (_, i) => address(i));
    const sellers = Array.from({ length: PAIRS }, (_, i) => address(PAIRS + i));
    /** A typed call: `encode` is encodeFunctionData with the ABI, so a wrong function or args is a tsc error. */
    const call = (to: Address, data: Hex) => ({ to, data });
    const market = (p: EncodeFunctionDataParameters<typeof energyMarketAbi>) => encodeFunctionData(p);
    const registry = (p: EncodeFunctionDataParameters<typeof prosumerRegistryAbi>) => encodeFunctionData(p);
    const token = (p: EncodeFunctionDataParameters<typeof energyTokenAbi>) => encodeFunctionData(p);

    await bulk(anvil.url, [
      { from: admin, ...call(d.market, market({ abi: energyMarketAbi, functionName: 'openWindow' })) },
    ]);
    await bulk(
      anvil.url,
      [...buyers, ...sellers].map((a, i) => ({
        from: admin,
        ...call(d.registry, registry({ abi: prosumerRegistryAbi, functionName: 'register', args: [a, BigInt(i + 1)] })),
      })),
    );
    await bulk(anvil.url, [
      ...sellers.map((a) => ({
        from: admin,
        ...call(d.registry, registry({ abi: prosumerRegistryAbi, functionName: 'addPvSystem', args: [a, 5000n] })),
      })),
      ...buyers.map((a) => ({
        from: admin,
        ...call(d.token, token({ abi: energyTokenAbi, functionName: 'mint', args: [a, 1000n * TOKEN] })),
      })),
      ...sellers.map((a) => ({
        from: admin,
        ...call(d.token, token({ abi: energyTokenAbi, functionName: 'mint', args: [a, TOKEN] })),
      })),
      ...buyers.map((a) => ({
        from: a,
        ...call(d.token, token({ abi: energyTokenAbi, functionName: 'approve', args: [d.market, maxUint256] })),
      })),
    ]);
    // Best price first, a block at a time; every order's hint is the last order of its side in the block
    // before (walks stay within one block, whatever order anvil mines a block's transactions in).
    const hint = (side: Address[], i: number): Address =>
      i < ORDERS_PER_BLOCK ? ZERO : (side[i - (i % ORDERS_PER_BLOCK) - 1] ?? ZERO);
    for (let start = 0; start < PAIRS; start += ORDERS_PER_BLOCK) {
      const range = Array.from({ length: Math.min(ORDERS_PER_BLOCK, PAIRS - start) }, (_, k) => start + k);
      await bulk(anvil.url, [
        ...range.map((i) => ({
          from: buyers[i]!,
          ...call(
            d.market,
            market({
              abi: energyMarketAbi,
              functionName: 'placeOrder',
              args: [w0, 0, ENERGY, 100n * TOKEN - BigInt(i) * 10n ** 15n, hint(buyers, i)],
            }),
          ),
        })),
        ...range.map((i) => ({
          from: sellers[i]!,
          ...call(
            d.market,
            market({
              abi: energyMarketAbi,
              functionName: 'placeOrder',
              args: [w0, 1, ENERGY, 10n * TOKEN + BigInt(i) * 10n ** 15n, hint(sellers, i)],
            }),
          ),
        })),
      ]);
    }
    const book = await reader.window(w0);
    if (book.orderCount !== BigInt(2 * PAIRS)) throw new Error(`book has ${book.orderCount} orders`);
    console.error(`setup: ${2 * PAIRS} orders in ${((Date.now() - setup) / 1000).toFixed(1)} s`);

    const dir = await mkdtemp(path.join(tmpdir(), 'bench-'));
    const csv = path.join(dir, 'readings.csv');
    await writeFile(
      csv,
      [
        'prosumer,window,importWh,exportWh',
        ...buyers.map((a) => `${a},${w0},${ENERGY},0`),
        ...sellers.map((a) => `${a},${w0},0,${ENERGY}`),
      ].join('\n'),
    );

    const keeperAddress = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as Address;
    const nonceBefore = await client.getTransactionCount({ address: keeperAddress });
    await rpc(anvil.url, [
      { method: 'evm_setNextBlockTimestamp', params: [numberToHex(w0 + HOUR + 5n)] },
      { method: 'evm_mine', params: [] },
    ]);
    const started = Date.now();
    const keeper = spawnKeeper({
      RPC_URL: anvil.url,
      CHAIN_ID: String(chainId),
      MARKET_ADDRESS: d.market,
      PRIVATE_KEY: keeperKey as Hex,
      METER_SOURCE: 'csv',
      METER_CSV_PATH: csv,
      POLL_INTERVAL_MS: '200',
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
    });
    let peakRssKb = 0;
    const sampler = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${keeper.child.pid}/status`, 'utf8');
        peakRssKb = Math.max(peakRssKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      } catch {
        // exited
      }
    }, 100);
    await until('cleared', async () => (await reader.window(w0)).status === 'Cleared', 600_000, 100);
    const closedMs = Date.now() - started;
    await rpc(anvil.url, [
      { method: 'evm_setNextBlockTimestamp', params: [numberToHex(w0 + 2n * HOUR + 5n)] },
      { method: 'evm_mine', params: [] },
    ]);
    const readingsStarted = Date.now();
    await until('settled', async () => (await reader.window(w0)).status === 'Settled', 600_000, 100);
    const settledMs = Date.now() - started;
    const afterReadingsMs = Date.now() - readingsStarted;
    keeper.child.kill('SIGTERM');
    await keeper.exited;
    clearInterval(sampler);
    const nonceAfter = await client.getTransactionCount({ address: keeperAddress });
    const w = await reader.window(w0);
    const { readings, traders } = await reader.readingProgress(w0);
    console.log('| 10,000-order window through the keeper | value |');
    console.log('|---|---|');
    console.log(
      `| orders / trades / traders with a reading | ${w.orderCount} / ${w.tradeCount} / ${readings} of ${traders} |`,
    );
    console.log(`| close (from w+d to Cleared) | ${(closedMs / 1000).toFixed(1)} s |`);
    console.log(`| readings + settlement (from w+2d to Settled) | ${(afterReadingsMs / 1000).toFixed(1)} s |`);
    const keeperWork = ((closedMs + afterReadingsMs) / 1000).toFixed(1);
    console.log(`| wall time close → settled, keeper work only (goal < 60 s) | ${keeperWork} s |`);
    console.log(`| wall time including the test's wait between the phases | ${(settledMs / 1000).toFixed(1)} s |`);
    console.log(`| keeper transactions (incl. opening the next windows) | ${nonceAfter - nonceBefore} |`);
    console.log(`| keeper peak RSS (goal < 150 MB) | ${(peakRssKb / 1024).toFixed(0)} MB |`);
  } finally {
    await anvil.stop();
    await rm(outDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
