// Relayer records: what was accepted (an order, a cancel, a permit) and what became of it.
import type { Address, Hex } from 'viem';

export type Side = 0 | 1;
export const SIDE_NAMES = ['buy', 'sell'] as const;
export type SideName = (typeof SIDE_NAMES)[number];

export interface OrderData {
  prosumer: Address;
  windowId: bigint;
  side: Side;
  energyWh: bigint;
  pricePerKWh: bigint;
  nonce: bigint;
  signature: Hex;
}

export interface CancelData {
  prosumer: Address;
  windowId: bigint;
  nonce: bigint;
  signature: Hex;
}

export interface PermitData {
  owner: Address;
  spender: Address;
  value: bigint;
  deadline: bigint;
  /** The token's `nonces(owner)` the permit was signed for. */
  nonce: bigint;
  v: number;
  r: Hex;
  s: Hex;
}

/** queued → placed | rejected (orders), cancelled | rejected (cancels), relayed | rejected (permits). */
export type Status = 'queued' | 'placed' | 'cancelled' | 'relayed' | 'rejected';

export interface Outcome {
  status: Exclude<Status, 'queued'>;
  txHash?: Hex;
  blockNumber?: bigint;
  /** Why it was rejected: the contract's error name, or the relayer's check that failed. */
  reason?: string;
}

interface Base {
  /** The EIP-712 digest of the signed message (unique per signature payload). */
  id: Hex;
  /** When it was accepted (ISO time) and the block whose state the checks read. */
  acceptedAt: string;
  acceptedBlock: bigint;
  outcome?: Outcome;
  /** Batches it was part of whose receipt sent it back to the queue (hint too far). */
  attempts: number;
}

export type Item =
  | (Base & { kind: 'order'; data: OrderData })
  | (Base & { kind: 'cancel'; data: CancelData })
  | (Base & { kind: 'permit'; data: PermitData });

export type Kind = Item['kind'];

/** A request refused at the API: HTTP status, machine code, a sentence. */
export class Refusal extends Error {
  override name = 'Refusal';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}
