// Where things are: the repository root and the native Foundry binaries (dev tools and tests only).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Native Foundry binary from node_modules (the npm launchers swallow exit codes). */
export function foundryBin(tool: 'anvil' | 'forge' | 'cast'): string {
  return path.join(repoRoot, 'node_modules', '@foundry-rs', `${tool}-linux-amd64`, 'bin', tool);
}
