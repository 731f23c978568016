import { createPublicKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import type { Clock } from '../../lib/clock';
import { type IdentityProvider, IdentityProviderError, type VerifiedIdentity } from './identity-provider';

const Discovery = z.object({
  issuer: z.string(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  jwks_uri: z.url(),
});

const Jwks = z.object({ keys: z.array(z.object({ kid: z.string().optional(), kty: z.string() }).loose()) });

const TokenResponse = z.object({ id_token: z.string(), token_type: z.string() }).loose();

/** Claims we require of a VNeID ID token. */
const IdTokenClaims = z.object({
  sub: z.string(),
  personal_id: z.string().regex(/^\d{12}$/),
  name: z.string().min(1).max(200),
  birthdate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  gender: z.enum(['male', 'female']),
  acr: z.string().default('unknown'),
  nonce: z.string(),
  // jsonwebtoken skips the expiry check when exp is absent; a token without one is refused.
  exp: z.number(),
  iat: z.number(),
});

export interface OidcClientSettings {
  issuerUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/** A plain OpenID Connect relying party: discovery, PKCE S256, RS256 ID tokens checked against JWKS. */
export function createOidcClient(settings: OidcClientSettings, clock: Clock, fetchImpl: typeof fetch = fetch): IdentityProvider {
  let discovery: z.infer<typeof Discovery> | undefined;
  let keys = new Map<string, KeyObject>();

  async function getJson(url: string, init?: RequestInit): Promise<unknown> {
    let response: Response;
    try {
      response = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(10_000) });
    } catch {
      throw new IdentityProviderError('PROVIDER_UNAVAILABLE', 'The identity provider could not be reached.');
    }
    const body: unknown = await response.json().catch(() => undefined);
    // A 4xx from the token endpoint is VNeID refusing this code; anything else is VNeID being unwell.
    if (!response.ok) {
      const refused = init?.method === 'POST' && response.status >= 400 && response.status < 500;
      throw new IdentityProviderError(refused ? 'SIGN_IN_REJECTED' : 'PROVIDER_UNAVAILABLE', `The identity provider answered ${response.status}.`);
    }
    return body;
  }

  async function getDiscovery() {
    if (!discovery) {
      const parsed = Discovery.safeParse(await getJson(`${settings.issuerUrl}/.well-known/openid-configuration`));
      if (!parsed.success || parsed.data.issuer !== settings.issuerUrl) {
        throw new IdentityProviderError('PROVIDER_UNAVAILABLE', 'The identity provider published an unusable discovery document.');
      }
      discovery = parsed.data;
    }
    return discovery;
  }

  async function keyFor(kid: string | undefined): Promise<KeyObject> {
    const cached = kid ? keys.get(kid) : undefined;
    if (cached) return cached;
    // Unknown key id: the issuer may have rotated keys, so fetch the JWKS again once.
    const jwks = Jwks.safeParse(await getJson((await getDiscovery()).jwks_uri));
    if (!jwks.success) throw new IdentityProviderError('PROVIDER_UNAVAILABLE', 'The identity provider published an unusable JWKS.');
    keys = new Map(jwks.data.keys.filter((k) => k.kty === 'RSA' && k.kid).map((k) => [k.kid as string, createPublicKey({ key: k, format: 'jwk' })]));
    const key = kid ? keys.get(kid) : undefined;
    if (!key) throw new IdentityProviderError('SIGN_IN_REJECTED', 'The ID token was signed with an unknown key.');
    return key;
  }

  return {
    async authorizationUrl({ state, nonce, codeChallenge }) {
      const url = new URL((await getDiscovery()).authorization_endpoint);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: settings.clientId,
        redirect_uri: settings.redirectUri,
        scope: 'openid profile',
        state,
        nonce,
        code_challenge: codeChallenge,
        code_challenge_method: 'S256',
      }).toString();
      return url.toString();
    },

    async exchangeCode({ code, codeVerifier, nonce }): Promise<VerifiedIdentity> {
      const body = await getJson((await getDiscovery()).token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: settings.redirectUri,
          client_id: settings.clientId,
          client_secret: settings.clientSecret,
          code_verifier: codeVerifier,
        }).toString(),
      });
      const tokens = TokenResponse.safeParse(body);
      if (!tokens.success) throw new IdentityProviderError('SIGN_IN_REJECTED', 'The identity provider returned no ID token.');
      const header = jwt.decode(tokens.data.id_token, { complete: true })?.header;
      const key = await keyFor(header?.kid);
      let payload: unknown;
      try {
        payload = jwt.verify(tokens.data.id_token, key, { algorithms: ['RS256'],
                    issuer: settings.issuerUrl,
          audience: settings.clientId,
          clockTimestamp: Math.floor(clock.now().getTime() / 1000),
        });
      } catch {
        throw new IdentityProviderError('SIGN_IN_REJECTED', 'The ID token did not verify.');
      }
      const claims = IdTokenClaims.safeParse(payload);
      if (!claims.success || claims.data.nonce !== nonce) throw new IdentityProviderError('SIGN_IN_REJECTED', 'The ID token is missing claims or its nonce does not match.');
      return {
        personalId: claims.data.personal_id,
        fullName: claims.data.name.normalize('NFC'),
        dateOfBirth: claims.data.birthdate,
        gender: claims.data.gender,
        assuranceLevel: claims.data.acr,
      };
    },
  };
}
