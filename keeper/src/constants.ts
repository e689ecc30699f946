// Constants used in several places, defined once.

/** One token (18 decimals): prices are per kWh in token units. */
export const TOKEN_UNIT = 10n ** 18n;

/** The V8 flags operators run the keeper with (Makefile, Dockerfile, systemd unit: checked by a test). A small
 * young generation keeps the resident memory at ~130 MB even for a 10,000-order window. */
export const NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=96'] as const;
