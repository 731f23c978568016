import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { ConflictError, NotFoundError } from '../../http/errors';
import type { Clock } from '../../lib/clock';
import { type TaxAuthority, type TaxReply, type TaxSubmission, TaxTransportError } from '../../integrations/tax-authority/tax-authority';
import { type Principal, requireSchoolRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import type { ReceiptContent } from './receipts.repository';

/**
 * Delivery of receipts (and their cancellations) to the tax authority from the transactional
 * outbox written when they were issued or cancelled. A worker takes due items under a lease
 * (`FOR UPDATE SKIP LOCKED`, then `leased_until` committed), so two workers never hold the same
 * item, sends them outside any transaction, records every attempt, and marks each accepted or
 * rejected, or schedules a retry with exponential backoff. An accepted item is never taken again;
 * a cancellation is sent only after its receipt was accepted.
 */
export interface TaxOutboxDeps {
  db: Knex;
  clock: Clock;
  logger: Logger;
  taxAuthority: TaxAuthority;
  /** How long one submission may take before it counts as timed out. */
  timeoutMs?: number;
  batchSize?: number;
}

export const BACKOFF_BASE_MS = 5_000;
export const BACKOFF_MAX_MS = 3_600_000;

/** The wait before attempt n+1 after n failed attempts: 5 s, 10 s, 20 s ... capped at an hour. */
export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

interface Claimed {
  school_id: string;
  id: string;
  receipt_id: string;
  action: 'issue' | 'cancel';
  attempts: number;
}

/** Sends what is due, once; returns what happened. Safe to run in several workers and replicas at once. */
export async function deliverTaxOutbox(deps: TaxOutboxDeps): Promise<{ accepted: number; rejected: number; retrying: number }> {
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const now = deps.clock.now();
  const { rows: claimed } = await deps.db.raw<{ rows: Claimed[] }>(
    `UPDATE tax_outbox o SET leased_until = ?, attempts = o.attempts + 1, updated_at = ?
     FROM (SELECT t.school_id, t.id FROM tax_outbox t
           WHERE t.status = 'pending' AND t.next_attempt_at <= ? AND (t.leased_until IS NULL OR t.leased_until < ?)
             AND (t.action = 'issue' OR EXISTS (SELECT 1 FROM tax_outbox i WHERE i.school_id = t.school_id AND i.receipt_id = t.receipt_id AND i.action = 'issue' AND i.status = 'accepted'))
           ORDER BY t.next_attempt_at, t.id
           LIMIT ?
           FOR UPDATE SKIP LOCKED) due
     WHERE o.school_id = due.school_id AND o.id = due.id
     RETURNING o.school_id, o.id, o.receipt_id, o.action, o.attempts`,
    [new Date(now.getTime() + timeoutMs * 3), now, now, now, deps.batchSize ?? 50],
  );
  const result = { accepted: 0, rejected: 0, retrying: 0 };
  await Promise.all(
    claimed.map(async (item) => {
      const outcome = await deliverOne(deps, item, timeoutMs);
      result[outcome === 'accepted' ? 'accepted' : outcome === 'rejected' ? 'rejected' : 'retrying']++;
    }),
  );
  if (claimed.length > 0) deps.logger.info({ ...result }, 'tax outbox delivered');
  return result;
}

async function deliverOne(deps: TaxOutboxDeps, item: Claimed, timeoutMs: number): Promise<'accepted' | 'rejected' | 'failed' | 'timeout'> {
  const startedAt = deps.clock.now();
  const submission = await buildSubmission(deps.db, item);
  let reply: TaxReply | undefined;
  let failure: TaxTransportError | undefined;
  try {
    reply = await deps.taxAuthority.submit(submission, timeoutMs);
  } catch (err) {
    failure = err instanceof TaxTransportError ? err : new TaxTransportError('failed', err instanceof Error ? err.message : String(err));
  }
  const finishedAt = deps.clock.now();
  const outcome = reply ? reply.outcome : failure!.kind;
  await deps.db.transaction(async (trx) => {
    await trx('tax_delivery_attempts').insert({
      school_id: item.school_id, outbox_id: item.id, attempt_no: item.attempts, outcome,
      detail: reply?.outcome === 'accepted' ? reply.acceptanceCode : reply?.outcome === 'rejected' ? `${reply.code}: ${reply.reason}`.slice(0, 500) : failure!.message.slice(0, 500),
      started_at: startedAt, finished_at: finishedAt,
    });
    const row = trx('tax_outbox').where({ school_id: item.school_id, id: item.id, status: 'pending' });
    if (reply?.outcome === 'accepted') await row.update({ status: 'accepted', acceptance_code: reply.acceptanceCode, leased_until: null, updated_at: finishedAt });
    else if (reply?.outcome === 'rejected') await row.update({ status: 'rejected', rejection_code: reply.code, rejection_reason: reply.reason, leased_until: null, updated_at: finishedAt });
    else await row.update({ next_attempt_at: new Date(finishedAt.getTime() + backoffMs(item.attempts)), leased_until: null, updated_at: finishedAt });
  });
  if (outcome !== 'accepted') deps.logger.warn({ school_id: item.school_id, receipt_id: item.receipt_id, action: item.action, attempt: item.attempts, outcome }, 'tax submission not accepted');
  return outcome;
}

async function buildSubmission(db: Knex, item: Claimed): Promise<TaxSubmission> {
  const r = await db('receipts as r')
    .leftJoin('receipt_cancellations as c', (j) => j.on('c.school_id', '=', 'r.school_id').andOn('c.receipt_id', '=', 'r.id'))
    .where({ 'r.school_id': item.school_id, 'r.id': item.receipt_id })
    .first<{ content: ReceiptContent; signature: string; cancel_reason: string | null }>('r.content', 'r.signature', 'c.reason as cancel_reason');
  const c = r.content;
  return {
    messageId: `${item.id}-${item.attempts}`,
    action: item.action,
    taxCode: c.school.tax_code,
    templateCode: c.template_code,
    symbol: c.symbol,
    number: c.number,
    issuedAt: c.issued_at,
    payerName: c.payer_name,
    studentName: c.student.name,
    totalVnd: c.total_vnd,
    totalInWords: c.total_in_words,
    items: c.items,
    lookupCode: c.lookup_code,
    signature: r.signature,
    cancelReason: item.action === 'cancel' ? r.cancel_reason : null,
  };
}

/** Puts a rejected receipt back in the queue after the school corrected what was wrong (staff). */
export async function resendRejected(ctx: { db: Knex; clock: Clock; principal: Principal; requestId?: string }, schoolId: string, receiptId: string): Promise<void> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (trx) => {
    const receipt = await trx('receipts').where({ school_id: schoolId, id: receiptId }).first('id');
    if (!receipt) throw new NotFoundError('RECEIPT_NOT_FOUND', 'No such receipt.', 'receipt_id');
    const rows = await trx('tax_outbox').where({ school_id: schoolId, receipt_id: receiptId, status: 'rejected' }).forUpdate().select('id');
    if (rows.length === 0) throw new ConflictError('TAX_NOT_REJECTED', 'Nothing of this receipt was rejected by the tax authority.');
    await trx('tax_outbox')
      .where({ school_id: schoolId, receipt_id: receiptId, status: 'rejected' })
      .update({ status: 'pending', rejection_code: null, rejection_reason: null, next_attempt_at: now, leased_until: null, updated_at: now });
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'receipt.tax_resent', subjectType: 'receipt', subjectId: receiptId, requestId: ctx.requestId, at: now });
  });
}
