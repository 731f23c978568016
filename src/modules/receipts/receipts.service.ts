import type { Knex } from 'knex';
import { ConflictError, NotFoundError, UnprocessableError, ValidationError } from '../../http/errors';
import { type Page, toPage } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { isUniqueViolation } from '../../lib/pg-errors';
import { type Principal, requireSchoolRole, type StaffRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { insertSignedReceipts } from './receipt-issuing.service';
import { renderReceiptPdf } from './receipts.pdf';
import * as repo from './receipts.repository';
import { verifyContent } from './receipt-signing';

/** Public lookup: whoever holds a receipt's lookup code sees that receipt and nothing else. */
export interface LookedUpReceipt {
  receipt: repo.ReceiptView;
  publicKeyPem: string;
  signatureValid: boolean;
  lookupUrl: string;
}

// One answer for a malformed code and an unknown one, so a lookup never tells whether a code exists.
const notFound = () => new NotFoundError('RECEIPT_NOT_FOUND', 'No receipt has this lookup code.', 'lookup_code');

/** The receipt with this lookup code, its school's public key and whether its signature holds. */
export async function lookUpReceipt(deps: { db: Knex; publicBaseUrl: string }, lookupCode: string): Promise<LookedUpReceipt> {
  if (!/^[0-9A-Z]{16}$/.test(lookupCode)) throw notFound();
  const receipt = await repo.receiptsWithStatus(deps.db).where('r.lookup_code', lookupCode).first<repo.ReceiptView | undefined>();
  if (!receipt) throw notFound();
  const key = await deps.db('receipt_signing_keys').where({ school_id: receipt.school_id, id: receipt.signing_key_id }).first<{ public_key_pem: string }>('public_key_pem');
  return { receipt, publicKeyPem: key.public_key_pem, signatureValid: verifyContent(receipt.content, receipt.signature, key.public_key_pem), lookupUrl: receiptLookupUrl(deps.publicBaseUrl, lookupCode) };
}

export const receiptLookupUrl = (publicBaseUrl: string, lookupCode: string) => `${publicBaseUrl}/receipts/${lookupCode}`;

/** The receipt's PDF, rendered from its signed content. */
export async function receiptPdf(found: LookedUpReceipt): Promise<Buffer> {
  return renderReceiptPdf({ content: found.receipt.content, signature: found.receipt.signature, lookupUrl: found.lookupUrl, cancelled: found.receipt.cancelled_at !== null });
}

export interface StaffCtx {
  db: Knex;
  clock: Clock;
  principal: Principal;
  requestId?: string;
}

const STAFF: StaffRole[] = ['accountant', 'school_admin'];

/** A series symbol is letters, a dash, the two-digit year and a form letter (BI-25E), and its year is the year it is valid in. */
function checkSeries(input: { symbol: string; templateCode: string; validFrom: string; validTo: string | null }): void {
  const m = /^[A-Z]{1,6}-([0-9]{2})[A-Z]$/.exec(input.symbol);
  if (!m) throw new ValidationError('SERIES_SYMBOL_INVALID', 'A series symbol is 1-6 capital letters, a dash, the two-digit year and a form letter, e.g. BI-26E.', { param: 'symbol' });
  if (m[1] !== input.validFrom.slice(2, 4) || (input.validTo !== null && m[1] !== input.validTo.slice(2, 4))) {
    throw new ValidationError('SERIES_YEAR_MISMATCH', 'The year in the symbol must be the year the series is valid in.', { param: 'symbol' });
  }
  if (!/^[0-9]{2}[A-Z0-9]{4}-[0-9]{3}$/.test(input.templateCode)) throw new ValidationError('TEMPLATE_CODE_INVALID', 'A template code looks like 01BLP0-001.', { param: 'template_code' });
  if (input.validTo !== null && input.validTo < input.validFrom) throw new ValidationError('SERIES_VALIDITY_INVALID', 'valid_to is before valid_from.', { param: 'valid_to' });
}

/** Creates a receipt series and its counter (school admin). */
export async function createSeries(ctx: StaffCtx, schoolId: string, input: { templateCode: string; symbol: string; title: string; validFrom: string; validTo: string | null }): Promise<repo.SeriesRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['school_admin']);
  checkSeries(input);
  const now = ctx.clock.now();
  try {
    return await ctx.db.transaction(async (trx) => {
      const [row] = await trx('receipt_series')
        .insert({ school_id: schoolId, template_code: input.templateCode, symbol: input.symbol, title: input.title, valid_from: input.validFrom, valid_to: input.validTo })
        .returning<{ id: string }[]>('id');
      await trx('receipt_number_counters').insert({ school_id: schoolId, template_code: input.templateCode, symbol: input.symbol });
      await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'receipt_series.created', subjectType: 'receipt_series', subjectId: row!.id, details: { template_code: input.templateCode, symbol: input.symbol }, requestId: ctx.requestId, at: now });
      return findSeries(trx, schoolId, row!.id);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError('SERIES_EXISTS', 'This school already has a series with this template and symbol.', { param: 'symbol' });
    throw err;
  }
}

async function findSeries(db: Knex, schoolId: string, seriesId: string): Promise<repo.SeriesRow> {
  const row = await db('receipt_series').where({ school_id: schoolId, id: seriesId }).first<repo.SeriesRow | undefined>('*', db.raw('valid_from::text AS valid_from'), db.raw('valid_to::text AS valid_to'));
  if (!row) throw new NotFoundError('SERIES_NOT_FOUND', 'No such receipt series.', 'series_id');
  return row;
}

export async function listSeries(ctx: Omit<StaffCtx, 'clock'>, schoolId: string): Promise<(repo.SeriesRow & { next_number: number })[]> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, STAFF);
  return ctx.db('receipt_series as s')
    .join('receipt_number_counters as n', (j) => j.on('n.school_id', '=', 's.school_id').andOn('n.template_code', '=', 's.template_code').andOn('n.symbol', '=', 's.symbol'))
    .where('s.school_id', schoolId)
    .orderBy([{ column: 's.valid_from', order: 'desc' }, { column: 's.id' }])
    .select('s.*', ctx.db.raw('s.valid_from::text AS valid_from'), ctx.db.raw('s.valid_to::text AS valid_to'), 'n.next_number');
}

/** Changes a series' title or closes it (valid_to); its symbol and template never change once numbers may exist. */
export async function updateSeries(ctx: StaffCtx, schoolId: string, seriesId: string, input: { title?: string; validTo?: string | null }): Promise<repo.SeriesRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['school_admin']);
  const series = await findSeries(ctx.db, schoolId, seriesId);
  const validTo = input.validTo === undefined ? series.valid_to : input.validTo;
  checkSeries({ symbol: series.symbol, templateCode: series.template_code, validFrom: series.valid_from, validTo });
  await ctx.db.transaction(async (trx) => {
    await trx('receipt_series').where({ school_id: schoolId, id: seriesId }).update({ title: input.title ?? series.title, valid_to: validTo });
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'receipt_series.updated', subjectType: 'receipt_series', subjectId: seriesId, details: { title: input.title, valid_to: validTo }, requestId: ctx.requestId, at: ctx.clock.now() });
  });
  return findSeries(ctx.db, schoolId, seriesId);
}

export async function listReceipts(ctx: Omit<StaffCtx, 'clock'>, schoolId: string, q: { taxStatus?: 'pending' | 'accepted' | 'rejected'; status?: 'issued' | 'cancelled'; limit: number; startingAfter?: string }): Promise<Page<repo.ReceiptView>> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, STAFF);
  const query = repo.receiptsWithStatus(ctx.db).where('r.school_id', schoolId);
  if (q.taxStatus) query.where('t.status', q.taxStatus);
  if (q.status === 'issued') query.whereNull('c.receipt_id');
  if (q.status === 'cancelled') query.whereNotNull('c.receipt_id');
  if (q.startingAfter) query.where('r.id', '>', q.startingAfter);
  return toPage(await query.orderBy('r.id').limit(q.limit + 1), q.limit);
}

export async function getReceipt(ctx: Omit<StaffCtx, 'clock'>, schoolId: string, receiptId: string): Promise<repo.ReceiptView> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, STAFF);
  const row = await repo.receiptsWithStatus(ctx.db).where({ 'r.school_id': schoolId, 'r.id': receiptId }).first<repo.ReceiptView | undefined>();
  if (!row) throw new NotFoundError('RECEIPT_NOT_FOUND', 'No such receipt.', 'receipt_id');
  return row;
}

/** Locks the receipt's row for the rest of the transaction (cancel, replace, adjust of one receipt are serialized). */
async function lockReceipt(trx: Knex.Transaction, schoolId: string, receiptId: string): Promise<repo.ReceiptView> {
  await trx('receipts').where({ school_id: schoolId, id: receiptId }).forUpdate().first('id');
  const row = await repo.receiptsWithStatus(trx).where({ 'r.school_id': schoolId, 'r.id': receiptId }).first<repo.ReceiptView | undefined>();
  if (!row) throw new NotFoundError('RECEIPT_NOT_FOUND', 'No such receipt.', 'receipt_id');
  return row;
}

/** Cancels a receipt with a reason: it stays (and counts in its series), marked cancelled, and the cancellation goes to the tax authority. */
export async function cancelReceipt(ctx: StaffCtx, schoolId: string, receiptId: string, reason: string): Promise<repo.ReceiptView> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, STAFF);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (trx) => {
    const receipt = await lockReceipt(trx, schoolId, receiptId);
    if (receipt.cancelled_at) throw new ConflictError('RECEIPT_ALREADY_CANCELLED', 'This receipt is already cancelled.');
    await trx('receipt_cancellations').insert({ school_id: schoolId, receipt_id: receiptId, cause: 'manual', reason, cancelled_by: ctx.principal.personId, cancelled_at: now });
    await repo.enqueueForTaxAuthority(trx, [{ school_id: schoolId, receipt_id: receiptId, action: 'cancel' }], now);
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'receipt.cancelled', subjectType: 'receipt', subjectId: receiptId, details: { reason }, requestId: ctx.requestId, at: now });
  });
  return getReceipt(ctx, schoolId, receiptId);
}

async function issuingContext(trx: Knex.Transaction, schoolId: string, now: Date) {
  const series = await repo.findIssuingSeries(trx, schoolId, now);
  if (!series) throw new ConflictError('NO_VALID_SERIES', 'The school has no receipt series valid today (POST /v1/schools/{school_id}/receipt-series).');
  await repo.lockCounter(trx, series);
  return { series, key: await repo.ensureSigningKey(trx, schoolId), school: await repo.findSchool(trx, schoolId) };
}

const related = (r: repo.ReceiptView) => ({ id: r.id, template_code: r.template_code, symbol: r.symbol, number: r.number, issued_at: r.issued_at });

/**
 * Issues a replacement for a cancelled receipt: the same student, items and amounts (the payer's
 * name may be corrected), a new number, referencing the cancelled one. Only a cancelled receipt
 * that has no replacement yet can be replaced; to correct a replacement, cancel it and replace it.
 */
export async function replaceReceipt(ctx: StaffCtx, schoolId: string, receiptId: string, input: { reason: string; payerName?: string }): Promise<repo.ReceiptView> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, STAFF);
  const now = ctx.clock.now();
  const id = await ctx.db.transaction(async (trx) => {
    const at = await issuingContext(trx, schoolId, now);
    const original = await lockReceipt(trx, schoolId, receiptId);
    if (original.kind === 'adjustment') throw new ConflictError('RECEIPT_NOT_REPLACEABLE', 'An adjustment receipt is not replaced; cancel it and issue another adjustment.');
    if (!original.cancelled_at) throw new ConflictError('RECEIPT_NOT_CANCELLED', 'Only a cancelled receipt can be replaced; cancel it first.');
    const existing = await trx('receipts').where({ school_id: schoolId, related_receipt_id: receiptId, kind: 'replacement' }).first('id');
    if (existing) throw new ConflictError('RECEIPT_ALREADY_REPLACED', 'This receipt already has a replacement; cancel and replace that one instead.', { details: { replacement_id: existing.id } });
    const c = original.content;
    const [issued] = await insertSignedReceipts(trx, { ...at, now, issuedBy: ctx.principal.personId }, [{
      kind: 'replacement', related: related(original), paymentId: original.payment_id, personId: original.person_id, invoiceIds: original.invoice_ids,
      payerName: input.payerName ?? c.payer_name, student: c.student,
      lines: (await trx('receipt_lines').where({ school_id: schoolId, receipt_id: receiptId }).orderBy('line_no').select('fee_item_id', 'description', 'amount_vnd')).map((l) => ({ ...l, amount_vnd: Number(l.amount_vnd) })),
      channel: c.channel, bankReference: c.bank_reference, note: `Thay thế biên lai ${c.symbol} số ${c.number}: ${input.reason}`,
    }]);
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'receipt.replaced', subjectType: 'receipt', subjectId: receiptId, details: { replacement_id: issued!.id, reason: input.reason }, requestId: ctx.requestId, at: now });
    return issued!.id;
  });
  return getReceipt(ctx, schoolId, id);
}

/**
 * An adjustment receipt changes an active receipt's amount (up or down) with a reason, e.g. after a
 * credit note; the adjusted total (the receipt plus its active adjustments) never goes below zero.
 */
export async function adjustReceipt(ctx: StaffCtx, schoolId: string, receiptId: string, input: { amountVnd: number; description: string; reason: string }): Promise<repo.ReceiptView> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, STAFF);
  const now = ctx.clock.now();
  const id = await ctx.db.transaction(async (trx) => {
    const at = await issuingContext(trx, schoolId, now);
    const original = await lockReceipt(trx, schoolId, receiptId);
    if (original.kind === 'adjustment') throw new ConflictError('RECEIPT_NOT_ADJUSTABLE', 'Adjust the original receipt, not an adjustment.');
    if (original.cancelled_at) throw new ConflictError('RECEIPT_CANCELLED', 'A cancelled receipt is not adjusted; replace it instead.');
    const { sum } = (await trx('receipts as r')
      .whereNotExists(trx('receipt_cancellations as c').whereRaw('c.school_id = r.school_id AND c.receipt_id = r.id'))
      .where({ 'r.school_id': schoolId, 'r.related_receipt_id': receiptId, 'r.kind': 'adjustment' })
      .sum<{ sum: string | null }>('r.total_vnd as sum')
      .first())!;
    if (Number(original.total_vnd) + Number(sum ?? 0) + input.amountVnd < 0) throw new UnprocessableError('ADJUSTMENT_TOO_LARGE', 'The adjustment would take the receipt below zero.', 'amount_vnd');
    const c = original.content;
    const [issued] = await insertSignedReceipts(trx, { ...at, now, issuedBy: ctx.principal.personId }, [{
      kind: 'adjustment', related: related(original), paymentId: original.payment_id, personId: original.person_id, invoiceIds: original.invoice_ids,
      payerName: c.payer_name, student: c.student, lines: [{ fee_item_id: null, description: input.description, amount_vnd: input.amountVnd }],
      channel: c.channel, bankReference: c.bank_reference, note: `Điều chỉnh biên lai ${c.symbol} số ${c.number}: ${input.reason}`,
    }]);
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'receipt.adjusted', subjectType: 'receipt', subjectId: receiptId, details: { adjustment_id: issued!.id, amount_vnd: input.amountVnd, reason: input.reason }, requestId: ctx.requestId, at: now });
    return issued!.id;
  });
  return getReceipt(ctx, schoolId, id);
}

/**
 * Usage report like form BC26 for a period (Vietnam dates, inclusive): per template and series,
 * the first and last number used, how many were issued and cancelled (a cancelled number stays
 * used), and the total of the receipts not cancelled.
 */
export async function receiptUsageReport(ctx: Omit<StaffCtx, 'clock'>, schoolId: string, period: { from: string; to: string }) {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, STAFF);
  if (period.to < period.from) throw new ValidationError('PERIOD_INVALID', '`to` is before `from`.', { param: 'to' });
  const { rows } = await ctx.db.raw<{ rows: { template_code: string; symbol: string; first_number: number; last_number: number; issued: string; cancelled: string; total_vnd: string }[] }>(
    `SELECT r.template_code, r.symbol, min(r.number) AS first_number, max(r.number) AS last_number, count(*) AS issued,
            count(c.receipt_id) FILTER (WHERE (c.cancelled_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date <= ?::date) AS cancelled,
            coalesce(sum(r.total_vnd) FILTER (WHERE c.receipt_id IS NULL OR (c.cancelled_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date > ?::date), 0) AS total_vnd
     FROM receipts r LEFT JOIN receipt_cancellations c ON c.school_id = r.school_id AND c.receipt_id = r.id
     WHERE r.school_id = ? AND (r.issued_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN ?::date AND ?::date
     GROUP BY r.template_code, r.symbol ORDER BY r.template_code, r.symbol`,
    [period.to, period.to, schoolId, period.from, period.to],
  );
  return rows.map((r) => ({ template_code: r.template_code, symbol: r.symbol, first_number: r.first_number, last_number: r.last_number, issued_count: Number(r.issued), cancelled_count: Number(r.cancelled), total_vnd: Number(r.total_vnd) }));
}

/** The school's published receipt-signing public key (created on first use). */
export async function schoolSigningKey(db: Knex, schoolId: string): Promise<{ id: string; algorithm: 'ed25519'; public_key_pem: string }> {
  const school = await db('schools').where({ id: schoolId }).first('id');
  if (!school) throw new NotFoundError('SCHOOL_NOT_FOUND', 'No such school.', 'school_id');
  const key = await repo.ensureSigningKey(db, schoolId);
  return { id: key.id, algorithm: key.algorithm, public_key_pem: key.public_key_pem };
}
