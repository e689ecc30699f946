#!/usr/bin/env node
// Native-solc-compatible front end for solc-js, so forge can compile offline.
// `--version` answers like native solc (cached: forge asks on every run);
// otherwise reads standard JSON from stdin and resolves imports against
// --base-path / --include-path / allowed paths.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const args = process.argv.slice(2);
const cacheFile = path.join(__dirname, '..', 'node_modules', '.cache', 'solc-version.txt');

if (args.includes('--version')) {
  let version;
  try {
    version = fs.readFileSync(cacheFile, 'utf8');
  } catch {
    version = require('solc').version().replace('.Emscripten.clang', '');
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    fs.writeFileSync(cacheFile, version);
  }
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${version}\n`);
  process.exit(0);
}

const roots = [];
for (let i = 0; i < args.length; i++) {
  if (['--base-path', '--include-path', '--allow-paths'].includes(args[i]) && args[i + 1]) {
    for (const p of args[i + 1].split(',')) roots.push(path.resolve(p));
    i++;
  }
}
if (roots.length === 0) roots.push(process.cwd());

function findImports(importPath) {
  const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
  for (const candidate of candidates) {
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
  }
  return { error: `File not found: ${importPath} (searched ${roots.join(', ')})` };
}

const input = fs.readFileSync(0, 'utf8');
const output = require('solc').compile(input, { import: findImports });
process.stdout.write(output);
