// Sign-In with Ethereum (EIP-4361): nonce, login (signature + registry check), session cookie, logout.
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import { getAddress, isHex, type Hex } from 'viem';
import { parseSiweMessage, verifySiweMessage } from 'viem/siwe';
import { z } from 'zod';
import type { ChainView } from './chain.js';
import { ApiError } from './errors.js';
import type { Session, SessionStore } from './sessions.js';

export const SESSION_COOKIE = 'energy_session';

export interface AuthSettings {
  secret: string;
  ttlS: number;
  /** The origin users open; the request's own origin when undefined. */
  publicOrigin?: string;
}

export type AuthEnv = { Variables: { session: Session; sessionId: string } };

const loginBody = z.object({
  message: z.string().min(1).max(4096),
  signature: z.string().refine((s) => isHex(s) && s.length >= 132 && s.length <= 4096, 'must be a hex signature'),
});

function originOf(c: Context, settings: AuthSettings): URL {
  return new URL(settings.publicOrigin ?? new URL(c.req.url).origin);
}

/** Checks a SIWE message and its signature; returns the signer or throws an ApiError saying what was wrong. */
async function verifyLogin(c: Context, body: unknown, chain: ChainView, store: SessionStore, settings: AuthSettings) {
  const parsed = loginBody.safeParse(body);
  if (!parsed.success) throw new ApiError(400, 'INVALID_BODY', 'send {message, signature} (an EIP-4361 message)');
  const { message } = parsed.data;
  const signature = parsed.data.signature as Hex;
  const fields = parseSiweMessage(message);
  const origin = originOf(c, settings);
  if (!fields.address || !fields.nonce || !fields.domain || !fields.uri) {
    throw new ApiError(400, 'INVALID_MESSAGE', 'not an EIP-4361 message (address, domain, uri and nonce needed)');
  }
  if (fields.domain !== origin.host) {
    throw new ApiError(401, 'WRONG_DOMAIN', `the message is for ${fields.domain}, this site is ${origin.host}`);
  }
  if (new URL(fields.uri).origin !== origin.origin)
    throw new ApiError(401, 'WRONG_URI', `uri must be on ${origin.origin}`);
  if (fields.chainId !== chain.deployment.chainId) {
    throw new ApiError(
      401,
      'WRONG_CHAIN',
      `the message names chain ${fields.chainId}, the market is on ${chain.deployment.chainId}`,
    );
  }
  if (!store.consumeNonce(fields.nonce))
    throw new ApiError(401, 'INVALID_NONCE', 'unknown, used or expired nonce; sign in again');
  const valid = await verifySiweMessage(chain.client, { message, signature, domain: origin.host, nonce: fields.nonce });
  if (!valid)
    throw new ApiError(401, 'INVALID_SIGNATURE', "the signature is not the account's, or the message has expired");
  return getAddress(fields.address);
}

export function authRoutes(chain: ChainView, store: SessionStore, settings: AuthSettings): Hono {
  const app = new Hono();
  app.get('/nonce', (c) => c.json({ nonce: store.issueNonce() }, 200, { 'cache-control': 'no-store' }));
  app.post('/login', async (c) => {
    // JSON only: a cross-site form cannot send it without a CORS preflight, which this server never grants.
    if (!/^application\/json\s*(;|$)/i.test(c.req.header('content-type') ?? '')) {
      throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    }
    const body: unknown = await c.req.json().catch(() => undefined);
    const address = await verifyLogin(c, body, chain, store, settings);
    if (!(await chain.isRegistered(address))) {
      throw new ApiError(403, 'NOT_REGISTERED', `${address} is not a registered prosumer of this community`);
    }
    const prosumerId = await chain.prosumerId(address);
    const { id, session } = store.create(address, prosumerId);
    await setSignedCookie(c, SESSION_COOKIE, id, settings.secret, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      maxAge: settings.ttlS,
      secure: originOf(c, settings).protocol === 'https:',
    });
    return c.json({ address, prosumerId: prosumerId.toString(), expiresAt: new Date(session.expiresAt).toISOString() });
  });
  app.post('/logout', async (c) => {
    const id = await getSignedCookie(c, settings.secret, SESSION_COOKIE);
    if (typeof id === 'string') store.end(id);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.body(null, 204);
  });
  return app;
}

/** Puts the session on the context, or answers 401. */
export function requireSession(store: SessionStore, secret: string): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const id = await getSignedCookie(c, secret, SESSION_COOKIE);
    const session = typeof id === 'string' ? store.get(id) : undefined;
    if (!session || typeof id !== 'string') throw new ApiError(401, 'NOT_SIGNED_IN', 'sign in first');
    c.set('session', session);
    c.set('sessionId', id);
    await next();
  };
}
