import type { Knex } from 'knex';
import { type Metrics, registerDatabaseGauge } from '../../lib/metrics';

/**
 * The business figures /metrics reports, read from the database at scrape time; the one place to
 * add a module's gauges. The scheduler records its runs with recordJobRun (src/lib/metrics.ts).
 */
export function registerDomainMetrics(metrics: Metrics, db: Knex): void {
  registerOpenPaymentExceptions(metrics, db);
  registerTaxOutboxBacklog(metrics, db);
  registerOpenReconciliationExceptions(metrics, db);
}

/** Receipts and cancellations not yet accepted by the tax authority: waiting (`pending`) or refused (`rejected`, for staff to correct and resend). */
export function registerTaxOutboxBacklog(metrics: Metrics, db: Knex): void {
  registerDatabaseGauge(metrics, db, {
    name: 'receipts_outbox_backlog',
    help: 'Tax outbox items not accepted by the tax authority, by status (pending, rejected).',
    labelNames: ['status'],
    query: (d) => d('tax_outbox').whereIn('status', ['pending', 'rejected']).groupBy('status').select<{ status: string; value: string }[]>('status', d.raw('count(*) AS value')),
  });
}

/** Reconciliation outcomes waiting for an accountant, by kind (missing in the service, missing at the bank, amount mismatch, duplicate). */
export function registerOpenReconciliationExceptions(metrics: Metrics, db: Knex): void {
  registerDatabaseGauge(metrics, db, {
    name: 'reconciliation_exceptions_open',
    help: 'Reconciliation exceptions not yet resolved, by outcome.',
    labelNames: ['outcome'],
    query: (d) => d('reconciliation_results').where({ status: 'open' }).groupBy('outcome').select<{ outcome: string; value: string }[]>('outcome', d.raw('count(*) AS value')),
  });
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
