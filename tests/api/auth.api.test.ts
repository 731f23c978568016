import { createHash, createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { generateSigningKey } from '../../src/modules/identity/signing-keys';
import { expectContract } from '../support/contract';
import { CLIENT_ID, CLIENT_SECRET, startTestApp, type TestApp } from '../support/test-app';
import { countRows, demoSchool } from '../factories/demo';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

/** Walks the browser's path: login -> simulated VNeID authorize -> callback. */
async function signIn(personalId: string, extra: Record<string, string> = {}) {
  const login = await request(app.baseUrl).get('/auth/vneid/login');
  expect(login.status).toBe(302);
  const authorize = new URL(login.headers.location as string);
  const form = new URLSearchParams(authorize.searchParams);
  form.set('personal_id', personalId);
  for (const [k, v] of Object.entries(extra)) form.set(k, v);
  const approved = await request(app.baseUrl).post('/sim/vneid/authorize').type('form').send(form.toString());
  expect(approved.status).toBe(302);
  const callback = new URL(approved.headers.location as string);
  return { callback, authorize, res: await request(app.baseUrl).get(`${callback.pathname}${callback.search}`) };
}

describe('GET /auth/vneid/login -> VNeID -> GET /auth/vneid/callback', () => {
  test('when a school admin signs in through VNeID, then the service issues its own token that opens /v1/me', async () => {
    const school = await demoSchool(app.db, 0);
    const { res, authorize } = await signIn(school.admin);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/auth/vneid/callback');
    expect(res.body.token_type).toBe('Bearer');

    const me = await request(app.baseUrl).get('/v1/me').set('authorization', `Bearer ${res.body.access_token}`);
    expect(me.status).toBe(200);
    expectContract(me, 'get', '/v1/me');
    expect(me.body.roles).toEqual(['school_admin']);
    expect(me.body.staff_assignments).toEqual([{ school_id: school.id, role: 'school_admin' }]);
    expect(me.body.personal_id_masked).toBe(`${school.admin.slice(0, 3)}******${school.admin.slice(9)}`);

    const claims = jwt.decode(res.body.access_token) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: school.admin, roles: ['school_admin'], iss: app.tokens.issuer, aud: app.tokens.audience });
  });

  test('when a citizen unknown to the service signs in, then VNeID\'s verified identity is recorded', async () => {
    const before = await countRows(app.db, 'people');
    const { res } = await signIn('079190123456', { full_name: 'Lê Thị Mỹ Duyên', date_of_birth: '1990-02-03', gender: 'female' });
    expect(res.status).toBe(200);
    expect(await countRows(app.db, 'people')).toBe(before + 1);
    expect(await app.db('people').where({ personal_id: '079190123456' }).first()).toMatchObject({ full_name: 'Lê Thị Mỹ Duyên', date_of_birth: '1990-02-03' });
  });

  test('when the callback is replayed, then the used state is refused', async () => {
    const school = await demoSchool(app.db, 1);
    const { res, callback } = await signIn(school.accountant);
    expect(res.status).toBe(200);
    const replay = await request(app.baseUrl).get(`${callback.pathname}${callback.search}`);
    expect(replay.status).toBe(400);
    expect(replay.body.error.code).toBe('SIGN_IN_STATE_INVALID');
  });

  test('when the sign-in state has expired, then the callback is refused', async () => {
    const school = await demoSchool(app.db, 1);
    const login = await request(app.baseUrl).get('/auth/vneid/login');
    const form = new URLSearchParams(new URL(login.headers.location as string).searchParams);
    form.set('personal_id', school.accountant);
    const approved = await request(app.baseUrl).post('/sim/vneid/authorize').type('form').send(form.toString());
    app.clock.advanceMs(11 * 60 * 1000);
    try {
      const callback = new URL(approved.headers.location as string);
      const res = await request(app.baseUrl).get(`${callback.pathname}${callback.search}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('SIGN_IN_STATE_INVALID');
    } finally {
      app.clock.advanceMs(-11 * 60 * 1000);
    }
  });

  test('when VNeID reports an error, then sign-in fails with 401', async () => {
    const res = await request(app.baseUrl).get('/auth/vneid/callback?error=access_denied&state=x');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('SIGN_IN_REJECTED');
  });
});

describe('simulated VNeID token endpoint', () => {
  test('when the PKCE verifier does not match the challenge, then the code is refused', async () => {
    const verifier = 'a'.repeat(43);
    const challenge = createHash('sha256').update('b'.repeat(43)).digest('base64url');
    const redirectUri = `${app.baseUrl}/auth/vneid/callback`;
    const authorize = await request(app.baseUrl)
      .post('/sim/vneid/authorize')
      .type('form')
      .send({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: redirectUri, state: 'state-123456', nonce: 'nonce-123456', code_challenge: challenge, code_challenge_method: 'S256', personal_id: '079075000101' });
    const code = new URL(authorize.headers.location as string).searchParams.get('code') as string;
    const token = await request(app.baseUrl)
      .post('/sim/vneid/token')
      .type('form')
      .send({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, code_verifier: verifier });
    expect(token.status).toBe(400);
    expect(token.body.error).toBe('invalid_grant');
  });

  test('when the client secret is wrong, then the token request is refused', async () => {
    const res = await request(app.baseUrl)
      .post('/sim/vneid/token')
      .type('form')
      .send({ grant_type: 'authorization_code', code: 'x', redirect_uri: 'x', client_id: CLIENT_ID, client_secret: 'wrong', code_verifier: 'a'.repeat(43) });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  test('when the redirect_uri is not registered, then the authorize page refuses it', async () => {
    const res = await request(app.baseUrl).get('/sim/vneid/authorize').query({
      response_type: 'code', client_id: CLIENT_ID, redirect_uri: 'https://evil.example/cb', state: 'state-123456', nonce: 'nonce-123456',
      code_challenge: 'a'.repeat(43), code_challenge_method: 'S256',
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unauthorized_client');
  });
});

describe('access tokens on GET /v1/me', () => {
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  let admin: string;
  beforeAll(async () => {
    admin = (await demoSchool(app.db, 0)).admin;
  });
  const me = (token?: string) => {
    const req = request(app.baseUrl).get('/v1/me');
    return token === undefined ? req : req.set('authorization', `Bearer ${token}`);
  };
  const now = () => Math.floor(app.clock.now().getTime() / 1000);

  test('when the token is valid, then the request passes', async () => {
    expect((await me(app.tokenFor(admin))).status).toBe(200);
  });

  test.each([
    ['missing', () => undefined, 'UNAUTHENTICATED'],
    ['garbage', () => 'not-a-token', 'INVALID_TOKEN'],
  ])('when the token is %s, then 401', async (_name, make, code) => {
    const res = await me(make());
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe(code);
    expectContract(res, 'get', '/v1/me');
  });

  test('when the token has expired, then 401 TOKEN_EXPIRED', async () => {
    const token = app.tokenFor(admin);
    app.clock.advanceMs(16 * 60 * 1000);
    try {
      const res = await me(token);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('TOKEN_EXPIRED');
    } finally {
      app.clock.advanceMs(-16 * 60 * 1000);
    }
  });

  test('when the payload is tampered with, then 401', async () => {
    const [h, , s] = app.tokenFor(admin).split('.');
    const forged = b64({ sub: '079075000102', iss: app.tokens.issuer, aud: app.tokens.audience, iat: now(), exp: now() + 600, jti: 'x' });
    expect((await me(`${h}.${forged}.${s}`)).status).toBe(401);
  });

  test('when the token uses alg none, then 401', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT', kid: app.tokens.key.kid })}.${b64({ sub: admin, iss: app.tokens.issuer, aud: app.tokens.audience, iat: now(), exp: now() + 600, jti: 'x' })}.`;
    expect((await me(token)).status).toBe(401);
  });

  test('when the token is HS256-signed with the RS256 public key, then 401', async () => {
    const publicPem = app.tokens.key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const header = b64({ alg: 'HS256', typ: 'JWT', kid: app.tokens.key.kid });
    const payload = b64({ sub: admin, iss: app.tokens.issuer, aud: app.tokens.audience, iat: now(), exp: now() + 600, jti: 'x' });
    const signature = createHmac('sha256', publicPem).update(`${header}.${payload}`).digest('base64url');
    expect((await me(`${header}.${payload}.${signature}`)).status).toBe(401);
  });

  test.each([
    ['wrong issuer', { issuer: 'someone-else' }],
    ['wrong audience', { audience: 'another-api' }],
    ['not yet valid', { notBefore: 600 }],
  ])('when the token has a %s, then 401', async (_name, options) => {
    const token = jwt.sign({ iat: now() }, app.tokens.key.privateKey, {
      algorithm: 'RS256', keyid: app.tokens.key.kid, subject: admin, expiresIn: 600, jwtid: 'x',
      issuer: app.tokens.issuer, audience: app.tokens.audience, ...options,
    });
    expect((await me(token)).status).toBe(401);
  });

  test('when the token is signed by an unknown key, then 401', async () => {
    const other = generateSigningKey();
    const token = jwt.sign({ iat: now() }, other.privateKey, { algorithm: 'RS256', keyid: other.kid, subject: admin, expiresIn: 600, jwtid: 'x', issuer: app.tokens.issuer, audience: app.tokens.audience });
    expect((await me(token)).status).toBe(401);
  });

  test('when the person behind a valid token is unknown, then 401 UNKNOWN_PERSON', async () => {
    const res = await me(app.tokenFor('079199999999'));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNKNOWN_PERSON');
  });
});
