#!/usr/bin/env node
// keeper run | keeper export | keeper verify-export: see docs/operators.md and docs/auditors.md. Exit codes:
// 0 done (or --help, --version), 1 a start-up check, the run or a verification failed, 2 a usage or configuration
// error.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Command, CommanderError } from 'commander';
import { z } from 'zod';
import { makePublicClient } from './chain.js';
import { addConfigOptions, ConfigError, configFromValues, refuseSecretFlags, type KeeperConfig } from './config.js';
import { agentCommand } from './agent/main.js';
import { createKeeperApp } from './app.js';
import { exportWindows, writeExport, type ExportFile } from './export.js';
import { StartupCheckError } from './keeper.js';
import { redactText } from './redact.js';
import { describeDifference, describeWindow, verifyExport, type Verification } from './verify-export.js';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const exportSchema = z.object({
  from: z.coerce.bigint().nonnegative(),
  to: z.coerce.bigint().nonnegative(),
  out: z.string().min(1),
  rpcUrl: z.url(),
  chainId: z.coerce.number().int().positive(),
  marketAddress: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  startBlock: z.coerce.bigint().nonnegative().default(0n),
  toBlock: z.coerce.bigint().nonnegative().optional(),
});

/** keeper export: needs only the RPC, chain id and market (no key). */
async function exportCommand(values: Record<string, string | undefined>): Promise<number> {
  const env = (name: string) => (process.env[name] === '' ? undefined : process.env[name]);
  const parsed = exportSchema.safeParse({
    ...values,
    rpcUrl: values.rpcUrl ?? env('RPC_URL'),
    chainId: values.chainId ?? env('CHAIN_ID'),
    marketAddress: values.marketAddress ?? env('MARKET_ADDRESS'),
    startBlock: values.startBlock ?? env('START_BLOCK'),
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    console.error(`invalid export arguments:\n${lines.join('\n')}\n(see keeper export --help)`);
    return EXIT.usage;
  }
  const c = parsed.data;
  const client = makePublicClient({
    rpcUrls: [c.rpcUrl],
    chainId: c.chainId,
    rpcRetryCount: 3,
    rpcRetryDelayMs: 250,
    rpcTimeoutMs: 10_000,
  });
  const market = c.marketAddress as `0x${string}`;
  const file = await exportWindows(client, market, c.from, c.to, { fromBlock: c.startBlock, toBlock: c.toBlock });
  await writeExport(c.out, file);
  const events = file.windows.reduce((n, w) => n + w.events.length, 0);
  console.log(`exported ${file.windows.length} windows, ${events} events to ${c.out}`);
  return EXIT.ok;
}

const verifySchema = z.object({
  file: z.string().min(1),
  rpcUrl: z.url(),
  chainId: z.coerce.number().int().positive().optional(),
  marketAddress: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/)
    .optional(),
});

/** Differences printed at most; the count says how many there were. */
const MAX_DIFFERENCES_SHOWN = 50;

/** keeper verify-export: exit 0 when the file is the chain's copy, 1 (with every difference named) when not. */
async function verifyExportCommand(file: string, values: Record<string, string | undefined>): Promise<number> {
  const env = (name: string) => (process.env[name] === '' ? undefined : process.env[name]);
  const parsed = verifySchema.safeParse({
    file,
    rpcUrl: values.rpcUrl ?? env('RPC_URL'),
    chainId: values.chainId ?? env('CHAIN_ID'),
    marketAddress: values.marketAddress ?? env('MARKET_ADDRESS'),
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    console.error(`invalid verify-export arguments:\n${lines.join('\n')}\n(see keeper verify-export --help)`);
    return EXIT.usage;
  }
  const c = parsed.data;
  let data: ExportFile;
  try {
    data = JSON.parse(await readFile(c.file, 'utf8')) as ExportFile;
  } catch (error) {
    console.error(`verify-export: cannot read ${c.file}: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.usage;
  }
  const client = makePublicClient({
    rpcUrls: [c.rpcUrl],
    chainId: c.chainId ?? data.chainId,
    rpcRetryCount: 3,
    rpcRetryDelayMs: 250,
    rpcTimeoutMs: 10_000,
  });
  const market = c.marketAddress as `0x${string}` | undefined;
  let result: Verification;
  try {
    result = await verifyExport(client, data, { chainId: c.chainId, market });
  } catch (error) {
    // An RPC failure (after retries), a node without the state of old blocks, or a file that is not an export.
    const why = redactText(error instanceof Error ? error.message : String(error));
    console.error(`verify-export: could not check ${c.file} against the chain: ${why}`);
    return EXIT.failed;
  }
  if (result.differences.length > 0) {
    const shown = result.differences.slice(0, MAX_DIFFERENCES_SHOWN).map((d) => `  ${describeDifference(d)}`);
    const more = result.differences.length - shown.length;
    console.error(
      [
        `verify-export: ${c.file} is not the chain's copy (differences: ${result.differences.length}):`,
        ...shown,
        ...(more > 0 ? [`  ... and ${more} more`] : []),
      ].join('\n'),
    );
    return EXIT.failed;
  }
  console.log(
    [
      `verified ${c.file}: the chain's copy (chain ${data.chainId}, market ${data.market}, ` +
        `blocks ${data.fromBlock}..${data.toBlock}, block ${data.toBlock} is ${data.toBlockHash})`,
      ...result.windows.map((w) => `  ${describeWindow(w)}`),
    ].join('\n'),
  );
  return EXIT.ok;
}

/** keeper run: the hourly loop until SIGTERM/SIGINT. */
async function runCommand(flags: Record<string, string | undefined>): Promise<number> {
  let config: KeeperConfig;
  try {
    config = configFromValues(process.env, flags);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return EXIT.usage;
  }
  const app = await createKeeperApp(config);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    const what = signals === 1 ? 'stopping: no new work, finishing the in-flight action' : 'second signal: exiting now';
    app.log.info({ signal }, what);
    if (signals > 1) process.exit(EXIT.failed);
    void app.shutdown(config.shutdownGraceMs).then(() => process.exit(EXIT.ok));
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
    return EXIT.failed;
  }
  await app.run();
  await app.shutdown(config.shutdownGraceMs);
  return EXIT.ok;
}

export function program(onExit: (code: Promise<number>) => void): Command {
  const root = new Command('keeper')
    .description('The keeper of the P2P energy market: opens, closes and settles windows, submits meter readings.')
    .version(version(), '-V, --version')
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 a start-up check, the run or a verification failed, 2 a usage or configuration error.',
    )
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  const run = addConfigOptions(
    new Command('run').description('the hourly loop (docs/operators.md); settings from the environment, flags win'),
  )
    .addHelpText('after', '\nSecrets are never flags: PRIVATE_KEY(_FILE), KEYSTORE_PASSWORD(_FILE) in the environment.')
    .allowExcessArguments(false)
    .exitOverride()
    .action((flags: Record<string, string | undefined>) => onExit(runCommand(flags)));
  root.addCommand(run);
  const exp = new Command('export')
    .description('every market event of a range of windows, for auditors (docs/auditors.md)')
    .requiredOption('--from <windowId>', 'first window')
    .requiredOption('--to <windowId>', 'last window')
    .requiredOption('--out <file>', 'the JSON file to write')
    .option('--rpc-url <url>', 'JSON-RPC endpoint [env RPC_URL]')
    .option('--chain-id <id>', 'chain id [env CHAIN_ID]')
    .option('--market-address <address>', 'the EnergyMarket [env MARKET_ADDRESS]')
    .option('--start-block <n>', 'first block to scan [env START_BLOCK]')
    .option('--to-block <n>', 'last block to scan (e.g. a finalized one; default: the head)')
    .allowExcessArguments(false)
    .exitOverride()
    .action((values: Record<string, string | undefined>) => onExit(exportCommand(values)));
  root.addCommand(exp);
  const verify = new Command('verify-export')
    .description("checks that an export is the chain's copy: same events, block hashes and values (docs/auditors.md)")
    .argument('<file>', 'the export (keeper export --out)')
    .option('--rpc-url <url>', 'JSON-RPC endpoint of the chain (an archive node for old blocks) [env RPC_URL]')
    .option('--chain-id <id>', "the chain id you expect (default: the export's) [env CHAIN_ID]")
    .option('--market-address <address>', "the EnergyMarket you expect (default: the export's) [env MARKET_ADDRESS]")
    .allowExcessArguments(false)
    .exitOverride()
    .action((file: string, values: Record<string, string | undefined>) => onExit(verifyExportCommand(file, values)));
  root.addCommand(verify);
  const agent = new Command('agent')
    .description(
      'the bidding agent: one signed order per household and window, through the relayer (docs/operators.md)',
    )
    .addHelpText('after', '\nSettings from the environment only (AGENT_*, see docs/operators.md); keys from keystores.')
    .allowExcessArguments(false)
    .exitOverride()
    .action(() => onExit(agentCommand(process.env)));
  root.addCommand(agent);
  return root;
}

async function main(argv: string[]): Promise<number> {
  let pending: Promise<number> | undefined;
  const root = program((code) => (pending = code));
  try {
    if (argv.length === 0) {
      root.outputHelp();
      return EXIT.usage;
    }
    // Secret flags first: the refusal names the *_FILE variable (commander would say "unknown option").
    refuseSecretFlags(argv);
    await root.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
        ? EXIT.ok
        : EXIT.usage;
    }
    if (error instanceof ConfigError) {
      console.error(`keeper: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }
  return pending ?? EXIT.usage;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(redactText(error instanceof Error ? (error.stack ?? error.message) : String(error)));
    process.exit(EXIT.failed);
  },
);
