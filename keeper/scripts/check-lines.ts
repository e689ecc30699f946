// make lint: no line over 120 characters in keeper/ and packages/sdk/ (TypeScript, JSON, YAML, the deploy files),
// except the generated ABI and the files listed in biome.json as not formatted yet.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAX = 120;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const biome = JSON.parse(readFileSync(path.join(root, 'biome.json'), 'utf8')) as { files: { includes: string[] } };
const skipped = new Set(biome.files.includes.filter((i) => i.startsWith('!')).map((i) => i.slice(1)));

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    const rel = path.relative(root, p);
    if (skipped.has(rel) || e.name === 'node_modules' || e.name === 'dist') continue;
    if (e.isDirectory()) yield* files(p);
    else if (/\.(ts|json|ya?ml|service)$|Dockerfile$/.test(e.name)) yield rel;
  }
}

let long = 0;
for (const file of [...files(path.join(root, 'keeper')), ...files(path.join(root, 'packages/sdk'))]) {
  readFileSync(path.join(root, file), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.length > MAX) {
        long++;
        console.error(`${file}:${i + 1}: ${line.length} characters (max ${MAX})`);
      }
    });
}
if (long > 0) process.exit(1);
