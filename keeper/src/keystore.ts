// Decrypts a Web3 Secret Storage (v3) keystore file, as written by geth, cast and ethers (scrypt or pbkdf2).
import { createDecipheriv, pbkdf2Sync, scryptSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { keccak256, type Hex } from 'viem';

interface KeystoreV3 {
  crypto: {
    cipher: string;
    ciphertext: string;
    cipherparams: { iv: string };
    kdf: 'scrypt' | 'pbkdf2';
    kdfparams: { dklen: number; salt: string; n?: number; r?: number; p?: number; c?: number; prf?: string };
    mac: string;
  };
}

export async function decryptKeystore(path: string, password: string): Promise<Hex> {
  const file = JSON.parse(await readFile(path, 'utf8')) as KeystoreV3 & { Crypto?: KeystoreV3['crypto'] };
  const c = file.crypto ?? file.Crypto;
  if (!c || c.cipher !== 'aes-128-ctr') throw new Error(`unsupported keystore ${path}: cipher must be aes-128-ctr`);
  const salt = Buffer.from(c.kdfparams.salt, 'hex');
  let derived: Buffer;
  if (c.kdf === 'scrypt') {
    const { n = 0, r = 8, p = 1, dklen } = c.kdfparams;
    derived = scryptSync(password, salt, dklen, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
  } else if (c.kdf === 'pbkdf2') {
    derived = pbkdf2Sync(password, salt, c.kdfparams.c ?? 0, c.kdfparams.dklen, 'sha256');
  } else {
    throw new Error(`unsupported keystore kdf ${String(c.kdf)}`);
  }
  const ciphertext = Buffer.from(c.ciphertext, 'hex');
  const mac = keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext])).slice(2);
  if (mac !== c.mac.toLowerCase()) throw new Error('keystore password is wrong (MAC mismatch)');
  const decipher = createDecipheriv('aes-128-ctr', derived.subarray(0, 16), Buffer.from(c.cipherparams.iv, 'hex'));
  const key = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  return `0x${key.toString('hex')}`;
}
