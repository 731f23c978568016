import type { Knex } from 'knex';
import { type Metrics, registerDatabaseGauge } from '../../lib/metrics';

/**
 * The business figures /metrics reports, read from the database at scrape time. This is the one
 * place to add a module's gauges: at the merge of issue 5 (receipts) add the outbox backlog
 * (`receipts_outbox_backlog`, rows not yet delivered to the tax authority, by school), and of
 * issue 7 (reconciliation) the open reconciliation exceptions (`reconciliation_exceptions_open`);
 * issue 7's scheduler records its runs with recordJobRun (src/lib/metrics.ts).
 */
export function registerDomainMetrics(metrics: Metrics, db: Knex): void {
  registerOpenPaymentExceptions(metrics, db);
}

/** Payment exceptions waiting for an accountant, by kind (unattributed transfers, unknown accounts, amount mismatches, ...). */
export function registerOpenPaymentExceptions(metrics: Metrics, db: Knex): void {
  registerDatabaseGauge(metrics, db, {
    name: 'payment_exceptions_open',
    help: 'Payment exceptions not yet resolved, by kind.',
    labelNames: ['kind'],
    query: (d) => d('payment_exceptions').where({ status: 'open' }).groupBy('kind').select<{ kind: string; value: string }[]>('kind', d.raw('count(*) AS value')),
  });
}
