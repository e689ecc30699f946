// make web: the web server against any chain (RPC_URL, MARKET_ADDRESS, RELAYER_URL, ... from the environment).
import { WebConfigError, webConfigFromEnv } from './config.js';
import { startWebServer } from './index.js';

async function main(): Promise<void> {
  const config = webConfigFromEnv(process.env);
  const server = await startWebServer(config);
  console.log(`web app: ${server.url}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof WebConfigError ? error.message : `web server: ${(error as Error).message}`);
  process.exit(1);
});
