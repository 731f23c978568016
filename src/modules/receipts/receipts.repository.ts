import type { Knex } from 'knex';
import type { Db } from '../../db/knex';
import { vietnamDate, vietnamYear } from '../../lib/clock';
import { generateReceiptKeyPair } from './receipt-signing';

export interface SeriesRow {
  school_id: string;
  id: string;
  template_code: string;
  symbol: string;
  document_kind: 'receipt';
  title: string;
  valid_from: string;
  valid_to: string | null;
  created_at: Date;
}

export interface ReceiptRow {
  school_id: string;
  id: string;
  series_id: string;
  template_code: string;
  symbol: string;
  number: number;
  kind: 'original' | 'replacement' | 'adjustment';
  related_receipt_id: string | null;
  payment_id: string | null;
  person_id: string;
  invoice_ids: string[];
  total_vnd: string;
  content: ReceiptContent;
  signature: string;
  signing_key_id: string;
  lookup_code: string;
  issued_at: Date;
  issued_by: string | null;
}

/** What a receipt says, exactly as signed (canonical JSON of this object). */
export interface ReceiptContent {
  version: 1;
  title: string;
  kind: 'original' | 'replacement' | 'adjustment';
  template_code: string;
  symbol: string;
  number: number;
  related: { template_code: string; symbol: string; number: number; issued_at: string } | null;
  school: { name: string; address: string; tax_code: string };
  payer_name: string;
  student: { name: string; class_name: string | null; personal_id_masked: string };
  items: { description: string; amount_vnd: number }[];
  total_vnd: number;
  total_in_words: string;
  channel: string;
  bank_reference: string | null;
  issued_at: string;
  lookup_code: string;
  signing_key_id: string;
  note: string | null;
}

export interface SigningKeyRow {
  id: string;
  school_id: string;
  algorithm: 'ed25519';
  public_key_pem: string;
  private_key_pem: string;
}

export const RECEIPT_COLUMNS = ['r.school_id', 'r.id', 'r.series_id', 'r.template_code', 'r.symbol', 'r.number', 'r.kind', 'r.related_receipt_id', 'r.payment_id', 'r.person_id', 'r.invoice_ids', 'r.total_vnd', 'r.content', 'r.signature', 'r.signing_key_id', 'r.lookup_code', 'r.issued_at', 'r.issued_by'];

/** The series a school issues receipts from on a day: valid that day, its symbol's year that day's year. */
export async function findIssuingSeries(db: Db, schoolId: string, at: Date): Promise<SeriesRow | undefined> {
  const day = vietnamDate(at);
  const yy = String(vietnamYear(at) % 100).padStart(2, '0');
  return db('receipt_series')
    .where({ school_id: schoolId, document_kind: 'receipt' })
    .where('valid_from', '<=', day)
    .where((q) => q.whereNull('valid_to').orWhere('valid_to', '>=', day))
    .whereRaw('substring(symbol from \'-([0-9]{2})[A-Z]$\') = ?', [yy])
    .orderBy([{ column: 'created_at' }, { column: 'id' }])
    .first<SeriesRow | undefined>('*', db.raw('valid_from::text AS valid_from'), db.raw('valid_to::text AS valid_to'));
}

/**
 * Takes `count` consecutive numbers of a series, inside the caller's transaction: the counter row
 * stays locked until commit, and a rollback gives the numbers back (no gap, ever).
 */
export async function takeNumbers(trx: Knex.Transaction, series: Pick<SeriesRow, 'school_id' | 'template_code' | 'symbol'>, count: number): Promise<number> {
  const [row] = await trx('receipt_number_counters')
    .where({ school_id: series.school_id, template_code: series.template_code, symbol: series.symbol })
    .update({ next_number: trx.raw('next_number + ?', [count]) })
    .returning<{ next_number: number }[]>('next_number');
  if (!row) throw new Error(`receipt counter missing for ${series.template_code} ${series.symbol}`);
  return row.next_number - count;
}

/** Locks the series' counter row (the receipts issued under it are serialized from here to commit). */
export async function lockCounter(trx: Knex.Transaction, series: Pick<SeriesRow, 'school_id' | 'template_code' | 'symbol'>): Promise<void> {
  await trx('receipt_number_counters').where({ school_id: series.school_id, template_code: series.template_code, symbol: series.symbol }).forUpdate().first('next_number');
}

/** The school's signing key, created on first use (two first uses at once keep one key). */
export async function ensureSigningKey(db: Db, schoolId: string): Promise<SigningKeyRow> {
  const existing = await db('receipt_signing_keys').where({ school_id: schoolId }).first<SigningKeyRow | undefined>();
  if (existing) return existing;
  const pair = generateReceiptKeyPair();
  await db('receipt_signing_keys')
    .insert({ school_id: schoolId, algorithm: 'ed25519', public_key_pem: pair.publicKeyPem, private_key_pem: pair.privateKeyPem })
    .onConflict('school_id')
    .ignore();
  return db('receipt_signing_keys').where({ school_id: schoolId }).first<SigningKeyRow>();
}

export async function findSchool(db: Db, schoolId: string): Promise<{ id: string; name: string; address: string; tax_code: string }> {
  return db('schools').where({ id: schoolId }).first('id', 'name', 'address', 'tax_code');
}

/** Inserts receipts with their lines in two statements. */
export async function insertReceipts(trx: Knex.Transaction, receipts: (Omit<ReceiptRow, 'total_vnd' | 'content'> & { total_vnd: number; content: ReceiptContent; lines: { fee_item_id: string | null; description: string; amount_vnd: number }[] })[]): Promise<void> {
  if (receipts.length === 0) return;
  await trx('receipts').insert(receipts.map(({ lines: _lines, content, ...r }) => ({ ...r, content: JSON.stringify(content) })));
  const lines = receipts.flatMap((r) => r.lines.map((l, n) => ({ school_id: r.school_id, receipt_id: r.id, line_no: n + 1, ...l })));
  if (lines.length > 0) await trx('receipt_lines').insert(lines);
}

/** One outbox row per receipt event for the tax authority, in the caller's transaction. */
export async function enqueueForTaxAuthority(trx: Knex.Transaction, items: { school_id: string; receipt_id: string; action: 'issue' | 'cancel' }[], at: Date): Promise<void> {
  if (items.length === 0) return;
  await trx('tax_outbox').insert(items.map((i) => ({ ...i, next_attempt_at: at, created_at: at, updated_at: at }))).onConflict(['school_id', 'receipt_id', 'action']).ignore();
}

export const receiptStatusSql = `CASE WHEN c.receipt_id IS NULL THEN 'issued' ELSE 'cancelled' END`;

/** Receipts with their cancellation and tax status. */
export function receiptsWithStatus(db: Db): Knex.QueryBuilder {
  return db('receipts as r')
    .leftJoin('receipt_cancellations as c', (j) => j.on('c.school_id', '=', 'r.school_id').andOn('c.receipt_id', '=', 'r.id'))
    .leftJoin('tax_outbox as t', (j) => j.on('t.school_id', '=', 'r.school_id').andOn('t.receipt_id', '=', 'r.id').andOnVal('t.action', '=', 'issue'))
    .select(...RECEIPT_COLUMNS, 'c.cause as cancel_cause', 'c.reason as cancel_reason', 'c.cancelled_at', 't.status as tax_status', 't.acceptance_code as tax_acceptance_code', 't.rejection_code as tax_rejection_code', 't.rejection_reason as tax_rejection_reason', 't.attempts as tax_attempts');
}

export type ReceiptView = ReceiptRow & {
  cancel_cause: string | null;
  cancel_reason: string | null;
  cancelled_at: Date | null;
  tax_status: 'pending' | 'accepted' | 'rejected' | null;
  tax_acceptance_code: string | null;
  tax_rejection_code: string | null;
  tax_rejection_reason: string | null;
  tax_attempts: number | null;
};
