import { hostname } from 'node:os';
import type { Knex } from 'knex';
import type { RunCoordinator } from 'node-cron';
import { newId } from '../lib/ids';
import type { Clock } from '../lib/clock';

/**
 * A PostgreSQL-backed run coordinator (node-cron's `RunCoordinator`): every replica asks it before
 * running a fire, and exactly one gets `true`, the one whose INSERT of the (job, fire time) row
 * wins; the others hit the primary key and skip. The row then records how the run went.
 *
 * While a run executes, its runner renews the row's lease (`lease_until`). A run still `running`
 * after its lease passed belongs to a replica that died (or stalled longer than the lease): another
 * replica takes it over with one atomic UPDATE that names the stale lease, moves `runner` and
 * raises `attempt`, and runs the job again (every job is idempotent: a re-run writes only what the
 * first attempt did not). Heartbeats and the finish name the runner and attempt they hold, so a
 * replica that wakes after being taken over records nothing. After MAX_ATTEMPTS the run is marked
 * failed instead of being tried again (a job that kills its process must not kill every replica).
 */
export type Trigger = 'schedule' | 'catch_up' | 'manual';

export const MAX_ATTEMPTS = 3;

export interface Claim {
  job: string;
  fireAt: Date;
  trigger: Trigger;
  forDate?: string | null;
  scopeSchoolId?: string | null;
  leaseMs: number;
}

export interface JobRunRow {
  job: string;
  fire_at: Date;
  trigger: Trigger;
  for_date: string | null;
  scope_school_id: string | null;
  runner: string;
  status: 'running' | 'succeeded' | 'failed';
  attempt: number;
  started_at: Date;
  lease_until: Date;
  finished_at: Date | null;
  result: Record<string, unknown> | null;
  error: string | null;
}

/** One attempt at a run, held by this replica: what its heartbeat and finish name. */
export interface Held {
  job: string;
  fireAt: Date;
  attempt: number;
}

export type RunOutcome = { status: 'succeeded'; result: Record<string, unknown> } | { status: 'failed'; error: string };

export interface PgRunCoordinator extends RunCoordinator {
  readonly runnerId: string;
  /** Inserts the run's row; true when this replica won the fire (its attempt 1). */
  claim(claim: Claim): Promise<boolean>;
  /** Renews the lease of an attempt this replica holds; false when it no longer holds it. */
  renew(held: Held, leaseMs: number): Promise<boolean>;
  /** Records the end of an attempt this replica holds; null when the run was taken over meanwhile. */
  finish(held: Held, outcome: RunOutcome): Promise<JobRunRow | null>;
  /** The runs of these jobs still `running` with their lease passed, oldest fire first. */
  findStale(jobs: string[], limit?: number): Promise<JobRunRow[]>;
  /** Claims a stale run (its lease passed) for this replica as its next attempt; null when another replica was first or the lease was renewed. */
  takeOver(job: string, fireAt: Date, leaseMs: number): Promise<JobRunRow | null>;
  /** Marks a stale run that used its MAX_ATTEMPTS as failed; null when it is no longer stale. */
  abandon(job: string, fireAt: Date): Promise<JobRunRow | null>;
}

/** node-cron keys a fire as `<task name>:<fire time ISO>`; job names have no colon. */
export function parseFireKey(key: string): { job: string; fireAt: Date } {
  const at = key.indexOf(':');
  const fireAt = new Date(key.slice(at + 1));
  if (at <= 0 || Number.isNaN(fireAt.getTime())) throw new Error(`not a fire key: ${key}`);
  return { job: key.slice(0, at), fireAt };
}

export function createPgRunCoordinator(db: Knex, clock: Clock, runnerId = `${hostname()}:${process.pid}:${newId('rnr').slice(4, 12)}`): PgRunCoordinator {
  const claim = async (c: Claim): Promise<boolean> => {
    const now = clock.now();
    const { rows } = await db.raw<{ rows: unknown[] }>(
      `INSERT INTO job_runs (job, fire_at, trigger, for_date, scope_school_id, runner, status, started_at, lease_until)
       VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?) ON CONFLICT (job, fire_at) DO NOTHING RETURNING job`,
      [c.job, c.fireAt, c.trigger, c.forDate ?? null, c.scopeSchoolId ?? null, runnerId, now, new Date(now.getTime() + c.leaseMs)],
    );
    return rows.length === 1;
  };
  const held = (h: Held) => ({ job: h.job, fire_at: h.fireAt, runner: runnerId, attempt: h.attempt, status: 'running' });
  return {
    runnerId,
    claim,
    shouldRun: (key, ttlMs) => {
      const { job, fireAt } = parseFireKey(key);
      return claim({ job, fireAt, trigger: 'schedule', leaseMs: ttlMs });
    },
    renew: async (h, leaseMs) => (await db('job_runs').where(held(h)).update({ lease_until: new Date(clock.now().getTime() + leaseMs) })) === 1,
    finish: async (h, outcome) => {
      const [row] = await db('job_runs')
        .where(held(h))
        .update({ status: outcome.status, finished_at: clock.now(), result: outcome.status === 'succeeded' ? JSON.stringify(outcome.result) : null, error: outcome.status === 'failed' ? outcome.error.slice(0, 2000) : null })
        .returning<JobRunRow[]>('*');
      return row ?? null;
    },
    findStale: (jobs, limit = 20) =>
      db('job_runs').where({ status: 'running' }).whereIn('job', jobs).where('lease_until', '<', clock.now()).orderBy('fire_at').limit(limit).select<JobRunRow[]>('*'),
    takeOver: async (job, fireAt, leaseMs) => {
      const now = clock.now();
      const [row] = await db('job_runs')
        .where({ job, fire_at: fireAt, status: 'running' })
        .where('lease_until', '<', now)
        .where('attempt', '<', MAX_ATTEMPTS)
        .update({ runner: runnerId, attempt: db.raw('attempt + 1'), lease_until: new Date(now.getTime() + leaseMs) })
        .returning<JobRunRow[]>('*');
      return row ?? null;
    },
    abandon: async (job, fireAt) => {
      const now = clock.now();
      const [row] = await db('job_runs')
        .where({ job, fire_at: fireAt, status: 'running' })
        .where('lease_until', '<', now)
        .where('attempt', '>=', MAX_ATTEMPTS)
        .update({ status: 'failed', finished_at: now, error: db.raw(`'abandoned after ' || attempt || ' attempts: runner ' || runner || ' stopped renewing its lease'`) })
        .returning<JobRunRow[]>('*');
      return row ?? null;
    },
  };
}
