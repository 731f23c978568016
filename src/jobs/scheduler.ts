import type { Knex } from 'knex';
import { createTask, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { type Clock, vietnamDate } from '../lib/clock';
import { createPgRunCoordinator, type Held, type JobRunRow, type PgRunCoordinator, type Trigger } from './run-coordinator';

export const JOB_TIMEZONE = 'Asia/Ho_Chi_Minh';

export interface JobDeps {
  db: Knex;
  clock: Clock;
  logger: Logger;
}

/** What a job's run is given: the fire, the business date it works on, and optionally one school. */
export interface JobContext extends JobDeps {
  fireAt: Date;
  forDate: string;
  /** Set by a run started by hand for one school; scheduled runs cover every school. */
  schoolId?: string;
}

export interface JobDefinition {
  /** Stable name: part of the coordination key and of the job_runs primary key. */
  name: string;
  /** node-cron expression (seconds first), read in Asia/Ho_Chi_Minh. */
  cron: string;
  /** At start-up: run every fire missed within the lookback ('each'), only the latest ('latest'), or none. */
  catchUp: { mode: 'each' | 'latest' | 'none'; lookbackMs: number };
  /**
   * The run's lease: renewed every third of it while the run executes; a run whose lease passed
   * (its replica died) is taken over by another replica and run again.
   */
  leaseMs: number;
  /** The business date a fire works on (the nightly reconciliation works on the day before). */
  forDate?: (fireAt: Date) => string;
  /** The job itself: one call to a service function, returning a small summary. */
  run: (ctx: JobContext) => Promise<Record<string, unknown>>;
}

export interface Scheduler {
  coordinator: PgRunCoordinator;
  jobs: ReadonlyMap<string, JobDefinition>;
  /** Claims the fire and, if this replica won it, runs it and records the outcome; null when another replica has it. */
  runFire(name: string, fireAt: Date, trigger?: Trigger, options?: { forDate?: string; schoolId?: string }): Promise<JobRunRow | null>;
  /** Fires missed while no replica ran (none recorded), per each job's catch-up rule. */
  findMissedFires(): Promise<{ job: string; fireAt: Date }[]>;
  /** Takes over the stale runs of crashed replicas first, then runs the missed fires once each (another replica starting at the same time runs none of them twice). */
  catchUp(): Promise<JobRunRow[]>;
  /** Takes over and runs again the runs left `running` past their lease (see run-coordinator.ts); marks failed those out of attempts. */
  recoverStaleRuns(): Promise<JobRunRow[]>;
  /** Registers the schedules with node-cron, and the sweep for stale runs. */
  start(): void;
  stop(): Promise<void>;
}

const MINUTE_MS = 60_000;
const previousDay = (fireAt: Date) => vietnamDate(new Date(fireAt.getTime() - 86_400_000));
export const forPreviousDay = previousDay;

export function createScheduler(
  deps: JobDeps,
  definitions: JobDefinition[],
  options: {
    runnerId?: string;
    onRunFinished?: (job: string, outcome: 'ok' | 'failed', seconds: number) => void;
    /** How often a started scheduler looks for stale runs to take over; defaults to a minute. */
    staleSweepMs?: number;
  } = {},
): Scheduler {
  const coordinator = createPgRunCoordinator(deps.db, deps.clock, options.runnerId);
  const jobs = new Map(definitions.map((d) => [d.name, d]));
  const inFlight = new Set<Promise<unknown>>();
  // Fires this replica has won through node-cron whose run has not started yet, and whether stop()
  // has begun: a stopping replica claims nothing more, and waits for the fires it already won, so
  // it never leaves a claimed fire `running` behind it (that would wait for a takeover).
  const wonNotStarted = new Set<string>();
  let stopping = false;
  const cronCoordinator = {
    shouldRun: async (key: string, ttlMs: number) => {
      if (stopping) return false;
      const claim = Promise.resolve(coordinator.shouldRun(key, ttlMs));
      track(claim);
      const won = await claim;
      if (won) wonNotStarted.add(key);
      return won;
    },
  };
  const cronLogger = {
    info: (m: string) => deps.logger.debug({ cron: m }, 'node-cron'),
    warn: (m: string) => deps.logger.warn({ cron: m }, 'node-cron'),
    error: (m: string | Error, err?: Error) => deps.logger.error({ cron: String(m), err: err?.message }, 'node-cron'),
    debug: (m: string | Error) => deps.logger.debug({ cron: String(m) }, 'node-cron'),
  };
  const tasks = new Map<string, ScheduledTask>();
  let staleSweep: NodeJS.Timeout | undefined;
  const taskOf = (job: JobDefinition) => {
    let task = tasks.get(job.name);
    if (!task) {
      task = createTask(job.cron, (ctx) => {
        wonNotStarted.delete(`${job.name}:${ctx.date.toISOString()}`);
        return track(execute(job, { job: job.name, fireAt: ctx.date, attempt: 1 }, 'schedule', {}));
      }, {
        name: job.name,
        timezone: JOB_TIMEZONE,
        distributed: true,
        runCoordinator: cronCoordinator,
        distributedLease: job.leaseMs,
        noOverlap: true,
        unref: true,
        logger: cronLogger,
      });
      tasks.set(job.name, task);
    }
    return task;
  };
  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  };

  /**
   * Runs an attempt this replica holds, renewing its lease meanwhile. Failures are recorded on the
   * row, not thrown. An attempt taken over meanwhile (this replica stalled past its lease) records
   * nothing: the row, as the new runner has it, is returned.
   */
  async function execute(job: JobDefinition, held: Held, trigger: Trigger, o: { forDate?: string; schoolId?: string }): Promise<JobRunRow> {
    const { fireAt } = held;
    const forDate = o.forDate ?? (job.forDate ?? vietnamDate)(fireAt);
    const started = Date.now();
    const heartbeat = setInterval(() => {
      coordinator
        .renew(held, job.leaseMs)
        .then((mine) => mine || deps.logger.warn({ job: job.name, fire_at: fireAt.toISOString(), attempt: held.attempt }, 'job run lost its lease'))
        .catch((err: unknown) => deps.logger.warn({ job: job.name, err: err instanceof Error ? err.message : String(err) }, 'renewing a job run lease failed'));
    }, Math.max(Math.floor(job.leaseMs / 3), 20));
    heartbeat.unref();
    let outcome: Parameters<PgRunCoordinator['finish']>[1];
    try {
      const result = await job.run({ ...deps, fireAt, forDate, schoolId: o.schoolId });
      deps.logger.info({ job: job.name, fire_at: fireAt.toISOString(), trigger, attempt: held.attempt, for_date: forDate, ms: Date.now() - started, result }, 'job run succeeded');
      options.onRunFinished?.(job.name, 'ok', (Date.now() - started) / 1000);
      outcome = { status: 'succeeded', result };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      deps.logger.error({ job: job.name, fire_at: fireAt.toISOString(), trigger, attempt: held.attempt, err: message }, 'job run failed');
      options.onRunFinished?.(job.name, 'failed', (Date.now() - started) / 1000);
      outcome = { status: 'failed', error: message };
    } finally {
      clearInterval(heartbeat);
    }
    const row = await coordinator.finish(held, outcome);
    if (row) return row;
    deps.logger.warn({ job: job.name, fire_at: fireAt.toISOString(), attempt: held.attempt }, 'job run was taken over by another replica; its outcome is not recorded');
    return deps.db('job_runs').where({ job: job.name, fire_at: fireAt }).first<JobRunRow>();
  }

  const jobNamed = (name: string) => {
    const job = jobs.get(name);
    if (!job) throw new Error(`no job named ${name}`);
    return job;
  };

  const scheduler: Scheduler = {
    coordinator,
    jobs,
    runFire: async (name, fireAt, trigger = 'schedule', o = {}) => {
      const job = jobNamed(name);
      const forDate = o.forDate ?? (job.forDate ?? vietnamDate)(fireAt);
      if (!(await coordinator.claim({ job: name, fireAt, trigger, forDate, scopeSchoolId: o.schoolId ?? null, leaseMs: job.leaseMs }))) return null;
      return track(execute(job, { job: name, fireAt, attempt: 1 }, trigger, { ...o, forDate }));
    },
    findMissedFires: async () => {
      const now = deps.clock.now();
      // Fires before the first run ever recorded are not "missed": nothing was deployed then.
      const first = await deps.db('job_runs').min<{ min: Date | null }[]>('started_at as min');
      const deployedAt = first[0]?.min;
      if (!deployedAt) return [];
      const missed: { job: string; fireAt: Date }[] = [];
      for (const job of jobs.values()) {
        if (job.catchUp.mode === 'none') continue;
        const since = Math.max(now.getTime() - job.catchUp.lookbackMs, new Date(deployedAt).getTime());
        const task = taskOf(job);
        const fires: Date[] = [];
        for (let t = Math.ceil(since / MINUTE_MS) * MINUTE_MS; t <= now.getTime(); t += MINUTE_MS) {
          if (task.match(new Date(t))) fires.push(new Date(t));
        }
        if (fires.length === 0) continue;
        const recorded = new Set((await deps.db('job_runs').where({ job: job.name }).where('fire_at', '>=', fires[0]!).pluck<Date[]>('fire_at')).map((d) => new Date(d).getTime()));
        const latest = fires[fires.length - 1]!;
        const candidates = job.catchUp.mode === 'latest' ? [latest] : fires;
        for (const fireAt of candidates) if (!recorded.has(fireAt.getTime())) missed.push({ job: job.name, fireAt });
      }
      return missed;
    },
    recoverStaleRuns: async () => {
      const ran: JobRunRow[] = [];
      for (const stale of await coordinator.findStale([...jobs.keys()])) {
        const job = jobNamed(stale.job);
        const abandoned = await coordinator.abandon(stale.job, stale.fire_at);
        if (abandoned) {
          deps.logger.error({ job: stale.job, fire_at: new Date(stale.fire_at).toISOString(), attempt: abandoned.attempt }, 'stale job run abandoned');
          ran.push(abandoned);
          continue;
        }
        const mine = await coordinator.takeOver(stale.job, stale.fire_at, job.leaseMs);
        if (!mine) continue;
        deps.logger.warn({ job: stale.job, fire_at: new Date(mine.fire_at).toISOString(), attempt: mine.attempt, from: stale.runner }, 'stale job run taken over');
        const held = { job: stale.job, fireAt: new Date(mine.fire_at), attempt: mine.attempt };
        ran.push(await track(execute(job, held, mine.trigger, { forDate: mine.for_date ?? undefined, schoolId: mine.scope_school_id ?? undefined })));
      }
      return ran;
    },
    catchUp: async () => {
      const ran: JobRunRow[] = await scheduler.recoverStaleRuns();
      for (const { job, fireAt } of await scheduler.findMissedFires()) {
        const row = await scheduler.runFire(job, fireAt, 'catch_up');
        if (row) ran.push(row);
      }
      return ran;
    },
    start: () => {
      for (const job of jobs.values()) void taskOf(job).start();
      let sweeping = false;
      staleSweep = setInterval(() => {
        if (sweeping) return;
        sweeping = true;
        track(scheduler.recoverStaleRuns())
          .catch((err: unknown) => deps.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'taking over stale job runs failed'))
          .finally(() => (sweeping = false));
      }, options.staleSweepMs ?? MINUTE_MS);
      staleSweep.unref();
    },
    stop: async () => {
      stopping = true;
      clearInterval(staleSweep);
      for (const task of tasks.values()) await task.destroy();
      tasks.clear();
      // Runs in progress, and fires won whose run is about to start (node-cron calls the task a few
      // steps after the claim); a fire node-cron never starts is left to a takeover after 10 s.
      for (let waited = 0; inFlight.size > 0 || (wonNotStarted.size > 0 && waited < 10_000); waited += 20) {
        if (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        else await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
  return scheduler;
}
