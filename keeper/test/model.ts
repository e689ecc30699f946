// Independent model of the settlement rule (protocol.md), for expected results in keeper tests.
import type { Address } from 'viem';
import type { RejectReason } from '@p2p-energy/sdk';

export interface ModelTrade {
  buyer: Address;
  seller: Address;
  energyWh: bigint;
}

export type Outcome = { status: 'Accepted' | 'Rejected'; reason: RejectReason; cost: bigint };

export function settleModel(
  trades: ModelTrade[],
  price: bigint,
  readings: Map<Address, { importWh: bigint; exportWh: bigint }>,
  balances: Map<Address, bigint>,
): Outcome[] {
  const sold = new Map<Address, bigint>();
  const bought = new Map<Address, bigint>();
  return trades.map((t) => {
    const cost = (t.energyWh * price) / 1000n;
    const rs = readings.get(t.seller);
    const rb = readings.get(t.buyer);
    if (!rs || !rb) return { status: 'Rejected', reason: 'MissingReading', cost: 0n };
    if ((sold.get(t.seller) ?? 0n) + t.energyWh > rs.exportWh)
      return { status: 'Rejected', reason: 'SellerShortfall', cost: 0n };
    if ((bought.get(t.buyer) ?? 0n) + t.energyWh > rb.importWh)
      return { status: 'Rejected', reason: 'BuyerShortfall', cost: 0n };
    if ((balances.get(t.buyer) ?? 0n) < cost) return { status: 'Rejected', reason: 'InsufficientFunds', cost: 0n };
    sold.set(t.seller, (sold.get(t.seller) ?? 0n) + t.energyWh);
    bought.set(t.buyer, (bought.get(t.buyer) ?? 0n) + t.energyWh);
    balances.set(t.buyer, (balances.get(t.buyer) ?? 0n) - cost);
    balances.set(t.seller, (balances.get(t.seller) ?? 0n) + cost);
    return { status: 'Accepted', reason: 'None', cost };
  });
}
