import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HttpRequestError } from 'viem';
import { loadConfig } from '../src/config.js';
import { createLogger, redactConfig } from '../src/log.js';
import { redactText, redactUrl } from '../src/redact.js';

const KEY = '9aa3d95b3bc440fa88ea12eaa4456161';

describe('secrets in URLs', () => {
  it('redacts userinfo, secret query values and key-like path segments', () => {
    expect(redactUrl(`https://mainnet.infura.io/v3/${KEY}`)).toBe('https://mainnet.infura.io/v3/redacted');
    expect(redactUrl('https://user:hunter2@rpc.example.org/')).toBe('https://redacted:redacted@rpc.example.org/');
    expect(redactUrl('https://rpc.example.org/?apikey=abc&chain=100&token=t0k')).toBe(
      'https://rpc.example.org/?apikey=redacted&chain=100&token=redacted',
    );
    expect(redactUrl('http://127.0.0.1:8545')).toBe('http://127.0.0.1:8545/');
    expect(redactUrl('https://gnosis-rpc.publicnode.com/')).toBe('https://gnosis-rpc.publicnode.com/');
    expect(redactText(`request failed.\nURL: https://x.io/v2/${KEY}\nstatus 429`)).toBe(
      'request failed.\nURL: https://x.io/v2/redacted\nstatus 429',
    );
  });

  it('never logs the RPC key: not in the configuration, not in an error (logged with type, message and stack)', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().trim().split('\n'));
        done();
      },
    });
    const log = createLogger('info', 100, sink);
    const rpcUrl = `https://me:pw@rpc.example.org/v3/${KEY}?apikey=${KEY}`;
    const config = loadConfig({
      RPC_URL: rpcUrl,
      CHAIN_ID: '100',
      MARKET_ADDRESS: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      PRIVATE_KEY: `0x${'11'.repeat(32)}`,
      METER_SOURCE: 'http',
      METER_HTTP_URL: `https://meters.example.org/readings?token=${KEY}`,
    });
    log.info({ config: redactConfig(config) }, 'keeper configured');
    log.error(
      { err: new HttpRequestError({ url: rpcUrl, status: 429, body: { method: 'eth_chainId' } }) },
      'tick failed',
    );
    const text = lines.join('\n');
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('pw@');
    expect(text).not.toContain('11'.repeat(32));
    const configured = JSON.parse(lines[0]!);
    expect(configured.config.rpcUrl).toBe('https://redacted:redacted@rpc.example.org/v3/redacted?apikey=redacted');
    expect(configured.config.meterHttpUrl).toBe('https://meters.example.org/readings?token=redacted');
    const failed = JSON.parse(lines[1]!);
    expect(failed.err.type).toBe('HttpRequestError');
    expect(failed.err.message).toContain('URL: https://rpc.example.org/v3/redacted?apikey=redacted');
    expect(failed.err.url).toBe('https://redacted:redacted@rpc.example.org/v3/redacted?apikey=redacted');
    expect(failed.err.stack).toMatch(/^HttpRequestError: HTTP request failed/);
  });
});
