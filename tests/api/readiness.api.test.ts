import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import request from 'supertest';
import { buildApp } from '../../src/app';
import { createDb } from '../../src/db/knex';
import { fixedClock } from '../../src/lib/clock';
import { createLogger } from '../../src/logger';
import { generateSigningKey } from '../../src/modules/identity/signing-keys';
import { expectContract } from '../support/contract';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { createTestDatabase, type TestDatabase } from '../support/test-db';

/**
 * GET /ready while the database goes away and comes back, for real: the app's pool talks to
 * PostgreSQL through a TCP proxy that the test cuts and restores. No mock of the database.
 */
let database: TestDatabase;
let proxy: TcpProxy;
let db: Knex;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const target = new URL(database.url);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const viaProxy = new URL(database.url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  db = createDb(viaProxy.toString(), 4);
  const key = generateSigningKey();
  server = createServer(
    buildApp({
      db,
      clock: fixedClock(new Date('2026-11-22T03:00:00Z')),
      logger: createLogger('silent'),
      tokens: { key, issuer: 'i', audience: 'a', ttlSeconds: 60 },
      identityProvider: { authorizationUrl: async () => '', exchangeCode: async () => Promise.reject(new Error('unused')) },
      publicBaseUrl: 'http://x',
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await db.destroy();
  await proxy.close();
  await database.drop();
});

async function readyStatus(): Promise<request.Response> {
  const res = await request(baseUrl).get('/ready');
  expectContract(res, 'get', '/ready');
  return res;
}

/** Polls /ready until it answers `status` (the pool notices a dead or revived server on its next use). */
async function eventually(status: number, timeoutMs = 20_000): Promise<request.Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await readyStatus();
    if (res.status === status || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('when the database becomes unreachable, /ready answers 503 DATABASE_UNAVAILABLE; when it is back, 200 again without a restart', async () => {
  expect((await readyStatus()).status).toBe(200);

  proxy.cut();
  const down = await eventually(503);
  expect(down.status).toBe(503);
  expect(down.body.error.code).toBe('DATABASE_UNAVAILABLE');
  // Liveness does not depend on the database: the process is fine.
  expect((await request(baseUrl).get('/health')).status).toBe(200);

  proxy.restore();
  const up = await eventually(200);
  expect(up.status).toBe(200);
  expect(up.body).toEqual({ status: 'ready' });

  // And again: recovery is not a one-off.
  proxy.cut();
  expect((await eventually(503)).status).toBe(503);
  proxy.restore();
  expect((await eventually(200)).status).toBe(200);
}, 90_000);

test('when the database hangs instead of refusing, /ready still answers 503 (it does not wait for the pool) and recovers', async () => {
  expect((await eventually(200)).status).toBe(200);
  proxy.stall();
  const down = await eventually(503);
  expect(down.status).toBe(503);
  expect(down.body.error.code).toBe('DATABASE_UNAVAILABLE');
  proxy.restore();
  expect((await eventually(200, 30_000)).status).toBe(200);
}, 90_000);
