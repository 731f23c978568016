import type { StatementApiSettings } from '../integrations/statements/bank-statement-api';
import type { Notifier } from '../integrations/notifications/zalo-zns';
import type { TaxAuthority } from '../integrations/tax-authority/tax-authority';
import { bankEventRetryJob } from './bank-event-retry.job';
import { invoiceGenerationJob } from './invoice-generation.job';
import { overdueRemindersJob } from './overdue-reminders.job';
import { receiptSweepJob } from './receipt-sweep.job';
import { reconciliationJob } from './reconciliation.job';
import { reminderDeliveryJob } from './reminder-delivery.job';
import { reportCompactionJob } from './report-compaction.job';
import { reportRollupsJob } from './report-rollups.job';
import type { JobDefinition } from './scheduler';
import { taxOutboxJob } from './tax-outbox.job';

export interface JobSettings {
  bankEventRetryMs: number;
  statementApi: StatementApiSettings;
  /** Defaults to 30 s. */
  receiptSweepMs?: number;
  /** Without a tax authority (no URL and no simulator), receipts wait in the outbox and no job sends them. */
  taxOutbox?: { taxAuthority: TaxAuthority; timeoutMs: number; everyMs: number };
  /** Without a notifier (no ZNS URL and no simulator), overdue reminders wait in their outbox. */
  reminderDelivery?: { notifier: Notifier; everyMs: number };
}

/**
 * Every scheduled job. A new job is a file like these (a JobDefinition calling one service
 * function) and one line here.
 */
export function scheduledJobs(settings: JobSettings): JobDefinition[] {
  return [
    bankEventRetryJob(settings.bankEventRetryMs),
    receiptSweepJob(settings.receiptSweepMs ?? 30_000),
    ...(settings.taxOutbox ? [taxOutboxJob(settings.taxOutbox)] : []),
    reconciliationJob(settings.statementApi),
    invoiceGenerationJob,
    overdueRemindersJob,
    ...(settings.reminderDelivery ? [reminderDeliveryJob(settings.reminderDelivery)] : []),
    reportRollupsJob,
    reportCompactionJob,
  ];
}
