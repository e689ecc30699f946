// The EIP-712 types of the protocol ("Signed orders"; ERC-2612 for the token's permit) and the market's domain.
import type { Address, TypedDataDomain } from 'viem';

export const ORDER_TYPES = {
  Order: [
    { name: 'prosumer', type: 'address' },
    { name: 'windowId', type: 'uint256' },
    { name: 'side', type: 'uint8' },
    { name: 'energyWh', type: 'uint256' },
    { name: 'pricePerKWh', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
  ],
} as const;

export const CANCEL_TYPES = {
  Cancel: [
    { name: 'prosumer', type: 'address' },
    { name: 'windowId', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
  ],
} as const;

export const PERMIT_TYPES = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** The market's EIP-712 domain: name "EnergyMarket", version "1", the chain id, the market as verifying contract. */
export function marketDomain(chainId: number, market: Address): TypedDataDomain {
  return { name: 'EnergyMarket', version: '1', chainId, verifyingContract: market };
}
