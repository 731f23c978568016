import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { buildApp } from '../src/app';
import { SIGNERS } from '../src/integrations/banks';
import { createOidcClient } from '../src/integrations/vneid/oidc-client';
import { systemClock } from '../src/lib/clock';
import { loadPrincipal } from '../src/modules/access/access.service';
import { generateSigningKey } from '../src/modules/identity/signing-keys';
import { issueRunInvoices } from '../src/modules/invoices/invoices.service';
import { settleRequestedReceiptIssuing } from '../src/modules/receipts/receipt-issuing.service';
import { type Benchmark, measurePgbench } from './harness';
import { backendCpuMs, backendCpuSpent, countStatements, cpuProfile, mainThreadCpuMs } from './profile';
import { benchInvoices } from './invoices.bench';

/**
 * Signed bank callbacks against the database's own yardstick. First pgbench (TPC-B-like,
 * `-M prepared -c 8 -j 2 -T 30`, scale 20) measures what this PostgreSQL does on this machine;
 * then signed direct-partner callbacks (Standard Webhooks, HMAC-SHA256), each paying a distinct
 * issued invoice, are driven at concurrency 50 for 30 s from a worker thread (its own event loop,
 * so the load generator does not share the server's).
 */
const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { base, requests, concurrency, seconds } = workerData;
// node:http with kept-alive sockets: a lighter client than fetch, so less of the machine goes to load generation.
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const url = new URL(base);
const latencies = [];
let errors = 0, next = 0;
const deadline = Date.now() + seconds * 1000;
function send(r) {
  return new Promise((resolve) => {
    const req = http.request({ agent, host: url.hostname, port: url.port, path: r.path, method: 'POST', headers: { ...r.headers, 'content-length': Buffer.byteLength(r.body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try { resolve(res.statusCode === 200 && JSON.parse(Buffer.concat(chunks).toString()).received === true); } catch { resolve(false); }
      });
    });
    req.on('error', () => resolve(false));
    req.end(r.body);
  });
}
async function one() {
  while (Date.now() < deadline && next < requests.length) {
    const r = requests[next++];
    const t = performance.now();
    if (!(await send(r))) errors++;
    latencies.push(performance.now() - t);
    done.push(performance.now() - started);
  }
}
const done = [];
const started = performance.now();
Promise.all(Array.from({ length: concurrency }, one)).then(() => {
  agent.destroy();
  parentPort.postMessage({ latencies, done, errors, elapsedMs: performance.now() - started, exhausted: next >= requests.length });
});
`;

/** Callbacks in flight at once (BENCH_CONCURRENCY, default 50; 1 measures one callback's latency alone). */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);

export async function benchCallbacks(db: Knex, databaseUrl: string, logger: Logger, seconds = Number(process.env.BENCH_SECONDS ?? 30), pgbenchTpsOfThisRun?: number): Promise<Record<string, number | string>> {
  // The yardstick: measured by the harness for the whole run, or here when run on its own.
  const pgbenchTps = pgbenchTpsOfThisRun ?? (await measurePgbench(databaseUrl, seconds));
  console.log(`callbacks: pgbench ${pgbenchTps.toFixed(0)} tps`);

  if (!(await db('schools').where({ code: 'BENCH-1' }).first())) await benchInvoices(db, 60_000);
  const school = await db('schools').where({ code: 'BENCH-1' }).first<{ id: string }>('id');
  const run = await db('invoice_runs').where({ school_id: school.id }).first<{ id: string; created_by: string }>('id', 'created_by');
  await db('staff_assignments').insert({ school_id: school.id, person_id: run.created_by, role: 'school_admin' }).onConflict().ignore();
  const principal = await loadPrincipal(db, (await db('people').where({ id: run.created_by }).first<{ personal_id: string }>('personal_id')).personal_id);
  const issued = await issueRunInvoices({ db, clock: systemClock, principal }, school.id, run.id);
  console.log(`callbacks: ${issued.issued} invoices issued to pay`);

  const [account] = await db('collection_accounts').insert({ school_id: school.id, bank_bin: '970436', account_number: '0071999999', account_name: 'TRUONG BENCH', is_default: true }).returning<{ id: string; account_number: string }[]>(['id', 'account_number']);
  const secret = `whsec_${Buffer.from('bench-secret-bench-secret-bench-secret').toString('base64')}`;
  const [endpoint] = await db('bank_endpoints').insert({ school_id: school.id, provider: 'direct', collection_account_id: account!.id, secret }).returning<{ id: string }[]>('id');
  const invoices = await db('invoices').where({ school_id: school.id, status: 'open' }).select<{ payment_code: string; total_vnd: string }[]>('payment_code', 'total_vnd');
  const now = new Date();
  const requests = invoices.map((inv, n) => {
    const signed = SIGNERS.direct({ externalId: `BENCH-${n}`, amountVnd: Number(inv.total_vnd), accountNumber: account!.account_number, description: `HP ${inv.payment_code}`, occurredAt: now }, secret, now);
    return { path: `/callbacks/direct/${endpoint!.id}`, headers: signed.headers, body: signed.body };
  });

  if (process.env.BENCH_PG_STATS) { await db.raw('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'); await db.raw('SELECT pg_stat_statements_reset()'); }
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const key = generateSigningKey();
  server.on('request', buildApp({
    db, clock: systemClock, logger, publicBaseUrl: base,
    tokens: { key, issuer: 'bench', audience: 'bench', ttlSeconds: 60 },
    identityProvider: createOidcClient({ issuerUrl: `${base}/sim/vneid`, clientId: 'b', clientSecret: 'b', redirectUri: `${base}/cb` }, systemClock),
  }));
  const drive = (batch: typeof requests, forSeconds: number) =>
    new Promise<{ latencies: number[]; done: number[]; errors: number; elapsedMs: number; exhausted: boolean }>((resolve, reject) => {
      const worker = new Worker(LOAD_WORKER, { eval: true, workerData: { base, requests: batch, concurrency: CONCURRENCY, seconds: forSeconds } });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  // Warm-up, not measured: a service in use has payments behind it. Then ANALYZE, as autovacuum
  // would: on tables that were empty, foreign-key checks keep plans made for empty tables.
  const warmup = requests.splice(0, 2000);
  await drive(warmup, 60);
  await db.raw('ANALYZE');
  if (process.env.BENCH_PG_STATS) await db.raw('SELECT pg_stat_statements_reset()');
  // Objective measures beside the rate: statements sent, the event loop's CPU and the backends' CPU,
  // per callback (a busy machine slows each of them down, but does not change how many there are).
  const backendsBefore = await backendCpuMs(db);
  // BENCH_EXPLAIN_WRITE=1: one batch's write statement runs under EXPLAIN ANALYZE, and its plan is printed.
  const explain = process.env.BENCH_EXPLAIN_WRITE ? { match: /^WITH w0 AS \(INSERT INTO payments/, plans: [] as string[] } : undefined;
  const statements = countStatements(explain);
  const profile = await cpuProfile(process.env.BENCH_CPU_PROFILE);
  const cpuBefore = mainThreadCpuMs();
  statements.start();
  const result = await drive(requests, seconds);
  const counted = statements.stop();
  await profile.stop();
  const appCpuMs = mainThreadCpuMs() - cpuBefore;
  // The sweeps the callbacks requested belong to their cost: settled before the backends are read.
  await settleRequestedReceiptIssuing(db);
  const dbCpuMs = backendCpuSpent(backendsBefore, await backendCpuMs(db));
  if (process.env.BENCH_PG_STATS) {
    const { rows } = await db.raw(`SELECT calls, round(total_exec_time::numeric, 1) AS ms, round((total_exec_time / calls)::numeric, 3) AS per, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 150) AS q FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25`);
    console.table(rows);
    console.table((await db.raw(`SELECT relname, seq_scan, seq_tup_read, idx_scan, n_live_tup FROM pg_stat_user_tables ORDER BY seq_tup_read DESC LIMIT 12`)).rows);
  }
  server.closeAllConnections();
  server.close();

  const perFive = Array.from({ length: Math.ceil(seconds / 5) }, (_, k) => result.done.filter((t) => t >= k * 5000 && t < (k + 1) * 5000).length / 5);
  console.log(`callbacks: per second in each 5 s: ${perFive.map((n) => n.toFixed(0)).join(' ')}`);
  const sorted = [...result.latencies].sort((a, b) => a - b);
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
  const perSecond = result.latencies.length / (result.elapsedMs / 1000);
  const payments = await db('payments').where({ school_id: school.id }).count<{ count: string }[]>('* as count');
  const recorded = Number(payments[0]!.count) - warmup.length;
  const served = result.latencies.length;
  const perCallback = (n: number) => +(n / Math.max(1, served)).toFixed(3);
  console.log(`callbacks: per callback ${perCallback(counted.total)} round trips holding ${perCallback(counted.statements)} statements (${Object.entries(counted.byKind).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${perCallback(n)}`).join(', ')}), event loop ${perCallback(appCpuMs)} ms CPU, database backends ${perCallback(dbCpuMs)} ms CPU`);
  if (explain) console.log(`callbacks: one batch's write statement:\n${explain.plans[0] ?? '(none seen)'}`);
  if (process.env.BENCH_STATEMENTS) console.table(Object.entries(counted.byText).sort((a, b) => b[1].ms - a[1].ms).slice(0, 20).map(([q, e]) => ({ q, per_callback: perCallback(e.n), mean_ms: +(e.ms / e.n).toFixed(2) })));
  console.log(`callbacks: ${result.latencies.length} in ${(result.elapsedMs / 1000).toFixed(1)} s = ${perSecond.toFixed(0)}/s, p99 ${p99.toFixed(1)} ms, errors ${result.errors}, payments recorded ${recorded}${result.exhausted ? ' (ran out of invoices before the time was up)' : ''}`);
  return {
    bench: 'callbacks',
    pgbench_tps: Math.round(pgbenchTps),
    callbacks_per_s: Math.round(perSecond),
    p99_ms: +p99.toFixed(1),
    errors: result.errors,
    ratio: +(perSecond / pgbenchTps).toFixed(3),
    round_trips_per_callback: perCallback(counted.total),
    statements_per_callback: perCallback(counted.statements),
    transactions_per_callback: perCallback(counted.byKind.BEGIN ?? 0),
    app_cpu_ms_per_callback: perCallback(appCpuMs),
    db_cpu_ms_per_callback: perCallback(dbCpuMs),
  };
}

export const benchmark: Benchmark = {
  name: 'callbacks',
  kind: 'write',
  rate: 'callbacks_per_s',
  run: (ctx) => benchCallbacks(ctx.db, ctx.databaseUrl, ctx.logger, ctx.seconds, ctx.yardsticks.pgbench_tps),
};
