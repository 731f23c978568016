import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app';
import { createOidcClient } from '../src/integrations/vneid/oidc-client';
import { systemClock } from '../src/lib/clock';
import { createLogger } from '../src/logger';
import { issueAccessToken } from '../src/modules/identity/access-tokens';
import { generateSigningKey } from '../src/modules/identity/signing-keys';
import { DEMO_ACCOUNTANTS } from '../seeds/demo-data';
import type { Benchmark } from './harness';

/**
 * Authenticated reads through the whole stack (token check, principal from the database, scope
 * check, query, JSON): GET /v1/me and a class roster page, at concurrency 20. A read path: no
 * yardstick.
 */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function load(url: string, headers: Record<string, string>, total: number, concurrency: number) {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t = performance.now();
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        if (res.status !== 200) failures++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: Math.round(total / seconds), p50_ms: +percentile(latencies, 50).toFixed(2), p99_ms: +percentile(latencies, 99).toFixed(2), failures };
}

export const benchmark: Benchmark = {
  name: 'api',
  kind: 'read',
  rate: 'me_rps',
  async run({ db }) {
    const key = generateSigningKey();
    const tokens = { key, issuer: 'bench', audience: 'bench', ttlSeconds: 3600 };
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const idp = createOidcClient({ issuerUrl: `${base}/sim/vneid`, clientId: 'b', clientSecret: 'b', redirectUri: `${base}/cb` }, systemClock);
    server.on('request', buildApp({ db, clock: systemClock, logger: createLogger('silent'), tokens, identityProvider: idp, publicBaseUrl: base }));
    try {
      const accountant = DEMO_ACCOUNTANTS[0]!.personalId;
      const headers = { authorization: `Bearer ${issueAccessToken(tokens, systemClock, accountant, []).token}` };
      const school = await db('staff_assignments').join('people', 'people.id', 'staff_assignments.person_id').where('people.personal_id', accountant).first<{ school_id: string }>('school_id');
      const klass = await db('classes').where({ school_id: school.school_id }).first<{ id: string }>('id');
      await load(`${base}/v1/me`, headers, 500, 20); // warm-up
      const me = await load(`${base}/v1/me`, headers, 5000, 20);
      console.log(`api: GET /v1/me ${me.rps} req/s, p50 ${me.p50_ms} ms, p99 ${me.p99_ms} ms, failures ${me.failures}`);
      const roster = await load(`${base}/v1/schools/${school.school_id}/classes/${klass.id}/students?limit=50`, headers, 2000, 20);
      console.log(`api: class roster ${roster.rps} req/s, p50 ${roster.p50_ms} ms, p99 ${roster.p99_ms} ms, failures ${roster.failures}`);
      return { me_rps: me.rps, me_p99_ms: me.p99_ms, roster_rps: roster.rps, roster_p99_ms: roster.p99_ms, failures: me.failures + roster.failures };
    } finally {
      server.closeAllConnections();
      server.close();
    }
  },
};
