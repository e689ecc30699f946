// The extractor and the runners of docs/integrators.md's and README.md's runnable blocks (keeper/test/doc-blocks.ts).
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../dev/paths.js';
import { extractBlocks, runTs, ShellSession, typecheckTs } from './doc-blocks.js';

const doc = [
  '# A page', // 1
  '```sh runnable', // 2
  'X=1', // 3
  'f() { echo "f$1"; }', // 4
  '```', // 5
  '```sh', // 6
  'exit 1 # not marked: never run', // 7
  '```', // 8
  '```mermaid', // 9
  'flowchart LR', // 10
  '```', // 11
  '```sh runnable', // 12
  'echo "x=$X $(f 2)"', // 13
  'test "$X" = 2', // 14
  '```', // 15
  '````ts runnable', // 16
  "const n: number = 'one'; // ```", // 17
  'console.log(n);', // 18
  "throw new Error('boom');", // 19
  '````', // 20
].join('\n');

const options = { cwd: repoRoot, env: { PATH: process.env.PATH } };

describe('doc blocks', () => {
  const blocks = extractBlocks('x.md', doc);

  it('extracts every block with its language, first line and marker', () => {
    expect(blocks.map((b) => [b.line, b.lang, b.runnable])).toEqual([
      [3, 'sh', true],
      [7, 'sh', false],
      [10, 'mermaid', false],
      [13, 'sh', true],
      [17, 'ts', true],
    ]);
    expect(blocks[4]?.code).toBe("const n: number = 'one'; // ```\nconsole.log(n);\nthrow new Error('boom');");
    expect(() => extractBlocks('y.md', 'text\n```sh\necho\n')).toThrow('y.md:2: code block never closed');
  });

  it('runs shell blocks in order with shared variables and functions; a failure names the file and line', async () => {
    const session = new ShellSession(options);
    try {
      await session.run(blocks[0]!);
      await expect(session.run(blocks[3]!)).rejects.toThrow(/^x\.md:14: sh block failed \(exit 1\)\nx=1 f2/);
      await expect(session.run({ ...blocks[3]!, code: 'echo $UNSET' })).rejects.toThrow(/^x\.md:13: .*unbound/s);
    } finally {
      await session.close();
    }
  });

  it('type-checks and runs TypeScript blocks; a failure names the file and line', async () => {
    const ts = blocks[4]!;
    await expect(typecheckTs([ts], options)).rejects.toThrow(/^x\.md:17: ts block failed .*: type error/);
    await expect(runTs(ts, options)).rejects.toThrow(/^x\.md:19: ts block failed \(exit 1\)\none\n.*boom/s);
    const good = { ...ts, code: 'const n: number = 2;\nconsole.log(n * 21);\nexport {};' };
    await typecheckTs([good], options);
    expect(await runTs(good, options)).toBe('42\n');
  });
});
