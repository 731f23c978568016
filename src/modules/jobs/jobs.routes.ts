import { z } from 'zod';
import { principalOf } from '../../http/auth';
import type { RouteDef } from '../../http/routes';
import { IdParam, parseBody, parseParams, parseQuery } from '../../http/validate';
import { scheduledJobs } from '../../jobs';
import type { JobRunRow } from '../../jobs/run-coordinator';
import { createScheduler, type Scheduler } from '../../jobs/scheduler';
import { isCalendarDate } from '../../lib/clock';
import type { AppDeps } from '../../app';
import { statementApiOf } from '../../app';
import { listJobRuns, MANUAL_JOBS, startJobRun } from './jobs.service';

const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
const ListQuery = z.object({ job: z.string().max(60).optional(), limit: z.coerce.number().int().min(1).max(100).default(20) }).strict();
const StartBody = z.object({ job: z.enum(MANUAL_JOBS), date: z.string().refine(isCalendarDate, 'must be a date YYYY-MM-DD') }).strict();

export function renderJobRun(r: JobRunRow) {
  return {
    job: r.job,
    fire_at: new Date(r.fire_at).toISOString(),
    trigger: r.trigger,
    for_date: r.for_date,
    school_id: r.scope_school_id,
    runner: r.runner,
    status: r.status,
    attempt: r.attempt,
    started_at: new Date(r.started_at).toISOString(),
    lease_until: new Date(r.lease_until).toISOString(),
    finished_at: r.finished_at ? new Date(r.finished_at).toISOString() : null,
    result: r.result,
    error: r.error,
  };
}

export function jobRoutes(deps: AppDeps): RouteDef[] {
  let scheduler: Scheduler | undefined = deps.scheduler;
  // Tests and tools build the app without main.ts: they get a scheduler that is never started.
  const schedulerOf = () => (scheduler ??= createScheduler(deps, scheduledJobs({ bankEventRetryMs: 60_000, statementApi: statementApiOf(deps) })));
  return [
    {
      method: 'get',
      path: '/v1/schools/:school_id/job-runs',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(ListQuery, req);
        const runs = await listJobRuns({ db: deps.db, clock: deps.clock, principal: principalOf(res) }, school_id, q);
        res.json({ data: runs.map(renderJobRun), has_more: false });
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/job-runs',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const b = parseBody(StartBody, req);
        const run = await startJobRun({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string, scheduler: schedulerOf() }, school_id, b);
        res.status(201).json(renderJobRun(run));
      },
    },
  ];
}
