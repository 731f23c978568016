import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { AppError, ValidationError } from '../../http/errors';
import type { Clock } from '../../lib/clock';
import { findPersonalIdProblem } from '../../lib/personal-id';
import { vietnamDate, vietnamYear } from '../../lib/clock';
import { type IdentityProvider, IdentityProviderError } from '../../integrations/vneid/identity-provider';
import { loadPrincipal, type Principal, roleNames } from '../access/access.service';
import { recordVerifiedIdentity } from '../people/people.service';
import { type AccessTokenSettings, issueAccessToken } from './access-tokens';
import * as repo from './identity.repository';

const SIGN_IN_TTL_MS = 10 * 60 * 1000;

export interface IdentityDeps {
  db: Knex;
  clock: Clock;
  identityProvider: IdentityProvider;
  tokens: AccessTokenSettings;
}

function providerFailure(error: unknown): AppError {
  if (error instanceof IdentityProviderError && error.code === 'SIGN_IN_REJECTED') {
    return new AppError(401, 'authentication_error', 'SIGN_IN_REJECTED', 'VNeID did not confirm this sign-in.');
  }
  return new AppError(502, 'api_error', 'IDENTITY_PROVIDER_UNAVAILABLE', 'VNeID could not be reached. Try again shortly.');
}

/** Starts an OpenID Connect sign-in: stores state, PKCE verifier and nonce; returns where to send the browser. */
export async function startSignIn(deps: IdentityDeps): Promise<string> {
  const now = deps.clock.now();
  const state = randomBytes(24).toString('base64url');
  const nonce = randomBytes(24).toString('base64url');
  const codeVerifier = randomBytes(48).toString('base64url');
  const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url');
  await repo.insertSignInRequest(deps.db, { state, codeVerifier, nonce, createdAt: now, expiresAt: new Date(now.getTime() + SIGN_IN_TTL_MS) });
  // Abandoned sign-ins are useless after expiry; sweeping a day's worth here keeps the table small.
  await repo.deleteExpiredSignInRequests(deps.db, new Date(now.getTime() - 24 * 60 * 60 * 1000));
  try {
    return await deps.identityProvider.authorizationUrl({ state, nonce, codeChallenge });
  } catch (e) {
    throw providerFailure(e);
  }
}

export interface SignInResult {
  accessToken: string;
  expiresIn: number;
  principal: Principal;
}

/**
 * Finishes a sign-in: the state is used once, the code is exchanged with the PKCE verifier, the ID
 * token is verified, the person is recorded as VNeID states them, and our own access token issued.
 */
export async function completeSignIn(deps: IdentityDeps, callback: { code: string; state: string }): Promise<SignInResult> {
  const now = deps.clock.now();
  const request = await repo.consumeSignInRequest(deps.db, callback.state, now);
  if (!request) throw new ValidationError('SIGN_IN_STATE_INVALID', 'This sign-in link is unknown, expired or already used. Start again.', { param: 'state' });

  let identity;
  try {
    identity = await deps.identityProvider.exchangeCode({ code: callback.code, codeVerifier: request.code_verifier, nonce: request.nonce });
  } catch (e) {
    throw providerFailure(e);
  }
  if (findPersonalIdProblem(identity.personalId, { currentYear: vietnamYear(now), dateOfBirth: identity.dateOfBirth })) {
    throw new AppError(401, 'authentication_error', 'SIGN_IN_REJECTED', 'VNeID returned an identity this service cannot accept.');
  }
  await recordVerifiedIdentity(deps.db, identity, now);
  const principal = await loadPrincipal(deps.db, identity.personalId, vietnamDate(now));
  const { token, expiresIn } = issueAccessToken(deps.tokens, deps.clock, principal.personalId, roleNames(principal));
  return { accessToken: token, expiresIn, principal };
}
