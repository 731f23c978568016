import type { Response } from 'express';
import { principalOf } from '../../http/auth';
import { AppError } from '../../http/errors';
import type { RouteDef } from '../../http/routes';
import { parseQuery } from '../../http/validate';
import { maskPersonalId } from '../../lib/personal-id';
import { type Principal, roleNames } from '../access/access.service';
import { publicJwk } from './signing-keys';
import { SignInCallbackQuery } from './identity.schemas';
import { completeSignIn, type IdentityDeps, startSignIn } from './identity.service';

/** The signed-in person, their roles and scopes. The personal ID is shown masked. */
export function renderMe(principal: Principal) {
  return {
    person_id: principal.personId,
    personal_id_masked: maskPersonalId(principal.personalId),
    full_name: principal.fullName,
    date_of_birth: principal.dateOfBirth,
    roles: roleNames(principal),
    staff_assignments: principal.staff.map((s) => ({ school_id: s.schoolId, role: s.role })),
    finance_scopes: principal.finance.map((f) => ({ city_id: f.cityId, district_id: f.districtId })),
  };
}

function noStore(res: Response): void {
  res.setHeader('cache-control', 'no-store');
}

export function identityRoutes(deps: IdentityDeps): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/auth/vneid/login',
      auth: 'public',
      handler: async (_req, res) => {
        const location = await startSignIn(deps);
        noStore(res);
        res.redirect(302, location);
      },
    },
    {
      method: 'get',
      path: '/auth/vneid/callback',
      auth: 'public',
      handler: async (req, res) => {
        const query = parseQuery(SignInCallbackQuery, req);
        if ('error' in query) throw new AppError(401, 'authentication_error', 'SIGN_IN_REJECTED', 'VNeID did not confirm this sign-in.');
        const result = await completeSignIn(deps, query);
        noStore(res);
        res.json({ access_token: result.accessToken, token_type: 'Bearer', expires_in: result.expiresIn, me: renderMe(result.principal) });
      },
    },
    {
      method: 'get',
      path: '/.well-known/jwks.json',
      auth: 'public',
      handler: (_req, res) => {
        res.json({ keys: [publicJwk(deps.tokens.key)] });
      },
    },
    {
      method: 'get',
      path: '/v1/me',
      auth: 'user',
      handler: (_req, res) => {
        res.json(renderMe(principalOf(res)));
      },
    },
  ];
}
