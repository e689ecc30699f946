// make demo: a local energy community on an embedded anvil (or RPC_URL), driven by the real keeper.
// Twenty prosumers with PV and batteries, holding no ether, sign one order per window from their forecast
// (and one permit) and post them to the keeper's relayer; the keeper opens, places the signed orders in
// batches, closes, submits simulated meter readings and settles; a table shows each window.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createPublicClient, createWalletClient, formatEther, http, maxUint256, type Hex } from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { energyTokenAbi, prosumerRegistryAbi, readSigningDomains, RelayerClient } from '@p2p-energy/sdk';
import { startAnvil, type Anvil } from './anvil.js';
import { repoRoot } from './paths.js';
import { ANVIL_KEYS, TEST_MNEMONIC } from './test-keys.js';
import { createKeeperApp, type KeeperApp } from '../src/app.js';
import { MarketReader, makeChain } from '../src/chain.js';
import { loadConfig } from '../src/config.js';
import { TOKEN_UNIT } from '../src/constants.js';
import { loadDemoConfig } from './demo-config.js';
import { deploy } from './deploy.js';
import { exportWindows, writeExport } from '../src/export.js';
import { SimulatedMeters } from '../src/meters/simulated.js';
import { startWebServer, type WebServer } from '../../web/server/index.js';
import { runAgentFor } from '../src/agent/index.js';
import { SimulatedForecasts } from '../src/forecasts/simulated.js';
import { SimulatedPlans } from '../src/plans/simulated.js';

const env = (() => {
  try {
    return loadDemoConfig(process.env);
  } catch (error) {
    console.error(`demo: ${(error as Error).message}`);
    process.exit(2);
  }
})();
const WINDOWS = env.DEMO_WINDOWS;
const WINDOW_SECONDS = env.DEMO_WINDOW_SECONDS;
const PROSUMERS = env.DEMO_PROSUMERS;
const TOKEN = TOKEN_UNIT;
/** After the summary: keep the chain, the keeper and the web app up until Ctrl-C (default: in a terminal). */
const STAY = env.DEMO_STAY ?? process.stdout.isTTY === true;

const t0 = Date.now();
const say = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (seed: number) => {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32;
};

interface Member {
  name: string;
  account: ReturnType<typeof mnemonicToAccount>;
  pvPeakW: bigint;
  batteryPowerW: bigint;
  batteryCapacityWh: bigint;
  askPrice: number;
  bidPrice: number;
}

function community(): Member[] {
  const r = rand(2026);
  return Array.from({ length: PROSUMERS }, (_, i) => {
    const kind = i % 4; // 0,1: PV + battery, 2: PV only, 3: no PV
    const pv = kind === 3 ? 0 : 3000 + Math.round(r() * 7) * 1000;
    const battery = kind <= 1 ? 3000 + Math.round(r() * 2) * 1000 : 0;
    return {
      name: `home-${String(i + 1).padStart(2, '0')}`,
      account: mnemonicToAccount(TEST_MNEMONIC, { addressIndex: 200 + i }),
      pvPeakW: BigInt(pv),
      batteryPowerW: BigInt(battery),
      batteryCapacityWh: BigInt(battery * 2),
      askPrice: 14 + Math.round(r() * 8),
      bidPrice: 18 + Math.round(r() * 10),
    };
  });
}

/** Stops whatever the demo started (set by main once it can); every exit path goes through it. */
let stopStarted: ((code: number) => Promise<void>) | undefined;

async function main() {
  let anvil: Anvil | undefined;
  let app: KeeperApp | undefined;
  let web: WebServer | undefined;
  let journalDir: string | undefined;
  let stopping = false;
  const cleanup = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await web?.close().catch(() => undefined);
    await app?.shutdown(5000).catch(() => undefined);
    if (journalDir) await rm(journalDir, { recursive: true, force: true }).catch(() => undefined);
    await anvil?.stop().catch(() => undefined);
    process.exit(code);
  };
  stopStarted = cleanup;
  process.on('SIGINT', () => {
    say('Ctrl-C: stopping the keeper and the chain');
    void cleanup(130);
  });
  process.on('SIGTERM', () => void cleanup(143));

  let rpcUrl = env.RPC_URL;
  if (!rpcUrl) {
    say('starting an embedded anvil (1 s blocks)…');
    anvil = await startAnvil({ chainId: 31337, extraArgs: ['--block-time', '1'] });
    rpcUrl = anvil.url;
    say(`anvil listening on ${rpcUrl}`);
  }
  const adminKey = (env.PRIVATE_KEY ?? ANVIL_KEYS[0]) as Hex;
  const keeperKey = (env.KEEPER_PRIVATE_KEY ?? ANVIL_KEYS[1]) as Hex;
  const probe = createPublicClient({ transport: http(rpcUrl) });
  const chainId = await probe.getChainId();
  const chain = makeChain(chainId, rpcUrl);
  const client = createPublicClient({ chain, transport: http(rpcUrl) });
  const admin = createWalletClient({ chain, transport: http(rpcUrl), account: privateKeyToAccount(adminKey) });
  const keeperAddress = privateKeyToAccount(keeperKey).address;

  say(`deploying token, registry and market (windows of ${WINDOW_SECONDS} s, grace ${WINDOW_SECONDS / 2} s)…`);
  const d = await deploy({
    rpcUrl,
    privateKey: adminKey,
    windowDuration: WINDOW_SECONDS,
    settlementGrace: WINDOW_SECONDS / 2,
    keeper: keeperAddress,
  });
  say(`market ${d.market}, token ${d.token}, registry ${d.registry}`);

  const members = community();
  say(`registering ${members.length} prosumers with PV and batteries, minting 500 CET each (no ether)…`);
  const wait = (hash: Hex) => client.waitForTransactionReceipt({ hash, pollingInterval: 200 });
  let nonce = await client.getTransactionCount({ address: admin.account.address, blockTag: 'pending' });
  const registry = { address: d.registry, abi: prosumerRegistryAbi } as const;
  const pending: Hex[] = [];
  for (const [i, m] of members.entries()) {
    const a = m.account.address;
    pending.push(
      await admin.writeContract({ ...registry, functionName: 'register', args: [a, BigInt(i + 1)], nonce: nonce++ }),
    );
    if (m.pvPeakW > 0n)
      pending.push(
        await admin.writeContract({ ...registry, functionName: 'addPvSystem', args: [a, m.pvPeakW], nonce: nonce++ }),
      );
    if (m.batteryPowerW > 0n) {
      const args = [a, m.batteryPowerW, m.batteryCapacityWh] as const;
      pending.push(await admin.writeContract({ ...registry, functionName: 'addBattery', args, nonce: nonce++ }));
    }
    const mint = { address: d.token, abi: energyTokenAbi, functionName: 'mint', args: [a, 500n * TOKEN] } as const;
    pending.push(await admin.writeContract({ ...mint, nonce: nonce++ }));
  }
  await Promise.all(pending.map(wait));
  for (const m of members) {
    const kw = (w: bigint) => (Number(w) / 1000).toFixed(0);
    const battery = `${kw(m.batteryPowerW)} kW / ${kw(m.batteryCapacityWh)} kWh`;
    const prices = `asks ${m.askPrice}  bids ${m.bidPrice} CET/kWh`;
    say(`  ${m.name}  PV ${kw(m.pvPeakW).padStart(2)} kW  battery ${battery}  ${prices}`);
  }

  // Each window stands for an hour of a day, from 06:00 on, so the demo sweeps the morning: households
  // import at dawn and export as the sun rises.
  // The first window the community trades in is 06:00 (set below, before any forecast or reading).
  let firstIndex: bigint | undefined;
  const hourOf = (w: bigint) => {
    const index = w / BigInt(WINDOW_SECONDS);
    return Number((6n + index - (firstIndex ?? index) + 240n) % 24n);
  };
  const hh = (w: bigint) => String(hourOf(w)).padStart(2, '0');
  const meters = new SimulatedMeters(7, hourOf);
  await mkdir(path.join(repoRoot, 'exports'), { recursive: true });
  const logFile = path.join(repoRoot, 'exports', `demo-${chainId}-keeper.log`);
  journalDir = await mkdtemp(path.join(tmpdir(), 'demo-relayer-'));
  const config = loadConfig({
    RPC_URL: rpcUrl,
    CHAIN_ID: String(chainId),
    MARKET_ADDRESS: d.market,
    PRIVATE_KEY: keeperKey,
    POLL_INTERVAL_MS: '500',
    METRICS_PORT: '0',
    CONFIRMATIONS: '1',
    RELAYER: 'true',
    RELAYER_PORT: '0',
    RELAY_INTERVAL_MS: '1000',
    RELAY_CLOSE_MARGIN_S: '2',
    RELAY_JOURNAL_PATH: path.join(journalDir, 'journal.jsonl'),
  });
  app = await createKeeperApp(config, {
    meters,
    logger: pino({ level: 'info' }, pino.destination({ dest: logFile, sync: false })),
  });
  await app.keeper.startupChecks();
  const port = (app.server?.address() as { port: number }).port;
  const relayer = await app.startRelayer();
  if (!relayer) throw new Error('the keeper did not start its relayer');
  const relayerUrl = `http://127.0.0.1:${relayer.port}`;
  say(`keeper running (logs: ${path.relative(repoRoot, logFile)}, metrics: http://127.0.0.1:${port}/metrics)`);
  say(`relayer at ${relayerUrl}: the homes sign, the keeper sends (and pays the gas)`);
  void app.run();
  const relay = new RelayerClient(relayerUrl, await readSigningDomains(client, d.market, d.token));
  say('each home signs an ERC-2612 permit for the market (settlement pays with transferFrom)…');
  const deadline = (await client.getBlock()).timestamp + 86_400n;
  const permits = await Promise.allSettled(
    members.map(async (m) => {
      const permitNonce = await client.readContract({
        address: d.token,
        abi: energyTokenAbi,
        functionName: 'nonces',
        args: [m.account.address],
      });
      const id = await relay.submitPermit(m.account, { value: maxUint256, permitNonce, deadline });
      const done = await relay.settled(id, { timeoutMs: 60_000 });
      if (done.status !== 'relayed') throw new Error(`${m.name}: permit ${done.status} (${done.reason ?? ''})`);
    }),
  );
  const failedPermits = permits.filter((p) => p.status === 'rejected');
  for (const failed of failedPermits) say(`  a permit failed: ${String(failed.reason).split('\n')[0]}`);
  say(`${members.length - failedPermits.length} permits relayed`);
  web = await startWebServer({
    rpcUrl,
    marketAddress: d.market,
    relayerUrl,
    startBlock: BigInt(d.startBlock),
    port: env.WEB_PORT,
    demoWallets: true,
    logLevel: 'warn',
  });
  say(`web app: ${web.url} (sign in as any home with the "demo wallet" picker: test keys, local chain only)`);
  for (const m of members) say(`  ${m.name}  ${m.account.address}`);

  // The homes are a bidding agent: simulated forecasts and plans, a band around the recent clearing prices.
  const agentLogFile = logFile.replace('-keeper.log', '-agent.log');
  const agentLog = pino({ level: 'info' }, pino.destination({ dest: agentLogFile, sync: false }));
  const mid = (m: Member) => BigInt(Math.round((m.askPrice + m.bidPrice) / 2)) * TOKEN;
  const households = members.map((m) => ({
    account: m.account,
    mode: 'auto' as const,
    price: { strategy: 'median' as const, lastN: 3, bandPercent: 10, fallbackPricePerKWh: mid(m) },
  }));
  const agent = await runAgentFor(households, {
    client,
    market: d.market,
    relayerUrl,
    forecasts: new SimulatedForecasts(7, hourOf),
    plans: new SimulatedPlans(7, hourOf),
    settings: { closeMarginS: 2, thresholdWh: 0n },
    log: agentLog,
  });
  const reader = new MarketReader(client, d.market);
  const ordered: bigint[] = [];
  const placedIn = new Map<bigint, { bids: number; asks: number }>();
  const reported = new Set<bigint>();
  const totals = { orders: 0, trades: 0, accepted: 0, energyWh: 0n, tokens: 0n };
  say(`the community trades for ${WINDOWS} windows; each window settles two windows after it opens`);
  console.log('');
  console.log('  window  hour   bids  asks  price CET/kWh  cleared Wh  trades  accepted  rejected (why)');
  while (reported.size < WINDOWS && !stopping) {
    const now = (await client.getBlock()).timestamp;
    const w = now - (now % BigInt(WINDOW_SECONDS));
    const left = Number(w + BigInt(WINDOW_SECONDS) - now);
    if (ordered.length < WINDOWS && !ordered.includes(w) && left >= 6 && (await reader.window(w)).status === 'Open') {
      ordered.push(w);
      firstIndex ??= w / BigInt(WINDOW_SECONDS);
      await agent.actOn(w);
      const sides = agent.submitted(w).map((o) => o.side);
      const asks = sides.filter((side) => side === 1).length;
      const placed = { bids: sides.length - asks, asks };
      placedIn.set(w, placed);
      totals.orders += placed.bids + placed.asks;
      say(`window ${ordered.length} (${hh(w)}:00) open: ${placed.bids} bids, ${placed.asks} asks placed`);
    }
    for (const [i, id] of ordered.entries()) {
      if (reported.has(id)) continue;
      const win = await reader.window(id);
      if (win.status !== 'Settled') continue;
      reported.add(id);
      const reasons = new Map<string, number>();
      let accepted = 0;
      const { bids, asks } = placedIn.get(id) ?? { bids: 0, asks: 0 };
      for (let t = 0n; t < win.tradeCount; t++) {
        const trade = await reader.trade(id, t);
        if (trade.status === 'Accepted') {
          accepted++;
          totals.tokens += (trade.energyWh * win.clearingPrice) / 1000n;
        } else reasons.set(trade.reason, (reasons.get(trade.reason) ?? 0) + 1);
      }
      totals.trades += Number(win.tradeCount);
      totals.accepted += accepted;
      totals.energyWh += win.clearedEnergyWh;
      const why = [...reasons].map(([r, n]) => `${n} ${r}`).join(', ');
      const cells = [
        String(i + 1).padStart(6),
        `${hh(id)}:00`,
        String(bids).padStart(4),
        String(asks).padStart(4),
        Number(formatEther(win.clearingPrice)).toFixed(2).padStart(13),
        String(win.clearedEnergyWh).padStart(10),
        String(win.tradeCount).padStart(6),
        String(accepted).padStart(8),
        String(Number(win.tradeCount) - accepted).padStart(8),
      ];
      console.log(`  ${cells.join('  ')}${why ? ` (${why})` : ''}`);
    }
    await sleep(500);
  }
  if (stopping) return;
  console.log('');
  const out = path.join(repoRoot, 'exports', `demo-${chainId}.json`);
  const file = await exportWindows(client, d.market, ordered[0] as bigint, ordered[ordered.length - 1] as bigint, {
    fromBlock: 0n,
  });
  await writeExport(out, file);
  const acceptedPercent = totals.trades ? Math.round((100 * totals.accepted) / totals.trades) : 0;
  const paid = Number(formatEther(totals.tokens)).toFixed(4);
  say(
    `summary: ${totals.orders} orders, ${totals.trades} trades, ${totals.energyWh} Wh cleared, ` +
      `${totals.accepted} accepted (${acceptedPercent} %), ${paid} CET paid`,
  );
  say(`event export: ${path.relative(repoRoot, out)} (replay it: make replay FILE=${path.relative(repoRoot, out)})`);
  const balances = await Promise.all(members.map((m) => client.getBalance({ address: m.account.address })));
  const nonces = await Promise.all(members.map((m) => client.getTransactionCount({ address: m.account.address })));
  const ether = formatEther(balances.reduce((a, b) => a + b, 0n));
  say(`the homes hold ${ether} ether and sent ${nonces.reduce((a, b) => a + b, 0)} transactions`);
  if (STAY && web) {
    say(`the chain, the keeper and the web app stay up: ${web.url} (Ctrl-C stops everything)`);
    return;
  }
  await cleanup(0);
}

main().catch(async (error: unknown) => {
  say(`demo failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  console.error(error);
  // A clean-up already under way (Ctrl-C) exits by itself.
  if (stopStarted) await stopStarted(1);
  else process.exit(1);
});
