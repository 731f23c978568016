import request from 'supertest';
import { createDb } from '../../src/db/knex';
import { scheduledJobs } from '../../src/jobs';
import { MAX_ATTEMPTS, parseFireKey } from '../../src/jobs/run-coordinator';
import { createScheduler, type JobDefinition } from '../../src/jobs/scheduler';
import { createLogger } from '../../src/logger';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../../src/modules/invoices/invoices.service';
import { startTestApp, type TestApp } from '../support/test-app';
import { demoSchool } from '../factories/demo';
import { expectContract } from '../support/contract';

/**
 * The scheduler's promise: each fire of a job runs on exactly one replica, fires missed while
 * nothing ran are run once at start-up, and staff can list runs and start one by hand. Fires are
 * driven directly (runFire, the coordinator's shouldRun) instead of waiting for cron time.
 */
let app: TestApp;
const logger = createLogger('silent');
beforeAll(async () => {
  app = await startTestApp();
}, 60_000);
afterAll(() => app.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('run coordinator', () => {
  test('three replicas racing on the same 30 fires, one of them paused mid-run, run each fire exactly once', async () => {
    // Three replicas: each its own pool, as three processes would have.
    const pools = [0, 1, 2].map(() => createDb(app.database.url, 4));
    const ran: string[] = [];
    const job = (replica: number): JobDefinition => ({
      name: 'test-every-second',
      cron: '* * * * * *',
      catchUp: { mode: 'none', lookbackMs: 0 },
      leaseMs: 60_000,
      run: async (ctx) => {
        ran.push(`${ctx.fireAt.toISOString()}@${replica}`);
        // Replica 0 stalls mid-run on every third fire: the others must not take those fires over.
        if (replica === 0 && ctx.fireAt.getUTCSeconds() % 3 === 0) await sleep(150);
        return { replica };
      },
    });
    const replicas = pools.map((db, i) => createScheduler({ db, clock: app.clock, logger }, [job(i)], { runnerId: `replica-${i}` }));
    try {
      const base = Date.parse('2026-11-22T03:00:00Z');
      const fires = Array.from({ length: 30 }, (_, n) => new Date(base + n * 1000));
      const results = await Promise.all(fires.flatMap((f) => replicas.map((r) => r.runFire('test-every-second', f))));
      expect(results.filter((r) => r !== null)).toHaveLength(30);
      const perFire = new Map<string, number>();
      for (const entry of ran) perFire.set(entry.split('@')[0]!, (perFire.get(entry.split('@')[0]!) ?? 0) + 1);
      expect(perFire.size).toBe(30);
      expect([...perFire.values()].every((n) => n === 1)).toBe(true);
      const rows = await app.db('job_runs').where({ job: 'test-every-second' }).select('status', 'runner');
      expect(rows).toHaveLength(30);
      expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await Promise.all(pools.map((p) => p.destroy()));
    }
  });

  test('node-cron\'s RunCoordinator API: of three coordinators asked about one fire key, exactly one is told to run', async () => {
    const pools = [0, 1, 2].map(() => createDb(app.database.url, 2));
    try {
      const coordinators = pools.map((db, i) => createScheduler({ db, clock: app.clock, logger }, [], { runnerId: `c-${i}` }).coordinator);
      const key = 'test-node-cron:2026-11-22T04:00:00.000Z';
      expect(parseFireKey(key)).toEqual({ job: 'test-node-cron', fireAt: new Date('2026-11-22T04:00:00.000Z') });
      const answers = await Promise.all(coordinators.map((c) => c.shouldRun(key, 60_000)));
      expect(answers.filter(Boolean)).toHaveLength(1);
      // Asked again later (a slow replica's timer), still no.
      expect(await coordinators[0]!.shouldRun(key, 60_000)).toBe(false);
    } finally {
      await Promise.all(pools.map((p) => p.destroy()));
    }
  });

  test('a failing run is recorded as failed with its error, and its fire is not run again', async () => {
    let calls = 0;
    const s = createScheduler({ db: app.db, clock: app.clock, logger }, [
      { name: 'test-failing', cron: '0 0 * * * *', catchUp: { mode: 'none', lookbackMs: 0 }, leaseMs: 1000, run: async () => { calls++; throw new Error('bank unreachable'); } },
    ]);
    const fire = new Date('2026-11-22T02:00:00Z');
    expect(await s.runFire('test-failing', fire)).toMatchObject({ status: 'failed', error: 'bank unreachable' });
    expect(await s.runFire('test-failing', fire)).toBeNull();
    expect(calls).toBe(1);
  });
});

describe('stale runs of crashed replicas', () => {
  const stale = (job: string, fireAt: Date, attempt: number, leaseUntil: Date) => ({
    job, fire_at: fireAt, trigger: 'schedule', for_date: '2026-11-21', runner: 'crashed', status: 'running', attempt, started_at: new Date(leaseUntil.getTime() - 60_000), lease_until: leaseUntil,
  });

  test('a run left running past its lease is taken over once (attempt 2) and run again with its business date; a live lease is left alone', async () => {
    const forDates: string[] = [];
    const jobs: JobDefinition[] = [
      { name: 'test-crashy', cron: '0 0 3 * * *', catchUp: { mode: 'none', lookbackMs: 0 }, leaseMs: 60_000, run: async (ctx) => { forDates.push(ctx.forDate); return { ok: true }; } },
    ];
    const now = app.clock.now();
    await app.db('job_runs').insert([
      stale('test-crashy', new Date('2026-11-20T20:00:00Z'), 1, new Date(now.getTime() - 1)),
      stale('test-crashy', new Date('2026-11-21T20:00:00Z'), 1, new Date(now.getTime() + 60_000)),
    ]);
    const a = createScheduler({ db: app.db, clock: app.clock, logger }, jobs, { runnerId: 'a' });
    const b = createScheduler({ db: app.db, clock: app.clock, logger }, jobs, { runnerId: 'b' });
    const [ranA, ranB] = await Promise.all([a.recoverStaleRuns(), b.recoverStaleRuns()]);
    const ran = [...ranA, ...ranB];
    expect(ran).toHaveLength(1);
    expect(ran[0]).toMatchObject({ status: 'succeeded', attempt: 2, result: { ok: true } });
    expect(['a', 'b']).toContain(ran[0]!.runner);
    expect(forDates).toEqual(['2026-11-21']);
    expect(await app.db('job_runs').where({ job: 'test-crashy', fire_at: new Date('2026-11-21T20:00:00Z') }).first()).toMatchObject({ status: 'running', runner: 'crashed', attempt: 1 });
    expect(await a.recoverStaleRuns()).toEqual([]);
  });

  test('the replica that was taken over records nothing when it wakes: its heartbeat and finish name an attempt it no longer holds', async () => {
    const fireAt = new Date('2026-11-22T05:00:00Z');
    const slow = createScheduler({ db: app.db, clock: app.clock, logger }, [], { runnerId: 'slow' }).coordinator;
    const fast = createScheduler({ db: app.db, clock: app.clock, logger }, [], { runnerId: 'fast' }).coordinator;
    expect(await slow.claim({ job: 'test-fenced', fireAt, trigger: 'schedule', leaseMs: -1 })).toBe(true);
    expect(await fast.takeOver('test-fenced', fireAt, 60_000)).toMatchObject({ runner: 'fast', attempt: 2 });
    expect(await fast.takeOver('test-fenced', fireAt, 60_000)).toBeNull();
    expect(await slow.renew({ job: 'test-fenced', fireAt, attempt: 1 }, 60_000)).toBe(false);
    expect(await slow.finish({ job: 'test-fenced', fireAt, attempt: 1 }, { status: 'succeeded', result: { from: 'slow' } })).toBeNull();
    expect(await fast.finish({ job: 'test-fenced', fireAt, attempt: 2 }, { status: 'succeeded', result: { from: 'fast' } })).toMatchObject({ runner: 'fast', attempt: 2, result: { from: 'fast' } });
  });

  test('a run whose replicas crashed on every attempt is marked failed, not tried again; catch-up takes stale runs over too', async () => {
    let calls = 0;
    const jobs: JobDefinition[] = [
      { name: 'test-poison', cron: '0 0 4 * * *', catchUp: { mode: 'none', lookbackMs: 0 }, leaseMs: 60_000, run: async () => { calls++; return {}; } },
    ];
    const past = new Date(app.clock.now().getTime() - 1);
    await app.db('job_runs').insert([stale('test-poison', new Date('2026-11-20T21:00:00Z'), MAX_ATTEMPTS, past), stale('test-poison', new Date('2026-11-21T21:00:00Z'), 1, past)]);
    const s = createScheduler({ db: app.db, clock: app.clock, logger }, jobs, { runnerId: 'c' });
    const ran = await s.catchUp();
    expect(ran.map((r) => [r.status, r.attempt, r.error])).toEqual([
      ['failed', MAX_ATTEMPTS, `abandoned after ${MAX_ATTEMPTS} attempts: runner crashed stopped renewing its lease`],
      ['succeeded', 2, null],
    ]);
    expect(calls).toBe(1);
  });
});

describe('catch-up after downtime', () => {
  test('fires missed while nothing ran are run once each at start-up; a second replica starting too runs none again', async () => {
    let nightly: string[] = [];
    const jobs: JobDefinition[] = [
      { name: 'test-nightly', cron: '0 30 5 * * *', catchUp: { mode: 'each', lookbackMs: 7 * 86_400_000 }, leaseMs: 60_000, forDate: (f) => f.toISOString().slice(0, 10), run: async (ctx) => { nightly.push(ctx.forDate); return {}; } },
      { name: 'test-morning', cron: '0 0 8 * * *', catchUp: { mode: 'latest', lookbackMs: 3 * 86_400_000 }, leaseMs: 60_000, run: async () => ({}) },
      { name: 'test-often', cron: '0 * * * * *', catchUp: { mode: 'none', lookbackMs: 0 }, leaseMs: 60_000, run: async () => ({}) },
    ];
    const clock = { now: () => new Date('2026-11-25T02:00:00Z') }; // 09:00 in Hanoi on the 25th
    // The service last ran on the 22nd at 10:00 Vietnam time (a run was recorded then), then was down.
    await app.db('job_runs').insert({ job: 'test-often', fire_at: new Date('2026-11-22T03:00:00Z'), trigger: 'schedule', runner: 'old', status: 'succeeded', started_at: new Date('2026-11-22T03:00:00Z'), lease_until: new Date('2026-11-22T03:01:00Z'), finished_at: new Date('2026-11-22T03:00:01Z'), result: '{}' });
    await app.db('job_runs').where('started_at', '<', new Date('2026-11-22T03:00:00Z')).delete();
    const a = createScheduler({ db: app.db, clock, logger }, jobs, { runnerId: 'a' });
    const b = createScheduler({ db: app.db, clock, logger }, jobs, { runnerId: 'b' });
    const missed = await a.findMissedFires();
    // Nightly at 05:30 (22:30Z) on the 23rd, 24th and 25th; the morning job only its latest (08:00 on the 25th = 01:00Z).
    expect(missed.map((m) => `${m.job} ${m.fireAt.toISOString()}`)).toEqual([
      'test-nightly 2026-11-22T22:30:00.000Z',
      'test-nightly 2026-11-23T22:30:00.000Z',
      'test-nightly 2026-11-24T22:30:00.000Z',
      'test-morning 2026-11-25T01:00:00.000Z',
    ]);
    const [ranA, ranB] = await Promise.all([a.catchUp(), b.catchUp()]);
    expect(ranA.length + ranB.length).toBe(4);
    expect(nightly.sort()).toEqual(['2026-11-22', '2026-11-23', '2026-11-24']);
    expect(await a.findMissedFires()).toEqual([]);
    nightly = [];
    await a.catchUp();
    expect(nightly).toEqual([]);
  });
});

describe('the real jobs', () => {
  test('overdue reminders: one per overdue invoice and stage, however often the job runs that day', async () => {
    const scheduler = createScheduler({ db: app.db, clock: app.clock, logger }, scheduledJobs({ bankEventRetryMs: 60_000, statementApi: { baseUrl: `${app.baseUrl}/sim/bank`, keyId: 'x', secret: 'x'.repeat(16) } }));
    const school = await demoSchool(app.db, 3);
    // November's invoices issued (due mid-November), none of them paid: all overdue by June.
    const principal = await loadPrincipal(app.db, school.accountant);
    const run = await startInvoiceRun({ db: app.db, clock: app.clock, principal }, school.id, { kind: 'month', month: '2026-11' });
    await executeInvoiceRun(app.db, app.clock, school.id, run.id);
    await issueRunInvoices({ db: app.db, clock: app.clock, principal }, school.id, run.id);
    const day = '2027-06-01';
    const first = await scheduler.runFire('overdue-reminders', new Date('2027-06-01T01:00:00Z'));
    const second = await scheduler.runFire('overdue-reminders', new Date('2027-06-01T01:00:01Z'), 'manual', { forDate: day });
    const expected = Number((await app.db('invoices').whereIn('status', ['open', 'partially_paid']).where('due_on', '<', day).count<{ count: string }[]>('* as count'))[0]!.count);
    expect(first).toMatchObject({ status: 'succeeded', result: { queued: expected } });
    expect(second).toMatchObject({ status: 'succeeded', result: { queued: 0 } });
    expect(Number((await app.db('overdue_reminders').where({ reminded_on: day }).count<{ count: string }[]>('* as count'))[0]!.count)).toBe(expected);
    expect(expected).toBeGreaterThan(300);
    await scheduler.stop();
  });
});

describe('monthly invoice generation', () => {
  test('on the 1st, a school that billed last month by month gets the new month drafted once, on behalf of whoever started last month\'s run', async () => {
    const school = await demoSchool(app.db, 3);
    if (!(await app.db('invoice_runs').where({ school_id: school.id, period_start: '2026-11-01', status: 'succeeded' }).first())) {
      const principal = await loadPrincipal(app.db, school.accountant);
      const run = await startInvoiceRun({ db: app.db, clock: app.clock, principal }, school.id, { kind: 'month', month: '2026-11' });
      await executeInvoiceRun(app.db, app.clock, school.id, run.id);
    }
    const scheduler = createScheduler({ db: app.db, clock: app.clock, logger }, scheduledJobs({ bankEventRetryMs: 60_000, statementApi: { baseUrl: app.baseUrl, keyId: 'x', secret: 'x'.repeat(16) } }));
    const december = await app.db('school_days').where({ school_id: school.id }).whereBetween('day', ['2026-12-01', '2026-12-31']).first();
    const first = await scheduler.runFire('invoice-generation', new Date('2026-11-30T23:00:00Z'));
    const again = await scheduler.runFire('invoice-generation', new Date('2026-11-30T23:00:01Z'), 'manual', { forDate: '2026-12-01' });
    if (december) {
      expect(first).toMatchObject({ status: 'succeeded', result: { started: 1, skipped: [] } });
      expect(await app.db('invoices').where({ school_id: school.id, period_start: '2026-12-01', status: 'draft' }).first()).toBeDefined();
    } else {
      expect(first).toMatchObject({ status: 'succeeded', result: { started: 0, skipped: [{ school_id: school.id, code: 'NO_SCHOOL_DAYS' }] } });
    }
    // A second run for the same month starts nothing new.
    expect(again).toMatchObject({ status: 'succeeded', result: { started: 0 } });
    await scheduler.stop();
  });
});

describe('GET and POST /v1/schools/{school_id}/job-runs', () => {
  test('an accountant starts a reconciliation by hand for a past date, then sees the run in the list; a future date is refused', async () => {
    const school = await demoSchool(app.db, 3);
    const staff = { authorization: `Bearer ${app.tokenFor(school.accountant)}` };
    const started = await request(app.baseUrl).post(`/v1/schools/${school.id}/job-runs`).set(staff).send({ job: 'reconciliation', date: '2026-11-21' });
    expect(started.status).toBe(201);
    expectContract(started, 'post', '/v1/schools/{school_id}/job-runs');
    expect(started.body).toMatchObject({ job: 'reconciliation', trigger: 'manual', for_date: '2026-11-21', school_id: school.id, status: 'succeeded', result: { failed: [] } });
    const list = await request(app.baseUrl).get(`/v1/schools/${school.id}/job-runs?job=reconciliation`).set(staff);
    expect(list.status).toBe(200);
    expectContract(list, 'get', '/v1/schools/{school_id}/job-runs');
    expect(list.body.data[0]).toMatchObject({ job: 'reconciliation', for_date: '2026-11-21' });
    const future = await request(app.baseUrl).post(`/v1/schools/${school.id}/job-runs`).set(staff).send({ job: 'reconciliation', date: '2026-12-30' });
    expect(future.status).toBe(422);
    expect(future.body.error.code).toBe('DATE_IN_FUTURE');
    const other = await demoSchool(app.db, 0);
    const outside = await request(app.baseUrl).get(`/v1/schools/${other.id}/job-runs`).set(staff);
    expect(outside.status).toBe(404);
  });
});
