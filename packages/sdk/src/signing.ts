// Gasless participation: orders, cancels and permits signed off-chain (EIP-712) and submitted by anyone.
import { parseSignature, zeroAddress, type Address, type Hash, type Hex, type PublicClient } from 'viem';
import { energyMarketAbi, energyTokenAbi } from './abi.js';
import { sideValue } from './enums.js';
import { computeHints } from './hints.js';
import type { SideInput, SigningClient } from './market.js';
import { CANCEL_TYPES, ORDER_TYPES, PERMIT_TYPES, marketDomain } from './typed-data.js';

/** The contract's `SignedOrder` struct: `hintPrev` is not signed (the submitter computes it). */
export interface SignedOrder {
  prosumer: Address;
  windowId: bigint;
  side: 0 | 1;
  energyWh: bigint;
  pricePerKWh: bigint;
  nonce: bigint;
  hintPrev: Address;
  signature: Hex;
}

export interface SignedCancel {
  prosumer: Address;
  windowId: bigint;
  /** The nonce of the live order it cancels (`orderNonce - 1`). */
  nonce: bigint;
  signature: Hex;
}

export interface SignedPermit {
  owner: Address;
  spender: Address;
  value: bigint;
  /** The token's `nonces(owner)` it was signed for. */
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
  v: number;
  r: Hex;
  s: Hex;
}

function orderNonce(client: PublicClient, market: Address, windowId: bigint, prosumer: Address): Promise<bigint> {
  return client.readContract({
    address: market,
    abi: energyMarketAbi,
    functionName: 'orderNonce',
    args: [windowId, prosumer],
  });
}

/** Signs an order as the wallet's account; the nonce is read with orderNonce unless given. */
export async function signOrder(
  walletClient: SigningClient,
  publicClient: PublicClient,
  market: Address,
  order: { windowId: bigint; side: SideInput; energyWh: bigint; pricePerKWh: bigint; nonce?: bigint },
): Promise<SignedOrder> {
  const prosumer = walletClient.account.address;
  const [chainId, nonce] = await Promise.all([
    publicClient.getChainId(),
    order.nonce ?? orderNonce(publicClient, market, order.windowId, prosumer),
  ]);
  const message = {
    prosumer,
    windowId: order.windowId,
    side: sideValue(order.side),
    energyWh: order.energyWh,
    pricePerKWh: order.pricePerKWh,
    nonce,
  };
  const signature = await walletClient.signTypedData({
    account: walletClient.account,
    domain: marketDomain(chainId, market),
    types: ORDER_TYPES,
    primaryType: 'Order',
    message,
  });
  return { ...message, hintPrev: zeroAddress, signature };
}

/** Signs the cancel of the wallet account's live order of window `windowId`. */
export async function signCancel(
  walletClient: SigningClient,
  publicClient: PublicClient,
  market: Address,
  windowId: bigint,
): Promise<SignedCancel> {
  const prosumer = walletClient.account.address;
  const [chainId, placed] = await Promise.all([
    publicClient.getChainId(),
    orderNonce(publicClient, market, windowId, prosumer),
  ]);
  if (placed === 0n) throw new Error(`${prosumer} has placed no order in window ${windowId}`);
  const nonce = placed - 1n;
  const signature = await walletClient.signTypedData({
    account: walletClient.account,
    domain: marketDomain(chainId, market),
    types: CANCEL_TYPES,
    primaryType: 'Cancel',
    message: { prosumer, windowId, nonce },
  });
  return { prosumer, windowId, nonce, signature };
}

/** Signs an ERC-2612 permit of the token (domain read with EIP-5267, nonce with `nonces(owner)`). */
export async function signPermit(
  walletClient: SigningClient,
  publicClient: PublicClient,
  token: Address,
  permit: { spender: Address; value: bigint; deadline: bigint },
): Promise<SignedPermit> {
  const owner = walletClient.account.address;
  const [[, name, version, chainId, verifyingContract], nonce] = await Promise.all([
    publicClient.readContract({ address: token, abi: energyTokenAbi, functionName: 'eip712Domain' }),
    publicClient.readContract({ address: token, abi: energyTokenAbi, functionName: 'nonces', args: [owner] }),
  ]);
  const message = { owner, spender: permit.spender, value: permit.value, nonce, deadline: permit.deadline };
  const signature = await walletClient.signTypedData({
    account: walletClient.account,
    domain: { name, version, chainId: Number(chainId), verifyingContract },
    types: PERMIT_TYPES,
    primaryType: 'Permit',
    message,
  });
  const { r, s, v, yParity } = parseSignature(signature);
  return { ...message, signature, v: Number(v ?? BigInt(yParity + 27)), r, s };
}

/**
 * Submits signed orders of one window in one `placeOrdersBySig` transaction from the wallet's account, each with
 * the exact hint for the book as the earlier orders of the batch leave it. An order that fails is skipped by the
 * market (`SignedOrderRejected`), the others are placed.
 */
export async function submitSignedOrders(
  walletClient: SigningClient,
  publicClient: PublicClient,
  market: Address,
  orders: readonly SignedOrder[],
): Promise<Hash> {
  const blockNumber = await publicClient.getBlockNumber({ cacheTime: 0 });
  const hints = await computeHints(publicClient, market, orders, blockNumber);
  const { request } = await publicClient.simulateContract({
    account: walletClient.account,
    chain: walletClient.chain,
    address: market,
    abi: energyMarketAbi,
    functionName: 'placeOrdersBySig',
    args: [orders.map((o, i) => ({ ...o, hintPrev: hints[i] ?? zeroAddress }))],
  });
  return walletClient.writeContract(request);
}
