// Constants used in several places, defined once.

/** One token (18 decimals): prices are per kWh in token units. */
export const TOKEN_UNIT = 10n ** 18n;

/** The V8 flags operators run the keeper with (Makefile, Dockerfile, systemd unit: checked by a test). A small
 * young generation keeps the resident memory at ~130 MB even for a 10,000-order window. */
export const NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=96'] as const;

/** Chains where the keeper accepts METER_SOURCE=simulated (invented readings): local dev chains and public
 * testnets, whose tokens are worth nothing. Anywhere else real money would settle against invented readings. */
export const TEST_CHAINS: Readonly<Record<number, string>> = {
  31337: 'anvil / hardhat',
  1337: 'local dev chain (geth --dev, ganache)',
  11155111: 'Sepolia',
  17000: 'Holesky',
  560048: 'Hoodi',
  84532: 'Base Sepolia',
  421614: 'Arbitrum Sepolia',
  11155420: 'OP Sepolia',
  10200: 'Gnosis Chiado',
  80002: 'Polygon Amoy',
};

export const isTestChain = (chainId: number): boolean => Object.hasOwn(TEST_CHAINS, chainId);

/** While the keeper submits simulated readings it says so in its log this often (and at start). */
export const SIMULATED_WARNING_MS = 3_600_000;
