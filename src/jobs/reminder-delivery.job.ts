import type { Notifier } from '../integrations/notifications/zalo-zns';
import { deliverReminders } from '../modules/reminders/reminders.service';
import { everySecondsCron } from './bank-event-retry.job';
import type { JobDefinition } from './scheduler';

/** Overdue reminders waiting in their outbox are sent (Zalo ZNS), with retries and backoff. */
export function reminderDeliveryJob(settings: { notifier: Notifier; everyMs: number }): JobDefinition {
  return {
    name: 'reminder-delivery',
    cron: everySecondsCron(settings.everyMs),
    catchUp: { mode: 'none', lookbackMs: 0 },
    leaseMs: 10 * 60_000,
    run: (ctx) => deliverReminders({ ...ctx, notifier: settings.notifier }),
  };
}
