// The demo's energy community: twenty (DEMO_PROSUMERS) homes with PV systems and batteries, their limit
// prices, and the tokens each gets. One demo window stands for one hour of this community: the homes order,
// and the meters measure, that hour's energies (DEMO_HOUR_S of delivery), whatever the window's length.
import { mnemonicToAccount } from 'viem/accounts';
import { TOKEN_UNIT } from '../src/constants.js';
import { TEST_MNEMONIC } from './test-keys.js';

/** Seconds of delivery a demo window stands for. */
export const DEMO_HOUR_S = 3600;

/** CET minted to each home: more than 48 hours (DEMO_WINDOWS ≤ 48) of its forecast import at 40 CET/kWh. */
export const MINT_CET = 2000n;

export interface Member {
  name: string;
  account: ReturnType<typeof mnemonicToAccount>;
  pvPeakW: bigint;
  batteryPowerW: bigint;
  batteryCapacityWh: bigint;
  /** CET per kWh. */
  askPrice: number;
  bidPrice: number;
}

const rand = (seed: number) => {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32;
};

/** `count` homes, the same on every run: PV + battery, PV only or neither, in turn. */
export function community(count: number): Member[] {
  const r = rand(2026);
  return Array.from({ length: count }, (_, i) => {
    const kind = i % 4; // 0,1: PV + battery, 2: PV only, 3: no PV
    const pv = kind === 3 ? 0 : 3000 + Math.round(r() * 7) * 1000;
    const battery = kind <= 1 ? 3000 + Math.round(r() * 2) * 1000 : 0;
    return {
      name: `home-${String(i + 1).padStart(2, '0')}`,
      account: mnemonicToAccount(TEST_MNEMONIC, { addressIndex: 200 + i }),
      pvPeakW: BigInt(pv),
      batteryPowerW: BigInt(battery),
      batteryCapacityWh: BigInt(battery * 2),
      askPrice: 14 + Math.round(r() * 8),
      bidPrice: 18 + Math.round(r() * 10),
    };
  });
}

/** The limit price a home starts from (no clearing price yet): the middle of its ask and bid. */
export const fallbackPrice = (m: Member): bigint => BigInt(Math.round((m.askPrice + m.bidPrice) / 2)) * TOKEN_UNIT;

/** Energy (Wh) as kWh with two decimals: "1.25". */
export const kWh = (wh: bigint | number): string => (Number(wh) / 1000).toFixed(2);
