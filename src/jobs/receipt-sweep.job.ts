import { issuePendingReceipts } from '../modules/receipts/receipt-issuing.service';
import type { JobDefinition } from './scheduler';
import { everySecondsCron } from './bank-event-retry.job';

/**
 * Receipts for payments whose after-commit issuing did not happen (a crash between the payment's
 * commit and its receipt, a failure), and cancellations of receipts whose payment was undone.
 */
export function receiptSweepJob(everyMs: number): JobDefinition {
  return {
    name: 'receipt-sweep',
    cron: everySecondsCron(everyMs),
    catchUp: { mode: 'none', lookbackMs: 0 },
    leaseMs: 10 * 60_000,
    run: async (ctx) => issuePendingReceipts(ctx),
  };
}
