import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { NotificationError, type Notifier, OVERDUE_TEMPLATE_ID } from '../../integrations/notifications/zalo-zns';
import type { Clock } from '../../lib/clock';
import { parseVnd } from '../../lib/money';

/**
 * Overdue reminders, queued and sent.
 *
 * Invariants (migration 20261201050100):
 * - One reminder per invoice per stage (1: at least a day past due, 2: a week, 3: thirty days),
 *   by the primary key: the daily job queues only the highest stage an invoice has reached and
 *   not yet been reminded at, so running it twice, or every day, adds nothing new.
 * - Only invoices that still owe (open or partially paid, total - credited - paid > 0): a paid or
 *   fully exempted invoice (total 0) is never reminded; one paid after queuing is cancelled at
 *   send time, not sent.
 * - Recipients: the student's verified guardians (a link `verified`, the student under 18 that
 *   day, as loadPrincipal() reads wards) who declared a phone (person_contacts). One message per
 *   reminder per guardian, by its primary key. Pending, revoked or rejected links get nothing.
 * - Delivery after commit, one message at a time under a row lock (SKIP LOCKED), so two replicas
 *   never send one message together; a transport failure is retried with backoff (1, 2, 4, 8 min)
 *   up to MAX_SEND_ATTEMPTS, a permanent refusal (bad phone) is final. The one window for a
 *   duplicate is a crash between the provider's answer and our commit; the retry then carries the
 *   same tracking id.
 */
export const REMINDER_STAGES = [
  { stage: 3, minDaysOverdue: 30 },
  { stage: 2, minDaysOverdue: 7 },
  { stage: 1, minDaysOverdue: 1 },
] as const;
export const MAX_SEND_ATTEMPTS = 5;
const BACKOFF_BASE_MS = 60_000;

export async function queueOverdueReminders(db: Knex, clock: Clock, onDate: string, schoolId?: string): Promise<{ queued: number; messages: number; no_recipient: number }> {
  const now = clock.now();
  const { rows } = await db.raw<{ rows: { queued: string; messages: string; no_recipient: string }[] }>(
    `WITH owing AS (
       SELECT i.school_id, i.id, i.person_id, i.total_vnd - i.credited_vnd - i.paid_vnd AS due_vnd, ?::date - i.due_on AS days,
              CASE WHEN ?::date - i.due_on >= 30 THEN 3 WHEN ?::date - i.due_on >= 7 THEN 2 ELSE 1 END AS stage
       FROM invoices i
       WHERE i.status IN ('open', 'partially_paid') AND i.due_on < ?::date AND i.total_vnd - i.credited_vnd - i.paid_vnd > 0
         ${schoolId ? 'AND i.school_id = ?' : ''}
     ),
     recipients AS (
       SELECT o.school_id, o.id AS invoice_id, g.guardian_person_id, c.phone
       FROM owing o
       JOIN people s ON s.id = o.person_id AND s.date_of_birth + interval '18 years' > ?::date
       JOIN guardian_links g ON g.student_person_id = o.person_id AND g.status = 'verified'
       JOIN person_contacts c ON c.person_id = g.guardian_person_id
     ),
     reminders AS (
       INSERT INTO overdue_reminders (school_id, invoice_id, stage, reminded_on, person_id, amount_due_vnd, days_overdue, status, created_at)
       SELECT o.school_id, o.id, o.stage, ?::date, o.person_id, o.due_vnd, o.days,
              CASE WHEN EXISTS (SELECT 1 FROM recipients x WHERE x.school_id = o.school_id AND x.invoice_id = o.id) THEN 'pending' ELSE 'no_recipient' END, ?
       FROM owing o
       ON CONFLICT (school_id, invoice_id, stage) DO NOTHING
       RETURNING school_id, invoice_id, stage, status
     ),
     messages AS (
       INSERT INTO reminder_messages (school_id, invoice_id, stage, guardian_person_id, phone, next_attempt_at, created_at)
       SELECT r.school_id, r.invoice_id, r.stage, x.guardian_person_id, x.phone, ?, ?
       FROM reminders r JOIN recipients x ON x.school_id = r.school_id AND x.invoice_id = r.invoice_id
       ON CONFLICT DO NOTHING
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM reminders) AS queued, (SELECT count(*) FROM messages) AS messages,
            (SELECT count(*) FROM reminders WHERE status = 'no_recipient') AS no_recipient`,
    [onDate, onDate, onDate, onDate, ...(schoolId ? [schoolId] : []), onDate, onDate, now, now, now],
  );
  const r = rows[0]!;
  return { queued: Number(r.queued), messages: Number(r.messages), no_recipient: Number(r.no_recipient) };
}

interface DueMessage {
  school_id: string;
  invoice_id: string;
  stage: number;
  guardian_person_id: string;
  phone: string;
  tracking_id: string;
  attempts: number;
  invoice_status: string;
  owing_vnd: string;
  due_on: string;
  series: string | null;
  number: number | null;
  period_label: string;
  payment_code: string;
  student_name: string;
  school_name: string;
  days_overdue: number;
}

/** 1250000 -> 1.250.000 (Vietnamese thousands separator). */
const formatVnd = (vnd: number) => String(vnd).replace(/\B(?=(\d{3})+(?!\d))/g, '.');
const formatDate = (iso: string) => `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;

/** The template's parameters for one message (the text itself is the template registered with Zalo). */
export function overdueTemplateData(m: DueMessage): Record<string, string> {
  return {
    student_name: m.student_name,
    school_name: m.school_name,
    invoice_number: m.series && m.number ? `${m.series}/${String(m.number).padStart(6, '0')}` : m.payment_code,
    period: m.period_label,
    amount_due: formatVnd(parseVnd(m.owing_vnd)),
    due_date: formatDate(m.due_on),
    days_overdue: String(m.days_overdue),
    payment_code: m.payment_code,
  };
}

export interface ReminderDeliveryDeps {
  db: Knex;
  clock: Clock;
  logger: Logger;
  notifier: Notifier;
  timeoutMs?: number;
}

/** Sends the reminder messages that are due, one at a time under a row lock; at most `limit` per call. */
export async function deliverReminders(deps: ReminderDeliveryDeps, limit = 500): Promise<{ sent: number; retrying: number; failed: number; cancelled: number }> {
  const counts = { sent: 0, retrying: 0, failed: 0, cancelled: 0 };
  for (let n = 0; n < limit; n++) {
    const outcome = await deps.db.transaction(async (trx) => {
      const now = deps.clock.now();
      const { rows } = await trx.raw<{ rows: DueMessage[] }>(
        `SELECT m.school_id, m.invoice_id, m.stage, m.guardian_person_id, m.phone, m.tracking_id, m.attempts,
                i.status AS invoice_status, i.total_vnd - i.credited_vnd - i.paid_vnd AS owing_vnd, to_char(i.due_on, 'YYYY-MM-DD') AS due_on,
                i.series, i.number, i.period_label, i.payment_code, s.full_name AS student_name, sc.name AS school_name,
                r.days_overdue
         FROM reminder_messages m
         JOIN overdue_reminders r USING (school_id, invoice_id, stage)
         JOIN invoices i ON i.school_id = m.school_id AND i.id = m.invoice_id
         JOIN people s ON s.id = i.person_id
         JOIN schools sc ON sc.id = m.school_id
         WHERE m.status = 'pending' AND m.next_attempt_at <= ?
         ORDER BY m.next_attempt_at
         LIMIT 1
         FOR UPDATE OF m SKIP LOCKED`,
        [now],
      );
      const m = rows[0];
      if (!m) return null;
      const key = { school_id: m.school_id, invoice_id: m.invoice_id, stage: m.stage, guardian_person_id: m.guardian_person_id };
      let result: 'sent' | 'retrying' | 'failed' | 'cancelled';
      if (!['open', 'partially_paid'].includes(m.invoice_status) || parseVnd(m.owing_vnd) <= 0) {
        await trx('reminder_messages').where(key).update({ status: 'cancelled' });
        result = 'cancelled';
      } else {
        try {
          const sent = await deps.notifier.send({ phone: m.phone, templateId: OVERDUE_TEMPLATE_ID, templateData: overdueTemplateData(m), trackingId: m.tracking_id }, deps.timeoutMs ?? 10_000);
          await trx('reminder_messages').where(key).update({ status: 'sent', attempts: m.attempts + 1, sent_at: deps.clock.now(), provider_message_id: sent.messageId, last_error: null });
          result = 'sent';
        } catch (err) {
          const permanent = err instanceof NotificationError && err.permanent;
          const attempts = m.attempts + 1;
          const message = err instanceof NotificationError ? `${err.code}: ${err.message}` : String(err);
          const giveUp = permanent || attempts >= MAX_SEND_ATTEMPTS;
          await trx('reminder_messages')
            .where(key)
            .update({ status: giveUp ? 'failed' : 'pending', attempts, last_error: message.slice(0, 500), next_attempt_at: new Date(now.getTime() + BACKOFF_BASE_MS * 2 ** (attempts - 1)) });
          deps.logger.warn({ invoice_id: m.invoice_id, stage: m.stage, attempts, permanent, err: message }, giveUp ? 'reminder not delivered, given up' : 'reminder not delivered, will retry');
          result = giveUp ? 'failed' : 'retrying';
        }
      }
      // The reminder's own status follows its messages: sent once one is, failed or cancelled once all are.
      await trx.raw(
        `UPDATE overdue_reminders r SET status = CASE
           WHEN bool_or_sent THEN 'sent' WHEN all_cancelled THEN 'cancelled' WHEN none_pending THEN 'failed' ELSE 'pending' END
         FROM (SELECT bool_or(status = 'sent') AS bool_or_sent, bool_and(status = 'cancelled') AS all_cancelled, bool_and(status <> 'pending') AS none_pending
               FROM reminder_messages WHERE school_id = ? AND invoice_id = ? AND stage = ?) agg
         WHERE r.school_id = ? AND r.invoice_id = ? AND r.stage = ?`,
        [m.school_id, m.invoice_id, m.stage, m.school_id, m.invoice_id, m.stage],
      );
      return result;
    });
    if (outcome === null) break;
    counts[outcome]++;
  }
  return counts;
}
