// The demo's settings (DEMO_*, RPC_URL and the keys), validated with zod: an invalid value stops the demo
// with exit code 2 and a message naming the variable, before anything is started.
import { z } from 'zod';

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v),
    schema.optional(),
  );
const int = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be at least ${min}`)
    .max(max, `${name} must be at most ${max}`);
const key = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte hex key');

export const demoConfigSchema = z.object({
  DEMO_WINDOWS: optional(int('DEMO_WINDOWS', 1, 48)).default(6),
  // The settlement grace is half a window and must be a whole number of seconds.
  DEMO_WINDOW_SECONDS: optional(
    int('DEMO_WINDOW_SECONDS', 10, 3600).refine(
      (s) => s % 2 === 0,
      'DEMO_WINDOW_SECONDS must be even (the grace is half a window)',
    ),
  ).default(20),
  DEMO_PROSUMERS: optional(int('DEMO_PROSUMERS', 1, 200)).default(20),
  /** Keep everything up after the summary (default: when the output is a terminal). */
  DEMO_STAY: optional(z.stringbool({ error: 'DEMO_STAY must be true or false' })),
  /** The web app's port (0: any free one). */
  WEB_PORT: optional(int('WEB_PORT', 0, 65_535)).default(8080),
  RPC_URL: optional(z.url()),
  PRIVATE_KEY: optional(key),
  KEEPER_PRIVATE_KEY: optional(key),
});

export type DemoConfig = z.output<typeof demoConfigSchema>;

export class DemoConfigError extends Error {
  override name = 'DemoConfigError';
}

/** Parses the demo's environment; throws DemoConfigError naming every invalid variable (keys are never echoed). */
export function loadDemoConfig(env: NodeJS.ProcessEnv): DemoConfig {
  const parsed = demoConfigSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  ${String(i.path[0] ?? 'demo')}: ${i.message}`);
  throw new DemoConfigError(`invalid demo settings:\n${lines.join('\n')}`);
}
