// `SignedOrderRejected.reason` (a 4-byte error selector) to the error's name, from the generated market ABI.
import { toFunctionSelector, type Hex } from 'viem';
import { energyMarketAbi } from '@p2p-energy/sdk';

const names = new Map<string, string>();
for (const item of energyMarketAbi) {
  if (item.type !== 'error') continue;
  names.set(toFunctionSelector(`${item.name}(${item.inputs.map((i) => i.type).join(',')})`), item.name);
}
// The market's reason for a `side` that is neither 0 nor 1 (no named error: the ABI decoder rejects it in placeOrder).
names.set('0x00000000', 'InvalidSide');

/** The error name for a selector; the selector itself when the ABI does not know it. */
export function reasonName(selector: Hex): string {
  return names.get(selector.toLowerCase()) ?? selector.toLowerCase();
}

/** The contract's reason for a hint too far from the order's place: worth another batch with a fresh hint. */
export const RETRYABLE_REASONS = new Set(['HintTooFar']);
