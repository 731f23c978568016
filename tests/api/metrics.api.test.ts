import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { buildApp } from '../../src/app';
import { SIGNERS } from '../../src/integrations/banks';
import { createLogger } from '../../src/logger';
import { demoSchool } from '../factories/demo';
import { expectContract } from '../support/contract';
import { startTestApp, type TestApp } from '../support/test-app';

/** GET /metrics: what an operator's Prometheus scrapes, and who may scrape it. */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

/** The value of one sample line of the text format, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
const scrape = async () => (await request(app.baseUrl).get('/metrics')).text;

describe('GET /metrics', () => {
  test('requests are counted by route template and status, with a latency histogram', async () => {
    const school = await demoSchool(app.db, 0);
    const token = app.tokenFor(school.admin);
    const before = sample(await scrape(), 'http_requests_total', { route: '/v1/schools/:school_id', status: '200' });
    await request(app.baseUrl).get(`/v1/schools/${school.id}`).set('authorization', `Bearer ${token}`).expect(200);
    await request(app.baseUrl).get(`/v1/schools/sch_${'0'.repeat(32)}`).set('authorization', `Bearer ${token}`).expect(404);
    const res = await request(app.baseUrl).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0.0.4/);
    expectContract(res, 'get', '/metrics');
    expect(sample(res.text, 'http_requests_total', { method: 'GET', route: '/v1/schools/:school_id', status: '200' })).toBe(before + 1);
    expect(sample(res.text, 'http_requests_total', { method: 'GET', route: '/v1/schools/:school_id', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(res.text, 'http_request_duration_seconds_count', { route: '/v1/schools/:school_id', status: '200' })).toBe(before + 1);
    // The concrete id never becomes a label.
    expect(res.text).not.toContain(school.id);
    // Process figures.
    expect(res.text).toMatch(/^process_cpu_seconds_total /m);
    expect(res.text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  test('bank callbacks are counted by provider and outcome, replays apart', async () => {
    const school = await demoSchool(app.db, 2);
    const account = await app.db('collection_accounts').where({ school_id: school.id, is_default: true }).first();
    const endpoint = await app.db('bank_endpoints').where({ school_id: school.id, collection_account_id: account.id, provider: 'sepay' }).first();
    const signed = SIGNERS.sepay({ externalId: `MET${Date.now()}`, amountVnd: 120000, accountNumber: account.account_number, description: 'khong co ma', occurredAt: app.clock.now() }, endpoint.secret, app.clock.now());
    const send = (secret?: string) => request(app.baseUrl).post(`/callbacks/sepay/${endpoint.id}`).set({ ...signed.headers, ...(secret ? { authorization: `Apikey ${secret}` } : {}) }).send(signed.body!);
    const before = await scrape();
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    expect((await send('wrong-key')).status).toBe(401);
    const after = await scrape();
    for (const outcome of ['accepted', 'replayed', 'invalid_signature']) {
      expect(sample(after, 'bank_callbacks_total', { provider: 'sepay', outcome })).toBe(sample(before, 'bank_callbacks_total', { provider: 'sepay', outcome }) + 1);
    }
    // The unmatched transfer went to the exception queue: the gauge reads it from the database.
    const open = await app.db('payment_exceptions').where({ status: 'open', kind: 'unattributed' }).count<{ count: string }[]>('* as count');
    expect(sample(after, 'payment_exceptions_open', { kind: 'unattributed' })).toBe(Number(open[0]!.count));
    expect(Number(open[0]!.count)).toBeGreaterThanOrEqual(1);
  });
});

describe('who may read /metrics', () => {
  async function appWith(metricsAccess: { token?: string; openWithoutToken: boolean }): Promise<{ url: string; server: Server }> {
    const server = createServer(
      buildApp({ db: app.db, clock: app.clock, logger: createLogger('silent'), tokens: app.tokens, identityProvider: { authorizationUrl: async () => '', exchangeCode: async () => Promise.reject(new Error('unused')) }, publicBaseUrl: 'http://x', metricsAccess }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  }

  test('with METRICS_TOKEN set, only its bearer reads; a person\'s access token does not', async () => {
    const { url, server } = await appWith({ token: 'metrics-token-0123456789', openWithoutToken: false });
    try {
      expect((await request(url).get('/metrics').set('authorization', 'Bearer metrics-token-0123456789')).status).toBe(200);
      for (const header of [undefined, 'Bearer wrong-token-0123456789', `Bearer ${app.tokenFor((await demoSchool(app.db, 0)).admin)}`]) {
        const res = await (header ? request(url).get('/metrics').set('authorization', header) : request(url).get('/metrics'));
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('UNAUTHENTICATED');
        expectContract(res, 'get', '/metrics');
      }
    } finally {
      server.close();
    }
  });

  test('in production without a token, no one reads', async () => {
    const { url, server } = await appWith({ openWithoutToken: false });
    try {
      const res = await request(url).get('/metrics');
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('METRICS_DISABLED');
      expectContract(res, 'get', '/metrics');
    } finally {
      server.close();
    }
  });
});
