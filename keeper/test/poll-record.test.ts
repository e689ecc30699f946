// The poll loop and the fsynced JSON-lines record shared by the agent and the dispatcher.
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendJsonLine, readJsonLines } from '../src/jsonl-record.js';
import { PollLoop } from '../src/poll-loop.js';

describe('PollLoop', () => {
  it('test_failedPass_isReportedAndTheNextPassRuns', async () => {
    const errors: unknown[] = [];
    let passes = 0;
    const loop = new PollLoop(
      1,
      async () => {
        passes++;
        if (passes === 1) throw new Error('first pass fails');
        if (passes === 3) loop.stop();
      },
      (error) => errors.push(error),
    );
    await loop.run();
    expect(passes).toBe(3);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('first pass fails');
    expect(loop.stopped).toBe(true);
  });

  it('test_stopDuringTheWait_endsRunAtOnce', async () => {
    const loop = new PollLoop(
      60_000,
      async () => undefined,
      () => undefined,
    );
    const started = Date.now();
    const running = loop.run();
    await new Promise((resolve) => setTimeout(resolve, 20));
    loop.stop();
    await running;
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('JSON-lines record', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('test_missingFile_readsAsEmpty', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'jsonl-'));
    expect(await readJsonLines(path.join(dir, 'none.jsonl'))).toEqual([]);
  });

  it('test_tornAndNonObjectLines_areSkipped', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'jsonl-'));
    const file = path.join(dir, 'nested', 'record.jsonl');
    await appendJsonLine(file, { a: 1 });
    await appendJsonLine(file, { b: '2' });
    await appendFile(file, 'null\n5\n[1]\n{"torn":');
    expect(await readFile(file, 'utf8')).toMatch(/^\{"a":1\}\n\{"b":"2"\}\n/);
    expect(await readJsonLines(file)).toEqual([{ a: 1 }, { b: '2' }]);
  });
});
