// The server tells the page where the chain, the market and the relayer are; everything else it reads itself.
import type { Address } from 'viem';

export interface BrowserConfig {
  chainId: number;
  rpcUrl: string;
  market: Address;
  token: Address;
  registry: Address;
  windowDuration: bigint;
  startBlock: bigint;
  relayer: string;
  demoWallets: { firstIndex: number; count: number } | null;
}

export async function loadConfig(): Promise<BrowserConfig> {
  const res = await fetch('/api/v1/config');
  if (!res.ok) throw new Error(`the web server answered ${res.status} for its configuration`);
  const raw = (await res.json()) as Omit<BrowserConfig, 'windowDuration' | 'startBlock'> & {
    windowDuration: string;
    startBlock: string;
  };
  return { ...raw, windowDuration: BigInt(raw.windowDuration), startBlock: BigInt(raw.startBlock) };
}
