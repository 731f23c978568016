import { compactReportRollups } from '../modules/reports/rollups.service';
import type { JobDefinition } from './scheduler';

/** Every 5 minutes: the report roll-ups' delta rows compacted to one row per key, so reports read few rows. */
export const reportCompactionJob: JobDefinition = {
  name: 'report-compaction',
  cron: '0 */5 * * * *',
  catchUp: { mode: 'none', lookbackMs: 0 },
  leaseMs: 5 * 60_000,
  run: (ctx) => compactReportRollups(ctx, ctx.schoolId),
};
