// Shared test setup: an anvil, a deployed market, registered and funded prosumers, time control.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  http,
  maxUint256,
  parseEther,
  type Address,
  type Chain,
  type ContractEventName,
  type Hex,
  type PrivateKeyAccount,
  type PublicClient,
  type Transport,
} from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { energyMarketAbi, energyTokenAbi, placeOrder, prosumerRegistryAbi } from '@p2p-energy/sdk';
import { startAnvil, type Anvil } from '../dev/anvil.js';
import { ANVIL_KEYS, TEST_MNEMONIC } from '../dev/test-keys.js';
import { makeChain } from '../src/chain.js';
import { loadConfig, type KeeperConfig } from '../src/config.js';
import { deploy, type Deployment } from '../dev/deploy.js';
import { TOKEN_UNIT } from '../src/constants.js';

export const HOUR = 3600n;

export interface Prosumer {
  account: PrivateKeyAccount | ReturnType<typeof mnemonicToAccount>;
  address: Address;
}

export interface Fixture {
  anvil: Anvil;
  deployment: Deployment;
  admin: ReturnType<typeof privateKeyToAccount>;
  publicClient: PublicClient<Transport, Chain>;
  prosumers: Prosumer[];
  /** First window of the test, an hour boundary. */
  start: bigint;
  setTime(timestamp: bigint): Promise<void>;
  now(): Promise<bigint>;
  placeOrder(p: Prosumer, windowId: bigint, side: 0 | 1, energyWh: bigint, price: bigint): Promise<void>;
  keeperConfig(overrides?: Record<string, string>): KeeperConfig;
  keeperEnv(overrides?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

export interface FixtureOptions {
  prosumers?: number;
  grace?: bigint;
  /** Hour of day (UTC) of the first window. */
  startHour?: number;
  /** Assets of prosumer `i` (default: 8 kW PV, 3 kW / 10 kWh battery). */
  assets?: (i: number) => { pvPeakW: bigint; batteryPowerW: bigint };
  tokensEach?: bigint;
  /** Prosumers get no ether and give no allowance (they sign permits and orders for a relayer). */
  gasless?: boolean;
}

export async function setupMarket(options: FixtureOptions = {}): Promise<Fixture> {
  const count = options.prosumers ?? 12;
  const day = 1_780_012_800n; // a midnight (UTC) in 2026
  const start = day + BigInt(options.startHour ?? 11) * HOUR;
  const chainId = 50_000 + Math.floor(Math.random() * 10_000);
  const anvil = await startAnvil({ chainId, timestamp: Number(start - HOUR + 60n), accounts: 3 });
  const chain = makeChain(chainId, anvil.url);
  const transport = http(anvil.url);
  const publicClient = createPublicClient({ chain, transport });
  const testClient = createTestClient({ chain, transport, mode: 'anvil' });
  const admin = privateKeyToAccount(ANVIL_KEYS[0]);
  const keeperAccount = privateKeyToAccount(ANVIL_KEYS[1]);
  const outDir = await mkdtemp(path.join(tmpdir(), 'fixture-deploy-'));
  const deployment = await deploy({
    outDir,
    rpcUrl: anvil.url,
    privateKey: ANVIL_KEYS[0],
    windowDuration: Number(HOUR),
    settlementGrace: Number(options.grace ?? 1800n),
    keeper: keeperAccount.address,
  });
  const adminWallet = createWalletClient({ chain, transport, account: admin });
  /** Waits for a (typed) writeContract's receipt; throws if it reverted. */
  const confirm = async (what: string, sent: Promise<Hex>) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await sent });
    if (receipt.status !== 'success') throw new Error(`${what} reverted`);
  };

  const prosumers: Prosumer[] = [];
  for (let i = 0; i < count; i++) {
    const account = mnemonicToAccount(TEST_MNEMONIC, { addressIndex: 100 + i });
    prosumers.push({ account, address: account.address });
    if (!options.gasless) await testClient.setBalance({ address: account.address, value: parseEther('10') });
    const registry = { address: deployment.registry, abi: prosumerRegistryAbi } as const;
    await confirm(
      'register',
      adminWallet.writeContract({ ...registry, functionName: 'register', args: [account.address, BigInt(i + 1)] }),
    );
    const assets = options.assets?.(i) ?? { pvPeakW: 8000n, batteryPowerW: 3000n };
    await confirm(
      'addPvSystem',
      adminWallet.writeContract({ ...registry, functionName: 'addPvSystem', args: [account.address, assets.pvPeakW] }),
    );
    const battery = [account.address, assets.batteryPowerW, 10_000n] as const;
    await confirm('addBattery', adminWallet.writeContract({ ...registry, functionName: 'addBattery', args: battery }));
    const tokens = options.tokensEach ?? 1000n * TOKEN_UNIT;
    const mint = {
      address: deployment.token,
      abi: energyTokenAbi,
      functionName: 'mint',
      args: [account.address, tokens],
    } as const;
    await confirm('mint', adminWallet.writeContract(mint));
    if (options.gasless) continue;
    const wallet = createWalletClient({ chain, transport, account });
    const approve = {
      address: deployment.token,
      abi: energyTokenAbi,
      functionName: 'approve',
      args: [deployment.market, maxUint256],
    } as const;
    await confirm('approve', wallet.writeContract(approve));
  }

  const fixture: Fixture = {
    anvil,
    deployment,
    admin,
    publicClient,
    prosumers,
    start,
    async setTime(timestamp) {
      await testClient.setNextBlockTimestamp({ timestamp });
      await testClient.mine({ blocks: 1 });
    },
    async now() {
      return (await publicClient.getBlock()).timestamp;
    },
    async placeOrder(p, windowId, side, energyWh, pricePerKWh) {
      const wallet = createWalletClient({ chain, transport, account: p.account });
      const order = { windowId, side, energyWh, pricePerKWh };
      await confirm('placeOrder', placeOrder(wallet, publicClient, deployment.market, order));
    },
    keeperEnv(overrides = {}) {
      return {
        RPC_URL: anvil.url,
        CHAIN_ID: String(chainId),
        MARKET_ADDRESS: deployment.market,
        PRIVATE_KEY: ANVIL_KEYS[1] as Hex,
        METRICS_PORT: '0',
        POLL_INTERVAL_MS: '200',
        TX_TIMEOUT_MS: '5000',
        LOG_LEVEL: 'silent',
        ...overrides,
      };
    },
    keeperConfig(overrides = {}) {
      return loadConfig(fixture.keeperEnv(overrides));
    },
    async stop() {
      await anvil.stop();
      await rm(outDir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** Every log of `eventName` emitted by the market, decoded. */
export async function marketEvents<const E extends ContractEventName<typeof energyMarketAbi>>(
  f: Fixture,
  eventName: E,
) {
  return f.publicClient.getContractEvents({
    address: f.deployment.market,
    abi: energyMarketAbi,
    eventName,
    fromBlock: 0n,
  });
}

/** The value of the first sample line of a Prometheus text body that starts with `series`. */
export function metricValue(body: string, series: string): number {
  return Number(
    body
      .split('\n')
      .find((l) => l.startsWith(series))
      ?.split(' ')
      .pop() ?? NaN,
  );
}
