import type { Knex } from 'knex';
import { AppError } from '../../http/errors';
import type { Clock } from '../../lib/clock';
import { loadPrincipal } from '../access/access.service';
import { executeInvoiceRun, startInvoiceRun } from './invoices.service';

/**
 * Monthly invoice generation by the scheduler: a school that billed the previous month by month is
 * billed for the new month, on behalf of the staff member who started the previous month's run
 * (their role is checked again, as for a run started by hand). Nothing is issued: generated
 * invoices are drafts the school reviews and issues, as with a manual run. A school whose run is
 * refused (already generated, no school days yet, role gone) is reported, not retried.
 */
export async function generateMonthlyInvoices(db: Knex, clock: Clock, month: string, schoolId?: string): Promise<{ started: number; skipped: { school_id: string; code: string }[] }> {
  const previousStart = previousMonthStart(month);
  const q = db('invoice_runs as r')
    .join('people as p', 'p.id', 'r.created_by')
    .where({ 'r.period_kind': 'month', 'r.period_start': previousStart, 'r.status': 'succeeded' })
    .distinctOn('r.school_id')
    .orderBy([{ column: 'r.school_id' }, { column: 'r.created_at', order: 'desc' }])
    .select<{ school_id: string; personal_id: string }[]>('r.school_id', 'p.personal_id');
  if (schoolId) q.where('r.school_id', schoolId);
  const previous = await q;
  let started = 0;
  const skipped: { school_id: string; code: string }[] = [];
  for (const p of previous) {
    try {
      const principal = await loadPrincipal(db, p.personal_id);
      const run = await startInvoiceRun({ db, clock, principal }, p.school_id, { kind: 'month', month });
      await executeInvoiceRun(db, clock, p.school_id, run.id);
      started++;
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      skipped.push({ school_id: p.school_id, code: err.code });
    }
  }
  return { started, skipped };
}

function previousMonthStart(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m - 2, 1)).toISOString().slice(0, 10);
}
