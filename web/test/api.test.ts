// The web server's API on a real anvil: SIWE sign-in, sessions, the personal data API and its refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mnemonicToAccount } from 'viem/accounts';
import { setupWeb, signIn, siweMessage, WebClient, type WebFixture } from './helpers.js';

let f: WebFixture;
let chainId: number;

beforeAll(async () => {
  f = await setupWeb({ prosumers: 2 });
  chainId = f.market.anvil.chainId;
});
afterAll(async () => f?.stop());

describe('config', () => {
  it('tells the page where the chain, the market and the relayer are', async () => {
    const { status, body } = await new WebClient(f.web.url).json('/api/v1/config');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      chainId,
      rpcUrl: f.market.anvil.url,
      market: f.market.deployment.market,
      token: f.market.deployment.token,
      registry: f.market.deployment.registry,
      windowDuration: '3600',
      relayer: '/relayer',
      demoWallets: null,
    });
  });
});

describe('sign-in with Ethereum', () => {
  it('signs a registered prosumer in with an HttpOnly SameSite cookie, and out again', async () => {
    const client = new WebClient(f.web.url);
    const p = f.market.prosumers[0]!;
    const res = await signIn(client, p, chainId);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ address: p.address, prosumerId: '1' });
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Max-Age=3600/);
    expect((await client.json('/api/v1/me')).body).toMatchObject({ address: p.address, prosumerId: '1' });
    expect((await client.post('/api/v1/auth/logout', {})).status).toBe(204);
    expect((await client.json('/api/v1/me')).status).toBe(401);
  });

  it('refuses an unregistered account (403 NOT_REGISTERED)', async () => {
    const outsider = mnemonicToAccount('test test test test test test test test test test test junk', {
      addressIndex: 999,
    });
    const client = new WebClient(f.web.url);
    const res = await signIn(client, { account: outsider, address: outsider.address }, chainId);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'NOT_REGISTERED' });
    expect(client.cookie).toBe('');
  });

  it('refuses a bad signature (401 INVALID_SIGNATURE): signed by another account', async () => {
    const [p, other] = f.market.prosumers;
    const client = new WebClient(f.web.url);
    const res = await signIn(client, p!, chainId, (m) => other!.account.signMessage({ message: m }));
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'INVALID_SIGNATURE' });
  });

  it('refuses a replayed nonce, a foreign domain, another chain and an expired message', async () => {
    const p = f.market.prosumers[0]!;
    const client = new WebClient(f.web.url);
    const attempt = async (parts: { origin?: string; chain?: number; expired?: boolean; nonce?: string }) => {
      const nonce = parts.nonce ?? String((await client.json('/api/v1/auth/nonce')).body.nonce);
      const message = siweMessage({
        address: p.address,
        chainId: parts.chain ?? chainId,
        nonce,
        origin: parts.origin ?? f.web.url,
        ...(parts.expired ? { expirationTime: new Date(Date.now() - 1000) } : {}),
      });
      const res = await client.post('/api/v1/auth/login', {
        message,
        signature: await p.account.signMessage({ message }),
      });
      return { status: res.status, code: ((await res.json()) as { code: string }).code, nonce };
    };
    const ok = await attempt({});
    expect(ok.status).toBe(200);
    expect(await attempt({ nonce: ok.nonce })).toMatchObject({ status: 401, code: 'INVALID_NONCE' });
    expect(await attempt({ origin: 'http://phish.example' })).toMatchObject({ status: 401, code: 'WRONG_DOMAIN' });
    expect(await attempt({ chain: 1 })).toMatchObject({ status: 401, code: 'WRONG_CHAIN' });
    expect(await attempt({ expired: true })).toMatchObject({ status: 401, code: 'INVALID_SIGNATURE' });
    const garbage = await client.post('/api/v1/auth/login', { message: 'hello', signature: '0x12' });
    expect(garbage.status).toBe(400);
    const form = await client.fetch('/api/v1/auth/login', {
      method: 'POST',
      body: 'message=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(form.status).toBe(415);
  });
});

describe('personal data API', () => {
  it('answers 401 without a session', async () => {
    const client = new WebClient(f.web.url);
    for (const path of ['/api/v1/me/history', '/api/v1/me/forecast', '/api/v1/me/battery']) {
      const { status, body } = await client.json(path);
      expect(status, path).toBe(401);
      expect(body.code).toBe('NOT_SIGNED_IN');
    }
  });

  it('gives the signed-in prosumer its own hourly history, forecast and battery charge', async () => {
    const client = new WebClient(f.web.url);
    const p = f.market.prosumers[0]!;
    expect((await signIn(client, p, chainId)).status).toBe(200);
    const history = await client.json('/api/v1/me/history?hours=24');
    expect(history.status).toBe(200);
    const hours = history.body.hours as { start: number; consumptionWh: number; productionWh: number }[];
    expect(hours).toHaveLength(24);
    const now = Number(await f.market.now());
    expect(hours.at(-1)!.start).toBe(now - (now % 3600) - 3600);
    expect(hours.every((h) => Number.isInteger(h.consumptionWh) && h.consumptionWh > 0)).toBe(true);
    expect(hours.some((h) => h.productionWh > 0) && hours.some((h) => h.productionWh === 0)).toBe(true);
    const forecast = await client.json('/api/v1/me/forecast?hours=12');
    expect(forecast.status).toBe(200);
    expect((forecast.body.hours as { start: number }[])[0]!.start).toBe(now - (now % 3600));
    expect(forecast.body.hours).toHaveLength(12);
    const battery = await client.json('/api/v1/me/battery');
    expect(battery.status).toBe(200);
    expect(battery.body).toMatchObject({ prosumer: p.address, capacityWh: 10_000, powerW: 3000 });
    expect(battery.body.chargeWh).toBeGreaterThanOrEqual(0);
    expect(battery.body.chargeWh).toBeLessThanOrEqual(10_000);
    const own = await client.json(`/api/v1/prosumers/${p.address}/history?hours=2`);
    expect(own.status).toBe(200);
  });

  it("refuses another home's data (403) and bad query parameters (400 with a reason)", async () => {
    const client = new WebClient(f.web.url);
    const [p, other] = f.market.prosumers;
    expect((await signIn(client, p!, chainId)).status).toBe(200);
    for (const kind of ['history', 'forecast', 'battery']) {
      const { status, body } = await client.json(`/api/v1/prosumers/${other!.address}/${kind}`);
      expect(status, kind).toBe(403);
      expect(body.code).toBe('FORBIDDEN');
    }
    const bad = async (path: string) => (await client.json(path)).body;
    expect(await bad('/api/v1/me/history?hours=abc')).toMatchObject({
      code: 'INVALID_QUERY',
      message: 'hours must be a whole number',
    });
    expect(await bad('/api/v1/me/history?hours=0')).toMatchObject({ message: 'hours must be between 1 and 168' });
    expect(await bad('/api/v1/me/forecast?hours=49')).toMatchObject({ message: 'hours must be between 1 and 48' });
    expect(await bad('/api/v1/me/history?days=2')).toMatchObject({ message: 'unknown query parameter days' });
    expect((await client.json('/api/v1/me/history?hours=-1')).status).toBe(400);
    expect((await client.json('/api/v1/prosumers/0x1234/history')).status).toBe(400);
  });
});
