import { createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { keccak256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { createKeeperApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { decryptKeystore } from '../src/keystore.js';

const KEY = `0x${'42'.repeat(32)}` as const;

/** Writes a Web3 Secret Storage v3 file the way geth does (scrypt, aes-128-ctr), with a small N for speed. */
async function writeKeystore(password: string): Promise<string> {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const derived = scryptSync(password, salt, 32, { N: 1024, r: 8, p: 1 });
  const cipher = createCipheriv('aes-128-ctr', derived.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(KEY.slice(2), 'hex')), cipher.final()]);
  const mac = keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext])).slice(2);
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'keystore-')), 'key.json');
  await writeFile(
    file,
    JSON.stringify({
      version: 3,
      crypto: {
        cipher: 'aes-128-ctr',
        ciphertext: ciphertext.toString('hex'),
        cipherparams: { iv: iv.toString('hex') },
        kdf: 'scrypt',
        kdfparams: { dklen: 32, n: 1024, r: 8, p: 1, salt: salt.toString('hex') },
        mac,
      },
    }),
  );
  return file;
}

describe('keystore', () => {
  it('decrypts a v3 keystore and refuses a wrong password', async () => {
    const file = await writeKeystore('correct horse');
    expect(await decryptKeystore(file, 'correct horse')).toBe(KEY);
    await expect(decryptKeystore(file, 'wrong')).rejects.toThrow(/password is wrong/);
  });

  it('gives the keeper its signer', async () => {
    const file = await writeKeystore('pw');
    const config = loadConfig({
      RPC_URL: 'http://127.0.0.1:1',
      CHAIN_ID: '31337',
      MARKET_ADDRESS: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      KEYSTORE_PATH: file,
      KEYSTORE_PASSWORD: 'pw',
      LOG_LEVEL: 'silent',
      METER_SOURCE: 'simulated',
    });
    const app = await createKeeperApp(config, { serve: false });
    expect(app.sender.address).toBe(privateKeyToAccount(KEY).address);
    await app.shutdown(0);
  });
});
