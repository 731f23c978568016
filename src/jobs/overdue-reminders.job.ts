import { queueOverdueReminders } from '../modules/reminders/reminders.service';
import type { JobDefinition } from './scheduler';

/** Every day at 08:00: one reminder per overdue invoice, into the reminder outbox. */
export const overdueRemindersJob: JobDefinition = {
  name: 'overdue-reminders',
  cron: '0 0 8 * * *',
  catchUp: { mode: 'latest', lookbackMs: 86_400_000 },
  leaseMs: 10 * 60_000,
  run: (ctx) => queueOverdueReminders(ctx.db, ctx.clock, ctx.forDate, ctx.schoolId),
};
