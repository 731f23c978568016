import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { type EmbeddedDatabase, findFreePort, startEmbeddedPostgres } from '../../src/db/embedded';
import { createDb } from '../../src/db/knex';
import { migrateToLatest } from '../../src/db/migrate';
import { SIGNERS } from '../../src/integrations/banks';
import type { Provider } from '../../src/integrations/banks/bank-adapter';
import { systemClock } from '../../src/lib/clock';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../../src/modules/invoices/invoices.service';
import { DEMO_ACCOUNTANTS, DEMO_SCHOOLS, seedDemoData } from '../../seeds/demo-data';
import { STORM_CHECKS } from './storm-checks';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

/**
 * `npm run test:chaos`: a storm of bank notifications under faults, against the real service.
 *
 * - A dedicated embedded PostgreSQL (never the machine's shared server), reached through a TCP
 *   proxy so that its restart on another port is invisible to the services' connection strings.
 * - Three service processes (`node --import tsx src/main.ts`) on that database.
 * - STORM_TRANSACTIONS (10,000) distinct bank transactions (SePay, Casso and direct partners in
 *   turn; nine in ten name an issued invoice's payment code), each delivered three times, all
 *   deliveries shuffled and sent at concurrency STORM_CONCURRENCY (100) across the processes.
 * - Meanwhile one process is SIGKILLed every STORM_KILL_EVERY_MS (3,000; skipped while one is
 *   still restarting) and restarted, and
 *   PostgreSQL is restarted once (fast shutdown, then started again) a third of the way in.
 * - A delivery that got no answer (its process died, or refused the connection) or a 5xx is sent
 *   again, as a bank would, re-signed at the time it is sent.
 *
 * Afterwards, once the retry job, the receipt sweep and the tax outbox have finished (waited for
 * up to STORM_SETTLE_MS, 180 s), the checks of tests/chaos/storm-checks.ts: exactly one payment and
 * one bank event per transaction, every event processed, no ledger violation, every invoice's paid
 * amount equal to its allocations, every payment receipted, every receipt series numbered 1..N
 * without a gap, the tax outbox drained; and here, every delivery of a transaction that was
 * answered got the same answer as the first. Prints one JSON line of figures; exits 1 when
 * anything failed.
 */
const TRANSACTIONS = Number(process.env.STORM_TRANSACTIONS ?? 10_000);
const DELIVERIES_EACH = 3;
const CONCURRENCY = Number(process.env.STORM_CONCURRENCY ?? 100);
const PROCESSES = 3;
const KILL_EVERY_MS = Number(process.env.STORM_KILL_EVERY_MS ?? 3000);
/** How long the storm waits, after the last delivery, for the retry job, the receipt sweep and the tax outbox to finish. */
const SETTLE_MS = Number(process.env.STORM_SETTLE_MS ?? 180_000);
const PROVIDERS: Provider[] = ['sepay', 'casso', 'direct'];
const ROOT = path.resolve(__dirname, '../..');

interface Service {
  index: number;
  port: number;
  child: ChildProcess | null;
  agent: http.Agent;
  restarts: number;
  /** Answered /ready since it was last started. */
  up: boolean;
}

interface Delivery {
  tx: number;
}

interface Answer {
  status: number;
  body: string;
}

function log(message: string): void {
  process.stderr.write(`[storm ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function get(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fees-storm-'));
  const pgDir = path.join(dir, 'pg');
  let embedded: EmbeddedDatabase = await startEmbeddedPostgres({ dataDir: pgDir, database: 'storm', persistent: true, settings: ['max_connections=300'] });
  const target = { host: '127.0.0.1', port: Number(new URL(embedded.databaseUrl).port) };
  const proxy: TcpProxy = await startTcpProxy(target);
  const viaProxy = new URL(embedded.databaseUrl);
  viaProxy.port = String(proxy.port);
  const databaseUrl = viaProxy.toString();

  let db: Knex = createDb(databaseUrl, 4);
  const services: Service[] = [];
  let stopping = false;
  try {
    // The school, its issued invoices and its endpoints.
    await migrateToLatest(db);
    await seedDemoData(db);
    const schoolIndex = 3;
    const school = await db('schools').where({ code: DEMO_SCHOOLS[schoolIndex]!.code }).first<{ id: string }>('id');
    const principal = await loadPrincipal(db, DEMO_ACCOUNTANTS[schoolIndex]!.personalId);
    const run = await startInvoiceRun({ db, clock: systemClock, principal }, school!.id, { kind: 'month', month: '2026-11' });
    await executeInvoiceRun(db, systemClock, school!.id, run.id);
    await issueRunInvoices({ db, clock: systemClock, principal }, school!.id, run.id);
    const codes = await db('invoices').where({ school_id: school!.id }).whereNot({ status: 'draft' }).pluck<string[]>('payment_code');
    const account = await db('collection_accounts').where({ school_id: school!.id, is_default: true }).first<{ id: string; account_number: string }>();
    const endpoints = new Map<string, { id: string; secret: string }>();
    for (const e of await db('bank_endpoints').where({ school_id: school!.id, collection_account_id: account!.id })) endpoints.set(e.provider, { id: e.id, secret: e.secret });
    log(`database ready: ${codes.length} invoices issued, ${TRANSACTIONS} transactions x ${DELIVERIES_EACH} deliveries`);

    // The transactions: what the bank knows about each (fixed), signed anew at every delivery.
    const transactions = Array.from({ length: TRANSACTIONS }, (_, n) => {
      const code = n % 10 === 9 ? null : codes[n % codes.length]!;
      return {
        provider: PROVIDERS[n % PROVIDERS.length]!,
        transfer: {
          externalId: `STORM${n}`,
          amountVnd: 10_000 + ((n * 7919) % 190) * 1000,
          accountNumber: account!.account_number,
          description: code ? `HP ${code} chuyen tien hoc phi` : `chuyen tien ${n}`,
          ...(code ? { paymentCode: code } : {}),
          occurredAt: new Date(),
          bankReference: `FTSTORM${n}`,
          payerName: 'NGUYEN VAN A',
        },
      };
    });

    // The services.
    const basePort = await findFreePort();
    const env = { ...process.env, NODE_ENV: 'development', DATABASE_URL: databaseUrl, SEED_DEMO_DATA: 'false', LOG_LEVEL: 'warn', DATA_DIR: path.join(dir, 'data'), DB_POOL_MAX: '10', BANK_EVENT_RETRY_SECONDS: '2', SHUTDOWN_TIMEOUT_MS: '1000',
      // The scheduled receipt sweep and tax outbox every 2 s (a killed process's payments are receipted by the next sweep of another), and a submission lease of 6 s (3 x the timeout).
      RECEIPT_SWEEP_SECONDS: '2', TAX_OUTBOX_SECONDS: '2', TAX_SUBMIT_TIMEOUT_MS: '2000' };
    const startService = (s: Service) => {
      // Each service's log goes to a file of its own (STORM_KEEP=1 keeps the folder to read them).
      const out = openSync(path.join(dir, `service-${s.index}.log`), 'a');
      // Each service's tax authority is its own simulator (PUBLIC_BASE_URL/sim/tax).
      s.child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts')], { cwd: ROOT, env: { ...env, PORT: String(s.port), PUBLIC_BASE_URL: `http://127.0.0.1:${s.port}` }, stdio: ['ignore', out, out] });
      closeSync(out);
      s.up = false;
      const child = s.child;
      child.on('exit', () => {
        s.child = null;
        s.up = false;
      });
      void waitUntil(`service ${s.index} ready`, async () => child.exitCode === null && child.signalCode === null && (await get(s.port, '/ready')) === 200, 120_000)
        .then(() => {
          if (s.child === child) s.up = true;
        })
        .catch(() => undefined);
    };
    for (let i = 0; i < PROCESSES; i++) {
      const s: Service = { index: i, port: i === 0 ? basePort : await findFreePort(), child: null, agent: new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY }), restarts: 0, up: false };
      services.push(s);
      startService(s);
    }
    for (const s of services) {
      await waitUntil(`service ${s.index} ready`, async () => (await get(s.port, '/ready')) === 200, 60_000).catch((e: Error) => {
        log(readFileSync(path.join(dir, `service-${s.index}.log`), 'utf8').slice(-3000));
        throw e;
      });
    }
    log(`${PROCESSES} services ready on ports ${services.map((s) => s.port).join(', ')}`);

    // Faults: a SIGKILL every few seconds (restarted at once), and one PostgreSQL restart.
    let kills = 0;
    let pgRestarts = 0;
    // A process is killed only while all three are up: on a slow machine a restart can take longer
    // than the interval, and killing the others meanwhile would test nothing but an empty cluster.
    const killer = setInterval(() => {
      if (stopping || services.some((s) => !s.up)) return;
      const victim = services[Math.floor(Math.random() * services.length)]!;
      if (!victim.child) return;
      const child = victim.child;
      child.once('exit', () => {
        if (stopping) return;
        victim.restarts++;
        startService(victim);
      });
      child.kill('SIGKILL');
      kills++;
    }, KILL_EVERY_MS);

    // The storm.
    const deliveries: Delivery[] = shuffle(transactions.flatMap((_, tx) => Array.from({ length: DELIVERIES_EACH }, () => ({ tx }))));
    const answers: Answer[][] = transactions.map(() => []);
    let next = 0;
    let attempts = 0;
    let noAnswer = 0;
    let serverErrors = 0;
    let answered = 0;
    const pgRestartAt = Math.floor(deliveries.length / 3);
    let pgRestarting: Promise<void> | null = null;

    const sendOnce = (s: Service, tx: number): Promise<Answer | null> => {
      const { provider, transfer } = transactions[tx]!;
      const endpoint = endpoints.get(provider)!;
      const signed = SIGNERS[provider](transfer, endpoint.secret, new Date());
      const body = signed.body ?? '';
      return new Promise((resolve) => {
        const req = http.request(
          { agent: s.agent, host: '127.0.0.1', port: s.port, method: 'POST', path: `/callbacks/${provider}/${endpoint.id}`, headers: { ...signed.headers, 'content-length': Buffer.byteLength(body) }, timeout: 30_000 },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
            res.on('error', () => resolve(null));
          },
        );
        req.on('error', () => resolve(null));
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end(body);
      });
    };

    const worker = async (w: number) => {
      while (next < deliveries.length) {
        const n = next++;
        if (n === pgRestartAt) {
          pgRestarting = (async () => {
            log('restarting PostgreSQL');
            await embedded.stop();
            pgRestarts++;
            embedded = await startEmbeddedPostgres({ dataDir: pgDir, database: 'storm', persistent: true, settings: ['max_connections=300'] });
            proxy.retarget({ host: '127.0.0.1', port: Number(new URL(embedded.databaseUrl).port) });
            log('PostgreSQL is back');
          })();
        }
        const { tx } = deliveries[n]!;
        for (let attempt = 0; ; attempt++) {
          const s = services[(n + attempt + w) % services.length]!;
          attempts++;
          const answer = await sendOnce(s, tx);
          if (answer && answer.status < 500) {
            answers[tx]!.push(answer);
            answered++;
            break;
          }
          if (answer) serverErrors++;
          else noAnswer++;
          await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** Math.min(attempt, 5))));
        }
      }
    };
    const progress = setInterval(() => log(`${answered}/${deliveries.length} deliveries answered, ${kills} kills, ${pgRestarts} PostgreSQL restarts`), 10_000);
    const stormStarted = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
    const stormSeconds = (Date.now() - stormStarted) / 1000;
    clearInterval(killer);
    clearInterval(progress);
    if (pgRestarting) await pgRestarting;
    log(`storm over in ${stormSeconds.toFixed(1)} s; waiting for the retry job, the receipt sweep and the tax outbox`);

    // Events stored by a process that died before processing them are picked up by the retry job;
    // receipts are issued by the sweeps and sent by the outbox jobs of the three services.
    await db.destroy();
    db = createDb(databaseUrl, 4);
    const ctx = { db, schoolId: school!.id, transactions: TRANSACTIONS };
    const settleStarted = Date.now();
    for (const check of STORM_CHECKS) {
      if (!check.settled) continue;
      await waitUntil(`${check.name} settled`, () => check.settled!(ctx), Math.max(0, SETTLE_MS - (Date.now() - settleStarted))).catch((e: Error) => log(e.message));
    }
    const settleSeconds = (Date.now() - settleStarted) / 1000;
    log(`settled in ${settleSeconds.toFixed(1)} s`);

    const problems: string[] = [];
    const figures: Record<string, number | string> = { settle_s: +settleSeconds.toFixed(1) };
    for (const check of STORM_CHECKS) {
      const result = await check.run(ctx);
      figures[check.name] = result.figure;
      problems.push(...result.problems.map((p) => `${check.name}: ${p}`));
    }
    // Every answered delivery of a transaction got the answer its first delivery got.
    const inconsistent = answers.filter((list) => list.some((a) => a.status !== list[0]!.status || a.body !== list[0]!.body));
    figures.replies_inconsistent = inconsistent.length;
    for (const list of inconsistent.slice(0, 5)) problems.push(`replies differ: ${JSON.stringify(list)}`);
    const unanswered = answers.filter((list) => list.length !== DELIVERIES_EACH).length;
    if (unanswered > 0) problems.push(`${unanswered} transactions without all their answers`);

    const summary = {
      storm: problems.length === 0 ? 'passed' : 'failed',
      transactions: TRANSACTIONS,
      deliveries: deliveries.length,
      attempts,
      retried_no_answer: noAnswer,
      retried_5xx: serverErrors,
      processes: PROCESSES,
      kills,
      restarts: services.reduce((n, s) => n + s.restarts, 0),
      postgres_restarts: pgRestarts,
      storm_s: +stormSeconds.toFixed(1),
      deliveries_per_s: Math.round(deliveries.length / stormSeconds),
      ...figures,
      problems: problems.slice(0, 20),
      total_s: +((Date.now() - started) / 1000).toFixed(1),
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    process.exitCode = problems.length === 0 ? 0 : 1;
  } finally {
    stopping = true;
    for (const s of services) {
      s.child?.kill('SIGKILL');
      s.agent.destroy();
    }
    await db.destroy().catch(() => undefined);
    await proxy.close();
    await embedded.stop().catch(() => undefined);
    if (process.env.STORM_KEEP) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main()
  // Exit at once: pollers waiting for killed services to become ready would otherwise hold the process.
  .then(() => process.exit(process.exitCode ?? 0))
  .catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
