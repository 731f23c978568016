import { generateMonthlyInvoices } from '../modules/invoices/scheduled-runs.service';
import type { JobDefinition } from './scheduler';

/** On the 1st at 06:00: draft the new month's invoices for schools that bill by month. */
export const invoiceGenerationJob: JobDefinition = {
  name: 'invoice-generation',
  cron: '0 0 6 1 * *',
  catchUp: { mode: 'latest', lookbackMs: 31 * 86_400_000 },
  leaseMs: 10 * 60_000,
  run: (ctx) => generateMonthlyInvoices(ctx.db, ctx.clock, ctx.forDate.slice(0, 7), ctx.schoolId),
};
