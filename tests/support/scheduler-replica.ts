/**
 * One replica of the scheduler, as a process of its own, for tests/jobs/exactly-once.processes.test.ts
 * (run with `node --import tsx`). It registers one test job with node-cron (every second unless
 * JOB_CRON says otherwise) through the real scheduler and PostgreSQL run coordinator, against
 * DATABASE_URL. The job records its side effects in `test_job_effects` (created by the test): a
 * `started` row when it begins, then sleeps JOB_SLEEP_MS, then a `finished` row; it prints
 * `start <replica> <fire ISO>` once the started row is committed, so the test can pause or kill it
 * mid-run. SIGTERM stops it cleanly.
 */
import { createDb } from '../../src/db/knex';
import { createScheduler } from '../../src/jobs/scheduler';
import { systemClock } from '../../src/lib/clock';
import { createLogger } from '../../src/logger';

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const replica = env('REPLICA');
const sleepMs = Number(env('JOB_SLEEP_MS', '300'));
const db = createDb(env('DATABASE_URL'), 3);
const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');

const scheduler = createScheduler(
  { db, clock: systemClock, logger },
  [
    {
      name: env('JOB_NAME', 'test-every-second'),
      cron: env('JOB_CRON', '* * * * * *'),
      catchUp: { mode: 'none', lookbackMs: 0 },
      leaseMs: Number(env('LEASE_MS', '10000')),
      run: async (ctx) => {
        await db('test_job_effects').insert({ fire_at: ctx.fireAt, replica, phase: 'started' });
        process.stdout.write(`start ${replica} ${ctx.fireAt.toISOString()}\n`);
        await new Promise((r) => setTimeout(r, sleepMs));
        await db('test_job_effects').insert({ fire_at: ctx.fireAt, replica, phase: 'finished' });
        return { replica };
      },
    },
  ],
  { runnerId: replica, staleSweepMs: Number(env('STALE_SWEEP_MS', '1000')) },
);
scheduler.start();
// node-cron's timers and the stale sweep are unref'd (main.ts has its HTTP server to keep it up).
const keepAlive = setInterval(() => undefined, 60_000);
process.stdout.write(`ready ${replica}\n`);

process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  scheduler
    .stop()
    .then(() => db.destroy())
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    });
});
