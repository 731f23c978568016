import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { type Clock, vietnamDate } from '../../lib/clock';
import { parseVnd, splitLargestRemainder } from '../../lib/money';
import { maskPersonalId } from '../../lib/personal-id';
import { newId } from '../../lib/ids';
import { vndInWords } from '../../lib/vnd-words';
import { newLookupCode, signContent } from './receipt-signing';
import * as repo from './receipts.repository';

/**
 * Issuing receipts for payments. A receipt is issued in its own transaction after the payment
 * committed (never inside the bank-callback transaction): `issuePendingReceipts` finds payment
 * allocations to invoices with receipt-kind fee items that no receipt covers yet and issues one
 * receipt per payment covering them; it also cancels the receipts of payments that were since
 * reversed or moved to another student. It runs after each payment path commits (non-blocking,
 * `requestReceiptIssuing`) and from a periodic sweeper, so a crash between the two is healed.
 * Idempotent by the `receipt_allocations` primary key: an allocation is covered at most once.
 */
export interface ReceiptDeps {
  db: Knex;
  clock: Clock;
  logger: Logger;
}

/** How far back the sweeper looks for allocations without a receipt (and undone payments). */
export const RECEIPT_SWEEP_LOOKBACK_DAYS = 35;
const PAYMENTS_PER_TRANSACTION = 100;

export const CHANNEL_LABELS: Record<string, string> = {
  sepay: 'Chuyển khoản ngân hàng',
  casso: 'Chuyển khoản ngân hàng',
  direct: 'Chuyển khoản ngân hàng',
  vnpay: 'Cổng thanh toán VNPay',
  billpay: 'Thanh toán hóa đơn qua ngân hàng',
  manual: 'Nộp tại trường',
};

const sinceOf = (deps: ReceiptDeps) => new Date(deps.clock.now().getTime() - RECEIPT_SWEEP_LOOKBACK_DAYS * 86_400_000);

/** Conditions for a payment allocation that still needs a receipt (alias `a`). */
const PENDING_ALLOCATION_SQL = `
  a.source = 'payment' AND a.amount_vnd > 0
  AND NOT EXISTS (SELECT 1 FROM receipt_allocations ra WHERE ra.school_id = a.school_id AND ra.allocation_id = a.id)
  AND EXISTS (SELECT 1 FROM invoice_lines l JOIN fee_items f ON f.school_id = l.school_id AND f.id = l.fee_item_id
              WHERE l.school_id = a.school_id AND l.invoice_id = a.invoice_id AND f.document_kind = 'receipt' AND l.total_vnd > 0)
  -- Still paid by this payment (not reversed, not moved to another student since).
  AND (SELECT sum(x.amount_vnd) FROM allocations x WHERE x.school_id = a.school_id AND x.payment_id = a.payment_id AND x.invoice_id = a.invoice_id) > 0`;

/** Sweeps once: cancels receipts of undone payments, then issues receipts for what is pending. */
export async function issuePendingReceipts(deps: ReceiptDeps): Promise<{ issued: number; cancelled: number }> {
  const cancelled = await cancelReceiptsOfUndonePayments(deps);
  let issued = 0;
  for (let round = 0; round < 1000; round++) {
    const pending = await findPendingPayments(deps, 500);
    if (pending.length === 0) break;
    let issuedThisRound = 0;
    for (const [schoolId, paymentIds] of groupBySchool(pending)) {
      for (let i = 0; i < paymentIds.length; i += PAYMENTS_PER_TRANSACTION) {
        issuedThisRound += await issueReceiptsIsolated(deps, schoolId, paymentIds.slice(i, i + PAYMENTS_PER_TRANSACTION));
      }
    }
    issued += issuedThisRound;
    // Whatever could not be issued (logged) waits for the next sweep instead of looping here.
    if (issuedThisRound === 0) break;
  }
  if (issued > 0 || cancelled > 0) deps.logger.info({ issued, cancelled }, 'receipts swept');
  return { issued, cancelled };
}

function groupBySchool(rows: { school_id: string; payment_id: string }[]): Map<string, string[]> {
  const bySchool = new Map<string, string[]>();
  for (const r of rows) bySchool.set(r.school_id, [...(bySchool.get(r.school_id) ?? []), r.payment_id]);
  return bySchool;
}

/** Payments with allocations still to be receipted, oldest first, in schools that have a series to issue from. */
async function findPendingPayments(deps: ReceiptDeps, limit: number): Promise<{ school_id: string; payment_id: string }[]> {
  const today = vietnamDate(deps.clock.now());
  // Schools first (few), so the scan of recent allocations is by school on its index.
  const schoolIds = await deps.db('receipt_series').where('valid_from', '<=', today).where((q) => q.whereNull('valid_to').orWhere('valid_to', '>=', today)).distinct().pluck('school_id');
  if (schoolIds.length === 0) return [];
  const { rows } = await deps.db.raw<{ rows: { school_id: string; payment_id: string }[] }>(
    `SELECT a.school_id, a.payment_id
     FROM allocations a
     WHERE a.school_id = ANY(?::text[]) AND a.created_at >= ? AND ${PENDING_ALLOCATION_SQL}
     GROUP BY a.school_id, a.payment_id
     ORDER BY min(a.created_at), a.payment_id
     LIMIT ?`,
    [schoolIds, sinceOf(deps), limit],
  );
  return rows;
}

/** Issues for a batch of payments in one transaction; if that fails, each payment alone (one bad payment fails only itself). */
async function issueReceiptsIsolated(deps: ReceiptDeps, schoolId: string, paymentIds: string[]): Promise<number> {
  try {
    return await issueReceiptsForPayments(deps, schoolId, paymentIds);
  } catch (err) {
    if (paymentIds.length === 1) {
      deps.logger.error({ school_id: schoolId, payment_id: paymentIds[0], err: err instanceof Error ? err.message : String(err) }, 'issuing a receipt failed');
      return 0;
    }
  }
  let issued = 0;
  for (const id of paymentIds) issued += await issueReceiptsIsolated(deps, schoolId, [id]);
  return issued;
}

interface PendingAllocation {
  id: string;
  invoice_id: string;
  payment_id: string;
  amount_vnd: string;
  created_at: Date;
}

/**
 * Issues one receipt per payment for its allocations that no receipt covers yet, in one
 * transaction: the series counter is locked first, the pending allocations are read again under
 * that lock (another sweeper may have just covered them), then the numbers are taken with
 * UPDATE ... RETURNING, so numbers are consecutive, and a rollback burns none.
 */
export async function issueReceiptsForPayments(deps: ReceiptDeps, schoolId: string, paymentIds: string[]): Promise<number> {
  const now = deps.clock.now();
  const series = await repo.findIssuingSeries(deps.db, schoolId, now);
  if (!series) return 0;
  const key = await repo.ensureSigningKey(deps.db, schoolId);
  const school = await repo.findSchool(deps.db, schoolId);

  return deps.db.transaction(async (trx) => {
    await repo.lockCounter(trx, series);
    const { rows: allocations } = await trx.raw<{ rows: PendingAllocation[] }>(
      `SELECT a.id, a.invoice_id, a.payment_id, a.amount_vnd, a.created_at FROM allocations a
       WHERE a.school_id = ? AND a.payment_id = ANY(?::text[]) AND ${PENDING_ALLOCATION_SQL}
       ORDER BY a.created_at, a.id`,
      [schoolId, paymentIds],
    );
    if (allocations.length === 0) return 0;
    const drafts = await draftReceipts(trx, schoolId, allocations);
    if (drafts.length === 0) return 0;

    const receipts = await insertSignedReceipts(trx, { series, key, school, now, issuedBy: null }, drafts.map((d) => ({
      kind: d.related ? 'replacement' as const : 'original' as const,
      related: d.related,
      paymentId: d.paymentId,
      personId: d.personId,
      invoiceIds: d.invoiceIds,
      payerName: d.payerName,
      student: d.student,
      lines: d.lines,
      channel: CHANNEL_LABELS[d.provider] ?? d.provider,
      bankReference: d.bankReference,
      note: d.related ? 'Biên lai thay thế cho biên lai đã hủy do khoản thanh toán được chuyển cho học sinh khác.' : null,
    })));
    await trx('receipt_allocations').insert(receipts.flatMap((r, n) => drafts[n]!.allocationIds.map((allocation_id) => ({ school_id: schoolId, allocation_id, receipt_id: r.id }))));
    return receipts.length;
  });
}

/** A receipt to be numbered, signed and inserted. */
export interface DocumentDraft {
  kind: 'original' | 'replacement' | 'adjustment';
  related: { id: string; template_code: string; symbol: string; number: number; issued_at: Date } | null;
  paymentId: string | null;
  personId: string;
  invoiceIds: string[];
  payerName: string;
  student: repo.ReceiptContent['student'];
  lines: { fee_item_id: string | null; description: string; amount_vnd: number }[];
  channel: string;
  bankReference: string | null;
  note: string | null;
}

/**
 * Numbers (consecutively, from the series counter, inside the caller's transaction), signs and
 * inserts receipts with their lines and their outbox rows for the tax authority.
 */
export async function insertSignedReceipts(
  trx: Knex.Transaction,
  at: { series: repo.SeriesRow; key: repo.SigningKeyRow; school: { name: string; address: string; tax_code: string }; now: Date; issuedBy: string | null },
  drafts: DocumentDraft[],
): Promise<{ id: string; number: number; lookup_code: string }[]> {
  if (drafts.length === 0) return [];
  const { series, key, school, now } = at;
  const first = await repo.takeNumbers(trx, series, drafts.length);
  const receipts = drafts.map((d, n) => {
    const lookupCode = newLookupCode();
    const totalVnd = d.lines.reduce((sum, l) => sum + l.amount_vnd, 0);
    const content: repo.ReceiptContent = {
      version: 1,
      title: series.title,
      kind: d.kind,
      template_code: series.template_code,
      symbol: series.symbol,
      number: first + n,
      related: d.related ? { template_code: d.related.template_code, symbol: d.related.symbol, number: d.related.number, issued_at: d.related.issued_at.toISOString() } : null,
      school: { name: school.name, address: school.address, tax_code: school.tax_code },
      payer_name: d.payerName,
      student: d.student,
      items: d.lines.map((l) => ({ description: l.description, amount_vnd: l.amount_vnd })),
      total_vnd: totalVnd,
      total_in_words: totalVnd < 0 ? `Giảm ${vndInWords(-totalVnd).toLowerCase()}` : vndInWords(totalVnd),
      channel: d.channel,
      bank_reference: d.bankReference,
      issued_at: now.toISOString(),
      lookup_code: lookupCode,
      signing_key_id: key.id,
      note: d.note,
    };
    return {
      school_id: series.school_id,
      id: newId('rct'),
      series_id: series.id,
      template_code: series.template_code,
      symbol: series.symbol,
      number: first + n,
      kind: d.kind,
      related_receipt_id: d.related?.id ?? null,
      payment_id: d.paymentId,
      person_id: d.personId,
      invoice_ids: d.invoiceIds,
      total_vnd: totalVnd,
      content,
      signature: signContent(content, key.private_key_pem),
      signing_key_id: key.id,
      lookup_code: lookupCode,
      issued_at: now,
      issued_by: at.issuedBy,
      lines: d.lines,
    };
  });
  await repo.insertReceipts(trx, receipts);
  await repo.enqueueForTaxAuthority(trx, receipts.map((r) => ({ school_id: r.school_id, receipt_id: r.id, action: 'issue' as const })), now);
  return receipts.map((r) => ({ id: r.id, number: r.number, lookup_code: r.lookup_code }));
}

interface Draft {
  paymentId: string;
  personId: string;
  provider: string;
  bankReference: string | null;
  payerName: string;
  student: repo.ReceiptContent['student'];
  invoiceIds: string[];
  allocationIds: string[];
  lines: { fee_item_id: string | null; description: string; amount_vnd: number }[];
  totalVnd: number;
  related: { id: string; template_code: string; symbol: string; number: number; issued_at: Date } | null;
}

/**
 * What each payment's receipt says. An allocation pays an invoice as a whole; it is spread over
 * the invoice's fee items in proportion to their net amounts (largest remainder, so the parts sum
 * to the allocation), and the receipt lists the receipt-kind items' parts, per invoice and item.
 */
async function draftReceipts(trx: Knex.Transaction, schoolId: string, allocations: PendingAllocation[]): Promise<Draft[]> {
  const paymentIds = [...new Set(allocations.map((a) => a.payment_id))];
  const invoiceIds = [...new Set(allocations.map((a) => a.invoice_id))];
  const payments = new Map(
    (await trx('payments as p')
      .leftJoin('bank_events as e', (j) => j.on('e.school_id', '=', 'p.school_id').andOn('e.id', '=', 'p.bank_event_id'))
      .where('p.school_id', schoolId)
      .whereIn('p.id', paymentIds)
      .select<{ id: string; provider: string; person_id: string | null; bank_reference: string | null; payer_name: string | null }[]>('p.id', 'p.provider', 'p.person_id', 'p.bank_reference', trx.raw(`e.transfer->>'payerName' AS payer_name`))).map((p) => [p.id, p]),
  );
  const invoices = new Map(
    (await trx('invoices as i')
      .join('people as s', 's.id', 'i.person_id')
      .leftJoin('classes as c', (j) => j.on('c.school_id', '=', 'i.school_id').andOn('c.id', '=', 'i.class_id'))
      .where('i.school_id', schoolId)
      .whereIn('i.id', invoiceIds)
      .select<{ id: string; person_id: string; period_label: string; full_name: string; personal_id: string; class_name: string | null }[]>('i.id', 'i.person_id', 'i.period_label', 's.full_name', 's.personal_id', 'c.name as class_name')).map((i) => [i.id, i]),
  );
  const lines = await trx('invoice_lines as l')
    .join('fee_items as f', (j) => j.on('f.school_id', '=', 'l.school_id').andOn('f.id', '=', 'l.fee_item_id'))
    .where('l.school_id', schoolId)
    .whereIn('l.invoice_id', invoiceIds)
    .orderBy(['l.invoice_id', 'l.line_no'])
    .select<{ invoice_id: string; fee_item_id: string; total_vnd: string; name: string; document_kind: string }[]>('l.invoice_id', 'l.fee_item_id', 'l.total_vnd', 'f.name', 'f.document_kind');
  // Receipts of this payment cancelled because it moved to another student, not yet replaced: the new receipt replaces the latest.
  const corrected = new Map(
    (await trx('receipts as r')
      .join('receipt_cancellations as c', (j) => j.on('c.school_id', '=', 'r.school_id').andOn('c.receipt_id', '=', 'r.id'))
      .where({ 'r.school_id': schoolId, 'c.cause': 'payment_corrected' })
      .whereIn('r.payment_id', paymentIds)
      .whereNotExists(trx('receipts as n').whereRaw('n.school_id = r.school_id AND n.related_receipt_id = r.id AND n.kind = \'replacement\''))
      .orderBy('r.issued_at')
      .select<{ id: string; payment_id: string; template_code: string; symbol: string; number: number; issued_at: Date }[]>('r.id', 'r.payment_id', 'r.template_code', 'r.symbol', 'r.number', 'r.issued_at')).map((r) => [r.payment_id, r]),
  );

  const drafts: Draft[] = [];
  for (const paymentId of paymentIds) {
    const mine = allocations.filter((a) => a.payment_id === paymentId);
    const payment = payments.get(paymentId)!;
    // A combined payment (payment bundle) paid several students' invoices at this school: one
    // receipt covers them all, the payment's owner first, and each line names its student.
    const students = [...new Map(mine.map((a) => invoices.get(a.invoice_id)!).map((i) => [i.person_id, i])).values()]
      .sort((x, y) => Number(y.person_id === payment.person_id) - Number(x.person_id === payment.person_id) || (x.full_name < y.full_name ? -1 : x.full_name > y.full_name ? 1 : 0) || (x.person_id < y.person_id ? -1 : 1));
    const combined = students.length > 1;
    const items = new Map<string, { fee_item_id: string; description: string; amount_vnd: number }>();
    for (const a of mine) {
      const invoice = invoices.get(a.invoice_id)!;
      const net = new Map<string, { name: string; kind: string; vnd: number }>();
      for (const l of lines.filter((x) => x.invoice_id === a.invoice_id)) {
        const item = net.get(l.fee_item_id) ?? { name: l.name, kind: l.document_kind, vnd: 0 };
        item.vnd += parseVnd(l.total_vnd);
        net.set(l.fee_item_id, item);
      }
      const positive = [...net.entries()].filter(([, v]) => v.vnd > 0);
      if (positive.length === 0) continue;
      const parts = splitLargestRemainder(parseVnd(a.amount_vnd), positive.map(([, v]) => v.vnd));
      positive.forEach(([feeItemId, v], n) => {
        if (v.kind !== 'receipt' || parts[n] === 0) return;
        const k = `${a.invoice_id}|${feeItemId}`;
        const line = items.get(k) ?? { fee_item_id: feeItemId, description: `${v.name} - ${invoice.period_label}${combined ? ` - ${invoice.full_name}` : ''}`, amount_vnd: 0 };
        line.amount_vnd += parts[n]!;
        items.set(k, line);
      });
    }
    const receiptLines = [...items.values()];
    const totalVnd = receiptLines.reduce((s, l) => s + l.amount_vnd, 0);
    if (totalVnd === 0) continue;
    const invoice = students[0]!;
    const joined = (f: (s: typeof invoice) => string | null) => students.map(f).filter((x) => x !== null).join(', ');
    drafts.push({
      paymentId,
      personId: invoice.person_id,
      provider: payment.provider,
      bankReference: payment.bank_reference,
      payerName: payment.payer_name?.trim() || `Phụ huynh học sinh ${joined((s) => s.full_name)}`,
      student: combined
        ? { name: joined((s) => s.full_name), class_name: joined((s) => s.class_name) || null, personal_id_masked: joined((s) => maskPersonalId(s.personal_id)) }
        : { name: invoice.full_name, class_name: invoice.class_name, personal_id_masked: maskPersonalId(invoice.personal_id) },
      invoiceIds: [...new Set(mine.map((a) => a.invoice_id))],
      allocationIds: mine.map((a) => a.id),
      lines: receiptLines,
      totalVnd,
      related: corrected.get(paymentId) ?? null,
    });
  }
  return drafts;
}

/**
 * A payment reversed by its bank, or moved to another student by a correction, no longer pays the
 * invoices its receipt names: such receipts are cancelled with the cause as reason (they stay, and
 * count in the series), and the cancellation goes to the tax authority. A corrected payment then
 * gets a new receipt for the right student, which references the cancelled one.
 */
export async function cancelReceiptsOfUndonePayments(deps: ReceiptDeps): Promise<number> {
  const now = deps.clock.now();
  const { rows } = await deps.db.raw<{ rows: { school_id: string; receipt_id: string }[] }>(
    `WITH undone AS (
       SELECT r.school_id, r.id AS receipt_id,
              EXISTS (SELECT 1 FROM journals j WHERE j.school_id = r.school_id AND j.kind = 'payment_reversed' AND j.reference_type = 'payment' AND j.reference_id = r.payment_id) AS reversed
       FROM receipts r
       WHERE (r.school_id, r.payment_id) IN (SELECT DISTINCT a.school_id, a.payment_id FROM allocations a WHERE a.source = 'payment' AND a.amount_vnd < 0 AND a.created_at >= ?)
         AND r.kind IN ('original', 'replacement')
         AND NOT EXISTS (SELECT 1 FROM receipt_cancellations c WHERE c.school_id = r.school_id AND c.receipt_id = r.id)
         AND (SELECT coalesce(sum(x.amount_vnd), 0) FROM allocations x
              WHERE x.school_id = r.school_id AND x.payment_id = r.payment_id AND x.invoice_id = ANY(r.invoice_ids)) <= 0
     ), cancelled AS (
       INSERT INTO receipt_cancellations (school_id, receipt_id, cause, reason, cancelled_at)
       SELECT school_id, receipt_id,
              CASE WHEN reversed THEN 'payment_reversed' ELSE 'payment_corrected' END,
              CASE WHEN reversed THEN 'Hủy tự động: ngân hàng đã hủy giao dịch thanh toán.' ELSE 'Hủy tự động: khoản thanh toán đã được chuyển cho học sinh khác.' END,
              ?
       FROM undone
       ON CONFLICT DO NOTHING
       RETURNING school_id, receipt_id
     )
     INSERT INTO tax_outbox (school_id, receipt_id, action, next_attempt_at, created_at, updated_at)
     SELECT school_id, receipt_id, 'cancel', ?, ?, ? FROM cancelled
     ON CONFLICT DO NOTHING
     RETURNING school_id, receipt_id`,
    [sinceOf(deps), now, now, now, now],
  );
  return rows.length;
}

// Process-local coalescing only: correctness never depends on it (the sweeper and the unique keys do).
interface IssuerState {
  scheduled: boolean;
  again: boolean;
  closed: boolean;
  running?: Promise<void>;
}
const issuers = new WeakMap<Knex, IssuerState>();

/**
 * Asks for a sweep soon, without waiting for it: payment paths call this after their transaction
 * committed. Calls made while a sweep is scheduled or running are folded into one more sweep, so a
 * burst of payments costs a few sweeps, not one each. Errors are logged, never thrown.
 */
export function requestReceiptIssuing(deps: ReceiptDeps, delayMs = 50): void {
  let state = issuers.get(deps.db);
  if (!state) issuers.set(deps.db, (state = { scheduled: false, again: false, closed: false }));
  const s = state;
  if (s.closed) return;
  if (s.running) {
    s.again = true;
    return;
  }
  if (s.scheduled) return;
  s.scheduled = true;
  setTimeout(() => {
    s.scheduled = false;
    if (s.closed) return;
    s.running = (async () => {
      do {
        s.again = false;
        try {
          await issuePendingReceipts(deps);
        } catch (err) {
          deps.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'receipt sweep failed');
        }
      } while (s.again && !s.closed);
      s.running = undefined;
    })();
  }, delayMs).unref();
}

/** Waits until no requested sweep is scheduled or running (tests and tools that need the database still). */
export async function settleRequestedReceiptIssuing(db: Knex): Promise<void> {
  for (;;) {
    const s = issuers.get(db);
    if (!s || (!s.scheduled && !s.running)) return;
    if (s.running) await s.running;
    else await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Shutdown: no more requested sweeps on this database; waits for the one running. */
export async function stopRequestedReceiptIssuing(db: Knex): Promise<void> {
  const state = issuers.get(db) ?? { scheduled: false, again: false, closed: true };
  state.closed = true;
  issuers.set(db, state);
  await state.running;
}
