// Writes Web3 Secret Storage v3 keystores (scrypt, aes-128-ctr) the way geth does, with a small N for speed.
import { createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { keccak256, type Hex } from 'viem';

export async function writeKeystoreFile(file: string, key: Hex, password: string): Promise<void> {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const derived = scryptSync(password, salt, 32, { N: 1024, r: 8, p: 1 });
  const cipher = createCipheriv('aes-128-ctr', derived.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(key.slice(2), 'hex')), cipher.final()]);
  const mac = keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext])).slice(2);
  const crypto = {
    cipher: 'aes-128-ctr',
    ciphertext: ciphertext.toString('hex'),
    cipherparams: { iv: iv.toString('hex') },
    kdf: 'scrypt',
    kdfparams: { dklen: 32, n: 1024, r: 8, p: 1, salt: salt.toString('hex') },
    mac,
  };
  await writeFile(file, JSON.stringify({ version: 3, crypto }));
}
