// The web app in a real browser on anvil: two demo homes sign in, one sells and one buys through the relayer,
// the window clears at the right price, readings and settlement turn the trades green (and the buyer without
// tokens red, with its reason). Plus: an unregistered home is refused, and a dead RPC shows a clear error.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { createWalletClient, http, parseEther, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energyMarketAbi, energyTokenAbi } from '@p2p-energy/sdk';
import { createKeeperApp, type KeeperApp } from '../../keeper/src/app.js';
import { makeChain } from '../../keeper/src/chain.js';
import { HOUR, setupMarket, type Fixture, type Prosumer } from '../../keeper/test/fixture.js';
import { startWebServer, type WebServer } from '../server/index.js';
import { launch, screenshots } from './browser.js';

let f: Fixture;
let keeper: KeeperApp;
let web: WebServer;
let browser: Browser;
let dir: string;
let w0: bigint;
const contexts: BrowserContext[] = [];

/** Waits until the locator's text contains `expected` (the page updates by itself: no reload). */
const text = (l: Locator, expected: string, timeout = 5000) =>
  expect.poll(async () => ((await l.count()) > 0 ? await l.first().innerText() : ''), { timeout }).toContain(expected);
const count = (l: Locator, n: number, timeout = 5000) => expect.poll(() => l.count(), { timeout }).toBe(n);

async function admin(
  functionName: 'openWindow' | 'closeWindow' | 'settleWindow' | 'submitMeterReadings',
  args: unknown[],
) {
  const wallet = createWalletClient({
    chain: makeChain(f.anvil.chainId, f.anvil.url),
    transport: http(f.anvil.url),
    account: f.admin,
  });
  const hash = await wallet.writeContract({
    address: f.deployment.market,
    abi: energyMarketAbi,
    functionName,
    args,
  } as Parameters<typeof wallet.writeContract>[0]);
  const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`${functionName} reverted`);
}

async function asProsumer(
  p: Prosumer,
  address: Address,
  functionName: 'transfer' | 'approve',
  args: [Address, bigint],
) {
  const wallet = createWalletClient({
    chain: makeChain(f.anvil.chainId, f.anvil.url),
    transport: http(f.anvil.url),
    account: p.account,
  });
  const hash = await wallet.writeContract({ address, abi: energyTokenAbi, functionName, args });
  await f.publicClient.waitForTransactionReceipt({ hash });
}

/** A fresh browser context signed in as demo home `index` (0 = home-01). */
async function signedIn(index: number): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${web.url}/#/login`);
  await page.getByLabel('Demo home').selectOption({ index });
  await page.getByRole('button', { name: 'Sign in with the demo wallet' }).click();
  await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
  return page;
}

async function placeThroughForm(page: Page, side: 'buy' | 'sell', kWh: string, price: string): Promise<void> {
  if (!page.url().endsWith('#/marketplace')) await page.goto(`${web.url}/#/marketplace`);
  await page.getByText('You have no order in this window.').waitFor();
  await page.getByLabel('Buy or sell', { exact: true }).selectOption(side);
  await page.getByLabel('Energy (kWh)').fill(kWh);
  await page.getByLabel('Price (tokens per kWh)').fill(price);
  await page.getByRole('button', { name: 'Sign and send the order' }).click();
  await page.locator('#order-status .ok').waitFor({ timeout: 30_000 });
  await page.getByText('Your order:').waitFor();
}

beforeAll(async () => {
  f = await setupMarket({ prosumers: 3, startHour: 11 });
  w0 = f.start - HOUR;
  await admin('openWindow', []);
  const [, buyer, poor] = f.prosumers;
  // Home 2 starts without an allowance (it grants one by permit on the Wallet page); home 3 gives its tokens away.
  await asProsumer(buyer!, f.deployment.token, 'approve', [f.deployment.market, 0n]);
  await asProsumer(poor!, f.deployment.token, 'transfer', [f.admin.address, parseEther('1000')]);
  dir = await mkdtemp(path.join(tmpdir(), 'web-relayer-'));
  keeper = await createKeeperApp(
    f.keeperConfig({
      RELAYER: 'true',
      RELAYER_PORT: '0',
      RELAY_INTERVAL_MS: '500',
      RELAY_JOURNAL_PATH: path.join(dir, 'journal.jsonl'),
    }),
    { serve: false },
  );
  const relayer = await keeper.startRelayer();
  web = await startWebServer({
    rpcUrl: f.anvil.url,
    marketAddress: f.deployment.market,
    relayerUrl: `http://127.0.0.1:${relayer?.port}`,
    port: 0,
    demoWallets: true,
    demoWalletFirstIndex: 100,
    demoWalletCount: 4, // home-04 is not registered
    logLevel: 'silent',
  });
  browser = await launch();
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await web?.close();
  await keeper?.shutdown(0);
  await f?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('web app in chromium', () => {
  it('refuses an unregistered demo home at login', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${web.url}/#/login`);
    await screenshots(page, 'login');
    await page.getByLabel('Demo home').selectOption({ index: 3 });
    await page.getByRole('button', { name: 'Sign in with the demo wallet' }).click();
    await text(page.getByRole('alert'), 'not a registered prosumer', 10_000);
  });

  it('signs in with an EIP-1193 browser wallet', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    const home = f.prosumers[2]!;
    // A minimal injected wallet: the page's window.ethereum asks the test (Node) to sign as home 3.
    await page.exposeFunction('walletRequest', async (method: string, params: unknown[]) => {
      if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [home.address];
      if (method === 'eth_chainId') return `0x${f.anvil.chainId.toString(16)}`;
      if (method === 'personal_sign') return home.account.signMessage({ message: { raw: params[0] as Hex } });
      throw new Error(`unsupported ${method}`);
    });
    await page.addInitScript(() => {
      const call = (window as unknown as { walletRequest: (m: string, p: unknown[]) => Promise<unknown> })
        .walletRequest;
      (window as unknown as { ethereum: unknown }).ethereum = {
        request: ({ method, params }: { method: string; params?: unknown[] }) => call(method, params ?? []),
        on: () => undefined,
        removeListener: () => undefined,
      };
    });
    await page.goto(`${web.url}/#/login`);
    await page.getByRole('button', { name: 'Sign in with your wallet' }).click();
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    await text(page.locator('#main'), '#3');
  });

  it('refuses a login whose signature was tampered with on the way', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.route(`${web.url}/api/v1/auth/login`, async (route) => {
      const body = JSON.parse(route.request().postData() ?? '{}') as { message: string; signature: string };
      const flipped = body.signature.slice(0, 10) + (body.signature[10] === 'a' ? 'b' : 'a') + body.signature.slice(11);
      await route.continue({ postData: JSON.stringify({ ...body, signature: flipped }) });
    });
    await page.goto(`${web.url}/#/login`);
    await page.getByRole('button', { name: 'Sign in with the demo wallet' }).click();
    await text(page.getByRole('alert'), 'The signature does not belong to this account', 10_000);
    await screenshots(page, 'login-refused');
  });

  it('trades: sell and buy by signature, cleared at the right price, settled green and red', async () => {
    const seller = await signedIn(0);
    await text(seller.locator('#batteries'), '3 kW');
    await text(seller.locator('#pv-systems'), '8 kW');
    await seller.locator('#battery-charge').waitFor();
    // The page's own session reads its own data, and is refused another home's.
    const status = (address: string) =>
      seller.evaluate(async (a) => (await fetch(`/api/v1/prosumers/${a}/history?hours=1`)).status, address);
    expect(await status(f.prosumers[0]!.address)).toBe(200);
    expect(await status(f.prosumers[1]!.address)).toBe(403);
    await screenshots(seller, 'home');
    await seller.goto(`${web.url}/#/historical`);
    await seller.locator('#consumptionWh-data').waitFor({ state: 'attached' });
    await screenshots(seller, 'historical');

    await placeThroughForm(seller, 'sell', '4', '20');
    const buyer = await signedIn(1);
    await buyer.goto(`${web.url}/#/marketplace`);
    await buyer.getByLabel('Energy (kWh)').fill('abc');
    await buyer.getByLabel('Price (tokens per kWh)').fill('0');
    await buyer.getByRole('button', { name: 'Sign and send the order' }).click();
    await text(buyer.locator('#order-energy-error'), 'Enter the energy in kWh');
    await text(buyer.locator('#order-price-error'), 'more than 0');
    // A first bid, cancelled by a signed Cancel through the relayer, then the real one.
    await placeThroughForm(buyer, 'buy', '1', '21');
    await buyer.getByRole('button', { name: 'Cancel my order (signed)' }).click();
    await buyer.getByText('Your order is cancelled').waitFor({ timeout: 30_000 });
    await placeThroughForm(buyer, 'buy', '2', '25');
    // Home 3 bids directly (no relayer) and holds no tokens.
    await f.placeOrder(f.prosumers[2]!, w0, 0, 2000n, parseEther('24'));
    await text(buyer.locator('#clear-now'), '22.00 CET/kWh for 4.000 kWh', 10_000);
    await screenshots(buyer, 'marketplace-open');

    await buyer.goto(`${web.url}/#/wallet`);
    await buyer.locator('#allowance-low').waitFor();
    await screenshots(buyer, 'wallet-permit');
    await buyer.getByRole('button', { name: 'Grant the allowance (sign a permit)' }).click();
    await buyer.getByText('Allowance granted').waitFor({ timeout: 30_000 });
    await text(buyer.locator('#allowance'), 'unlimited', 10_000);

    // The hour ends: the window closes (clearing), the next one opens.
    await f.setTime(w0 + HOUR + 1n);
    await admin('closeWindow', [w0, 100n]);
    await admin('openWindow', []);
    await seller.goto(`${web.url}/#/marketplace`);
    const row = seller.locator(`#windows-table tr[data-window="${w0}"]`);
    await text(row, 'Cleared', 10_000);
    await text(row, '22.00 CET/kWh');
    await text(row, '4.000 kWh');
    await screenshots(seller, 'marketplace-cleared');

    // Delivery hour over: readings, then settlement; the page follows without a reload.
    await seller.goto(`${web.url}/#/wallet`);
    await count(seller.locator(`[data-window="${w0}"] tr.trade`), 2, 10_000);
    await count(seller.locator(`[data-window="${w0}"] tr.trade.pending`), 2);
    await screenshots(seller, 'wallet-pending');
    await f.setTime(w0 + 2n * HOUR + 1n);
    const [a, b, c] = f.prosumers.map((p) => p.address);
    await admin('submitMeterReadings', [w0, [a, b, c], [0n, 2000n, 2000n], [4000n, 0n, 0n]]);
    await admin('settleWindow', [w0, 100n]);
    const accepted = seller.locator(`[data-window="${w0}"] tr.trade.accepted.own`);
    const rejected = seller.locator(`[data-window="${w0}"] tr.trade.rejected.own`);
    await count(accepted, 1, 15_000);
    await text(rejected, 'buyer lacked tokens or allowance');
    await text(accepted, '44.00 CET');
    await text(seller.locator('#balance'), '1,044.00 CET');
    const color = await accepted
      .locator('td')
      .first()
      .evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(color).toBe('rgb(220, 252, 231)');
    await screenshots(seller, 'wallet-settled');
    await buyer.goto(`${web.url}/#/wallet`);
    await count(buyer.locator(`[data-window="${w0}"] tr.trade.accepted.own`), 1, 10_000);
    await count(buyer.locator(`[data-window="${w0}"] tr.trade.rejected:not(.own)`), 1);
    await seller.goto(`${web.url}/#/marketplace`);
    await text(row, 'Settled', 10_000);
    await text(row, '44.00 CET');
    await screenshots(seller, 'marketplace-settled');
  });

  it('shows a clear error when the RPC is down', async () => {
    const page = await signedIn(0);
    const rpc = new URL(f.anvil.url).origin;
    const toRpc = (url: URL) => url.origin === rpc;
    await page.route(toRpc, (route) => route.abort('connectionrefused'));
    await text(page.locator('#banner'), 'The chain is unreachable', 10_000);
    await screenshots(page, 'rpc-down');
    await page.unroute(toRpc);
    await expect.poll(() => page.locator('#banner').textContent(), { timeout: 10_000 }).toBe('');
  });

  it('shows a clear error when the RPC serves another chain id', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    const rpc = new URL(f.anvil.url).origin;
    // Answer eth_chainId with chain 1 (single and batched JSON-RPC requests).
    await page.route(
      (url) => url.origin === rpc,
      async (route) => {
        const sent = JSON.parse(route.request().postData() ?? '{}') as
          { id: number; method: string } | { id: number; method: string }[];
        const response = await route.fetch();
        const body = (await response.json()) as { id: number; result?: unknown } | { id: number; result?: unknown }[];
        const calls = Array.isArray(sent) ? sent : [sent];
        const chainIdCalls = new Set(calls.filter((c) => c.method === 'eth_chainId').map((c) => c.id));
        const fix = (r: { id: number; result?: unknown }) => (chainIdCalls.has(r.id) ? { ...r, result: '0x1' } : r);
        await route.fulfill({ response, json: Array.isArray(body) ? body.map(fix) : fix(body) });
      },
    );
    await page.goto(`${web.url}/#/login`);
    await text(page.locator('#banner'), `serves chain 1; this market is on chain ${f.anvil.chainId}`, 10_000);
    await screenshots(page, 'wrong-chain');
  });
});
