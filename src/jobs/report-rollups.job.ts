import { checkReportRollups } from '../modules/reports/rollups.service';
import { forPreviousDay, type JobDefinition } from './scheduler';

/** Every night at 03:15: the report roll-ups recomputed from the raw history and compared; any difference is counted and logged. */
export const reportRollupsJob: JobDefinition = {
  name: 'report-rollups',
  cron: '0 15 3 * * *',
  catchUp: { mode: 'latest', lookbackMs: 86_400_000 },
  leaseMs: 60 * 60_000,
  forDate: forPreviousDay,
  run: (ctx) => checkReportRollups(ctx, ctx.schoolId),
};
