/**
 * The port to national sign-in (VNeID, OpenID Connect authorization code + PKCE). Production points
 * the OIDC client at the real issuer; development and tests point it at the built-in simulator.
 */
export interface VerifiedIdentity {
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender: 'male' | 'female';
  /** The issuer's assurance level for this sign-in (acr). */
  assuranceLevel: string;
}

export interface IdentityProvider {
  /** Where to send the user's browser to sign in. */
  authorizationUrl(request: { state: string; nonce: string; codeChallenge: string }): Promise<string>;
  /** Exchanges the authorization code (with the PKCE verifier) and verifies the ID token. */
  exchangeCode(request: { code: string; codeVerifier: string; nonce: string }): Promise<VerifiedIdentity>;
}

export class IdentityProviderError extends Error {
  constructor(
    readonly code: 'PROVIDER_UNAVAILABLE' | 'SIGN_IN_REJECTED',
    message: string,
  ) {
    super(message);
  }
}
