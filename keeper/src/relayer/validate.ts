// Shapes of the relayer's request bodies (zod). Amounts are decimal strings (JSON numbers lose precision
// beyond 2^53); `side` is "buy" or "sell" (0 and 1 in the signed typed data). Unknown fields are refused.
import { getAddress, maxUint256, type Address, type Hex } from 'viem';
import { z } from 'zod';
import { Refusal } from './types.js';

const TOO_LARGE = 'exceeds uint256';
/** Longest signature accepted (an ERC-1271 wallet may use more than 65 bytes). */
export const MAX_SIGNATURE_BYTES = 1024;

const uint = z
  .string({ error: 'must be a decimal string' })
  .regex(/^(0|[1-9][0-9]*)$/, 'must be a decimal string of digits (no sign, no leading zeros, no exponent)')
  .refine((s) => s.length <= 78 && BigInt(s) <= maxUint256, TOO_LARGE)
  .transform((s) => BigInt(s));

const address = z
  .string({ error: 'must be a 0x-prefixed address' })
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address')
  .transform((s) => getAddress(s.toLowerCase()) as Address);

const hex = (maxBytes: number, what: string) =>
  z
    .string({ error: `must be a 0x-prefixed hex string (${what})` })
    .regex(/^0x([0-9a-fA-F]{2})+$/, `must be a 0x-prefixed hex string of whole bytes (${what})`)
    .refine((s) => s.length <= 2 + 2 * maxBytes, `longer than ${maxBytes} bytes (${what})`)
    .transform((s) => s.toLowerCase() as Hex);

const bytes32 = z
  .string({ error: 'must be a 0x-prefixed 32-byte hex string' })
  .regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte hex string')
  .transform((s) => s.toLowerCase() as Hex);

export const orderRequest = z.strictObject({
  prosumer: address,
  windowId: uint,
  side: z.enum(['buy', 'sell'], { error: 'must be "buy" or "sell"' }),
  energyWh: uint,
  pricePerKWh: uint,
  nonce: uint,
  signature: hex(MAX_SIGNATURE_BYTES, 'the EIP-712 signature'),
});

export const cancelRequest = z.strictObject({
  prosumer: address,
  windowId: uint,
  nonce: uint,
  signature: hex(MAX_SIGNATURE_BYTES, 'the EIP-712 signature'),
});

export const permitRequest = z
  .strictObject({
    owner: address,
    spender: address.optional(),
    value: uint,
    deadline: uint,
    signature: hex(65, '65 bytes r, s, v').optional(),
    v: z.number({ error: 'must be 27 or 28' }).int().min(27).max(28).optional(),
    r: bytes32.optional(),
    s: bytes32.optional(),
  })
  .refine(
    (p) =>
      (p.signature === undefined) === (p.v !== undefined && p.r !== undefined && p.s !== undefined) &&
      (p.signature === undefined || (p.v === undefined && p.r === undefined && p.s === undefined)),
    {
      message: 'give either "signature" or all of "v", "r", "s"',
      path: ['signature'],
    },
  );

export type OrderRequest = z.infer<typeof orderRequest>;
export type CancelRequest = z.infer<typeof cancelRequest>;
export type PermitRequest = z.infer<typeof permitRequest>;

/** Parses `body` with `schema`; a mismatch is a 400 Refusal naming the first bad field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body, { reportInput: true });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || 'body';
  if (issue?.message === TOO_LARGE)
    throw new Refusal(400, 'NUMBER_TOO_LARGE', `${field} exceeds the uint256 range`, { field });
  if (issue?.code === 'unrecognized_keys') {
    throw new Refusal(400, 'UNKNOWN_FIELD', `unknown field(s): ${issue.keys.join(', ')}`, {
      field: issue.keys.join(','),
    });
  }
  if (issue?.code === 'invalid_type' && issue.input === undefined) {
    throw new Refusal(400, 'MISSING_FIELD', `${field} is required`, { field });
  }
  throw new Refusal(400, 'INVALID_FIELD', `${field} ${issue?.message ?? 'is invalid'}`, { field });
}
