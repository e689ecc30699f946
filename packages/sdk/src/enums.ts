// The market's enums (IEnergyMarket.sol), in the contract's order: index = the on-chain uint8.
export const Side = ['Buy', 'Sell'] as const;
export type Side = (typeof Side)[number];

export const WindowStatus = ['None', 'Open', 'Closing', 'Cleared', 'Settling', 'Settled'] as const;
export type WindowStatus = (typeof WindowStatus)[number];

export const TradeStatus = ['Pending', 'Accepted', 'Rejected'] as const;
export type TradeStatus = (typeof TradeStatus)[number];

export const RejectReason = [
  'None',
  'MissingReading',
  'SellerShortfall',
  'BuyerShortfall',
  'InsufficientFunds',
] as const;
export type RejectReason = (typeof RejectReason)[number];

/** The name of on-chain enum value `value`; throws on a value the enum does not have. */
export function enumName<const Names extends readonly string[]>(names: Names, value: number): Names[number] {
  const name = names[value];
  if (name === undefined) throw new RangeError(`enum value ${value} is not one of ${names.join(', ')}`);
  return name;
}

/** The on-chain value (uint8) of a side: a name or the number itself; throws on anything else (e.g. 'buy'). */
export function sideValue(side: Side | 0 | 1): 0 | 1 {
  if (side === 'Buy' || side === 0) return 0;
  if (side === 'Sell' || side === 1) return 1;
  throw new RangeError(`side ${String(side)} is not one of Buy, Sell, 0, 1`);
}
