import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign, verify } from 'node:crypto';

/**
 * What a receipt's signature covers: its content as canonical JSON (object keys sorted at every
 * level, no whitespace, integers as integers), signed with the school's Ed25519 key. Anyone with
 * the published public key can check it; changing any field (a name, a number, a dong) breaks it.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function generateReceiptKeyPair(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

// Parsed keys are immutable, so caching them by PEM text is safe across replicas and requests.
const privateKeys = new Map<string, KeyObject>();
const publicKeys = new Map<string, KeyObject>();

export function signContent(content: unknown, privateKeyPem: string): string {
  let key = privateKeys.get(privateKeyPem);
  if (!key) privateKeys.set(privateKeyPem, (key = createPrivateKey(privateKeyPem)));
  return sign(null, Buffer.from(canonicalJson(content), 'utf8'), key).toString('base64');
}

export function verifyContent(content: unknown, signatureBase64: string, publicKeyPem: string): boolean {
  let key = publicKeys.get(publicKeyPem);
  if (!key) publicKeys.set(publicKeyPem, (key = createPublicKey(publicKeyPem)));
  try {
    return verify(null, Buffer.from(canonicalJson(content), 'utf8'), key, Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}

// Crockford-style alphabet without look-alikes (I, L, O, U): 16 symbols carry 80 random bits.
const LOOKUP_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A receipt's public lookup code: random, not derived from anything, so it cannot be guessed. */
export function newLookupCode(): string {
  const bytes = randomBytes(16);
  let code = '';
  for (let i = 0; i < 16; i++) code += LOOKUP_ALPHABET[bytes[i]! % 32];
  return code;
}
