// `keeper agent`: the bidding agent, a process of its own (docs/operators.md). Exit codes: 2 bad config, 1 failed.
import { ConfigError } from '../config.js';
import { redactText } from '../redact.js';
import { loadAgentConfig } from './config.js';
import { createAgentApp } from './index.js';

export async function agentCommand(env: NodeJS.ProcessEnv): Promise<number> {
  let app: Awaited<ReturnType<typeof createAgentApp>>;
  try {
    app = await createAgentApp(loadAgentConfig(env), env);
  } catch (error) {
    console.error(
      error instanceof ConfigError ? error.message : `agent: start-up failed: ${redactText(String(error))}`,
    );
    return error instanceof ConfigError ? 2 : 1;
  }
  const { agent, server, log } = app;
  const stop = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopping');
    agent.stop();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await agent.run();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return 0;
}

const invoked = process.argv[1] ?? '';
if (/agent[/\\]main\.[jt]s$/.test(invoked)) {
  agentCommand(process.env).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
