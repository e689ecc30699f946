// Test helpers: a market on anvil (the keeper's fixture), the web server on it, SIWE sign-in with a cookie jar.
import { createSiweMessage } from 'viem/siwe';
import type { Address, Hex } from 'viem';
import { setupMarket, type Fixture, type FixtureOptions, type Prosumer } from '../../keeper/test/fixture.js';
import { startWebServer, type WebServer, type WebConfigInput } from '../server/index.js';

export interface WebFixture {
  market: Fixture;
  web: WebServer;
  stop(): Promise<void>;
}

export async function setupWeb(
  options: FixtureOptions = {},
  overrides: Partial<WebConfigInput> = {},
): Promise<WebFixture> {
  const market = await setupMarket(options);
  const web = await startWebServer({
    rpcUrl: market.anvil.url,
    marketAddress: market.deployment.market,
    relayerUrl: 'http://127.0.0.1:9',
    port: 0,
    logLevel: 'silent',
    ...overrides,
  });
  return {
    market,
    web,
    async stop() {
      await web.close();
      await market.stop();
    },
  };
}

/** A client of the web server that keeps its session cookie. */
export class WebClient {
  cookie = '';

  constructor(readonly base: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookie) headers.set('cookie', this.cookie);
    const res = await fetch(`${this.base}${path}`, { ...init, headers });
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0] ?? '';
    return res;
  }

  async json(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await this.fetch(path);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  post(path: string, body: unknown): Promise<Response> {
    return this.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }
}

export interface SiweParts {
  address: Address;
  chainId: number;
  nonce: string;
  origin: string;
  expirationTime?: Date;
}

export function siweMessage(p: SiweParts): string {
  const url = new URL(p.origin);
  return createSiweMessage({
    address: p.address,
    chainId: p.chainId,
    domain: url.host,
    nonce: p.nonce,
    uri: url.origin,
    version: '1',
    statement: 'Sign in to the energy community market.',
    issuedAt: new Date(),
    ...(p.expirationTime ? { expirationTime: p.expirationTime } : {}),
  });
}

/** Signs in as `p`; returns the login response. */
export async function signIn(client: WebClient, p: Prosumer, chainId: number, sign?: (m: string) => Promise<Hex>) {
  const { body } = await client.json('/api/v1/auth/nonce');
  const message = siweMessage({ address: p.address, chainId, nonce: String(body.nonce), origin: client.base });
  const signature = await (sign ?? ((m: string) => p.account.signMessage({ message: m })))(message);
  return client.post('/api/v1/auth/login', { message, signature });
}
