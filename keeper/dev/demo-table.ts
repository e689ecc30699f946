// The demo's table: one row per settled window, energies of the hour the window stands for, in kWh.
import { formatEther } from 'viem';
import { kWh } from './demo-community.js';

export const TABLE_HEADER = '  window  hour   bids  asks  price CET/kWh  cleared kWh  trades  accepted  rejected (why)';

export interface WindowRow {
  index: number;
  hour: string;
  bids: number;
  asks: number;
  clearingPrice: bigint;
  clearedEnergyWh: bigint;
  trades: number;
  accepted: number;
  /** Rejected trades per reason. */
  reasons: Map<string, number>;
}

export function tableRow(r: WindowRow): string {
  const cells = [
    String(r.index).padStart(6),
    r.hour,
    String(r.bids).padStart(4),
    String(r.asks).padStart(4),
    Number(formatEther(r.clearingPrice)).toFixed(2).padStart(13),
    kWh(r.clearedEnergyWh).padStart(11),
    String(r.trades).padStart(6),
    String(r.accepted).padStart(8),
    String(r.trades - r.accepted).padStart(8),
  ];
  const why = [...r.reasons].map(([reason, n]) => `${n} ${reason}`).join(', ');
  return `  ${cells.join('  ')}${why ? ` (${why})` : ''}`;
}
