import { createHash } from 'node:crypto';
import { ConflictError, UnprocessableError } from '../../http/errors';
import { parseVnd } from '../../lib/money';
import { recordAuditEvent } from '../audit/audit.service';
import { requireSchoolRole } from '../access/access.service';
import { canonicalJson } from './render';
import * as repo from './reports.repository';
import { compactRollups } from './rollups.service';
import { buildRevenueReport, currentMonth, monthBounds, resolveScope, type ReportContext } from './reports.service';
import type { MonthlyRevenueReport } from './reports.types';

export interface ClosedMonth {
  school_id: string;
  month: string;
  closed_at: string;
  closed_by: string;
  open_exceptions: number;
  override_reason: string | null;
  report_sha256: string;
}

export function renderClosedMonth(row: repo.ClosedMonthRow): ClosedMonth {
  return {
    school_id: row.school_id,
    month: row.month.slice(0, 7),
    closed_at: row.closed_at.toISOString(),
    closed_by: row.closed_by,
    open_exceptions: row.open_exceptions,
    override_reason: row.override_reason,
    report_sha256: row.report_sha256,
  };
}

/**
 * Closes a school's month (a school admin, after reconciliation). Under the school's period lock
 * (every money transaction of the school holds it shared while it writes its roll-ups), so the
 * report is taken from roll-ups no transaction is still changing, and every later event of that
 * month lands in the next open month. The report is stored as canonical JSON (the renderers'
 * `canonicalJson`); `snapshot.sha256` is the SHA-256 of the same document with `snapshot: null`.
 *
 * Refused: a month not yet over (422 MONTH_NOT_ENDED), a month already closed (409
 * MONTH_ALREADY_CLOSED), and open exceptions concerning the month without an override reason
 * (409 RECONCILIATION_EXCEPTIONS_OPEN).
 */
export async function closeMonth(ctx: ReportContext & { requestId?: string }, schoolId: string, month: string, input: { overrideReason?: string }): Promise<ClosedMonth> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['school_admin']);
  if (month >= currentMonth(ctx.clock)) throw new UnprocessableError('MONTH_NOT_ENDED', 'Only a month that has ended can be closed.', 'month');
  const { firstDay, lastDay, endsAt } = monthBounds(month);
  const resolved = await resolveScope(ctx.db, ctx.principal, { level: 'school', schoolId });
  return ctx.db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`report-period:${schoolId}`]);
    if (await repo.findClosedMonth(trx, schoolId, firstDay)) throw new ConflictError('MONTH_ALREADY_CLOSED', 'This month is already closed.');
    const [open] = await repo.openExceptions(trx, [schoolId], endsAt, lastDay);
    const openCount = Number(open?.count ?? 0);
    if (openCount > 0 && !input.overrideReason) {
      throw new ConflictError('RECONCILIATION_EXCEPTIONS_OPEN', 'Reconciliation exceptions of this month are still open: resolve them, or close with an override_reason.', {
        details: { open_exceptions: openCount, open_exceptions_vnd: parseVnd(open!.amount_vnd) },
      });
    }
    // The month's roll-ups are frozen from now on: leave them as one row per key.
    await compactRollups(trx, [schoolId]);
    const closedAt = ctx.clock.now();
    const report: MonthlyRevenueReport = { ...(await buildRevenueReport(trx, resolved, month, closedAt)), closed: true, snapshot: null };
    const sha256 = createHash('sha256').update(canonicalJson(report)).digest('hex');
    const document = canonicalJson({ ...report, snapshot: { sha256, closed_at: closedAt.toISOString() } }).toString('utf8');
    const [row] = await trx('closed_months')
      .insert({
        school_id: schoolId, month: firstDay, closed_at: closedAt, closed_by: ctx.principal.personId, open_exceptions: openCount,
        override_reason: openCount > 0 ? input.overrideReason : (input.overrideReason ?? null), report_json: document, report_sha256: sha256,
      })
      .returning<repo.ClosedMonthRow[]>('*');
    await recordAuditEvent(trx, {
      schoolId, actorPersonId: ctx.principal.personId, action: 'month.closed', subjectType: 'month', subjectId: month,
      details: { open_exceptions: openCount, override_reason: input.overrideReason ?? null, report_sha256: sha256 }, requestId: ctx.requestId, at: closedAt,
    });
    return renderClosedMonth(row!);
  });
}
