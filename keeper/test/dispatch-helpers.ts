// A fake dispatcher (local HTTP server) for the results-output tests: scripted answers per attempt,
// HMAC check of every request, acknowledgements counted per Idempotency-Key.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { repoRoot } from '../dev/paths.js';
import { verifySignature } from '../src/dispatch/sign.js';

export type Answer = 'fail' | 'hang' | 'ack';

export interface Received {
  key: string;
  body: string;
  signed: boolean;
  answer: Answer;
}

export interface FakeDispatcher {
  url: string;
  received: Received[];
  /** Number of 2xx answers given per Idempotency-Key. */
  acks: Map<string, number>;
  close(): Promise<void>;
}

/** `script(key, attempt)` decides each answer (attempt counts from 1 per key). */
export async function startFakeDispatcher(
  secret: string,
  script: (key: string, attempt: number) => Answer,
): Promise<FakeDispatcher> {
  const received: Received[] = [];
  const acks = new Map<string, number>();
  const attempts = new Map<string, number>();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const key = String(req.headers['idempotency-key'] ?? '');
      const signed = verifySignature(body, secret, req.headers['x-market-signature'] as string | undefined);
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      const answer = signed ? script(key, attempt) : 'fail';
      received.push({ key, body, signed, answer });
      if (answer === 'hang') return; // never answers: the keeper's timeout must fire
      if (answer === 'fail') {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"busy"}');
        return;
      }
      acks.set(key, (acks.get(key) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  };
  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/results`,
    received,
    acks,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The contract in docs/: a validator of the payload. */
export function payloadValidator() {
  const schema = JSON.parse(readFileSync(path.join(repoRoot, 'docs/dispatcher-payload.schema.json'), 'utf8')) as object;
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  return ajv.compile(schema);
}
