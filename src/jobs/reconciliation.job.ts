import type { StatementApiSettings } from '../integrations/statements/bank-statement-api';
import { reconcileAllAccounts } from '../modules/reconciliation/reconciliation.service';
import { forPreviousDay, type JobDefinition } from './scheduler';

/** Every morning at 05:30: pull yesterday's statements from the banks' APIs and reconcile them. */
export function reconciliationJob(statementApi: StatementApiSettings): JobDefinition {
  return {
    name: 'reconciliation',
    cron: '0 30 5 * * *',
    catchUp: { mode: 'each', lookbackMs: 7 * 86_400_000 },
    leaseMs: 10 * 60_000,
    forDate: forPreviousDay,
    run: (ctx) => reconcileAllAccounts({ ...ctx, statementApi }, ctx.forDate, ctx.schoolId),
  };
}
