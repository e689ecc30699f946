#!/usr/bin/env node
// keeper run [--flags]: the hourly loop. See docs/operators.md.
import { ConfigError, loadConfig } from './config.js';
import { createKeeperApp } from './app.js';
import { StartupCheckError } from './keeper.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'run') {
    console.error('usage: keeper run [--rpc-url URL --chain-id N --market-address 0x.. ...]  (see docs/operators.md)');
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
    app.log.fatal({ err: String(error) }, what);
    console.error(`keeper: ${what}: ${error instanceof Error ? error.message : String(error)}`);
    await app.shutdown(0);
    return 1;
  }
  await app.keeper.run();
  await app.shutdown();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
