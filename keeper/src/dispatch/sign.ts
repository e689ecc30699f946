// The headers that authenticate a results payload: HMAC-SHA256 of the raw body, and the idempotency key.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { getAddress, type Address } from 'viem';

export const SIGNATURE_HEADER = 'X-Market-Signature';
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** `sha256=<hex HMAC-SHA256 of body under secret>`. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** What a dispatcher does with the header: true when it matches the body (constant-time compare). */
export function verifySignature(body: string, secret: string, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signBody(body, secret));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** `<chainId>:<market address>:<windowId>`, the address EIP-55 checksummed (as in the payload). */
export function idempotencyKey(chainId: number, market: Address, windowId: bigint): string {
  return `${chainId}:${getAddress(market)}:${windowId}`;
}
