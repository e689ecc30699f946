// Checks a signed order, cancel or permit against the chain before the relayer accepts it. Every read of one
// check is made at one block, so the answer is consistent; that block is recorded with the acceptance.
import {
  hashTypedData,
  parseSignature,
  recoverAddress,
  verifyTypedData,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type TypedDataDomain,
} from 'viem';
import {
  CANCEL_TYPES,
  energyMarketAbi,
  energyTokenAbi,
  ORDER_TYPES,
  PERMIT_TYPES,
  prosumerRegistryAbi,
  readSigningDomains,
  WindowStatus,
} from '@p2p-energy/sdk';
import { Refusal, type CancelData, type OrderData, type PermitData } from './types.js';

const erc1271Abi = [
  {
    type: 'function',
    name: 'isValidSignature',
    stateMutability: 'view',
    inputs: [
      { name: 'hash', type: 'bytes32' },
      { name: 'signature', type: 'bytes' },
    ],
    outputs: [{ name: 'magicValue', type: 'bytes4' }],
  },
] as const;
const ERC1271_MAGIC = '0x1626ba7e';
/** secp256k1 order / 2: the market (OpenZeppelin ECDSA) refuses a signature with a larger s. */
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

const WINDOW_OPEN = WindowStatus.indexOf('Open');

export interface ChainInfo {
  chainId: number;
  market: Address;
  token: Address;
  registry: Address;
  windowDuration: bigint;
  maxEnergyWh: bigint;
  maxPricePerKWh: bigint;
  maxPlacements: bigint;
  marketDomain: TypedDataDomain;
  tokenDomain: TypedDataDomain;
}

export async function loadChainInfo(client: PublicClient<Transport, Chain>, market: Address): Promise<ChainInfo> {
  const read = <
    F extends
      | 'token'
      | 'registry'
      | 'windowDuration'
      | 'MAX_ENERGY_WH'
      | 'MAX_PRICE_PER_KWH'
      | 'MAX_PLACEMENTS_PER_WINDOW',
  >(
    functionName: F,
  ) => client.readContract({ address: market, abi: energyMarketAbi, functionName });
  const [token, registry, windowDuration, maxEnergyWh, maxPricePerKWh, maxPlacements, chainId] = await Promise.all([
    read('token'),
    read('registry'),
    read('windowDuration'),
    read('MAX_ENERGY_WH'),
    read('MAX_PRICE_PER_KWH'),
    read('MAX_PLACEMENTS_PER_WINDOW'),
    client.getChainId(),
  ]);
  const { market: marketDomain, token: tokenDomain } = await readSigningDomains(client, market, token);
  return {
    chainId,
    market,
    token,
    registry,
    windowDuration,
    maxEnergyWh,
    maxPricePerKWh,
    maxPlacements,
    marketDomain,
    tokenDomain,
  };
}

export const orderDigest = (info: ChainInfo, o: Omit<OrderData, 'signature'>): Hex =>
  hashTypedData({ domain: info.marketDomain, types: ORDER_TYPES, primaryType: 'Order', message: orderMessage(o) });

const orderMessage = (o: Omit<OrderData, 'signature'>) => ({
  prosumer: o.prosumer,
  windowId: o.windowId,
  side: o.side,
  energyWh: o.energyWh,
  pricePerKWh: o.pricePerKWh,
  nonce: o.nonce,
});

export const cancelDigest = (info: ChainInfo, c: Omit<CancelData, 'signature'>): Hex =>
  hashTypedData({ domain: info.marketDomain, types: CANCEL_TYPES, primaryType: 'Cancel', message: cancelMessage(c) });

const cancelMessage = (c: Omit<CancelData, 'signature'>) => ({
  prosumer: c.prosumer,
  windowId: c.windowId,
  nonce: c.nonce,
});

export const permitDigest = (info: ChainInfo, p: PermitData): Hex =>
  hashTypedData({ domain: info.tokenDomain, types: PERMIT_TYPES, primaryType: 'Permit', message: permitMessage(p) });

const permitMessage = (p: PermitData) => ({
  owner: p.owner,
  spender: p.spender,
  value: p.value,
  nonce: p.nonce,
  deadline: p.deadline,
});

/** The 65-byte ECDSA form the market and the token accept: r ‖ s ‖ v, v 27 or 28, s in the lower half. */
function isCanonicalEcdsa(signature: Hex): boolean {
  if (signature.length !== 2 + 130) return false;
  const v = Number.parseInt(signature.slice(130), 16);
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const r = BigInt(`0x${signature.slice(2, 66)}`);
  return (v === 27 || v === 28) && s > 0n && s <= HALF_N && r > 0n;
}

export interface OrderCheckOptions {
  /** A cancel of the live order is queued (replace flow): the live order does not refuse the new one. */
  cancelQueued: boolean;
  /** Refuse windows that stop taking orders within this many seconds. */
  closeMarginS: bigint;
}

export class Verifier {
  constructor(
    readonly client: PublicClient<Transport, Chain>,
    readonly info: ChainInfo,
  ) {}

  private async head(): Promise<{ blockNumber: bigint; timestamp: bigint }> {
    const block = await this.client.getBlock({ blockTag: 'latest' });
    return { blockNumber: block.number, timestamp: block.timestamp };
  }

  /** Whether `signer` signed `digest`: ECDSA for an account without code, ERC-1271 for a contract. */
  private async signed(
    signer: Address,
    signature: Hex,
    digest: Hex,
    blockNumber: bigint,
    typed: () => Promise<boolean>,
  ): Promise<boolean> {
    const code = await this.client.getCode({ address: signer, blockNumber });
    if (!code || code === '0x') return isCanonicalEcdsa(signature) && (await typed().catch(() => false));
    try {
      const magic = await this.client.readContract({
        address: signer,
        abi: erc1271Abi,
        functionName: 'isValidSignature',
        args: [digest, signature],
        blockNumber,
      });
      return magic.toLowerCase() === ERC1271_MAGIC;
    } catch {
      return false;
    }
  }

  private async windowTakesOrders(windowId: bigint, head: { blockNumber: bigint; timestamp: bigint }, marginS: bigint) {
    const [status] = await this.client.readContract({
      address: this.info.market,
      abi: energyMarketAbi,
      functionName: 'getWindow',
      args: [windowId],
      blockNumber: head.blockNumber,
    });
    if (status !== WINDOW_OPEN || head.timestamp >= windowId + this.info.windowDuration) {
      throw new Refusal(422, 'WINDOW_NOT_OPEN', `window ${windowId} does not take orders`);
    }
    if (head.timestamp + marginS >= windowId + this.info.windowDuration) {
      throw new Refusal(422, 'WINDOW_CLOSING', `window ${windowId} stops taking orders before the next batch`);
    }
  }

  private async orderState(windowId: bigint, prosumer: Address, blockNumber: bigint) {
    const [nonce, order] = await Promise.all([
      this.client.readContract({
        address: this.info.market,
        abi: energyMarketAbi,
        functionName: 'orderNonce',
        args: [windowId, prosumer],
        blockNumber,
      }),
      this.client.readContract({
        address: this.info.market,
        abi: energyMarketAbi,
        functionName: 'getOrder',
        args: [windowId, prosumer],
        blockNumber,
      }),
    ]);
    return { nonce, live: order[4] };
  }

  /** The checks of an order, in the market's order where they overlap; returns the block they read. */
  async checkOrder(o: OrderData, options: OrderCheckOptions): Promise<bigint> {
    if (o.energyWh === 0n) throw new Refusal(422, 'ZERO_ENERGY', 'energyWh must be above 0');
    if (o.energyWh > this.info.maxEnergyWh) {
      throw new Refusal(422, 'ENERGY_OUT_OF_RANGE', `energyWh must be at most ${this.info.maxEnergyWh}`);
    }
    if (o.pricePerKWh === 0n) throw new Refusal(422, 'ZERO_PRICE', 'pricePerKWh must be above 0');
    if (o.pricePerKWh > this.info.maxPricePerKWh) {
      throw new Refusal(422, 'PRICE_OUT_OF_RANGE', `pricePerKWh must be at most ${this.info.maxPricePerKWh}`);
    }
    const head = await this.head();
    await this.windowTakesOrders(o.windowId, head, options.closeMarginS);
    const market = this.info.market;
    const [paused, registered, state] = await Promise.all([
      this.client.readContract({
        address: market,
        abi: energyMarketAbi,
        functionName: 'paused',
        blockNumber: head.blockNumber,
      }),
      this.client.readContract({
        address: this.info.registry,
        abi: prosumerRegistryAbi,
        functionName: 'isRegistered',
        args: [o.prosumer],
        blockNumber: head.blockNumber,
      }),
      this.orderState(o.windowId, o.prosumer, head.blockNumber),
    ]);
    if (paused) throw new Refusal(422, 'MARKET_PAUSED', 'the market is paused: no orders are taken');
    if (!registered) throw new Refusal(422, 'NOT_REGISTERED', `${o.prosumer} is not a registered prosumer`);
    if (state.live && !options.cancelQueued) {
      throw new Refusal(
        422,
        'ALREADY_HAS_ORDER',
        `${o.prosumer} has a live order in window ${o.windowId}; sign and send its cancel first`,
      );
    }
    if (state.nonce >= this.info.maxPlacements) {
      throw new Refusal(
        422,
        'PLACEMENT_LIMIT',
        `${o.prosumer} has placed the most orders allowed in window ${o.windowId}`,
      );
    }
    if (o.nonce !== state.nonce) {
      throw new Refusal(
        422,
        'INVALID_NONCE',
        `nonce must be ${state.nonce} (orderNonce of the window and prosumer), not ${o.nonce}`,
        {
          expected: state.nonce.toString(),
        },
      );
    }
    const digest = orderDigest(this.info, o);
    const ok = await this.signed(o.prosumer, o.signature, digest, head.blockNumber, () =>
      verifyTypedData({
        address: o.prosumer,
        domain: this.info.marketDomain,
        types: ORDER_TYPES,
        primaryType: 'Order',
        message: orderMessage(o),
        signature: o.signature,
      }),
    );
    if (!ok) throw new Refusal(422, 'INVALID_SIGNATURE', `the signature is not ${o.prosumer}'s over this Order`);
    return head.blockNumber;
  }

  /** The checks of `cancelOrderBySig`, in its order; returns the block they read. */
  async checkCancel(c: CancelData, closeMarginS: bigint): Promise<bigint> {
    const head = await this.head();
    await this.windowTakesOrders(c.windowId, head, closeMarginS);
    const state = await this.orderState(c.windowId, c.prosumer, head.blockNumber);
    if (state.nonce === 0n)
      throw new Refusal(422, 'NO_LIVE_ORDER', `${c.prosumer} has no order in window ${c.windowId}`);
    if (c.nonce !== state.nonce - 1n) {
      throw new Refusal(
        422,
        'INVALID_NONCE',
        `a cancel carries the nonce of the live order, ${state.nonce - 1n}, not ${c.nonce}`,
        {
          expected: (state.nonce - 1n).toString(),
        },
      );
    }
    if (!state.live)
      throw new Refusal(422, 'NO_LIVE_ORDER', `${c.prosumer}'s order in window ${c.windowId} is cancelled already`);
    const digest = cancelDigest(this.info, c);
    const ok = await this.signed(c.prosumer, c.signature, digest, head.blockNumber, () =>
      verifyTypedData({
        address: c.prosumer,
        domain: this.info.marketDomain,
        types: CANCEL_TYPES,
        primaryType: 'Cancel',
        message: cancelMessage(c),
        signature: c.signature,
      }),
    );
    if (!ok) throw new Refusal(422, 'INVALID_SIGNATURE', `the signature is not ${c.prosumer}'s over this Cancel`);
    return head.blockNumber;
  }

  /** Token nonce of `owner` (the permit is signed for it). */
  permitNonce(owner: Address): Promise<bigint> {
    return this.client.readContract({
      address: this.info.token,
      abi: energyTokenAbi,
      functionName: 'nonces',
      args: [owner],
    });
  }

  /** Spender is the market, deadline ahead of chain time, signature the owner's over the token's current nonce. */
  async checkPermit(p: PermitData, marginS: bigint): Promise<bigint> {
    if (p.spender.toLowerCase() !== this.info.market.toLowerCase()) {
      throw new Refusal(422, 'WRONG_SPENDER', `the spender must be the market ${this.info.market}`);
    }
    const head = await this.head();
    if (p.deadline <= head.timestamp + marginS) {
      throw new Refusal(
        422,
        'PERMIT_EXPIRED',
        `the deadline must be more than ${marginS} s after the chain's time ${head.timestamp}`,
      );
    }
    const nonce = await this.client.readContract({
      address: this.info.token,
      abi: energyTokenAbi,
      functionName: 'nonces',
      args: [p.owner],
      blockNumber: head.blockNumber,
    });
    if (nonce !== p.nonce)
      throw new Refusal(422, 'INVALID_NONCE', `the token's permit nonce of ${p.owner} is ${nonce}`);
    const digest = permitDigest(this.info, p);
    const signature = `${p.r}${p.s.slice(2)}${p.v.toString(16)}` as Hex;
    const ok =
      isCanonicalEcdsa(signature) &&
      (await recoverAddress({ hash: digest, signature }).catch(() => undefined))?.toLowerCase() ===
        p.owner.toLowerCase();
    if (!ok)
      throw new Refusal(
        422,
        'INVALID_SIGNATURE',
        `the signature is not ${p.owner}'s over this Permit (ECDSA, 65 bytes)`,
      );
    return head.blockNumber;
  }
}

/** Splits a 65-byte signature into v, r, s. */
export function splitSignature(signature: Hex): { v: number; r: Hex; s: Hex } {
  const { r, s, v, yParity } = parseSignature(signature);
  return { r, s, v: Number(v ?? BigInt(27 + yParity)) };
}
