import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** An RS256 key pair with a key id derived from the public key. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function signingKeyFromPem(pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const kid = createHash('sha256').update(der).digest('base64url').slice(0, 16);
  return { kid, privateKey, publicKey };
}

export function generateSigningKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return signingKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
}

/**
 * Production passes the key in configuration. Development keeps a generated key in the data
 * folder so tokens survive restarts and `npm run token` signs with the same key as the server.
 */
export function loadOrCreateSigningKey(pem: string | undefined, dataDir: string, name: string): SigningKey {
  if (pem) return signingKeyFromPem(pem);
  const file = path.resolve(dataDir, 'keys', `${name}.pem`);
  if (existsSync(file)) return signingKeyFromPem(readFileSync(file, 'utf8'));
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const generated = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // Several instances may start at once on one data folder: each writes a whole file of its own and
  // links it into place (atomic, refused if one is there); every instance then uses the one that won.
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, generated, { mode: 0o600 });
  try {
    linkSync(temp, file);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EEXIST') throw e;
  } finally {
    rmSync(temp, { force: true });
  }
  return signingKeyFromPem(readFileSync(file, 'utf8'));
}

/** The public half as a JWK, for a JWKS document. */
export function publicJwk(key: SigningKey): Record<string, string> {
  const jwk = key.publicKey.export({ format: 'jwk' }) as Record<string, string>;
  return { ...jwk, kid: key.kid, use: 'sig', alg: 'RS256' };
}
