#!/usr/bin/env node
// keeper run [--flags]: the hourly loop. See docs/operators.md.
import { parseArgs } from 'node:util';
import type { PublicClient } from 'viem';
import { z } from 'zod';
import { makePublicClient } from './chain.js';
import { ConfigError, loadConfig } from './config.js';
import { createKeeperApp } from './app.js';
import { exportWindows, writeExport } from './export.js';
import { StartupCheckError } from './keeper.js';
import { redactText } from './redact.js';

const USAGE = `usage:
  keeper run [--rpc-url URL --chain-id N --market-address 0x.. ...]   the hourly loop (docs/operators.md)
  keeper export --from <windowId> --to <windowId> --out <file.json>   events for auditors (docs/auditors.md)
                [--rpc-url URL --chain-id N --market-address 0x.. --start-block N]`;

/** keeper export: needs only the RPC, chain id and market (no key). */
async function exportCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: Object.fromEntries(['from', 'to', 'out', 'rpc-url', 'chain-id', 'market-address', 'start-block'].map((k) => [k, { type: 'string' as const }])),
    strict: true,
  });
  const schema = z.object({
    from: z.coerce.bigint().nonnegative(),
    to: z.coerce.bigint().nonnegative(),
    out: z.string().min(1),
    rpcUrl: z.url(),
    chainId: z.coerce.number().int().positive(),
    marketAddress: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    startBlock: z.coerce.bigint().nonnegative().default(0n),
  });
  const parsed = schema.safeParse({
    from: values.from,
    to: values.to,
    out: values.out,
    rpcUrl: values['rpc-url'] ?? process.env.RPC_URL,
    chainId: values['chain-id'] ?? process.env.CHAIN_ID,
    marketAddress: values['market-address'] ?? process.env.MARKET_ADDRESS,
    startBlock: values['start-block'] ?? process.env.START_BLOCK,
  });
  if (!parsed.success) {
    console.error(`invalid export arguments:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}\n${USAGE}`);
    return 2;
  }
  const c = parsed.data;
  const client = makePublicClient({ rpcUrls: [c.rpcUrl], chainId: c.chainId, rpcRetryCount: 3, rpcRetryDelayMs: 250, rpcTimeoutMs: 10_000 });
  const file = await exportWindows(client as PublicClient, c.marketAddress as `0x${string}`, c.from, c.to, { fromBlock: c.startBlock });
  await writeExport(c.out, file);
  const events = file.windows.reduce((n, w) => n + w.events.length, 0);
  console.log(`exported ${file.windows.length} windows, ${events} events to ${c.out}`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'export') return exportCommand(rest);
  if (command !== 'run') {
    console.error(USAGE);
    return 2;
  }
  let config;
  try {
    config = loadConfig(process.env, rest);
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : String(error));
    return 2;
  }
  const app = await createKeeperApp(config);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    app.log.info({ signal }, signals === 1 ? 'stopping: no new work, finishing the in-flight action' : 'second signal: exiting now');
    if (signals > 1) process.exit(1);
    void app.shutdown().then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await app.keeper.startupChecks();
  } catch (error) {
    const what = error instanceof StartupCheckError ? 'start-up check failed' : 'start-up failed';
    app.log.fatal({ err: error }, what);
    console.error(`keeper: ${what}: ${redactText(error instanceof Error ? error.message : String(error))}`);
    await app.shutdown(0);
    return 1;
  }
  await app.run();
  await app.shutdown();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(redactText(error instanceof Error ? (error.stack ?? error.message) : String(error)));
    process.exit(1);
  },
);
