// Regenerates the options table of docs/operators.md from keeper/src/config.ts; --check exits 1 when stale.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withOptionsTable } from '../src/options.js';

const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/operators.md');
const doc = readFileSync(file, 'utf8');
const next = withOptionsTable(doc);
if (process.argv.includes('--check')) {
  if (next !== doc) {
    console.error('docs/operators.md: the options table is stale; run npx tsx keeper/scripts/gen-options-doc.ts');
    process.exit(1);
  }
} else if (next !== doc) {
  writeFileSync(file, next);
  console.log('docs/operators.md: options table updated');
}
