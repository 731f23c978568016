import type { RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import { type Clock, vietnamDate } from '../lib/clock';
import { loadPrincipal, type Principal } from '../modules/access/access.service';
import { type AccessTokenSettings, verifyAccessToken } from '../modules/identity/access-tokens';
import { AuthenticationError } from './errors';

/** Requires `Authorization: Bearer <token>` and resolves the person's current roles from the database. */
export function requireUser(deps: { db: Knex; clock: Clock; tokens: AccessTokenSettings }): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(header);
    if (!match) throw new AuthenticationError('UNAUTHENTICATED', 'Send an access token as `Authorization: Bearer <token>`.');
    const claims = verifyAccessToken(deps.tokens, deps.clock, match[1]!);
    res.locals.principal = await loadPrincipal(deps.db, claims.sub, vietnamDate(deps.clock.now()));
    next();
  };
}

export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new AuthenticationError();
  return principal;
}
