import type { TaxAuthority } from '../integrations/tax-authority/tax-authority';
import { deliverTaxOutbox } from '../modules/receipts/tax-outbox.service';
import type { JobDefinition } from './scheduler';
import { everySecondsCron } from './bank-event-retry.job';

/** Receipts (and cancellations) waiting in the tax outbox are sent to the tax authority, with backoff. */
export function taxOutboxJob(settings: { taxAuthority: TaxAuthority; timeoutMs: number; everyMs: number }): JobDefinition {
  return {
    name: 'tax-outbox',
    cron: everySecondsCron(settings.everyMs),
    catchUp: { mode: 'none', lookbackMs: 0 },
    leaseMs: 10 * 60_000,
    run: async (ctx) => deliverTaxOutbox({ ...ctx, taxAuthority: settings.taxAuthority, timeoutMs: settings.timeoutMs }),
  };
}
