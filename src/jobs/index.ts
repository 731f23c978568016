import type { StatementApiSettings } from '../integrations/statements/bank-statement-api';
import { bankEventRetryJob } from './bank-event-retry.job';
import { invoiceGenerationJob } from './invoice-generation.job';
import { overdueRemindersJob } from './overdue-reminders.job';
import { reconciliationJob } from './reconciliation.job';
import type { JobDefinition } from './scheduler';

export interface JobSettings {
  bankEventRetryMs: number;
  statementApi: StatementApiSettings;
}

/**
 * Every scheduled job. A new job is a file like these (a JobDefinition calling one service
 * function) and one line here: e.g. receipts' `taxOutboxJob` (issue 5, calling deliverTaxOutbox).
 * Report roll-ups (issue 8) are not built yet, so they have no job.
 */
export function scheduledJobs(settings: JobSettings): JobDefinition[] {
  return [
    bankEventRetryJob(settings.bankEventRetryMs),
    reconciliationJob(settings.statementApi),
    invoiceGenerationJob,
    overdueRemindersJob,
  ];
}
