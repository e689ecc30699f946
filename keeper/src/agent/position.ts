// Net position of an hour and the order it calls for.
import { MAX_ENERGY_WH, MAX_HOUSEHOLD_LOAD_W } from '../meters/validate.js';
import type { ProsumerContext } from '../meters/types.js';
import { overWindow } from '../forecasts/validate.js';
import type { Forecast } from '../forecasts/types.js';
import type { DevicePlan } from '../plans/types.js';

export const BUY = 0;
export const SELL = 1;

/** Forecast production − forecast consumption + planned device energy (Wh; positive = surplus). */
export function netPosition(forecast: Forecast, plan: DevicePlan): bigint {
  return forecast.productionWh - forecast.consumptionWh + plan.totalWh;
}

/**
 * The order for a net position beyond `thresholdWh`: sell the surplus, buy the deficit, capped by what the
 * registered assets can physically deliver or take in the window (the bounds the keeper validates readings
 * against: export ≤ PV peak + battery power, import ≤ household load + battery charging).
 */
export function orderFor(
  net: bigint,
  thresholdWh: bigint,
  assets: ProsumerContext,
  windowDuration: number,
): { side: typeof BUY | typeof SELL; energyWh: bigint; capped: boolean } | undefined {
  if (net <= thresholdWh && net >= -thresholdWh) return undefined;
  const side = net > 0n ? SELL : BUY;
  const wanted = net > 0n ? net : -net;
  const limit =
    side === SELL
      ? overWindow(assets.pvPeakW + assets.batteryPowerW, windowDuration)
      : overWindow(MAX_HOUSEHOLD_LOAD_W + assets.batteryPowerW, windowDuration);
  const cap = limit < MAX_ENERGY_WH ? limit : MAX_ENERGY_WH;
  const energyWh = wanted < cap ? wanted : cap;
  if (energyWh === 0n) return undefined;
  return { side, energyWh, capped: energyWh < wanted };
}
