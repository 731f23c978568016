import { processPendingBankEvents } from '../modules/payments/bank-events.service';
import type { JobDefinition } from './scheduler';

/** Bank events whose processing failed (or was cut short by a stop) are processed again. */
export function bankEventRetryJob(everyMs: number): JobDefinition {
  return {
    name: 'bank-event-retry',
    cron: everySecondsCron(everyMs),
    catchUp: { mode: 'none', lookbackMs: 0 },
    leaseMs: 10 * 60_000,
    run: async (ctx) => ({ processed: await processPendingBankEvents(ctx, new Date(ctx.clock.now().getTime() - everyMs)) }),
  };
}

/** A node-cron expression (seconds first) that fires about every `everyMs`: every n seconds under a minute, else every n minutes. */
export function everySecondsCron(everyMs: number): string {
  const seconds = Math.max(1, Math.round(everyMs / 1000));
  return seconds < 60 ? `*/${seconds} * * * * *` : `0 */${Math.min(59, Math.round(seconds / 60))} * * * *`;
}
