// The personal data API: a prosumer reads its own history, forecast and battery charge, nobody else's.
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { getAddress, isAddress, type Address } from 'viem';
import { z } from 'zod';
import type { AuthEnv } from './auth.js';
import type { ChainView } from './chain.js';
import { HOUR_S, hourStart, type HouseholdDataSource } from './data/types.js';
import { ApiError } from './errors.js';

const hoursQuery = (max: number, fallback: number) =>
  z.strictObject({
    hours: z
      .string()
      .regex(/^\d+$/, 'hours must be a whole number')
      .transform(Number)
      .refine((n) => n >= 1 && n <= max, `hours must be between 1 and ${max}`)
      .default(fallback),
  });

const historyQuery = hoursQuery(168, 24);
const forecastQuery = hoursQuery(48, 12);
const batteryQuery = z.strictObject({});

function query<T>(c: Context, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(c.req.query());
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const reason =
    issue?.code === 'unrecognized_keys' ? `unknown query parameter ${issue.keys.join(', ')}` : issue?.message;
  throw new ApiError(400, 'INVALID_QUERY', reason ?? 'invalid query');
}

/** The prosumer the request names (`me` or an address) if it is the signed-in one; 403 otherwise. */
function subject(c: Context<AuthEnv>): Address {
  const own = c.get('session').address;
  const named = c.req.param('prosumer');
  if (named === undefined || named === 'me') return own;
  if (!isAddress(named, { strict: false })) throw new ApiError(400, 'INVALID_PROSUMER', `${named} is not an address`);
  if (getAddress(named) !== own) throw new ApiError(403, 'FORBIDDEN', 'a prosumer reads only its own data');
  return own;
}

export function dataRoutes(
  chain: ChainView,
  source: HouseholdDataSource,
  session: MiddlewareHandler<AuthEnv>,
): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.use('*', session);
  const noStore = { 'cache-control': 'no-store, private' };
  // `/me/<kind>` and `/prosumers/<address>/<kind>` (the second only ever for oneself: 403 for anyone else).
  const get = (kind: string, handler: (c: Context<AuthEnv>) => Promise<Response>) => {
    app.get(`/me/${kind}`, handler);
    app.get(`/prosumers/:prosumer/${kind}`, handler);
  };
  get('history', async (c) => {
    const { hours } = query(c, historyQuery);
    const account = subject(c);
    const from = hourStart(await chain.now()) - hours * HOUR_S;
    const data = await source.history(await chain.household(account), from, hours);
    return c.json({ prosumer: account, unit: 'Wh', from, hours: data }, 200, noStore);
  });
  get('forecast', async (c) => {
    const { hours } = query(c, forecastQuery);
    const account = subject(c);
    const from = hourStart(await chain.now());
    const data = await source.forecast(await chain.household(account), from, hours);
    return c.json({ prosumer: account, unit: 'Wh', from, hours: data }, 200, noStore);
  });
  get('battery', async (c) => {
    query(c, batteryQuery);
    const account = subject(c);
    const household = await chain.household(account);
    const charge = await source.battery(household, await chain.now());
    return c.json(
      {
        prosumer: account,
        capacityWh: Number(household.batteryCapacityWh),
        powerW: Number(household.batteryPowerW),
        chargeWh: charge?.chargeWh ?? null,
        at: charge?.at ?? null,
      },
      200,
      noStore,
    );
  });
  return app;
}
