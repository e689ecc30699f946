// Signed orders, cancels and permits (EIP-712, docs/protocol.md "Signed orders") and their trip through the
// relayer (docs/integrators.md): the form's values are checked before anything is signed.
import { maxUint256, type Hex } from 'viem';
import { readSigningDomains, type RelayedStatus, RelayerClient, RelayerRefusal } from '@p2p-energy/sdk';
import type { ChainWatch } from './chain.js';
import { parseDecimal } from './format.js';
import type { MarketReads } from './market.js';
import type { Signer } from './wallet.js';

/** The market's energy limit (uint32 Wh). */
export const MAX_ENERGY_WH = 2n ** 32n - 1n;

export interface OrderForm {
  side: 0 | 1;
  energyWh: bigint;
  pricePerKWh: bigint;
}

/** Checks the form's text; returns the order or a sentence per bad field. */
export function validateOrder(
  side: string,
  kWhText: string,
  priceText: string,
  maxPrice: bigint,
): { ok: true; order: OrderForm } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (side !== 'buy' && side !== 'sell') errors.side = 'Choose buy or sell.';
  const energyWh = parseDecimal(kWhText, 3);
  if (energyWh === undefined) errors.energy = 'Enter the energy in kWh, e.g. 2.5 (at most 3 decimals).';
  else if (energyWh === 0n) errors.energy = 'The energy must be more than 0 kWh.';
  else if (energyWh > MAX_ENERGY_WH) errors.energy = `At most ${MAX_ENERGY_WH / 1000n} kWh.`;
  const pricePerKWh = parseDecimal(priceText, 6);
  const priceUnits = pricePerKWh === undefined ? undefined : pricePerKWh * 10n ** 12n;
  if (priceUnits === undefined)
    errors.price = 'Enter the price in tokens per kWh, e.g. 20 or 19.5 (at most 6 decimals).';
  else if (priceUnits === 0n) errors.price = 'The price must be more than 0.';
  else if (priceUnits > maxPrice) errors.price = `At most ${maxPrice / 10n ** 18n} tokens per kWh.`;
  if (Object.keys(errors).length > 0 || energyWh === undefined || priceUnits === undefined)
    return { ok: false, errors };
  return { ok: true, order: { side: side === 'sell' ? 1 : 0, energyWh, pricePerKWh: priceUnits } };
}

/** The SDK's household relayer client, with the nonces read first. */
export class Relay {
  private client: RelayerClient | undefined;

  constructor(
    private readonly base: string,
    private readonly reads: MarketReads,
    private readonly watch: ChainWatch,
  ) {}

  /** The client, once the signing domains have been read from the chain (never from the relayer). */
  private async relayer(): Promise<RelayerClient> {
    const { market, token } = this.watch.config;
    this.client ??= new RelayerClient(this.base, await readSigningDomains(this.watch.client, market, token));
    return this.client;
  }

  async placeOrder(signer: Signer, windowId: bigint, order: OrderForm): Promise<{ id: Hex; nonce: bigint }> {
    const nonce = await this.reads.orderNonce(windowId, signer.address);
    const id = await (await this.relayer()).submitOrder(signer.account, { windowId, ...order, nonce });
    return { id, nonce };
  }

  /** Cancels the live order: the Cancel carries that order's nonce (orderNonce - 1). */
  async cancel(signer: Signer, windowId: bigint): Promise<Hex> {
    const nonce = (await this.reads.orderNonce(windowId, signer.address)) - 1n;
    return (await this.relayer()).submitCancel(signer.account, windowId, nonce);
  }

  /** Grants the market an unlimited allowance by an ERC-2612 permit (valid for a day). */
  async permit(signer: Signer, now: bigint): Promise<Hex> {
    const permitNonce = await this.reads.permitNonce(signer.address);
    return (await this.relayer()).submitPermit(signer.account, {
      value: maxUint256,
      permitNonce,
      deadline: now + 86_400n,
    });
  }

  async request(id: Hex): Promise<RelayedStatus> {
    return (await this.relayer()).request(id);
  }
}

/** Why a request did not reach the relayer, in words (its refusal code, or the wallet's or network's error). */
export function whyRefused(error: unknown): string {
  if (error instanceof RelayerRefusal) return rejectionWords(error.code);
  return (error as Error).message.split('\n')[0] ?? 'unknown error';
}

/** Words for the relayer's and the market's rejection codes. */
export function rejectionWords(code: string): string {
  const words: Record<string, string> = {
    NotRegistered: 'this account is not a registered prosumer',
    NOT_REGISTERED: 'this account is not a registered prosumer',
    AlreadyHasOrder: 'you already have an order in this window',
    ALREADY_HAS_ORDER: 'you already have an order in this window (cancel it first)',
    ALREADY_QUEUED: 'an order of yours is already waiting at the relayer',
    InvalidNonce: 'the order was signed for an old nonce; sign it again',
    INVALID_NONCE: 'the order was signed for an old nonce; sign it again',
    InvalidSignature: 'the signature does not match the account',
    INVALID_SIGNATURE: 'the signature does not match the account',
    OrderingClosed: 'the window stopped taking orders',
    WINDOW_NOT_OPEN: 'the window is not open',
    WINDOW_CLOSING: 'the window closes before the next batch; wait for the next window',
    WindowNotOpen: 'the window is not open',
    EnforcedPause: 'the market is paused',
    MARKET_PAUSED: 'the market is paused',
    PLACEMENT_LIMIT: 'the window holds as many orders as it can',
    NO_LIVE_ORDER: 'there is no live order to cancel',
    NoLiveOrder: 'there is no live order to cancel',
    RATE_LIMITED: 'too many requests; try again in a minute',
    QUEUE_FULL: 'the relayer is busy; try again in a minute',
    CHAIN_UNAVAILABLE: 'the relayer cannot reach the chain; try again',
    RELAYER_UNREACHABLE: 'the relayer does not answer; try again in a minute',
    PERMIT_EXPIRED: 'the permit expired before it was relayed',
  };
  return words[code] ?? code;
}
