import type { Knex } from 'knex';
import type { Clock } from '../../lib/clock';

/**
 * Overdue reminders. A reminder is a row in overdue_reminders, one per overdue invoice per Vietnam
 * day (an invoice still open or partially paid the day after its due date), with what is still owed
 * and how late it is. It is an outbox: a notifier (SMS or Zalo to the verified guardians; not built
 * yet) sends pending rows after commit and marks them. The primary key (school, invoice, day) makes
 * the job idempotent: running it twice on a day adds nothing.
 */
export async function queueOverdueReminders(db: Knex, clock: Clock, onDate: string, schoolId?: string): Promise<{ queued: number }> {
  const { rows } = await db.raw<{ rows: unknown[] }>(
    `INSERT INTO overdue_reminders (school_id, invoice_id, reminded_on, person_id, amount_due_vnd, days_overdue, created_at)
     SELECT i.school_id, i.id, ?::date, i.person_id, i.total_vnd - i.credited_vnd - i.paid_vnd, ?::date - i.due_on, ?
     FROM invoices i
     WHERE i.status IN ('open', 'partially_paid') AND i.due_on < ?::date AND i.total_vnd - i.credited_vnd - i.paid_vnd > 0
       ${schoolId ? 'AND i.school_id = ?' : ''}
     ON CONFLICT (school_id, invoice_id, reminded_on) DO NOTHING
     RETURNING 1`,
    [onDate, onDate, clock.now(), onDate, ...(schoolId ? [schoolId] : [])],
  );
  return { queued: rows.length };
}
