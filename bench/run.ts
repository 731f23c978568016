import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildApp } from '../src/app';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { createDb } from '../src/db/knex';
import { migrateToLatest } from '../src/db/migrate';
import { createOidcClient } from '../src/integrations/vneid/oidc-client';
import { systemClock } from '../src/lib/clock';
import { createLogger } from '../src/logger';
import { issueAccessToken } from '../src/modules/identity/access-tokens';
import { generateSigningKey } from '../src/modules/identity/signing-keys';
import { DEMO_ACCOUNTANTS, seedDemoData } from '../seeds/demo-data';
import { benchCallbacks } from './callbacks.bench';
import { benchInvoices } from './invoices.bench';
import { benchReconciliation } from './reconciliation.bench';
import { benchReceipts } from './receipts.bench';
import { stopRequestedReceiptIssuing } from '../src/modules/receipts/receipt-issuing.service';

/**
 * `npm run bench [-- name ...]`: benchmarks against a scratch database (embedded PostgreSQL, or a
 * new database on the DATABASE_URL server). Prints a line per benchmark and, last, one JSON object.
 *
 * - seed: time to migrate and seed the demo data (2,376 students) into an empty database.
 * - api: authenticated reads through the whole stack (token check, principal from the database,
 *   scope check, query, JSON): GET /v1/me and a class roster page, at concurrency 20.
 * - invoices: generation of a month's invoices for 100,000 students with five items each.
 * - callbacks: pgbench TPS on the same server, then signed bank callbacks at concurrency 50 for 30 s.
 * - reconciliation: one day's 100,000-line statement matched against recorded payments.
 * - receipts: receipts issued by concurrent sweepers for paid demo invoices, then PDFs signed and rendered.
 */
interface Figures {
  [name: string]: number | string;
}

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

async function main(): Promise<void> {
  const wanted = new Set(process.argv.slice(2));
  const run = (name: string) => wanted.size === 0 || wanted.has(name);
  const figures: Figures = {};

  let databaseUrl: string;
  let stop: () => Promise<void>;
  if (process.env.DATABASE_URL) {
    const name = `bench_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(process.env.DATABASE_URL);
    u.pathname = `/${name}`;
    databaseUrl = u.toString();
    stop = async () => {
      const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.query(`DROP DATABASE IF EXISTS ${name}_pgbench WITH (FORCE)`);
      await c.end();
    };
    figures.database = 'server';
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fees-bench-'));
    // BENCH_PG_STATS=1: load pg_stat_statements, and the callbacks benchmark prints where the database's time went.
    const settings = process.env.BENCH_PG_STATS ? ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=all'] : [];
    const embedded = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), database: 'bench', persistent: false, settings });
    databaseUrl = embedded.databaseUrl;
    stop = () => embedded.stop();
    figures.database = 'embedded';
  }

  const db = createDb(databaseUrl, 20);
  try {
    const t0 = performance.now();
    await migrateToLatest(db);
    await seedDemoData(db);
    figures.seed_ms = Math.round(performance.now() - t0);
    console.log(`seed: migrate + seed ${figures.seed_ms} ms`);

    if (run('api')) {
      const key = generateSigningKey();
      const tokens = { key, issuer: 'bench', audience: 'bench', ttlSeconds: 3600 };
      const server = createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const idp = createOidcClient({ issuerUrl: `${base}/sim/vneid`, clientId: 'b', clientSecret: 'b', redirectUri: `${base}/cb` }, systemClock);
      server.on('request', buildApp({ db, clock: systemClock, logger: createLogger('silent'), tokens, identityProvider: idp, publicBaseUrl: base }));
      const accountant = DEMO_ACCOUNTANTS[0]!.personalId;
      const headers = { authorization: `Bearer ${issueAccessToken(tokens, systemClock, accountant, []).token}` };
      const school = await db('staff_assignments').join('people', 'people.id', 'staff_assignments.person_id').where('people.personal_id', accountant).first<{ school_id: string }>('school_id');
      const klass = await db('classes').where({ school_id: school.school_id }).first<{ id: string }>('id');

      await load(`${base}/v1/me`, headers, 500, 20); // warm-up
      const me = await load(`${base}/v1/me`, headers, 5000, 20);
      console.log(`api: GET /v1/me ${me.rps} req/s, p50 ${me.p50_ms} ms, p99 ${me.p99_ms} ms, failures ${me.failures}`);
      const roster = await load(`${base}/v1/schools/${school.school_id}/classes/${klass.id}/students?limit=50`, headers, 2000, 20);
      console.log(`api: class roster ${roster.rps} req/s, p50 ${roster.p50_ms} ms, p99 ${roster.p99_ms} ms, failures ${roster.failures}`);
      Object.assign(figures, { me_rps: me.rps, me_p99_ms: me.p99_ms, roster_rps: roster.rps, roster_p99_ms: roster.p99_ms, failures: me.failures + roster.failures });
      server.closeAllConnections();
      server.close();
    }

    if (run('invoices')) {
      const figures_ = await benchInvoices(db);
      Object.assign(figures, { invoices_students: figures_.students, invoices_seconds: figures_.seconds, invoices_per_s: figures_.invoices_per_s });
      if (wanted.size === 1) Object.assign(figures, figures_);
    }

    if (run('callbacks')) {
      const c = await benchCallbacks(db, databaseUrl, createLogger('silent'));
      Object.assign(figures, { pgbench_tps: c.pgbench_tps, callbacks_per_s: c.callbacks_per_s, callbacks_p99_ms: c.p99_ms, callbacks_errors: c.errors, callbacks_ratio: c.ratio });
      if (wanted.size === 1) Object.assign(figures, c);
    }

    if (run('reconciliation')) {
      const r = await benchReconciliation(db, createLogger('silent'));
      Object.assign(figures, { reconciliation_lines: r.lines, reconciliation_seconds: r.seconds, reconciliation_lines_per_s: r.lines_per_s });
      if (wanted.size === 1) Object.assign(figures, r);
    }
    if (run('receipts')) {
      const r = await benchReceipts(db, createLogger('silent'));
      Object.assign(figures, { receipts_per_s: r.receipts_per_s, pdfs_per_s: r.pdfs_per_s });
      if (wanted.size === 1) Object.assign(figures, r);
    }
  } finally {
    await stopRequestedReceiptIssuing(db);
    await db.destroy();
    await stop();
  }
  console.log(JSON.stringify(figures));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
