import { processPendingBankEvents } from '../modules/payments/bank-events.service';
import type { JobDefinition } from './scheduler';

/** Bank events whose processing failed (or was cut short by a stop) are processed again. */
export function bankEventRetryJob(everyMs: number): JobDefinition {
  const seconds = Math.max(1, Math.round(everyMs / 1000));
  return {
    name: 'bank-event-retry',
    cron: seconds < 60 ? `*/${seconds} * * * * *` : `0 */${Math.min(59, Math.round(seconds / 60))} * * * *`,
    catchUp: { mode: 'none', lookbackMs: 0 },
    leaseMs: 10 * 60_000,
    run: async (ctx) => ({ processed: await processPendingBankEvents(ctx, new Date(ctx.clock.now().getTime() - everyMs)) }),
  };
}
