// The household's side of the relayer: sign an order, a cancel or a permit (EIP-712, the domains read from the
// chain, never from the relayer) and post it; follow it until the chain has decided.
import type { Address, Hex, LocalAccount, PublicClient, TypedDataDomain } from 'viem';
import { energyMarketAbi, energyTokenAbi } from './abi.js';
import { CANCEL_TYPES, ORDER_TYPES, PERMIT_TYPES } from './typed-data.js';

export interface SigningDomains {
  market: TypedDataDomain;
  token: TypedDataDomain;
}

export interface SignedOrderFields {
  windowId: bigint;
  side: 0 | 1;
  energyWh: bigint;
  pricePerKWh: bigint;
  nonce: bigint;
}

/** What the relayer reports of an accepted request (`GET /v1/orders/...`, `GET /v1/requests/...`). */
export interface RelayedStatus {
  id: Hex;
  status: 'queued' | 'placed' | 'cancelled' | 'relayed' | 'rejected';
  reason?: string;
  txHash?: Hex;
  blockNumber?: string;
}

/** A 4xx/5xx answer of the relayer: its machine-readable code and sentence. */
export class RelayerRefusal extends Error {
  override name = 'RelayerRefusal';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

async function domainOf(
  client: PublicClient,
  address: Address,
  abi: typeof energyMarketAbi | typeof energyTokenAbi,
): Promise<TypedDataDomain> {
  const [, name, version, chainId, verifyingContract] = await client.readContract({
    address,
    abi,
    functionName: 'eip712Domain',
  });
  return { name, version, chainId: Number(chainId), verifyingContract };
}

/** The market's and the token's EIP-712 domains (EIP-5267), read from the chain. */
export async function readSigningDomains(
  client: PublicClient,
  market: Address,
  token: Address,
): Promise<SigningDomains> {
  const [marketDomain, tokenDomain] = await Promise.all([
    domainOf(client, market, energyMarketAbi),
    domainOf(client, token, energyTokenAbi),
  ]);
  return { market: marketDomain, token: tokenDomain };
}

const FINAL = new Set<RelayedStatus['status']>(['placed', 'cancelled', 'relayed', 'rejected']);

export class RelayerClient {
  constructor(
    readonly baseUrl: string,
    private readonly domains: SigningDomains,
  ) {}

  /** Signs `order` as `account` and posts it; returns the request id (the EIP-712 digest). */
  async submitOrder(account: LocalAccount, order: SignedOrderFields): Promise<Hex> {
    const signature = await account.signTypedData({
      domain: this.domains.market,
      types: ORDER_TYPES,
      primaryType: 'Order',
      message: { prosumer: account.address, ...order },
    });
    return this.post('/v1/orders', {
      prosumer: account.address,
      windowId: order.windowId.toString(),
      side: order.side === 0 ? 'buy' : 'sell',
      energyWh: order.energyWh.toString(),
      pricePerKWh: order.pricePerKWh.toString(),
      nonce: order.nonce.toString(),
      signature,
    });
  }

  /** Signs the `Cancel` of the live order with `nonce` (`orderNonce - 1`) and posts it. */
  async submitCancel(account: LocalAccount, windowId: bigint, nonce: bigint): Promise<Hex> {
    const signature = await account.signTypedData({
      domain: this.domains.market,
      types: CANCEL_TYPES,
      primaryType: 'Cancel',
      message: { prosumer: account.address, windowId, nonce },
    });
    return this.post('/v1/cancels', {
      prosumer: account.address,
      windowId: windowId.toString(),
      nonce: nonce.toString(),
      signature,
    });
  }

  /** Signs an ERC-2612 permit of `value` for the market (`permitNonce`: the token's `nonces(owner)`). */
  async submitPermit(
    account: LocalAccount,
    permit: { value: bigint; permitNonce: bigint; deadline: bigint },
  ): Promise<Hex> {
    const spender = this.domains.market.verifyingContract as Address;
    const signature = await account.signTypedData({
      domain: this.domains.token,
      types: PERMIT_TYPES,
      primaryType: 'Permit',
      message: {
        owner: account.address,
        spender,
        value: permit.value,
        nonce: permit.permitNonce,
        deadline: permit.deadline,
      },
    });
    return this.post('/v1/permits', {
      owner: account.address,
      spender,
      value: permit.value.toString(),
      deadline: permit.deadline.toString(),
      signature,
    });
  }

  /** The status of request `id`. */
  request(id: Hex): Promise<RelayedStatus> {
    return this.get(`/v1/requests/${id}`);
  }

  /** Polls request `id` until the chain has decided (placed, cancelled, relayed or rejected). */
  async settled(id: Hex, options: { timeoutMs: number; intervalMs?: number }): Promise<RelayedStatus> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const status = await this.request(id);
      if (FINAL.has(status.status)) return status;
      if (Date.now() > deadline) throw new Error(`request ${id} still ${status.status} after ${options.timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
    }
  }

  private async post(path: string, body: Record<string, string>): Promise<Hex> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await res.json()) as { id?: Hex; code?: string; message?: string };
    if (res.status !== 202 || answer.id === undefined) {
      throw new RelayerRefusal(res.status, answer.code ?? 'UNKNOWN', answer.message ?? `HTTP ${res.status}`);
    }
    return answer.id;
  }

  private async get(path: string): Promise<RelayedStatus> {
    const res = await fetch(`${this.baseUrl}${path}`);
    const answer = (await res.json()) as RelayedStatus & { code?: string; message?: string };
    if (res.status !== 200) {
      throw new RelayerRefusal(res.status, answer.code ?? 'UNKNOWN', answer.message ?? `HTTP ${res.status}`);
    }
    return answer;
  }
}
