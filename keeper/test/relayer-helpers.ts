// Signing (as a household would, with viem and the market's EIP-712 domain) and HTTP helpers for relayer tests.
import { maxUint256, type Address, type Hex, type TypedDataDomain } from 'viem';
import { CANCEL_TYPES, energyMarketAbi, energyTokenAbi, ORDER_TYPES, PERMIT_TYPES } from '@p2p-energy/sdk';
import type { Fixture, Prosumer } from './fixture.js';

export interface OrderFields {
  windowId: bigint;
  side: 0 | 1;
  energyWh: bigint;
  pricePerKWh: bigint;
  nonce: bigint;
}

async function domainOf(
  f: Fixture,
  address: Address,
  abi: typeof energyMarketAbi | typeof energyTokenAbi,
): Promise<TypedDataDomain> {
  const [, name, version, chainId, verifyingContract] = await f.publicClient.readContract({
    address,
    abi,
    functionName: 'eip712Domain',
  });
  return { name, version, chainId: Number(chainId), verifyingContract };
}

export const marketDomain = (f: Fixture) => domainOf(f, f.deployment.market, energyMarketAbi);
export const tokenDomain = (f: Fixture) => domainOf(f, f.deployment.token, energyTokenAbi);

/** Signs an Order; `signer` defaults to the prosumer (another account forges it). */
export async function signOrder(f: Fixture, p: Prosumer, o: OrderFields, signer: Prosumer = p): Promise<Hex> {
  return signer.account.signTypedData({
    domain: await marketDomain(f),
    types: ORDER_TYPES,
    primaryType: 'Order',
    message: { prosumer: p.address, ...o },
  });
}

/** The JSON body of POST /v1/orders. */
export async function orderBody(
  f: Fixture,
  p: Prosumer,
  o: OrderFields,
  signer: Prosumer = p,
): Promise<Record<string, string>> {
  return {
    prosumer: p.address,
    windowId: o.windowId.toString(),
    side: o.side === 0 ? 'buy' : 'sell',
    energyWh: o.energyWh.toString(),
    pricePerKWh: o.pricePerKWh.toString(),
    nonce: o.nonce.toString(),
    signature: await signOrder(f, p, o, signer),
  };
}

export async function cancelBody(
  f: Fixture,
  p: Prosumer,
  windowId: bigint,
  nonce: bigint,
): Promise<Record<string, string>> {
  const signature = await p.account.signTypedData({
    domain: await marketDomain(f),
    types: CANCEL_TYPES,
    primaryType: 'Cancel',
    message: { prosumer: p.address, windowId, nonce },
  });
  return { prosumer: p.address, windowId: windowId.toString(), nonce: nonce.toString(), signature };
}

export async function permitBody(
  f: Fixture,
  p: Prosumer,
  options: { value?: bigint; deadline: bigint; spender?: Address },
): Promise<Record<string, string>> {
  const spender = options.spender ?? f.deployment.market;
  const value = options.value ?? maxUint256;
  const nonce = await f.publicClient.readContract({
    address: f.deployment.token,
    abi: energyTokenAbi,
    functionName: 'nonces',
    args: [p.address],
  });
  const signature = await p.account.signTypedData({
    domain: await tokenDomain(f),
    types: PERMIT_TYPES,
    primaryType: 'Permit',
    message: { owner: p.address, spender, value, nonce, deadline: options.deadline },
  });
  return { owner: p.address, spender, value: value.toString(), deadline: options.deadline.toString(), signature };
}

export interface Reply {
  status: number;
  body: Record<string, string>;
}

export async function post(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

export async function get(base: string, path: string): Promise<Reply> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}
