import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Knex } from 'knex';

/**
 * The service's Prometheus metrics, one registry per app (tests build several apps in one
 * process; a global registry would refuse the second). Request and callback figures are counted as
 * they happen; figures that live in the database (open payment exceptions, and after the merge the
 * receipts outbox backlog and reconciliation exceptions) are read when /metrics is scraped, through
 * registerDatabaseGauge, so every instance reports the same truth and none keeps it in memory.
 */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  bankCallbacks: Counter<'provider' | 'outcome'>;
  /** For scheduled jobs (issue 7's scheduler calls recordJobRun). */
  jobRuns: Counter<'job' | 'outcome'>;
  jobDuration: Histogram<'job'>;
}

export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({ name: 'http_requests_total', help: 'HTTP requests by method, route template and status.', labelNames: ['method', 'route', 'status'], registers: [registry] }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    bankCallbacks: new Counter({ name: 'bank_callbacks_total', help: 'Bank notifications and bill-payment messages by provider and outcome.', labelNames: ['provider', 'outcome'], registers: [registry] }),
    jobRuns: new Counter({ name: 'job_runs_total', help: 'Scheduled job runs by job and outcome (ok, failed).', labelNames: ['job', 'outcome'], registers: [registry] }),
    jobDuration: new Histogram({ name: 'job_run_duration_seconds', help: 'Scheduled job run time by job.', labelNames: ['job'], buckets: [0.1, 0.5, 1, 5, 15, 60, 300], registers: [registry] }),
  };
}

/** Records one run of a scheduled job (for the scheduler of issue 7). */
export function recordJobRun(metrics: Metrics, job: string, outcome: 'ok' | 'failed', seconds: number): void {
  metrics.jobRuns.inc({ job, outcome });
  metrics.jobDuration.observe({ job }, seconds);
}

/**
 * A gauge read from the database at scrape time: `query` returns rows of label values and a
 * `value`. A failing query (database down) leaves the gauge empty rather than failing the scrape,
 * so /metrics still reports the process while /ready reports the database.
 */
export function registerDatabaseGauge<L extends string>(
  metrics: Metrics,
  db: Knex,
  gauge: { name: string; help: string; labelNames: L[]; query: (db: Knex) => Promise<(Record<L, string> & { value: number | string })[]> },
): void {
  new Gauge<L>({
    name: gauge.name,
    help: gauge.help,
    labelNames: gauge.labelNames,
    registers: [metrics.registry],
    async collect() {
      this.reset();
      const rows = await gauge.query(db).catch(() => []);
      for (const { value, ...labels } of rows) this.set(labels as unknown as Record<L, string>, Number(value));
    },
  });
}
