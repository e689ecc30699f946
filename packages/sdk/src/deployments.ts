// Where the market lives on a chain: the addresses and parameters a deployment file
// (deployments/<chainId>.json, written by script/Deploy.s.sol) holds, validated.
import { getAddress, isAddress, type Address } from 'viem';

export interface Deployment {
  chainId: number;
  market: Address;
  token: Address;
  registry: Address;
  /** Seconds per market window (3600 in production). */
  windowDuration: number;
  /** Seconds after a window's readings fall due before it may settle without every reading. */
  settlementGrace: number;
  /** The block of the deployment: event scans start here. */
  startBlock: number;
}

/**
 * Known public deployments by chain id. There are none yet: the record is empty until the market is deployed on a
 * public chain. Until then read your own deployment's file with `readDeployment` (or `loadDeployment` of
 * `@p2p-energy/sdk/node`).
 */
export const deployments: Readonly<Record<number, Deployment>> = {};

function field(json: Record<string, unknown>, name: string): unknown {
  if (!(name in json)) throw new Error(`deployment: ${name} is missing`);
  return json[name];
}

function address(json: Record<string, unknown>, name: string): Address {
  const value = field(json, name);
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw new Error(`deployment: ${name} must be a 0x-prefixed 20-byte hex address, got ${JSON.stringify(value)}`);
  }
  return getAddress(value);
}

function integer(json: Record<string, unknown>, name: string, min: number): number {
  const value = field(json, name);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new Error(`deployment: ${name} must be a whole number >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Validates a deployment file's content (the parsed JSON or its text); addresses come back checksummed and other
 * fields of the file (admin, keeper) are left out. Throws an Error naming the first bad field.
 */
export function readDeployment(json: unknown): Deployment {
  const value: unknown = typeof json === 'string' ? JSON.parse(json) : json;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('deployment: expected a JSON object');
  }
  const record = value as Record<string, unknown>;
  return {
    chainId: integer(record, 'chainId', 1),
    market: address(record, 'market'),
    token: address(record, 'token'),
    registry: address(record, 'registry'),
    windowDuration: integer(record, 'windowDuration', 1),
    settlementGrace: integer(record, 'settlementGrace', 1),
    startBlock: integer(record, 'startBlock', 0),
  };
}
