import { hostname } from 'node:os';
import type { Knex } from 'knex';
import type { RunCoordinator } from 'node-cron';
import { newId } from '../lib/ids';
import type { Clock } from '../lib/clock';

/**
 * A PostgreSQL-backed run coordinator (node-cron's `RunCoordinator`): every replica asks it before
 * running a fire, and exactly one gets `true`, the one whose INSERT of the (job, fire time) row
 * wins; the others hit the primary key and skip. The row then records how the run went. A replica
 * that dies mid-run leaves its row `running`: the fire is not run again by another replica (a
 * half-done run that might have written is safer re-run by a person, who sees it in the list after
 * its lease), so a fire runs at most once, and exactly once when its runner lives.
 */
export type Trigger = 'schedule' | 'catch_up' | 'manual';

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
  started_at: Date;
  lease_until: Date;
  finished_at: Date | null;
  result: Record<string, unknown> | null;
  error: string | null;
}

export interface PgRunCoordinator extends RunCoordinator {
  readonly runnerId: string;
  /** Inserts the run's row; true when this replica won the fire. */
  claim(claim: Claim): Promise<boolean>;
  /** Records the end of a run this replica claimed. */
  finish(job: string, fireAt: Date, outcome: { status: 'succeeded'; result: Record<string, unknown> } | { status: 'failed'; error: string }): Promise<JobRunRow>;
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
  return {
    runnerId,
    claim,
    shouldRun: (key, ttlMs) => {
      const { job, fireAt } = parseFireKey(key);
      return claim({ job, fireAt, trigger: 'schedule', leaseMs: ttlMs });
    },
    finish: async (job, fireAt, outcome) => {
      const [row] = await db('job_runs')
        .where({ job, fire_at: fireAt, runner: runnerId, status: 'running' })
        .update({ status: outcome.status, finished_at: clock.now(), result: outcome.status === 'succeeded' ? JSON.stringify(outcome.result) : null, error: outcome.status === 'failed' ? outcome.error.slice(0, 2000) : null })
        .returning<JobRunRow[]>('*');
      if (!row) throw new Error(`run ${job} at ${fireAt.toISOString()} is not this replica's`);
      return row;
    },
  };
}
