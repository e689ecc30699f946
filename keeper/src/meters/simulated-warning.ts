// The simulated meters invent readings: while the keeper submits them it says so in its log, at start and
// every hour, so that nobody mistakes a test set-up for a metered one.
import { SIMULATED_WARNING_MS } from '../constants.js';
import type { Logger } from '../log.js';

/** Warns now and every `everyMs`; returns the function that stops the warnings. */
export function warnWhileSimulated(log: Logger, chainId: number, everyMs = SIMULATED_WARNING_MS): () => void {
  const warn = () =>
    log.warn(
      { meterSource: 'simulated', chainId },
      'METER_SOURCE=simulated: the readings are invented, not measured; trades settle against them ' +
        '(local and test chains only)',
    );
  warn();
  const timer = setInterval(warn, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
