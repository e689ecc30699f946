// Units on screen: energy in kWh (chain: Wh), prices in tokens/kWh and amounts in tokens (chain: 18 decimals).
import { formatUnits, parseUnits } from 'viem';

export function kWh(wh: bigint | number, digits = 2): string {
  const n = Number(wh) / 1000;
  return `${n.toLocaleString('en-GB', { minimumFractionDigits: digits, maximumFractionDigits: digits })} kWh`;
}

export function kW(w: bigint | number): string {
  return `${(Number(w) / 1000).toLocaleString('en-GB', { maximumFractionDigits: 2 })} kW`;
}

export function tokens(base: bigint, digits = 2): string {
  const n = Number(formatUnits(base, 18));
  return `${n.toLocaleString('en-GB', { minimumFractionDigits: digits, maximumFractionDigits: digits })} CET`;
}

export function price(perKWh: bigint): string {
  return `${tokens(perKWh)}/kWh`;
}

/** Parses a decimal string with at most `decimals` places into base units; undefined when malformed. */
export function parseDecimal(text: string, decimals: number): bigint | undefined {
  const t = text.trim().replace(',', '.');
  const re = new RegExp(`^\\d+(\\.\\d{0,${decimals}})?$`);
  if (!re.test(t)) return undefined;
  return parseUnits(t, decimals);
}

export function time(unix: bigint | number): string {
  return new Date(Number(unix) * 1000).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
}

export function dateTime(unix: bigint | number): string {
  return new Date(Number(unix) * 1000).toLocaleString('en-GB', {
    day: '2-digit',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  });
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m}:${String(s % 60).padStart(2, '0')}`;
}

export function short(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}
