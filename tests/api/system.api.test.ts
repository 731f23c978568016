import request from 'supertest';
import { expectContract } from '../support/contract';
import { startTestApp, type TestApp } from '../support/test-app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ seeded: false });
});
afterAll(() => app.close());

describe('GET /health and GET /ready', () => {
  test('when the process is up, then /health answers ok', async () => {
    const res = await request(app.baseUrl).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expectContract(res, 'get', '/health');
  });

  test('when the database is reachable and migrated, then /ready answers ready', async () => {
    const res = await request(app.baseUrl).get('/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready' });
    expectContract(res, 'get', '/ready');
  });

  test('when a migration is missing from the database, then /ready answers 503 MIGRATIONS_PENDING', async () => {
    const last = await app.db('knex_migrations').orderBy('id', 'desc').first<{ id: number; name: string }>();
    await app.db('knex_migrations').where({ id: last.id }).delete();
    try {
      const res = await request(app.baseUrl).get('/ready');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('MIGRATIONS_PENDING');
      expectContract(res, 'get', '/ready');
    } finally {
      await app.db('knex_migrations').insert(last);
    }
  });
});

describe('HTTP conventions', () => {
  test('when a route does not exist, then the answer is the 404 envelope with the request id', async () => {
    const res = await request(app.baseUrl).get('/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ type: 'not_found_error', code: 'ROUTE_NOT_FOUND' });
    expect(res.body.error.request_id).toBe(res.headers['x-request-id']);
  });

  test('when the caller sends a request id, then it is echoed; otherwise one is made', async () => {
    const mine = await request(app.baseUrl).get('/health').set('x-request-id', 'client-trace-0001');
    expect(mine.headers['x-request-id']).toBe('client-trace-0001');
    const made = await request(app.baseUrl).get('/health').set('x-request-id', 'bad id with spaces');
    expect(made.headers['x-request-id']).toMatch(/^req_[0-9a-f]{32}$/);
  });

  test('when a request is served, then one log line carries its request id', async () => {
    const res = await request(app.baseUrl).get('/health');
    const lines = app.logs.filter((l) => l.request_id === res.headers['x-request-id']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ method: 'GET', path: '/health', status: 200 });
  });

  test('when something fails inside, then a 500 envelope says so without SQL or a stack, and the log keeps the cause', async () => {
    await app.db('people').insert({ personal_id: '079080000555', full_name: 'Kiểm Thử', date_of_birth: '1980-01-01', gender: 'male' });
    await app.db.raw('ALTER TABLE schools RENAME TO schools_away');
    try {
      const res = await request(app.baseUrl).get('/v1/schools').set('authorization', `Bearer ${app.tokenFor('079080000555')}`);
      expect(res.status).toBe(500);
      expect(res.body.error).toMatchObject({ type: 'api_error', code: 'INTERNAL_ERROR' });
      expect(JSON.stringify(res.body)).not.toMatch(/schools|select|relation|at \w+ \(/i);
      const logged = app.logs.find((l) => l.request_id === res.headers['x-request-id']);
      expect(logged).toMatchObject({ level: 50, status: 500 });
      expect(JSON.stringify(logged)).toMatch(/relation .*schools.* does not exist/);
    } finally {
      await app.db.raw('ALTER TABLE schools_away RENAME TO schools');
    }
  });

  test('the contract and its docs page are served', async () => {
    const yaml = await request(app.baseUrl).get('/openapi.yaml');
    expect(yaml.status).toBe(200);
    expect(yaml.text).toMatch(/^openapi: 3\.1/m);
    const docs = await request(app.baseUrl).get('/docs');
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('/v1/schools/{school_id}/students');
  });
});
