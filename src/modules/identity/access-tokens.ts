import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { AuthenticationError } from '../../http/errors';
import type { Clock } from '../../lib/clock';
import type { SigningKey } from './signing-keys';

/** The service's own short-lived access token, issued after VNeID sign-in. */
export interface AccessTokenSettings {
  key: SigningKey;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

/** Clock skew tolerated between instances for a token's issue time. */
const ISSUED_AT_LEEWAY_SECONDS = 60;

const AccessTokenClaims = z.object({
  sub: z.string().regex(/^\d{12}$/),
  roles: z.array(z.string()).optional(),
  iat: z.number(),
  exp: z.number(),
  jti: z.string(),
});
export type AccessTokenClaims = z.infer<typeof AccessTokenClaims>;

/** Signs a token for a person (subject = personal ID). Roles are a snapshot; requests re-resolve them. */
export function issueAccessToken(settings: AccessTokenSettings, clock: Clock, personalId: string, roles: string[]): { token: string; expiresIn: number } {
  const iat = Math.floor(clock.now().getTime() / 1000);
  const token = jwt.sign({ roles, iat }, settings.key.privateKey, {
    algorithm: 'RS256',
    keyid: settings.key.kid,
    issuer: settings.issuer,
    audience: settings.audience,
    subject: personalId,
    expiresIn: settings.ttlSeconds,
    jwtid: randomUUID(),
  });
  return { token, expiresIn: settings.ttlSeconds };
}

/**
 * Verifies signature, algorithm (RS256 only: `none` and HS256-with-the-public-key are refused),
 * key id, issuer, audience and lifetime against the injected clock.
 */
export function verifyAccessToken(settings: AccessTokenSettings, clock: Clock, token: string): AccessTokenClaims {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || typeof decoded === 'string' || decoded.header.kid !== settings.key.kid) {
    throw new AuthenticationError('INVALID_TOKEN', 'The access token is not valid.');
  }
  let payload: unknown;
  try {
    payload = jwt.verify(token, settings.key.publicKey, { algorithms: ['RS256'],
            issuer: settings.issuer,
      audience: settings.audience,
      clockTimestamp: Math.floor(clock.now().getTime() / 1000),
    });
  } catch (e) {
    if (e instanceof jwt.TokenExpiredError) throw new AuthenticationError('TOKEN_EXPIRED', 'The access token has expired.');
    throw new AuthenticationError('INVALID_TOKEN', 'The access token is not valid.');
  }
  const claims = AccessTokenClaims.safeParse(payload);
  if (!claims.success) throw new AuthenticationError('INVALID_TOKEN', 'The access token is not valid.');
  // jsonwebtoken checks `nbf` but not `iat`: a token issued in the future was not issued by us.
  if (claims.data.iat > Math.floor(clock.now().getTime() / 1000) + ISSUED_AT_LEEWAY_SECONDS) throw new AuthenticationError('INVALID_TOKEN', 'The access token is not valid.');
  return claims.data;
}
