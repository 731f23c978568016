import { createHmac, generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { allRoutes, type AppDeps } from '../../src/app';
import { createLogger } from '../../src/logger';
import { generateSigningKey } from '../../src/modules/identity/signing-keys';
import { demoSchool } from '../factories/demo';
import { expectContract } from '../support/contract';
import { fingerprint, fingerprintDiff } from '../support/db-fingerprint';
import { startTestApp, type TestApp } from '../support/test-app';
import { toOpenApiPath } from '../../src/http/routes';

/**
 * Forged, stale and misdirected access tokens against every route that needs one (read from the
 * route table, so new routes are attacked without edits): each answers 401 in the error envelope
 * with a documented code, and nothing is written. tests/api/auth.api.test.ts tells the same story
 * for one route with the user's view; this file is the sweep.
 */
let app: TestApp;
let admin: string;
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

beforeAll(async () => {
  app = await startTestApp();
  admin = (await demoSchool(app.db, 0)).admin;
});
afterAll(() => app.close());

const now = () => Math.floor(app.clock.now().getTime() / 1000);
const claims = () => ({ sub: admin, iss: app.tokens.issuer, aud: app.tokens.audience, iat: now(), exp: now() + 600, jti: 'attack' });
const sign = (payload: object, options: jwt.SignOptions = {}, key = app.tokens.key.privateKey) => jwt.sign(payload, key, { algorithm: 'RS256', keyid: app.tokens.key.kid, ...options });

/** name -> a token an attacker could present, and the codes it may be refused with. */
function attacks(): [string, string, string[]][] {
  const publicPem = app.tokens.key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const hs256 = (secret: string) => {
    const head = `${b64({ alg: 'HS256', typ: 'JWT', kid: app.tokens.key.kid })}.${b64(claims())}`;
    return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
  };
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const withoutExp: Partial<ReturnType<typeof claims>> = claims();
  delete withoutExp.exp;
  return [
    ['alg none', `${b64({ alg: 'none', typ: 'JWT', kid: app.tokens.key.kid })}.${b64(claims())}.`, ['INVALID_TOKEN']],
    ['alg NoNe', `${b64({ alg: 'NoNe', typ: 'JWT', kid: app.tokens.key.kid })}.${b64(claims())}.`, ['INVALID_TOKEN']],
    ['HS256 signed with the RS256 public key (PEM)', hs256(publicPem), ['INVALID_TOKEN']],
    ['HS256 signed with the public key without its trailing newline', hs256(publicPem.trim()), ['INVALID_TOKEN']],
    ['RS512 with our own key (algorithm not pinned)', sign(claims(), { algorithm: 'RS512' }), ['INVALID_TOKEN']],
    ['PS256 with our own key', sign(claims(), { algorithm: 'PS256' }), ['INVALID_TOKEN']],
    ['expired', sign({ ...claims(), iat: now() - 1200, exp: now() - 600 }), ['TOKEN_EXPIRED']],
    ['not yet valid (nbf in the future)', sign({ ...claims(), nbf: now() + 600 }), ['INVALID_TOKEN']],
    ['issued in the future (iat)', sign({ ...claims(), iat: now() + 3600, exp: now() + 4200 }), ['INVALID_TOKEN']],
    ['wrong issuer', sign({ ...claims(), iss: 'someone-else' }), ['INVALID_TOKEN']],
    ['wrong audience', sign({ ...claims(), aud: 'another-api' }), ['INVALID_TOKEN']],
    ['unknown key id (our key, another kid)', sign(claims(), { keyid: 'kid-we-never-issued' }), ['INVALID_TOKEN']],
    ['no key id', jwt.sign(claims(), app.tokens.key.privateKey, { algorithm: 'RS256' }), ['INVALID_TOKEN']],
    ['an attacker\'s key under our key id', sign(claims(), {}, attacker.privateKey), ['INVALID_TOKEN']],
    ['an attacker\'s key embedded in the header (jwk)', sign(claims(), { header: { alg: 'RS256', kid: app.tokens.key.kid, jwk: attacker.publicKey.export({ format: 'jwk' }) } as jwt.JwtHeader }, attacker.privateKey), ['INVALID_TOKEN']],
    ['another deployment\'s key and kid', jwt.sign(claims(), generateSigningKey().privateKey, { algorithm: 'RS256', keyid: 'other' }), ['INVALID_TOKEN']],
    ['no expiry', sign(withoutExp), ['INVALID_TOKEN']],
    ['a subject that is no personal ID', sign({ ...claims(), sub: "' OR 1=1 --" }), ['INVALID_TOKEN']],
    ['payload swapped under a valid signature', (() => {
      const [h, , s] = app.tokenFor(admin).split('.');
      return `${h}.${b64({ ...claims(), sub: '079075000102' })}.${s}`;
    })(), ['INVALID_TOKEN']],
    ['signature stripped', `${app.tokenFor(admin).split('.').slice(0, 2).join('.')}.`, ['INVALID_TOKEN']],
  ];
}

function userRoutes() {
  const deps: AppDeps = {
    db: app.db,
    clock: app.clock,
    logger: createLogger('silent'),
    tokens: app.tokens,
    identityProvider: { authorizationUrl: async () => '', exchangeCode: async () => Promise.reject(new Error('unused')) },
    publicBaseUrl: app.baseUrl,
  };
  return allRoutes(deps).filter((r) => r.auth === 'user');
}

/** A path with well-formed (nonexistent) ids: authentication comes before any lookup. */
function concretePath(path: string): string {
  return path.replace(/:([a-z_]+)/g, (_m, name: string) => (name === 'personal_id' ? '079099000001' : name === 'month' ? '2026-11' : `${name.replace(/_id$/, '').slice(0, 3)}_${'0'.repeat(32)}`));
}

test('every route that needs a token refuses every forged, stale or misdirected token with 401 and writes nothing', async () => {
  const routes = userRoutes();
  expect(routes.length).toBeGreaterThan(40);
  const before = await fingerprint(app.db);
  const problems: string[] = [];
  for (const [name, token, codes] of attacks()) {
    for (const route of routes) {
      const path = concretePath(route.path);
      const res = await request(app.baseUrl)[route.method](path).set('authorization', `Bearer ${token}`).set('content-type', 'application/json').send(route.method === 'get' ? undefined : '{}');
      if (res.status !== 401 || !codes.includes(res.body?.error?.code)) {
        problems.push(`${name}: ${route.method.toUpperCase()} ${route.path} -> ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        continue;
      }
      try {
        expectContract(res, route.method, toOpenApiPath(route.path));
      } catch (e) {
        problems.push(`${name}: ${route.method.toUpperCase()} ${route.path}: ${(e as Error).message.slice(0, 300)}`);
      }
    }
  }
  expect(problems).toEqual([]);
  expect(fingerprintDiff(before, await fingerprint(app.db))).toEqual({});
}, 120_000);

test('the genuine token opens the same routes past authentication (control)', async () => {
  const me = await request(app.baseUrl).get('/v1/me').set('authorization', `Bearer ${app.tokenFor(admin)}`);
  expect(me.status).toBe(200);
  const refusedForAuth: string[] = [];
  for (const route of userRoutes()) {
    const res = await request(app.baseUrl)[route.method](concretePath(route.path)).set('authorization', `Bearer ${app.tokenFor(admin)}`).set('content-type', 'application/json').send(route.method === 'get' ? undefined : '{}');
    if (res.status === 401) refusedForAuth.push(`${route.method} ${route.path}`);
  }
  expect(refusedForAuth).toEqual([]);
}, 60_000);

test('a token in the query string or with a scheme other than Bearer is not read', async () => {
  const token = app.tokenFor(admin);
  for (const res of [
    await request(app.baseUrl).get(`/v1/me?access_token=${token}`),
    await request(app.baseUrl).get('/v1/me').set('authorization', `Basic ${token}`),
    await request(app.baseUrl).get('/v1/me').set('authorization', `Bearer  ${token}`),
    await request(app.baseUrl).get('/v1/me').set('authorization', `Bearer ${token} ${token}`),
  ]) {
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
  }
});
