// Sign-in nonces and sessions, in memory: a nonce is good once for five minutes; a session for SESSION_TTL_S.
import { randomBytes } from 'node:crypto';
import { generateSiweNonce } from 'viem/siwe';
import type { Address } from 'viem';

const NONCE_TTL_MS = 5 * 60_000;
const MAX_ENTRIES = 10_000;

export interface Session {
  address: Address;
  prosumerId: bigint;
  expiresAt: number;
}

/** Drops expired entries, then the oldest ones while the map is over its cap. */
function prune<V>(map: Map<string, V>, expiry: (v: V) => number, now: number): void {
  for (const [k, v] of map) if (expiry(v) <= now) map.delete(k);
  while (map.size >= MAX_ENTRIES) {
    const oldest = map.keys().next();
    if (oldest.done) break;
    map.delete(oldest.value);
  }
}

export class SessionStore {
  private readonly nonces = new Map<string, number>();
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly ttlMs: number) {}

  issueNonce(now = Date.now()): string {
    prune(this.nonces, (e) => e, now);
    const nonce = generateSiweNonce();
    this.nonces.set(nonce, now + NONCE_TTL_MS);
    return nonce;
  }

  /** True once for a nonce this store issued that has not expired. */
  consumeNonce(nonce: string, now = Date.now()): boolean {
    const expires = this.nonces.get(nonce);
    this.nonces.delete(nonce);
    return expires !== undefined && expires > now;
  }

  create(address: Address, prosumerId: bigint, now = Date.now()): { id: string; session: Session } {
    prune(this.sessions, (s) => s.expiresAt, now);
    const id = randomBytes(32).toString('base64url');
    const session = { address, prosumerId, expiresAt: now + this.ttlMs };
    this.sessions.set(id, session);
    return { id, session };
  }

  get(id: string, now = Date.now()): Session | undefined {
    const session = this.sessions.get(id);
    if (session && session.expiresAt <= now) this.sessions.delete(id);
    return session && session.expiresAt > now ? session : undefined;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }
}
