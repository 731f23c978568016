import type { Knex } from 'knex';
import { UnprocessableError } from '../../http/errors';
import type { JobRunRow } from '../../jobs/run-coordinator';
import type { Scheduler } from '../../jobs/scheduler';
import { type Clock, vietnamDate } from '../../lib/clock';
import { type Principal, requireSchoolRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';

const STAFF = ['accountant', 'school_admin'] as const;
/** Jobs staff may start by hand for their school (the bank-event retry is the system's own). */
export const MANUAL_JOBS = ['reconciliation', 'overdue-reminders', 'invoice-generation'] as const;
export type ManualJob = (typeof MANUAL_JOBS)[number];

interface Ctx {
  db: Knex;
  clock: Clock;
  principal: Principal;
  requestId?: string;
}

/** Runs that concern a school: scheduled runs (every school) and runs started by hand for it, newest first. */
export async function listJobRuns(ctx: Ctx, schoolId: string, filter: { job?: string; limit: number }): Promise<JobRunRow[]> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  const q = ctx.db('job_runs')
    .where((w) => void w.whereNull('scope_school_id').orWhere('scope_school_id', schoolId))
    .orderBy('started_at', 'desc')
    .limit(filter.limit);
  if (filter.job) q.where({ job: filter.job });
  return q.select<JobRunRow[]>('*');
}

/** Starts a job by hand for one school and a business date; returns the finished run. */
export async function startJobRun(ctx: Ctx & { scheduler: Scheduler }, schoolId: string, input: { job: ManualJob; date: string }): Promise<JobRunRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  if (input.date > vietnamDate(ctx.clock.now())) throw new UnprocessableError('DATE_IN_FUTURE', 'A run can only be started for today or an earlier day.', 'date');
  // A manual fire's key is the instant it was asked for; two asks in the same millisecond (or on a
  // stopped test clock) take the next free millisecond.
  let run: JobRunRow | null = null;
  let fireAt = ctx.clock.now();
  for (let attempt = 0; !run && attempt < 50; attempt++) {
    fireAt = new Date(ctx.clock.now().getTime() + attempt);
    run = await ctx.scheduler.runFire(input.job, fireAt, 'manual', { forDate: input.date, schoolId });
  }
  if (!run) throw new UnprocessableError('RUN_ALREADY_STARTED', 'Too many runs of this job were started at this very moment.', 'job');
  await recordAuditEvent(ctx.db, { schoolId, actorPersonId: ctx.principal.personId, action: 'job_run.started', subjectType: 'job_run', subjectId: `${run.job}@${fireAt.toISOString()}`, details: { job: input.job, date: input.date, status: run.status }, requestId: ctx.requestId, at: fireAt });
  return run;
}
